//! The CLI's state file: the signing keys (which exist nowhere else) and the IDs AWS assigned,
//! written the moment they are known so a crash never loses them. The controller keeps the same
//! facts in a Secret and the status instead.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// A bound on the keys kept (the trigger's environment is limited to 4 KB): the current one and
/// retired ones whose links may still be in flight.
pub const MAX_KEYS: usize = 4;

/// Seconds since the Unix epoch: key ids and retirement times.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StoredKey {
    pub kid: String,
    /// base64 of 32 random bytes.
    pub secret: String,
    /// When a newer key replaced it (Unix seconds): it is still accepted until every link it
    /// signed has expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<u64>,
}

/// The key id only: the secret never reaches a log.
impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredKey({}, <redacted>)", self.kid)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct State {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_pool_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Newest first.
    #[serde(default)]
    pub signing_keys: Vec<StoredKey>,
    /// The value of the rotation annotation last acted on (controller only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_handled: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("state file {path} is not valid: {reason}")]
    Corrupt { path: String, reason: String },
}

/// `$XDG_STATE_HOME/passwordless-operator/<namespace>/<name>.json`, else under `~/.local/state`.
pub fn default_path(namespace: &str, name: &str) -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("passwordless-operator")
        .join(namespace)
        .join(format!("{name}.json"))
}

impl State {
    pub fn load(path: &Path) -> Result<Self, StateError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| StateError::Corrupt {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(StateError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    /// Writes atomically (temp file, then rename), readable by the owner only.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |e: std::io::Error| StateError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(self).expect("state serializes");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io)?;
            file.write_all(&bytes).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Makes sure a signing key exists; returns whether one was generated.
    pub fn ensure_key(&mut self, now_unix: u64) -> bool {
        if self.signing_keys.is_empty() {
            self.rotate_key(now_unix);
            return true;
        }
        false
    }

    /// A new current key from the OS CSPRNG; the previous one is retired, still accepted.
    pub fn rotate_key(&mut self, now_unix: u64) {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the operating system's random source is available");
        let kid = format!("k{now_unix}");
        let kid = if self.signing_keys.iter().any(|k| k.kid == kid) {
            format!("{kid}b")
        } else {
            kid
        };
        for key in &mut self.signing_keys {
            key.retired_at.get_or_insert(now_unix);
        }
        self.signing_keys.insert(
            0,
            StoredKey {
                kid,
                secret: STANDARD.encode(secret),
                retired_at: None,
            },
        );
        self.signing_keys.truncate(MAX_KEYS);
    }

    /// Drops retired keys once every link they signed (valid `link_lifetime` seconds) has
    /// expired; returns whether any went.
    pub fn prune_keys(&mut self, now_unix: u64, link_lifetime: u64) -> bool {
        let before = self.signing_keys.len();
        self.signing_keys
            .retain(|k| k.retired_at.is_none_or(|at| at + link_lifetime > now_unix));
        self.signing_keys.len() != before
    }

    /// When the next retired key may go (Unix seconds), if any is waiting.
    pub fn next_key_expiry(&self, link_lifetime: u64) -> Option<u64> {
        self.signing_keys
            .iter()
            .filter_map(|k| k.retired_at.map(|at| at + link_lifetime))
            .min()
    }

    /// The trigger's `PWP_SIGNING_KEYS` value: current first.
    pub fn signing_keys_env(&self) -> String {
        self.signing_keys
            .iter()
            .map(|k| format!("{}:{}", k.kid, k.secret))
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_key_stays_accepted_until_its_links_have_expired() {
        let mut s = State::default();
        assert!(s.ensure_key(100));
        assert!(!s.ensure_key(101));
        let first = s.signing_keys[0].clone();
        s.rotate_key(200);
        s.rotate_key(300);
        // Links live 150 s: the first key (retired at 200) still covers links until 350.
        assert!(!s.prune_keys(349, 150));
        assert_eq!(s.signing_keys.len(), 3);
        assert_eq!(s.next_key_expiry(150), Some(350));
        assert!(s.prune_keys(350, 150));
        assert_eq!(s.signing_keys.len(), 2);
        assert!(!s.signing_keys.contains(&first));
        assert_eq!(s.signing_keys[0].kid, "k300");
        assert_eq!(s.signing_keys[0].retired_at, None);
        assert_eq!(s.signing_keys[1].kid, "k200");
        assert_eq!(s.signing_keys[1].retired_at, Some(300));
        assert!(s.prune_keys(450, 150));
        assert_eq!(s.signing_keys.len(), 1);
        assert_eq!(s.next_key_expiry(150), None);
        assert_eq!(
            STANDARD.decode(&s.signing_keys[0].secret).unwrap().len(),
            32
        );
        assert!(s.signing_keys_env().starts_with("k300:"));
        assert!(!format!("{s:?}").contains(&s.signing_keys[0].secret));
    }

    #[test]
    fn rotations_in_a_burst_keep_a_bounded_number_of_keys() {
        let mut s = State::default();
        for t in 0..10 {
            s.rotate_key(t);
        }
        assert_eq!(s.signing_keys.len(), MAX_KEYS);
        assert_eq!(s.signing_keys[0].kid, "k9");
    }

    #[test]
    fn the_file_round_trips_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pwp-state-{}", std::process::id()));
        let path = dir.join("ns/pool.json");
        let mut s = State {
            user_pool_id: Some("us-east-1_X".into()),
            ..Default::default()
        };
        s.ensure_key(1);
        s.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), s);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            State::load(&dir.join("missing.json")).unwrap(),
            State::default()
        );
        std::fs::remove_dir_all(dir).ok();
    }
}
