//! The app client's managed login style.

use super::fields::Fields;
use crate::validate::ValidatedSpec;

/// The app client's managed login style. The operator makes sure one is assigned (Cognito's
/// own look); how it looks after that is the branding designer's business, never reset.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginStyleConfig;

impl Fields for LoginStyleConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![("assigned".into(), "true".into())]
    }
}

pub(super) fn desired(spec: &ValidatedSpec) -> Option<LoginStyleConfig> {
    spec.managed_login.as_ref().map(|_| LoginStyleConfig)
}
