//! What exists in AWS for one pool, in the same shapes as [`crate::desired`], so the diff can
//! compare them field by field. Filled by the AWS layer; plain data here.

use crate::desired::{
    ClientConfig, DomainConfig, FunctionConfig, KeysSecretConfig, PermissionConfig, RoleConfig,
    TableConfig, UserPoolConfig, WebAclConfig,
};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SenderObserved {
    pub identity: String,
    /// SES's word: Success, Pending, Failed, TemporaryFailure, NotStarted.
    pub verification_status: String,
    /// A domain identity's Easy DKIM tokens (empty for an address).
    pub dkim_tokens: Vec<String>,
    /// The identity's tags, as SES holds them.
    pub tags: Vec<(String, String)>,
    /// This pool's owner tags are on it: this pool created it (decided when observed).
    pub ours: bool,
    /// When the operator last had SES send its verification link (its tag), in Unix seconds.
    pub verification_sent_at: Option<u64>,
    /// How many new links the operator has had SES send since it created the identity (its tag).
    pub resends: u32,
    /// A new verification link is due ([`SenderObserved::resend_due_at`] when observed).
    pub resend_due: bool,
}

/// How long SES's verification link for an address lives, and so the least time between two
/// the operator has SES send.
pub const VERIFICATION_RESEND_SECONDS: u64 = 24 * 3600;
/// New links the operator has sent to one address at most: past them, nobody is reading it, and
/// a person must ask again (so a spec cannot make AWS mail an address every day for ever).
pub const MAX_VERIFICATION_RESENDS: u32 = 3;

impl SenderObserved {
    pub fn verified(&self) -> bool {
        self.verification_status == "Success"
    }

    pub fn failed(&self) -> bool {
        self.verification_status == "Failed"
    }

    /// An address identity this pool created whose link expired unclicked (SES then reads it
    /// Failed, for good) gets a new link, at most once a day and [`MAX_VERIFICATION_RESENDS`]
    /// times. Never a domain's: its verification is DNS, not a link.
    pub fn resend_due_at(&self, now: u64) -> bool {
        self.identity.contains('@')
            && self.ours
            && self.failed()
            && self.resends < MAX_VERIFICATION_RESENDS
            && self.next_resend() <= now
    }

    /// The earliest time the operator has SES send the link again.
    pub fn next_resend(&self) -> u64 {
        self.verification_sent_at
            .map_or(0, |at| at.saturating_add(VERIFICATION_RESEND_SECONDS))
    }
}

/// The web ACL as found, with what updating or deleting it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct WebAclObserved {
    pub config: WebAclConfig,
    pub id: String,
    pub arn: String,
}

/// A user pool holds at most one prefix domain and one custom domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolDomains {
    pub prefix: Option<String>,
    pub custom: Option<String>,
}

/// IDs and ARNs AWS assigned, as far as they are known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedIds {
    pub user_pool_id: Option<String>,
    pub user_pool_arn: Option<String>,
    pub client_id: Option<String>,
    pub function_arn: Option<String>,
    /// The pool's WAF web ACL (`spec.rateLimit`): kept so a deletion interrupted between
    /// detaching it and deleting it still finds it.
    pub web_acl_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedStack {
    pub sender: Option<SenderObserved>,
    pub role: Option<RoleConfig>,
    pub table: Option<TableConfig>,
    pub keys_secret: Option<KeysSecretConfig>,
    pub function: Option<FunctionConfig>,
    pub permission: Option<PermissionConfig>,
    pub user_pool: Option<UserPoolConfig>,
    pub client: Option<ClientConfig>,
    /// The domains the user pool has, as DescribeUserPool names them (read with the pool).
    pub pool_domains: PoolDomains,
    pub domain: Option<DomainConfig>,
    /// The domains the operator made on the pool or is about to make: what the pool's domains
    /// tag must say.
    pub operator_domains: Vec<String>,
    /// The id of the client's managed login style.
    pub login_style: Option<String>,
    pub web_acl: Option<WebAclObserved>,
    pub ids: ObservedIds,
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;
    const DAY: u64 = VERIFICATION_RESEND_SECONDS;

    /// A new verification link goes only to an address the operator created, whose link
    /// expired, and not twice within a day.
    #[test]
    fn an_expired_link_is_sent_again_only_for_our_address_and_once_a_day() {
        let cases: [(&str, &str, bool, Option<u64>, bool); 10] = [
            ("a@example.com", "Failed", true, Some(NOW - DAY), true),
            ("a@example.com", "Failed", true, Some(NOW - 2 * DAY), true),
            // Sent by a build from before the tag: long ago, since it failed.
            ("a@example.com", "Failed", true, None, true),
            ("a@example.com", "Failed", true, Some(NOW - DAY + 1), false),
            // Three sent already: nobody reads it.
            ("b@example.com", "Failed", true, Some(NOW - DAY), false),
            ("a@example.com", "Failed", true, Some(NOW), false),
            // A person's identity: theirs to send again.
            ("a@example.com", "Failed", false, None, false),
            ("a@example.com", "Pending", true, None, false),
            ("a@example.com", "Success", true, None, false),
            // A domain: verified by its DNS records, not a link.
            ("example.com", "Failed", true, None, false),
        ];
        for (identity, status, ours, sent_at, due) in cases {
            let sender = SenderObserved {
                identity: identity.into(),
                verification_status: status.into(),
                ours,
                verification_sent_at: sent_at,
                resends: if identity.starts_with('b') { 3 } else { 2 },
                ..Default::default()
            };
            assert_eq!(
                sender.resend_due_at(NOW),
                due,
                "{identity} {status} ours={ours} sent_at={sent_at:?}"
            );
        }
    }
}
