//! The signing-key lifecycle, for the CLI (keys in the state file) and the controller (keys in
//! a Secret) alike: a key is made when none exists, a rotation makes a new current key and keeps
//! the previous one accepted, retired keys go once every link they signed has expired, and at
//! most [`MAX_KEYS`] are kept. Pure: the caller stores the keys when told they changed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::state::{MAX_KEYS, State, StoredKey};

/// Whether to make a new current key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation<'a> {
    /// No: keep the current key (one is still made if none exists).
    Keep,
    /// Yes, now (the CLI's `--rotate-signing-key`).
    Now,
    /// Once per distinct value (the controller's rotation annotation): a value already acted on
    /// rotates nothing.
    OncePer(&'a str),
}

/// Brings `keys` up to date at `now_unix` for links valid `link_lifetime` seconds. Returns
/// whether anything changed, in which case the keys must be stored before they are used.
pub fn advance(
    keys: &mut State,
    rotation: Rotation<'_>,
    now_unix: u64,
    link_lifetime: u64,
) -> bool {
    let pruned = prune(keys, now_unix, link_lifetime);
    let created = keys.signing_keys.is_empty();
    // Keys made before they moved to the Secrets Manager secret were in the trigger function's
    // environment, readable with lambda:GetFunctionConfiguration (and they stay in the old
    // function, which an upgrade leaves behind): retire them once, as if rotated.
    let exposed = !created && !keys.keys_in_secret;
    if created || exposed {
        rotate(keys, now_unix);
    }
    keys.keys_in_secret = true;
    let rotated = match rotation {
        Rotation::Keep => false,
        Rotation::Now => {
            // A key made just now is already fresh.
            if !created {
                rotate(keys, now_unix);
            }
            true
        }
        Rotation::OncePer(value) => {
            let new_value = keys.rotation_handled.as_deref() != Some(value);
            if new_value {
                if !created {
                    rotate(keys, now_unix);
                }
                keys.rotation_handled = Some(value.to_owned());
            }
            new_value
        }
    };
    pruned || created || exposed || rotated
}

/// When the next retired key may go (Unix seconds), if any is waiting: the keys must be looked
/// at again then, so the trigger stops accepting it.
pub fn next_expiry(keys: &State, link_lifetime: u64) -> Option<u64> {
    keys.signing_keys
        .iter()
        .filter_map(|k| k.retired_at.map(|at| at + link_lifetime))
        .min()
}

/// A new current key from the OS CSPRNG; the previous ones are retired, still accepted.
fn rotate(keys: &mut State, now_unix: u64) {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).expect("the operating system's random source is available");
    // Unique however many rotations share a second: `k<now>`, then `k<now>-2`, `k<now>-3`...
    let taken = |kid: &str| keys.signing_keys.iter().any(|k| k.kid == kid);
    let mut kid = format!("k{now_unix}");
    let mut n = 2;
    while taken(&kid) {
        kid = format!("k{now_unix}-{n}");
        n += 1;
    }
    for key in &mut keys.signing_keys {
        key.retired_at.get_or_insert(now_unix);
    }
    keys.signing_keys.insert(
        0,
        StoredKey {
            kid,
            secret: STANDARD.encode(secret),
            retired_at: None,
        },
    );
    keys.signing_keys.truncate(MAX_KEYS);
}

/// Drops retired keys once every link they signed has expired; returns whether any went.
fn prune(keys: &mut State, now_unix: u64, link_lifetime: u64) -> bool {
    let before = keys.signing_keys.len();
    keys.signing_keys
        .retain(|k| k.retired_at.is_none_or(|at| at + link_lifetime > now_unix));
    keys.signing_keys.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys as (kid, retired at), newest first.
    type Shape = &'static [(&'static str, Option<u64>)];

    fn shape_of(keys: &State) -> Vec<(String, Option<u64>)> {
        keys.signing_keys
            .iter()
            .map(|k| (k.kid.clone(), k.retired_at))
            .collect()
    }

    fn keys_of(shape: &[(&str, Option<u64>)]) -> State {
        State {
            signing_keys: shape
                .iter()
                .map(|(kid, retired_at)| StoredKey {
                    kid: (*kid).to_owned(),
                    secret: STANDARD.encode([7u8; 32]),
                    retired_at: *retired_at,
                })
                .collect(),
            // Keys of today's shape (the exposed ones have their own test).
            keys_in_secret: true,
            ..Default::default()
        }
    }

    #[test]
    fn the_policy_in_a_table() {
        // Links live 900 s throughout. `advance` says "changed" exactly when the keys changed.
        let cases: [(&str, Shape, Rotation, u64, Shape); 10] = [
            (
                "none stored: one is made",
                &[],
                Rotation::Keep,
                100,
                &[("k100", None)],
            ),
            (
                "a current key stays",
                &[("k100", None)],
                Rotation::Keep,
                200,
                &[("k100", None)],
            ),
            (
                "a rotation keeps the previous key, retired now",
                &[("k100", None)],
                Rotation::Now,
                200,
                &[("k200", None), ("k100", Some(200))],
            ),
            (
                "a rotation with none stored makes one key",
                &[],
                Rotation::Now,
                100,
                &[("k100", None)],
            ),
            (
                "a second rotation in the same second gets a distinct kid",
                &[("k100", None)],
                Rotation::Now,
                100,
                &[("k100-2", None), ("k100", Some(100))],
            ),
            (
                "a third rotation in that second gets a third kid",
                &[("k100-2", None), ("k100", Some(100))],
                Rotation::Now,
                100,
                &[("k100-3", None), ("k100-2", Some(100)), ("k100", Some(100))],
            ),
            (
                "a retired key stays until its links have expired",
                &[("k200", None), ("k100", Some(200))],
                Rotation::Keep,
                1099,
                &[("k200", None), ("k100", Some(200))],
            ),
            (
                "then it goes",
                &[("k200", None), ("k100", Some(200))],
                Rotation::Keep,
                1100,
                &[("k200", None)],
            ),
            (
                "an expired key goes before a rotation, so no live key is cut",
                &[
                    ("k400", None),
                    ("k300", Some(400)),
                    ("k200", Some(300)),
                    ("k100", Some(200)),
                ],
                Rotation::Now,
                1150,
                &[
                    ("k1150", None),
                    ("k400", Some(1150)),
                    ("k300", Some(400)),
                    ("k200", Some(300)),
                ],
            ),
            (
                "an annotation value already acted on rotates nothing",
                &[("k100", None)],
                Rotation::OncePer("handled"),
                200,
                &[("k100", None)],
            ),
        ];
        for (what, stored, rotation, now, after) in cases {
            let mut keys = keys_of(stored);
            keys.rotation_handled = Some("handled".into());
            let changed = advance(&mut keys, rotation, now, 900);
            assert_eq!(shape_of(&keys), shape_of(&keys_of(after)), "{what}");
            assert_eq!(changed, stored != after, "{what}");
        }
    }

    #[test]
    fn each_new_annotation_value_rotates_once_but_never_a_brand_new_key() {
        let mut keys = State::default();
        assert!(advance(&mut keys, Rotation::OncePer("now"), 100, 900));
        assert_eq!(shape_of(&keys), shape_of(&keys_of(&[("k100", None)])));
        assert_eq!(keys.rotation_handled.as_deref(), Some("now"));
        assert!(!advance(&mut keys, Rotation::OncePer("now"), 200, 900));
        assert!(advance(
            &mut keys,
            Rotation::OncePer("2026-11-21"),
            300,
            900
        ));
        assert_eq!(
            shape_of(&keys),
            shape_of(&keys_of(&[("k300", None), ("k100", Some(300))]))
        );
        assert_eq!(keys.rotation_handled.as_deref(), Some("2026-11-21"));
        assert!(!advance(
            &mut keys,
            Rotation::OncePer("2026-11-21"),
            400,
            900
        ));
    }

    #[test]
    fn keys_that_lived_in_the_function_environment_are_rotated_once() {
        let mut keys = State {
            signing_keys: vec![StoredKey {
                kid: "k1".into(),
                secret: "old".into(),
                retired_at: None,
            }],
            ..Default::default()
        };
        assert!(advance(&mut keys, Rotation::Keep, 100, 900), "rotated");
        assert_ne!(keys.signing_keys[0].kid, "k1");
        assert_eq!(
            keys.signing_keys[1].retired_at,
            Some(100),
            "retired, still accepted"
        );
        assert!(!advance(&mut keys, Rotation::Keep, 101, 900), "once only");
        let mut fresh = State::default();
        advance(&mut fresh, Rotation::Keep, 100, 900);
        assert_eq!(fresh.signing_keys.len(), 1, "new keys were never exposed");
    }

    #[test]
    fn new_keys_are_32_random_bytes_and_the_current_one_leads_the_trigger_value() {
        let mut keys = State::default();
        advance(&mut keys, Rotation::Keep, 100, 900);
        advance(&mut keys, Rotation::Now, 200, 900);
        let [current, previous] = &keys.signing_keys[..] else {
            panic!("two keys expected")
        };
        assert_eq!(STANDARD.decode(&current.secret).unwrap().len(), 32);
        assert_ne!(current.secret, previous.secret);
        assert!(keys.signing_keys_env().starts_with("k200:"));
        assert!(!format!("{keys:?}").contains(&current.secret));
    }

    #[test]
    fn rotations_in_a_burst_keep_a_bounded_number_of_keys() {
        let mut keys = State::default();
        for t in 0..10 {
            advance(&mut keys, Rotation::Now, t, 900);
        }
        assert_eq!(keys.signing_keys.len(), MAX_KEYS);
        assert_eq!(keys.signing_keys[0].kid, "k9");
    }

    #[test]
    fn the_next_expiry_is_the_earliest_retired_key_plus_the_link_lifetime() {
        let keys = keys_of(&[("k300", None), ("k200", Some(300)), ("k100", Some(200))]);
        assert_eq!(next_expiry(&keys, 150), Some(350));
        assert_eq!(next_expiry(&keys_of(&[("k300", None)]), 150), None);
    }
}
