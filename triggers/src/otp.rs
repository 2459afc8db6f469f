//! One-time codes: n uniform decimal digits from the injected randomness.

use crate::delivery::Entropy;

/// `length` digits, each uniform over 0-9: a random byte is used only when below 250 (the
/// largest multiple of 10 under 256), so no digit is more likely than another.
pub fn generate_code(entropy: &impl Entropy, length: usize) -> String {
    let mut code = String::with_capacity(length);
    let mut buf = [0u8; 32];
    while code.len() < length {
        entropy.fill(&mut buf);
        for b in buf {
            if b < 250 && code.len() < length {
                code.push(char::from(b'0' + b % 10));
            }
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// Bytes 0, 1, 2, ... 255, 0, ...: every value once per cycle.
    struct Counter(Cell<u8>);
    impl Entropy for Counter {
        fn fill(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self.0.get();
                self.0.set(self.0.get().wrapping_add(1));
            }
        }
    }

    #[test]
    fn codes_have_the_asked_length_and_only_digits() {
        let e = Counter(Cell::new(0));
        for len in 6..=10 {
            let c = generate_code(&e, len);
            assert_eq!(c.len(), len);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn every_digit_is_equally_likely() {
        // Over whole cycles of all 256 byte values, the rejection step leaves each digit exactly
        // 25 times per cycle: no modulo bias, and no digit that can never appear.
        let e = Counter(Cell::new(0));
        let mut counts = [0usize; 10];
        let code = generate_code(&e, 250 * 4);
        for b in code.bytes() {
            counts[usize::from(b - b'0')] += 1;
        }
        assert_eq!(counts, [100; 10]);
    }

    #[test]
    fn bytes_at_or_above_250_are_skipped() {
        struct High(Cell<bool>);
        impl Entropy for High {
            fn fill(&self, buf: &mut [u8]) {
                // First call: only rejectable bytes; then 7s.
                let v = if self.0.replace(false) { 255 } else { 7 };
                buf.fill(v);
            }
        }
        assert_eq!(generate_code(&High(Cell::new(true)), 6), "777777");
    }
}
