//! The trigger Lambdas' deployment package. Every comparison with AWS needs its digest (Lambda's
//! CodeSha256); only creating a function or updating its code needs its bytes. So the digest is
//! taken once, and the 6 MiB are read from the file when a function is deployed: a controller
//! holding a fleet does not keep them for the process's life.

use std::path::{Path, PathBuf};

mod append;
pub use append::AppendError;
use append::Appendable;

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
    /// The zip read for adding a pool's messages (and taking the result's digest) without
    /// reading it again; why not, for a file that is not a plain zip.
    appendable: Result<Appendable, AppendError>,
}

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
            appendable: Appendable::parse(&zip),
            source: Source::File(path.to_owned()),
        })
    }

    /// A package held in memory (a one-shot CLI run, tests).
    pub fn from_bytes(zip: Vec<u8>) -> Self {
        Self {
            sha256: code_sha256(&zip),
            appendable: Appendable::parse(&zip),
            source: Source::Bytes(zip),
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

    /// The package with `messages` (the file's JSON) added. Its digest comes from the base
    /// zip's, read at start: no file is read, whatever the fleet.
    pub fn with_messages(base: &'a TriggerCode, messages: String) -> Result<Self, CodeError> {
        let appendable = base.appendable.as_ref().map_err(|e| e.clone())?;
        let tail = appendable.tail(passwordless_contract::messages::FILE, messages.as_bytes())?;
        Ok(Self {
            base,
            sha256: appendable.digest(&tail),
            messages: Some(messages),
        })
    }

    /// base64(sha256(zip)), as Lambda reports CodeSha256.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The bytes to deploy, checked against the digest that was compared with AWS.
    pub fn bytes(&self) -> Result<Vec<u8>, CodeError> {
        let mut zip = self.base.bytes()?;
        let Some(messages) = &self.messages else {
            return Ok(zip);
        };
        let appendable = self.base.appendable.as_ref().map_err(|e| e.clone())?;
        let tail = appendable.tail(passwordless_contract::messages::FILE, messages.as_bytes())?;
        zip.truncate(appendable.prefix_len());
        zip.extend(tail);
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
