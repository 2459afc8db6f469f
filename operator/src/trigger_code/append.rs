//! Adds one file to a zip without unpacking it: the entries stay byte for byte, the new file
//! goes (stored, uncompressed) between the last entry and the central directory, which is
//! written again with it. Deterministic, so the result's digest is a function of its inputs.
//! Plain zip only (no zip64, no multi-disk archive), as `cargo lambda`/`zip` write a trigger.

use sha2::{Digest, Sha256};

/// Why a file could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("not a zip archive: {0}")]
    NotAZip(&'static str),
    #[error("the package already holds {0}")]
    Exists(String),
}

const EOCD: u32 = 0x0605_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
/// Names are UTF-8 (general purpose flag bit 11).
const UTF8: u16 = 1 << 11;
/// 1980-01-01 00:00, zip's earliest date: no clock in the digest.
const DOS_DATE: u16 = (1 << 5) | 1;
/// Version 2.0: what a stored file needs; made on Unix, so the mode below applies.
const VERSION_NEEDED: u16 = 20;
const VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// A regular file, rw-r--r--.
const MODE: u32 = 0o100_644 << 16;

/// A zip read once, so that a file can be added later without reading it again: where its
/// entries end, its central directory, its end record's comment, and the SHA-256 state of
/// everything before the directory. Adding a file and taking the result's digest then costs
/// what the file costs, not the 6 MiB before it.
#[derive(Clone)]
pub struct Appendable {
    prefix_len: usize,
    central: Vec<u8>,
    entries: u16,
    comment: Vec<u8>,
    prefix: Sha256,
}

impl Appendable {
    pub fn parse(zip: &[u8]) -> Result<Self, AppendError> {
        let eocd = find_eocd(zip).ok_or(AppendError::NotAZip("no end of central directory"))?;
        let field16 = |at: usize| u16::from_le_bytes([zip[at], zip[at + 1]]);
        let field32 =
            |at: usize| u32::from_le_bytes([zip[at], zip[at + 1], zip[at + 2], zip[at + 3]]);
        let (disk, cd_disk) = (field16(eocd + 4), field16(eocd + 6));
        let (here, entries) = (field16(eocd + 8), field16(eocd + 10));
        let (cd_size, cd_offset) = (field32(eocd + 12) as usize, field32(eocd + 16) as usize);
        if disk != 0 || cd_disk != 0 || here != entries {
            return Err(AppendError::NotAZip("a multi-disk archive"));
        }
        if entries == u16::MAX || cd_offset == u32::MAX as usize {
            return Err(AppendError::NotAZip("a zip64 archive"));
        }
        if cd_offset.checked_add(cd_size) != Some(eocd) {
            return Err(AppendError::NotAZip(
                "the central directory is not where it says",
            ));
        }
        // Every name is checked now: a broken directory is refused before anything is added.
        let _ = central_names(&zip[cd_offset..eocd], entries)?;
        Ok(Self {
            prefix_len: cd_offset,
            central: zip[cd_offset..eocd].to_vec(),
            entries,
            comment: zip[eocd + EOCD_LEN..].to_vec(),
            prefix: Sha256::new().chain_update(&zip[..cd_offset]),
        })
    }

    /// The bytes before the central directory, which an added file leaves as they are.
    pub fn prefix_len(&self) -> usize {
        self.prefix_len
    }

    /// What replaces everything from the central directory on once `name` holding `content`
    /// is added: the file, the old directory and the new entry, the end record.
    pub fn tail(&self, name: &str, content: &[u8]) -> Result<Vec<u8>, AppendError> {
        if central_names(&self.central, self.entries)?.any(|n| n == name.as_bytes()) {
            return Err(AppendError::Exists(name.to_owned()));
        }
        let crc = crc32(content);
        let size =
            u32::try_from(content.len()).map_err(|_| AppendError::NotAZip("a file over 4 GiB"))?;
        let name_len =
            u16::try_from(name.len()).map_err(|_| AppendError::NotAZip("a name over 64 KiB"))?;
        let too_big = || AppendError::NotAZip("a zip64 archive");
        let local_at = u32::try_from(self.prefix_len).map_err(|_| too_big())?;

        let mut out = Vec::with_capacity(self.central.len() + 2 * name.len() + content.len() + 128);
        // The local header and the file.
        put32(&mut out, LOCAL);
        for v in [VERSION_NEEDED, UTF8, 0, 0, DOS_DATE] {
            put16(&mut out, v);
        }
        for v in [crc, size, size] {
            put32(&mut out, v);
        }
        put16(&mut out, name_len);
        put16(&mut out, 0);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(content);
        // The central directory: the old entries, then the new one.
        let new_cd_offset = self.prefix_len + out.len();
        let cd_start = out.len();
        out.extend_from_slice(&self.central);
        put32(&mut out, CENTRAL);
        for v in [VERSION_MADE_BY, VERSION_NEEDED, UTF8, 0, 0, DOS_DATE] {
            put16(&mut out, v);
        }
        for v in [crc, size, size] {
            put32(&mut out, v);
        }
        for v in [name_len, 0, 0, 0, 0] {
            put16(&mut out, v);
        }
        put32(&mut out, MODE);
        put32(&mut out, local_at);
        out.extend_from_slice(name.as_bytes());
        let new_cd_size = out.len() - cd_start;
        // The end record, its comment kept.
        put32(&mut out, EOCD);
        for v in [0, 0, self.entries + 1, self.entries + 1] {
            put16(&mut out, v);
        }
        put32(&mut out, u32::try_from(new_cd_size).map_err(|_| too_big())?);
        put32(
            &mut out,
            u32::try_from(new_cd_offset).map_err(|_| too_big())?,
        );
        let comment_len = u16::try_from(self.comment.len()).map_err(|_| too_big())?;
        put16(&mut out, comment_len);
        out.extend_from_slice(&self.comment);
        Ok(out)
    }

    /// Lambda's CodeSha256 (base64 of SHA-256) of the prefix followed by `tail`.
    pub fn digest(&self, tail: &[u8]) -> String {
        use base64::Engine;
        let hash = self.prefix.clone().chain_update(tail).finalize();
        base64::engine::general_purpose::STANDARD.encode(hash)
    }
}

/// The end record: the last signature whose comment runs exactly to the end.
fn find_eocd(zip: &[u8]) -> Option<usize> {
    let last = zip.len().checked_sub(EOCD_LEN)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    (first..=last).rev().find(|&at| {
        let comment = usize::from(u16::from_le_bytes([zip[at + 20], zip[at + 21]]));
        zip[at..at + 4] == EOCD.to_le_bytes() && at + EOCD_LEN + comment == zip.len()
    })
}

/// The names in a central directory of `entries` entries.
fn central_names(cd: &[u8], entries: u16) -> Result<impl Iterator<Item = &[u8]>, AppendError> {
    let mut names = Vec::with_capacity(usize::from(entries));
    let mut at = 0;
    for _ in 0..entries {
        let header = cd
            .get(at..at + CENTRAL_LEN)
            .filter(|h| h[..4] == CENTRAL.to_le_bytes())
            .ok_or(AppendError::NotAZip("a broken central directory"))?;
        let len = |i: usize| usize::from(u16::from_le_bytes([header[i], header[i + 1]]));
        let (name, extra, comment) = (len(28), len(30), len(32));
        let name_at = at + CENTRAL_LEN;
        names.push(
            cd.get(name_at..name_at + name)
                .ok_or(AppendError::NotAZip("a broken central directory"))?,
        );
        at = name_at + name + extra + comment;
    }
    if at != cd.len() {
        return Err(AppendError::NotAZip("a broken central directory"));
    }
    Ok(names.into_iter())
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// CRC-32 (IEEE, reflected), as zip stores it, a byte at a time from a table.
fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    !data.iter().fold(!0u32, |crc, &byte| {
        TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `zip` with `name` holding `content` added, as the package is built.
    fn append(zip: &[u8], name: &str, content: &[u8]) -> Result<Vec<u8>, AppendError> {
        let base = Appendable::parse(zip)?;
        let mut out = zip[..base.prefix_len].to_vec();
        out.extend(base.tail(name, content)?);
        Ok(out)
    }

    /// An empty archive: only the end record (what `zip` writes for no files), with a comment.
    fn empty(comment: &[u8]) -> Vec<u8> {
        let mut z = Vec::new();
        put32(&mut z, EOCD);
        for v in [0u16, 0, 0, 0] {
            put16(&mut z, v);
        }
        put32(&mut z, 0);
        put32(&mut z, 0);
        put16(&mut z, comment.len() as u16);
        z.extend_from_slice(comment);
        z
    }

    #[test]
    fn crc32_is_zips() {
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// Python's zipfile reads what `append` writes, files and comment intact, CRCs checked.
    #[test]
    fn appended_files_read_back_with_another_zip_reader() {
        let once = append(&empty(b"built by test"), "bootstrap", b"\x7fELF binary").unwrap();
        let twice = append(
            &once,
            "messages.json",
            "{\"de\":{\"subject\":\"Grüße\"}}".as_bytes(),
        )
        .unwrap();
        assert_eq!(
            twice,
            append(
                &once,
                "messages.json",
                "{\"de\":{\"subject\":\"Grüße\"}}".as_bytes()
            )
            .unwrap(),
            "deterministic"
        );
        let path = std::env::temp_dir().join(format!("pwp-append-{}.zip", std::process::id()));
        std::fs::write(&path, &twice).unwrap();
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(z.comment.decode())\nfor i in z.infolist(): print(i.filename, oct(i.external_attr >> 16), z.read(i).decode())",
            ])
            .arg(&path)
            .output()
            .expect("python3 runs");
        std::fs::remove_file(&path).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "built by test\nbootstrap 0o100644 \u{7f}ELF binary\nmessages.json 0o100644 {\"de\":{\"subject\":\"Grüße\"}}\n"
        );
        assert_eq!(
            append(&twice, "messages.json", b"{}"),
            Err(AppendError::Exists("messages.json".into()))
        );
    }

    /// The digest taken from the prefix's hash is the whole result's.
    #[test]
    fn the_digest_from_the_prefix_is_the_whole_zips() {
        let zip = append(&empty(b"c"), "bootstrap", &[7u8; 100_000]).unwrap();
        let base = Appendable::parse(&zip).unwrap();
        let tail = base.tail("messages.json", b"{}").unwrap();
        let mut whole = zip[..base.prefix_len()].to_vec();
        whole.extend(&tail);
        assert_eq!(whole, append(&zip, "messages.json", b"{}").unwrap());
        assert_eq!(base.digest(&tail), crate::trigger_code::code_sha256(&whole));
    }

    #[test]
    fn what_is_not_a_plain_zip_is_refused() {
        assert!(matches!(
            append(b"", "a", b""),
            Err(AppendError::NotAZip(_))
        ));
        assert!(matches!(
            append(b"first build", "a", b""),
            Err(AppendError::NotAZip(_))
        ));
        let mut lying = empty(b"");
        lying[16] = 9; // the central directory's offset, past the end record
        assert!(matches!(
            append(&lying, "a", b""),
            Err(AppendError::NotAZip(_))
        ));
    }
}
