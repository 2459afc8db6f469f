//! Condition types and reasons: one place, used by the CLI, the controller and the tests.

pub const READY: &str = "Ready";
/// kstatus: the operator is working toward the spec (True only while it is).
pub const RECONCILING: &str = "Reconciling";
/// kstatus: the operator cannot proceed without a change (True only while so).
pub const STALLED: &str = "Stalled";
pub const PROVISIONING: &str = "Provisioning";
pub const SENDER_NOT_VERIFIED: &str = "SenderNotVerified";
pub const AWS_ERROR: &str = "AwsError";
pub const INVALID_SPEC: &str = "InvalidSpec";
pub const DELETING: &str = "Deleting";
/// The operator's own Kubernetes calls failed (RBAC, the apiserver away).
pub const KUBERNETES_ERROR: &str = "KubernetesError";
/// The pool's signing-key Secret could not be read or written.
pub const SIGNING_KEY_ERROR: &str = "SigningKeyError";
/// The deployed trigger refused its configuration when probed.
pub const TRIGGER_UNHEALTHY: &str = "TriggerUnhealthy";
/// The platform team's tenancy rules do not grant what the spec asks (a sender, an
/// adoption, an account).
pub const NOT_ALLOWED: &str = "NotAllowed";
/// `spec.secretName` names a Secret that exists and is not this pool's.
pub const SECRET_CONFLICT: &str = "SecretConflict";
/// The managed login domain is being created (minutes; a custom domain up to an hour).
pub const DOMAIN_NOT_ACTIVE: &str = "DomainNotActive";
/// Cognito reports the managed login domain `FAILED`.
pub const DOMAIN_FAILED: &str = "DomainFailed";
/// A condition beside `Ready` (never holding it back): the pool's messages reach only
/// verified recipients, the account being in the SES or SMS sandbox in its region.
pub const DELIVERY_RESTRICTED: &str = "DeliveryRestricted";
pub const SES_SANDBOX: &str = "SesSandbox";
pub const SMS_SANDBOX: &str = "SmsSandbox";
/// A condition beside `Ready` (True only while so): the pause annotation holds the operator
/// off the pool.
pub const PAUSED: &str = "Paused";
pub const RECONCILE_PAUSED: &str = "ReconcilePaused";
/// A Warning event without a condition: an apply moved the user pool to a dearer feature plan.
pub const TIER_RAISED: &str = "TierRaised";
/// The spec changes the relying-party id of a pool that has one, unacknowledged.
pub const RELYING_PARTY_ID_CHANGE: &str = "RelyingPartyIdChange";

/// Whether a condition with this reason deserves a Warning event rather than a Normal one:
/// someone has to act ([`Reason::warning`]).
pub fn is_warning(reason: &str) -> bool {
    find(reason).is_some_and(|r| r.warning)
}

/// Whether a reason comes with `Stalled=True`: the operator waits for a change, re-checking
/// each resync, instead of retrying with backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stalls {
    Never,
    Always,
    /// Only in the case said.
    When(&'static str),
}

/// A condition type the status carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionType {
    pub name: &'static str,
    pub meaning: &'static str,
}

/// A reason, as a platform team meets it in `kubectl describe`: what it means, and what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reason {
    pub name: &'static str,
    /// The condition it is the reason of, and that condition's status.
    pub condition: &'static str,
    pub status: &'static str,
    pub stalls: Stalls,
    /// Someone has to act: its events are Warnings.
    pub warning: bool,
    pub meaning: &'static str,
    pub remedy: &'static str,
}

/// Every condition type, in the order the status lists them.
pub const CONDITION_TYPES: [ConditionType; 5] = [
    ConditionType {
        name: READY,
        meaning: "The pool is usable: its user pool and app client exist, its sender (if any) may send, and its managed login domain (if any) serves its pages. Its reason says why not when it is False.",
    },
    ConditionType {
        name: RECONCILING,
        meaning: "kstatus: present (True) only while Ready is False and the operator is working toward the spec or retrying a failure with backoff. It carries Ready's reason and message.",
    },
    ConditionType {
        name: STALLED,
        meaning: "kstatus: present (True) only while Ready is False and the operator cannot go on without a change (of the spec, of the tenancy rules, or of what stands in the way). It re-checks at each resync. It carries Ready's reason and message.",
    },
    ConditionType {
        name: DELIVERY_RESTRICTED,
        meaning: "Beside Ready, never holding it back: the account is in the SES or SMS sandbox in the pool's region, so sign-in messages reach only verified recipients.",
    },
    ConditionType {
        name: PAUSED,
        meaning: "Beside Ready, present (True) only while the pool carries the annotation `passwordless-operator.dev/paused: \"true\"`: the operator neither reads nor writes its AWS resources or Secrets, and Ready keeps what it last said.",
    },
];

/// Every reason, with its meaning and remedy: the reference and the troubleshooting pages are
/// generated from this table.
pub const ALL: [Reason; 17] = [
    Reason {
        name: READY,
        condition: READY,
        status: "True",
        stalls: Stalls::Never,
        warning: false,
        meaning: "AWS matches the spec and the pool is usable; the output Secret holds its IDs.",
        remedy: "Nothing to do.",
    },
    Reason {
        name: PROVISIONING,
        condition: READY,
        status: "False",
        stalls: Stalls::Never,
        warning: false,
        meaning: "The operator is creating or updating the pool's AWS resources. A first apply takes two passes (the role's policy and the invoke permission name the pool once it exists).",
        remedy: "Wait: a pool is usually Ready within a minute. If it stays, read the events and the operator's logs for the pool.",
    },
    Reason {
        name: SENDER_NOT_VERIFIED,
        condition: READY,
        status: "False",
        stalls: Stalls::Never,
        warning: true,
        meaning: "The SES identity the pool sends from is not verified yet. The message lists the DKIM CNAME records of a domain identity, or asks for the link SES mailed to an address identity. The operator re-checks it on its sender interval and mails an expired address link again (at most once a day, three times in all) for an identity it created.",
        remedy: "Publish the DKIM records in the domain's DNS, or click the link SES sent to the address. For an identity the operator did not create, ask SES for a new link: `aws ses verify-email-identity --email-address ADDRESS --region REGION`.",
    },
    Reason {
        name: AWS_ERROR,
        condition: READY,
        status: "False",
        stalls: Stalls::Never,
        warning: true,
        meaning: "An AWS call failed, or a resource stands in the way (one found under the pool's name that is not its own, an adopted pool that cannot become what the spec asks). Retried with backoff.",
        remedy: "Read the message. Throttling and transient errors clear by themselves. AccessDenied: the operator's role lacks a permission (compare it with `passwordless-operator iam-policy`). A resource that belongs to another pool or to nobody: delete or rename it, or adopt the user pool as the message says.",
    },
    Reason {
        name: INVALID_SPEC,
        condition: READY,
        status: "False",
        stalls: Stalls::Always,
        warning: true,
        meaning: "The spec breaks a rule: one the apiserver did not enforce (an apiserver without the CRD's CEL rules), or one only the operator can check (the trigger's environment over Lambda's 4 KB).",
        remedy: "Fix the field the message names, and apply again.",
    },
    Reason {
        name: NOT_ALLOWED,
        condition: READY,
        status: "False",
        stalls: Stalls::Always,
        warning: true,
        meaning: "The platform team's tenancy rules do not grant what the spec asks in this namespace: a sender address or domain, an adoption, an account or region. Checked before any AWS call.",
        remedy: "Change the field the message names to what the namespace may use, or ask the platform team to grant it in the tenancy file.",
    },
    Reason {
        name: SECRET_CONFLICT,
        condition: READY,
        status: "False",
        stalls: Stalls::Always,
        warning: true,
        meaning: "`spec.secretName` names a Secret that exists and is not this pool's; the operator leaves it alone.",
        remedy: "Pick another `spec.secretName`, or delete that Secret.",
    },
    Reason {
        name: TRIGGER_UNHEALTHY,
        condition: READY,
        status: "False",
        stalls: Stalls::When(
            "the trigger refused its configuration; one that could not read its signing keys yet, or did not answer the probe, is retried",
        ),
        warning: true,
        meaning: "The deployed trigger function did not accept its configuration when the operator probed it, so the user pool is not wired to it.",
        remedy: "Read the message: it names the environment variable the trigger refused, or the failure. A refused value: fix the spec field behind it. Keys unreadable: the keys secret and the trigger role's policy (IAM propagation takes seconds). Otherwise read the trigger's log group, `/aws/lambda/<function>`.",
    },
    Reason {
        name: SIGNING_KEY_ERROR,
        condition: READY,
        status: "False",
        stalls: Stalls::Never,
        warning: true,
        meaning: "The pool's signing-key Secret, in the operator's keys namespace, could not be read or written.",
        remedy: "Check that the keys namespace exists and that the chart's RBAC there is intact; a Secret edited by hand into an unreadable shape: restore or delete it (deleting it rotates the keys: links in flight stop working).",
    },
    Reason {
        name: KUBERNETES_ERROR,
        condition: READY,
        status: "False",
        stalls: Stalls::Never,
        warning: true,
        meaning: "The operator's own Kubernetes calls failed: RBAC, the apiserver away, the finalizer.",
        remedy: "Check the apiserver, and the operator's ServiceAccount and its bindings as the chart installs them; the operator's logs name the call.",
    },
    Reason {
        name: DOMAIN_NOT_ACTIVE,
        condition: READY,
        status: "False",
        stalls: Stalls::Never,
        warning: false,
        meaning: "The managed login domain is not serving its pages yet: a prefix domain takes minutes, a custom domain up to an hour and its DNS alias.",
        remedy: "For a custom domain, create the DNS alias record the message names (to its CloudFront host). Then wait.",
    },
    Reason {
        name: DOMAIN_FAILED,
        condition: READY,
        status: "False",
        stalls: Stalls::Always,
        warning: true,
        meaning: "Cognito reports the managed login domain `FAILED`. The operator re-checks it on its sender interval.",
        remedy: "Check the custom domain's certificate (in ACM in us-east-1, issued, covering the domain) and its DNS; then fix `spec.managedLogin`, or delete and re-create the domain's pool.",
    },
    Reason {
        name: DELETING,
        condition: READY,
        status: "False",
        stalls: Stalls::Never,
        warning: false,
        meaning: "The resource is being deleted: the operator removes the pool's AWS resources, or keeps them under `deletionPolicy: Retain`.",
        remedy: "Wait. If it stays, see the page on a pool stuck Terminating.",
    },
    Reason {
        name: SES_SANDBOX,
        condition: DELIVERY_RESTRICTED,
        status: "True",
        stalls: Stalls::Never,
        warning: true,
        meaning: "The account's SES is in the sandbox in the pool's region: sign-in email reaches only verified addresses, 200 a day.",
        remedy: "Request SES production access for that region (SES console, Account dashboard).",
    },
    Reason {
        name: SMS_SANDBOX,
        condition: DELIVERY_RESTRICTED,
        status: "True",
        stalls: Stalls::Never,
        warning: true,
        meaning: "The account's SNS SMS is in the sandbox in the pool's region: codes reach only verified phone numbers.",
        remedy: "Move the account out of the SMS sandbox in that region (SNS console, Text messaging), and check the monthly spend limit.",
    },
    Reason {
        name: RECONCILE_PAUSED,
        condition: PAUSED,
        status: "True",
        stalls: Stalls::Never,
        warning: false,
        meaning: "The pool carries `passwordless-operator.dev/paused: \"true\"`. The operator makes no AWS call for it and writes none of its Secrets: drift is not corrected, keys are not rotated, and a deletion waits.",
        remedy: "Remove the annotation (or set it to anything but `true`) to resume: the operator compares the pool with AWS at once.",
    },
    Reason {
        name: RELYING_PARTY_ID_CHANGE,
        condition: READY,
        status: "False",
        stalls: Stalls::Always,
        warning: true,
        meaning: "The spec changes `spec.native.webAuthnRelyingPartyId` of a user pool that has one. A passkey works only on the relying party it was registered for, so the change would orphan every passkey the pool's users registered. The operator changed nothing.",
        remedy: "If that is intended, acknowledge it: annotate the pool with `passwordless-operator.dev/acknowledge-relying-party-id` set to the new id, and tell the users to register a passkey again. Otherwise put the old id back in the spec.",
    },
];

/// The documented reason named `name`.
pub fn find(name: &str) -> Option<&'static Reason> {
    ALL.iter().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_documented_once_under_a_documented_condition() {
        let reasons = [
            READY,
            PROVISIONING,
            SENDER_NOT_VERIFIED,
            AWS_ERROR,
            INVALID_SPEC,
            DELETING,
            KUBERNETES_ERROR,
            SIGNING_KEY_ERROR,
            TRIGGER_UNHEALTHY,
            NOT_ALLOWED,
            SECRET_CONFLICT,
            DOMAIN_NOT_ACTIVE,
            DOMAIN_FAILED,
            SES_SANDBOX,
            SMS_SANDBOX,
            RECONCILE_PAUSED,
            RELYING_PARTY_ID_CHANGE,
        ];
        assert_eq!(reasons.len(), ALL.len());
        for name in reasons {
            let found: Vec<_> = ALL.iter().filter(|r| r.name == name).collect();
            assert_eq!(found.len(), 1, "{name}");
            let r = found[0];
            assert!(
                CONDITION_TYPES.iter().any(|c| c.name == r.condition),
                "{name}"
            );
            // A Warning event goes with every reason that asks someone to act.
            let acts = !matches!(
                name,
                READY | PROVISIONING | DELETING | DOMAIN_NOT_ACTIVE | RECONCILE_PAUSED
            );
            assert_eq!(is_warning(name), acts, "{name}");
        }
    }
}
