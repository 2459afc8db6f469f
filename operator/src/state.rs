//! The CLI's state file: the signing keys (which exist nowhere else) and the IDs AWS assigned,
//! written the moment they are known so a crash never loses them. The controller keeps the same
//! facts in a Secret and the status instead. How keys are made, rotated and dropped is
//! [`crate::key_rotation`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A bound on the keys kept (each one the trigger may try): the current one and
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
    /// The WAF web ACL (`rateLimit`), so an interrupted deletion still finds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_acl_arn: Option<String>,
    /// Newest first.
    #[serde(default)]
    pub signing_keys: Vec<StoredKey>,
    /// The keys live in the trigger's Secrets Manager secret only. False for keys made by a
    /// build that put them in the function's environment: those are rotated once.
    #[serde(default)]
    pub keys_in_secret: bool,
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

    /// Writes atomically (temp file, then rename), readable by the owner only. The temp file is
    /// created exclusively (`O_EXCL`, which also refuses a symlink planted in its place) with
    /// mode 0600 from the start.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |e: std::io::Error| StateError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        if let Some(dir) = path.parent() {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        // A leftover from a crash of this same pid: removed, never followed.
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            _ => {}
        }
        let bytes = serde_json::to_vec_pretty(self).expect("state serializes");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io)?;
            file.write_all(&bytes).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The keys secret's value (`passwordless_contract::signing_keys`): current first.
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
    fn the_file_round_trips_and_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("pwp-state-{}", std::process::id()));
        let path = dir.join("ns/pool.json");
        let mut s = State {
            user_pool_id: Some("us-east-1_X".into()),
            ..Default::default()
        };
        crate::key_rotation::advance(&mut s, crate::key_rotation::Rotation::Keep, 1, 900);
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

    #[test]
    fn a_symlink_planted_as_the_temp_file_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("pwp-state-link-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("victim");
        std::fs::write(&target, "untouched").unwrap();
        let path = dir.join("pool.json");
        let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&target, &tmp).unwrap();
        State::default().save(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
        assert_eq!(State::load(&path).unwrap(), State::default());
        std::fs::remove_dir_all(dir).ok();
    }
}
