//! The trigger Lambdas' deployment package. Every comparison with AWS needs its digest (Lambda's
//! CodeSha256); only creating a function or updating its code needs its bytes. So the digest is
//! taken once, and the 6 MiB are read from the file when a function is deployed: a controller
//! holding a fleet does not keep them for the process's life.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod append;
pub use append::AppendError;

/// Why the package's bytes could not be had.
#[derive(Debug, thiserror::Error)]
pub enum CodeError {
    #[error("reading the trigger zip {path}: {reason}")]
    Unreadable { path: String, reason: String },
    /// The file was replaced after start: what was compared with AWS is not what would be
    /// deployed, so nothing is deployed until a restart takes the new digest.
    #[error(
        "the trigger zip {0} changed since the operator started; restart it to deploy the new one"
    )]
    Changed(String),
    #[error("adding the pool's messages to the trigger zip: {0}")]
    Append(#[from] AppendError),
}

pub struct TriggerCode {
    source: Source,
    /// base64(sha256(zip)), as Lambda reports it.
    sha256: String,
    /// The digest of the package with a pool's messages added, by the messages' digest: each
    /// is computed once, not at every comparison with AWS.
    with_messages: Mutex<HashMap<String, String>>,
}

/// Packages with messages whose digest is kept; past this the cache starts again (a fleet
/// has as many as it has distinct message sets).
const MAX_KEPT_DIGESTS: usize = 4096;

enum Source {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl TriggerCode {
    /// A package read from `path` when it is deployed; read once now for its digest.
    pub fn from_file(path: &Path) -> std::io::Result<Self> {
        let zip = std::fs::read(path)?;
        Ok(Self {
            sha256: code_sha256(&zip),
            source: Source::File(path.to_owned()),
            with_messages: Mutex::default(),
        })
    }

    /// A package held in memory (a one-shot CLI run, tests).
    pub fn from_bytes(zip: Vec<u8>) -> Self {
        Self {
            sha256: code_sha256(&zip),
            source: Source::Bytes(zip),
            with_messages: Mutex::default(),
        }
    }

    /// No package: a pool whose strategy deploys no function.
    pub fn none() -> Self {
        Self::from_bytes(Vec::new())
    }

    /// base64(sha256(zip)), as Lambda reports CodeSha256.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The package's bytes, as they were when the digest was taken.
    pub fn bytes(&self) -> Result<Vec<u8>, CodeError> {
        match &self.source {
            Source::Bytes(zip) => Ok(zip.clone()),
            Source::File(path) => {
                let shown = || path.display().to_string();
                let zip = std::fs::read(path).map_err(|e| CodeError::Unreadable {
                    path: shown(),
                    reason: e.to_string(),
                })?;
                if code_sha256(&zip) != self.sha256 {
                    return Err(CodeError::Changed(shown()));
                }
                Ok(zip)
            }
        }
    }
}

/// What one pool deploys: the shared package, or a copy of it with the pool's messages in
/// other languages added as [`passwordless_contract::messages::FILE`] (the function's 4 KB
/// environment cannot hold them).
pub struct Package<'a> {
    base: &'a TriggerCode,
    messages: Option<String>,
    sha256: String,
}

impl<'a> Package<'a> {
    pub fn shared(base: &'a TriggerCode) -> Self {
        Self {
            base,
            messages: None,
            sha256: base.sha256.clone(),
        }
    }

    /// The package with `messages` (the file's JSON) added. Its digest is computed once per
    /// distinct `messages`, reading the base package then.
    pub fn with_messages(base: &'a TriggerCode, messages: String) -> Result<Self, CodeError> {
        let key = code_sha256(messages.as_bytes());
        // Held while a digest is computed: one package (twice 6 MiB) in memory at a time, however
        // many pools reconcile at once after a restart.
        let mut kept = base
            .with_messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let sha256 = match kept.get(&key) {
            Some(sha256) => sha256.clone(),
            None => {
                let zip = append::append(
                    &base.bytes()?,
                    passwordless_contract::messages::FILE,
                    messages.as_bytes(),
                )?;
                let sha256 = code_sha256(&zip);
                if kept.len() >= MAX_KEPT_DIGESTS {
                    kept.clear();
                }
                kept.insert(key, sha256.clone());
                sha256
            }
        };
        drop(kept);
        Ok(Self {
            base,
            messages: Some(messages),
            sha256,
        })
    }

    /// base64(sha256(zip)), as Lambda reports CodeSha256.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The bytes to deploy, checked against the digest that was compared with AWS.
    pub fn bytes(&self) -> Result<Vec<u8>, CodeError> {
        let base = self.base.bytes()?;
        let Some(messages) = &self.messages else {
            return Ok(base);
        };
        let zip = append::append(
            &base,
            passwordless_contract::messages::FILE,
            messages.as_bytes(),
        )?;
        if code_sha256(&zip) != self.sha256 {
            return Err(CodeError::Changed(
                "the package with the pool's messages".into(),
            ));
        }
        Ok(zip)
    }
}

/// Lambda's CodeSha256 of a zip: base64 of its SHA-256.
pub fn code_sha256(zip: &[u8]) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_package_is_read_when_deployed_and_refused_once_replaced() {
        let dir = std::env::temp_dir().join(format!("pwp-code-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bootstrap.zip");
        std::fs::write(&path, b"first build").unwrap();
        let code = TriggerCode::from_file(&path).unwrap();
        assert_eq!(
            code.sha256(),
            TriggerCode::from_bytes(b"first build".to_vec()).sha256()
        );
        assert_eq!(code.bytes().unwrap(), b"first build");

        std::fs::write(&path, b"second build").unwrap();
        assert!(matches!(code.bytes(), Err(CodeError::Changed(_))));
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(code.bytes(), Err(CodeError::Unreadable { .. })));
        std::fs::remove_dir(&dir).unwrap();
    }

    /// A pool's messages make a package of its own, whose digest is what its bytes hash to;
    /// the same messages give the same package, and none give the shared one.
    #[test]
    fn a_package_with_messages_is_the_shared_zip_plus_one_file() {
        // An empty zip: the end record alone.
        let mut empty = vec![0x50, 0x4b, 0x05, 0x06];
        empty.extend([0u8; 18]);
        let base = TriggerCode::from_bytes(empty);
        assert_eq!(Package::shared(&base).sha256(), base.sha256());
        let de = Package::with_messages(&base, r#"{"de":{"sms":"{{code}}"}}"#.into()).unwrap();
        let bytes = de.bytes().unwrap();
        assert_eq!(code_sha256(&bytes), de.sha256());
        assert_ne!(de.sha256(), base.sha256());
        let again = Package::with_messages(&base, r#"{"de":{"sms":"{{code}}"}}"#.into()).unwrap();
        assert_eq!(again.sha256(), de.sha256());
        let es = Package::with_messages(&base, r#"{"es":{"sms":"{{code}}"}}"#.into()).unwrap();
        assert_ne!(es.sha256(), de.sha256());
        assert!(matches!(
            Package::with_messages(&TriggerCode::from_bytes(b"no zip".to_vec()), "{}".into()),
            Err(CodeError::Append(AppendError::NotAZip(_)))
        ));
    }

    #[test]
    fn lambda_reports_the_digest_as_base64_of_sha256() {
        // `printf "" | sha256sum | xxd -r -p | base64`
        assert_eq!(
            TriggerCode::none().sha256(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
