//! The annotations a team sets on a `PasswordlessPool` to ask something of the operator: one
//! table, read by the controller, the reconcile core and the generated reference page.

/// Set (or change) the value to rotate the pool's signing key, once per value.
pub const ROTATE: &str = "passwordless-operator.dev/rotate-signing-key";
/// `"true"` pauses the pool: no AWS call, no Secret write, until it is removed.
pub const PAUSED: &str = "passwordless-operator.dev/paused";
/// Set (or change) the value to compare the pool with AWS now, once per value.
pub const RECONCILE_REQUESTED: &str = "passwordless-operator.dev/reconcile-requested-at";
/// Names the new WebAuthn relying-party id a change of it is acknowledged for.
pub const ACKNOWLEDGE_RELYING_PARTY_ID: &str =
    "passwordless-operator.dev/acknowledge-relying-party-id";

/// The value of [`PAUSED`] that pauses; any other leaves the pool running.
pub const PAUSED_VALUE: &str = "true";

/// The longest value the operator reads: a longer one is ignored, as if absent (values are
/// compared, never used, and the watch cache keeps nothing longer).
pub const MAX_VALUE: usize = 253;

/// One annotation, as the reference page lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Annotation {
    pub name: &'static str,
    pub value: &'static str,
    pub effect: &'static str,
}

/// Every annotation the operator reads.
pub const ALL: [Annotation; 4] = [
    Annotation {
        name: PAUSED,
        value: "`true`",
        effect: "Pauses the pool: the operator makes no AWS call and writes no Secret for it (not even a signing-key rotation), and deletion waits too, until the annotation is removed or set to another value. The status says so with `Paused=True`; `Ready` keeps what it last said. Removing it compares the pool with AWS at once.",
    },
    Annotation {
        name: RECONCILE_REQUESTED,
        value: "any text, e.g. a timestamp",
        effect: "Compares the pool with AWS now and corrects any drift, instead of at the next resync. Once per value: the value handled is recorded in `status.lastHandledReconcileAt`, so set a new value for each request.",
    },
    Annotation {
        name: ROTATE,
        value: "any text, e.g. a date",
        effect: "Rotates the pool's signing key once per value; links and codes signed with the old key stay valid until they expire.",
    },
    Annotation {
        name: ACKNOWLEDGE_RELYING_PARTY_ID,
        value: "the new `spec.native.webAuthnRelyingPartyId`",
        effect: "Allows changing the relying-party id of a pool that has one. The change orphans every passkey its users registered (browsers offer a passkey only on its relying party), so without this annotation naming the new id the operator changes nothing and reports `Ready=False` with reason `RelyingPartyIdChange` (Stalled).",
    },
];

/// The value of annotation `name` on `meta`, unless it is too long to be one of ours.
pub fn value<'a>(
    meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    name: &str,
) -> Option<&'a str> {
    meta.annotations
        .as_ref()?
        .get(name)
        .map(String::as_str)
        .filter(|v| v.len() <= MAX_VALUE)
}

/// Whether [`PAUSED`] pauses the object.
pub fn paused(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> bool {
    value(meta, PAUSED) == Some(PAUSED_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn meta(pairs: &[(&str, &str)]) -> ObjectMeta {
        ObjectMeta {
            annotations: Some(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn only_true_pauses() {
        for (value, pauses) in [
            ("true", true),
            ("false", false),
            ("True", false),
            ("", false),
            ("yes", false),
        ] {
            assert_eq!(paused(&meta(&[(PAUSED, value)])), pauses, "{value:?}");
        }
        assert!(!paused(&ObjectMeta::default()));
    }

    #[test]
    fn an_overlong_value_reads_as_absent() {
        let long = "x".repeat(MAX_VALUE + 1);
        assert_eq!(
            value(&meta(&[(RECONCILE_REQUESTED, &long)]), RECONCILE_REQUESTED),
            None
        );
        let fits = "x".repeat(MAX_VALUE);
        assert_eq!(
            value(&meta(&[(RECONCILE_REQUESTED, &fits)]), RECONCILE_REQUESTED),
            Some(fits.as_str())
        );
    }

    #[test]
    fn every_annotation_is_listed_once_under_the_operators_prefix() {
        let mut names: Vec<_> = ALL.iter().map(|a| a.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert!(
            names
                .iter()
                .all(|n| n.starts_with("passwordless-operator.dev/"))
        );
    }
}
