//! The PasswordlessPool status and its conditions, from what a reconcile found.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::aws::sandbox::Channel;
use crate::crd::{DnsRecord, PasswordlessPoolStatus, SenderStatus, TierStatus};
use crate::desired::{DOMAIN_FAILED, PLANS, Tier, USER_POOL_TIER_FIELD};
use crate::diff::Plan;
use crate::observed::{MAX_VERIFICATION_RESENDS, SenderObserved};
use crate::reconcile::{DomainNotActive, Outputs};

pub use crate::reasons;

/// The current time, as conditions carry it.
pub fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// `Ready` and kstatus's abnormal-true pair, which Helm 4, Flux and Argo CD users wait on:
/// `Reconciling` while work is under way, `Stalled` while the operator waits for a change
/// (`stalled`: a failure's `Disposition::WaitForChange`, or a managed login domain that
/// failed). Each is present only when True, as kstatus reads them.
pub fn conditions(ready: Condition, stalled: bool) -> Vec<Condition> {
    let stalled = ready.status == "False" && stalled;
    let reconciling = ready.status == "False" && !stalled;
    let also = |type_: &str| Condition {
        type_: type_.to_owned(),
        status: "True".to_owned(),
        ..ready.clone()
    };
    let mut all = Vec::with_capacity(2);
    if reconciling {
        all.push(also(reasons::RECONCILING));
    }
    if stalled {
        all.push(also(reasons::STALLED));
    }
    all.insert(0, ready);
    all
}

/// The `Ready` condition: every other condition follows from it ([`conditions`]).
pub fn ready_condition(
    ok: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: reasons::READY.to_owned(),
        status: if ok { "True" } else { "False" }.to_owned(),
        reason: reason.to_owned(),
        message,
        last_transition_time: now,
        observed_generation: generation,
    }
}

/// The reported `Ready` condition of a status, if any.
pub fn ready_of(status: Option<&PasswordlessPoolStatus>) -> Option<&Condition> {
    status?
        .conditions
        .iter()
        .find(|c| c.type_ == reasons::READY)
}

/// The last reported status with `Ready` replaced (and `Stalled` when the operator waits for a
/// change): IDs and URLs stay as they were, since a failed or pending step says nothing new
/// about them.
pub fn with_ready(
    previous: Option<&PasswordlessPoolStatus>,
    (ok, stalled): (bool, bool),
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: Time,
) -> PasswordlessPoolStatus {
    let mut status = previous.cloned().unwrap_or_default();
    // A failure says nothing new about the sandbox: a restriction reported stays.
    let restricted = status
        .conditions
        .iter()
        .filter(|c| c.type_ == reasons::DELIVERY_RESTRICTED)
        .cloned()
        .collect::<Vec<_>>();
    status.conditions = conditions(
        ready_condition(ok, reason, message, generation, now),
        stalled,
    );
    status.conditions.extend(restricted);
    status
}

/// The last reported status with `Paused=True` added: nothing else is known while paused.
pub fn paused(
    previous: Option<&PasswordlessPoolStatus>,
    deleting: bool,
    generation: Option<i64>,
    now: Time,
) -> PasswordlessPoolStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let mut message = format!(
        "paused by the annotation {}: the operator makes no AWS call and writes no Secret for this pool until the annotation is removed",
        crate::annotations::PAUSED
    );
    if deleting {
        message.push_str("; the deletion waits for it too");
    }
    status.conditions.retain(|c| c.type_ != reasons::PAUSED);
    status.conditions.push(Condition {
        type_: reasons::PAUSED.to_owned(),
        status: "True".to_owned(),
        reason: reasons::RECONCILE_PAUSED.to_owned(),
        message,
        last_transition_time: now,
        observed_generation: generation,
    });
    status
}

/// Whether the status says the pool is paused.
pub fn is_paused(status: Option<&PasswordlessPoolStatus>) -> bool {
    status.is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == reasons::PAUSED && c.status == "True")
    })
}

/// The Warning an apply deserves when it moved an existing user pool to a dearer feature plan
/// (Cognito's order: LITE, ESSENTIALS, PLUS).
pub fn tier_raised(changes: &[Plan], tier: &Tier) -> Option<String> {
    let rank = |plan: &str| PLANS.iter().position(|p| *p == plan);
    changes
        .iter()
        .flat_map(|pass| &pass.changes)
        .flat_map(|change| &change.fields)
        .filter(|f| f.field == USER_POOL_TIER_FIELD)
        .find_map(|f| {
            let (from, to) = (f.from.as_deref()?, f.to.as_deref()?);
            (rank(to) > rank(from)).then(|| {
                format!(
                    "the user pool moved from Cognito's {from} to its {to} feature plan{}: {to} costs more per monthly active user (see Amazon Cognito pricing)",
                    tier.required_by
                        .map(|field| format!(", which {field} requires"))
                        .unwrap_or_default()
                )
            })
        })
}

/// What writing `next` over `previous` amounts to.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    /// `next`, keeping the previous `lastTransitionTime` when `Ready` did not flip.
    pub status: PasswordlessPoolStatus,
    /// Anything differs: the status needs a write.
    pub changed: bool,
    /// The `Ready` reason changed (or appeared): worth an event.
    pub transition: bool,
    /// A `DeliveryRestricted` condition that was not there before: worth a Warning event.
    pub restricted: Option<Condition>,
}

pub fn settle(previous: Option<&PasswordlessPoolStatus>, next: PasswordlessPoolStatus) -> Settled {
    let mut status = next;
    // A handled request stays handled: a status built afresh from AWS does not know it.
    if status.last_handled_reconcile_at.is_none() {
        status.last_handled_reconcile_at =
            previous.and_then(|p| p.last_handled_reconcile_at.clone());
    }
    let before = ready_of(previous);
    // A condition that did not flip keeps its transition time (else every write would differ).
    for after in &mut status.conditions {
        let same = previous
            .into_iter()
            .flat_map(|p| &p.conditions)
            .find(|c| c.type_ == after.type_ && c.status == after.status);
        if let Some(same) = same {
            after.last_transition_time = same.last_transition_time.clone();
        }
    }
    let transition =
        before.map(|c| c.reason.as_str()) != ready_of(Some(&status)).map(|c| c.reason.as_str());
    let restricted_before = |reason: &str| {
        previous
            .into_iter()
            .flat_map(|p| &p.conditions)
            .any(|c| c.type_ == reasons::DELIVERY_RESTRICTED && c.reason == reason)
    };
    let restricted = status
        .conditions
        .iter()
        .find(|c| c.type_ == reasons::DELIVERY_RESTRICTED && !restricted_before(&c.reason))
        .cloned();
    Settled {
        changed: previous != Some(&status),
        transition,
        restricted,
        status,
    }
}

/// The status after a successful apply.
pub fn status_of(outputs: &Outputs, generation: Option<i64>, now: Time) -> PasswordlessPoolStatus {
    let (ok, reason, message) = match (&outputs.sender, outputs.ready()) {
        (_, true) if outputs.adopted => (
            true,
            reasons::READY,
            "every AWS resource exists and matches the spec; the user pool is adopted, so the operator never deletes it (as under deletionPolicy: Retain)".to_owned(),
        ),
        (_, true) => (
            true,
            reasons::READY,
            "every AWS resource exists and matches the spec".to_owned(),
        ),
        (_, false) if outputs.domain_not_active.is_some() => {
            domain_condition(outputs.domain_not_active.as_ref().expect("checked"))
        }
        (Some(sender), false) if !sender.verified() => (
            false,
            reasons::SENDER_NOT_VERIFIED,
            if sender.failed() && sender.dkim_tokens.is_empty() {
                expired_sender_message(sender, &outputs.region, &now)
            } else if sender.dkim_tokens.is_empty() {
                format!(
                    "SES identity {} is {}: confirm the verification email SES sent to it to let sign-in email go out",
                    sender.identity, sender.verification_status
                )
            } else {
                format!(
                    "SES identity {} is {}: publish its {} DKIM CNAME records (status.sender.dkimRecords) in the domain's DNS to let sign-in email go out",
                    sender.identity,
                    sender.verification_status,
                    sender.dkim_tokens.len()
                )
            },
        ),
        _ => (
            false,
            reasons::PROVISIONING,
            "AWS resources are being created".to_owned(),
        ),
    };
    let stalled = reason == reasons::DOMAIN_FAILED;
    let mut all = conditions(
        ready_condition(ok, reason, message, generation, now.clone()),
        stalled,
    );
    all.extend(
        outputs
            .delivery_restricted
            .map(|channel| restricted_condition(channel, &outputs.region, generation, now)),
    );
    PasswordlessPoolStatus {
        observed_generation: generation,
        conditions: all,
        user_pool_id: outputs.ids.user_pool_id.clone(),
        user_pool_arn: outputs.ids.user_pool_arn.clone(),
        client_id: outputs.ids.client_id.clone(),
        region: Some(outputs.region.clone()),
        issuer_url: outputs.issuer_url.clone(),
        jwks_url: outputs.jwks_url.clone(),
        sender: outputs.sender.as_ref().map(|s| SenderStatus {
            identity: s.identity.clone(),
            verification_status: s.verification_status.clone(),
            dkim_records: dkim_records(s),
        }),
        managed_login: outputs.managed_login.clone(),
        trigger_function_arns: outputs.ids.function_arn.clone().into_iter().collect(),
        web_acl_arn: outputs.ids.web_acl_arn.clone(),
        secret_name: Some(outputs.secret_name.clone()),
        tier: Some(TierStatus {
            plan: outputs.tier.plan.to_owned(),
            required_by: outputs.tier.required_by.map(str::to_owned),
        }),
        last_handled_reconcile_at: None,
    }
}

/// An address whose verification link expired unclicked: when the operator sends a new one,
/// or, for an identity this pool did not create or once it has sent its last, how to.
fn expired_sender_message(sender: &SenderObserved, region: &str, now: &Time) -> String {
    let identity = &sender.identity;
    let by_hand = format!(
        "have SES send a new one (aws ses verify-email-identity --email-address {identity} --region {region}) and confirm it"
    );
    if !sender.ours {
        return format!(
            "SES identity {identity} is Failed: its verification link expired unclicked; this pool did not create it, so {by_hand}"
        );
    }
    if sender.resends >= MAX_VERIFICATION_RESENDS {
        return format!(
            "SES identity {identity} is Failed: its verification link expired unclicked, and so did the {MAX_VERIFICATION_RESENDS} new ones the operator sent; {by_hand}"
        );
    }
    let next = sender.next_resend();
    let when = i64::try_from(next)
        .ok()
        .filter(|&at| at > now.0.as_second())
        .and_then(|at| k8s_openapi::jiff::Timestamp::from_second(at).ok())
        .map_or_else(
            || "at the next reconcile".to_owned(),
            |at| format!("at {at}"),
        );
    format!(
        "SES identity {identity} is Failed: its verification link expired unclicked; the operator has SES send a new one once a day (next {when}): confirm it to let sign-in email go out"
    )
}

/// A domain identity's Easy DKIM CNAME records, as SES documents them.
fn dkim_records(sender: &SenderObserved) -> Vec<DnsRecord> {
    sender
        .dkim_tokens
        .iter()
        .map(|token| DnsRecord {
            name: format!("{token}._domainkey.{}", sender.identity),
            type_: "CNAME".to_owned(),
            value: format!("{token}.dkim.amazonses.com"),
        })
        .collect()
}

/// `DeliveryRestricted`: the account's sandbox in the region, and how to leave it.
fn restricted_condition(
    channel: Channel,
    region: &str,
    generation: Option<i64>,
    now: Time,
) -> Condition {
    let (reason, message) = match channel {
        Channel::Email => (
            reasons::SES_SANDBOX,
            format!(
                "the account's SES is in the sandbox in {region}: sign-in email reaches only verified addresses (200 a day); request production access for {region} (SES console, Account dashboard)"
            ),
        ),
        Channel::Sms => (
            reasons::SMS_SANDBOX,
            format!(
                "the account's SNS SMS is in the sandbox in {region}: codes reach only verified phone numbers; move the account out of the SMS sandbox in {region} (SNS console, Text messaging) and check the spend limit"
            ),
        ),
    };
    Condition {
        type_: reasons::DELIVERY_RESTRICTED.to_owned(),
        status: "True".to_owned(),
        reason: reason.to_owned(),
        message,
        last_transition_time: now,
        observed_generation: generation,
    }
}

/// Ready's reason and message while the managed login domain does not serve its pages.
fn domain_condition(d: &DomainNotActive) -> (bool, &'static str, String) {
    let dns = d.dns_target.as_ref().map(|target| {
        format!(
            "; its DNS needs an alias record: {} → {target} (A/AAAA alias, or CNAME)",
            d.host
        )
    });
    let dns = dns.unwrap_or_default();
    if d.status == DOMAIN_FAILED {
        return (
            false,
            reasons::DOMAIN_FAILED,
            format!(
                "Cognito reports the managed login domain {} FAILED{dns}. For a custom domain: the ACM certificate must be issued in us-east-1 and cover it, and its parent domain needs an A record; then remove spec.managedLogin's domain and add it back to create it again",
                d.host
            ),
        );
    }
    (
        false,
        reasons::DOMAIN_NOT_ACTIVE,
        format!(
            "the managed login domain {} is {}: the sign-in URL is published once Cognito reports it ACTIVE (minutes for a prefix domain, up to an hour for a custom one){dns}",
            d.host, d.status
        ),
    )
}

/// What a status reports, as the output Secret needs it.
pub fn outputs_of(status: &PasswordlessPoolStatus) -> Outputs {
    Outputs {
        region: status.region.clone().unwrap_or_default(),
        ids: crate::observed::ObservedIds {
            user_pool_id: status.user_pool_id.clone(),
            user_pool_arn: status.user_pool_arn.clone(),
            client_id: status.client_id.clone(),
            ..Default::default()
        },
        issuer_url: status.issuer_url.clone(),
        jwks_url: status.jwks_url.clone(),
        sender: None,
        managed_login: status.managed_login.clone(),
        secret_name: status.secret_name.clone().unwrap_or_default(),
        adopted: false,
        domain_not_active: None,
        delivery_restricted: None,
        // The output Secret does not carry it.
        tier: crate::desired::Tier::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status the operator holds equals the one the watch shows back (JSON keeps a
    /// condition's time to the nanosecond), or `Caches::current_status` would never let go.
    #[test]
    fn a_status_reads_back_as_written() {
        let written = PasswordlessPoolStatus {
            conditions: vec![ready_condition(
                true,
                reasons::READY,
                "ok".into(),
                Some(1),
                now(),
            )],
            ..Default::default()
        };
        let json = serde_json::to_value(&written).unwrap();
        let read: PasswordlessPoolStatus = serde_json::from_value(json).unwrap();
        assert_eq!(read, written);
    }

    #[test]
    fn kstatus_conditions_follow_ready() {
        let types = |reason: &str, ok: bool, stalled: bool| -> Vec<String> {
            let ready = ready_condition(ok, reason, String::new(), Some(1), now());
            conditions(ready, stalled)
                .into_iter()
                .map(|c| format!("{}={}", c.type_, c.status))
                .collect()
        };
        assert_eq!(types(reasons::READY, true, false), ["Ready=True"]);
        assert_eq!(types(reasons::READY, true, true), ["Ready=True"]);
        for working in [reasons::PROVISIONING, reasons::AWS_ERROR, reasons::DELETING] {
            assert_eq!(
                types(working, false, false),
                ["Ready=False", "Reconciling=True"]
            );
        }
        for stuck in [
            reasons::INVALID_SPEC,
            reasons::SECRET_CONFLICT,
            reasons::DOMAIN_FAILED,
        ] {
            let got = types(stuck, false, true);
            assert_eq!(got, ["Ready=False", "Stalled=True"], "{stuck}");
        }
    }
    use crate::observed::{ObservedIds, SenderObserved};

    fn outputs(sender_status: &str) -> Outputs {
        Outputs {
            region: "eu-west-1".into(),
            ids: ObservedIds {
                user_pool_id: Some("p".into()),
                client_id: Some("c".into()),
                ..Default::default()
            },
            sender: Some(SenderObserved {
                identity: "no-reply@example.com".into(),
                verification_status: sender_status.into(),
                dkim_tokens: Vec::new(),
                ..Default::default()
            }),
            secret_name: "x-cognito".into(),
            ..Default::default()
        }
    }

    fn now() -> Time {
        Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn an_unverified_sender_keeps_ready_false_with_an_actionable_reason() {
        let s = status_of(&outputs("Pending"), Some(3), now());
        let ready = &s.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", reasons::SENDER_NOT_VERIFIED)
        );
        assert!(ready.message.contains("no-reply@example.com is Pending"));
        assert_eq!(s.observed_generation, Some(3));
        // The other resources are reported all the same.
        assert_eq!(s.user_pool_id.as_deref(), Some("p"));
    }

    #[test]
    fn a_login_domain_not_active_holds_ready_and_a_failed_one_stalls() {
        let domain = |status: &str, dns: Option<&str>| {
            let mut o = outputs("Success");
            o.domain_not_active = Some(DomainNotActive {
                host: "auth.example.com".into(),
                status: status.into(),
                dns_target: dns.map(str::to_owned),
            });
            status_of(&o, Some(1), now())
        };
        for (status, dns, reason, stalled, says) in [
            (
                "CREATING",
                None,
                reasons::DOMAIN_NOT_ACTIVE,
                false,
                "is CREATING",
            ),
            (
                "CREATING",
                Some("d111.cloudfront.net"),
                reasons::DOMAIN_NOT_ACTIVE,
                false,
                "auth.example.com → d111.cloudfront.net",
            ),
            (
                "UPDATING",
                None,
                reasons::DOMAIN_NOT_ACTIVE,
                false,
                "is UPDATING",
            ),
            ("FAILED", None, reasons::DOMAIN_FAILED, true, "FAILED"),
        ] {
            let s = domain(status, dns);
            let ready = ready_of(Some(&s)).unwrap();
            assert_eq!(
                (ready.status.as_str(), ready.reason.as_str()),
                ("False", reason)
            );
            assert!(ready.message.contains(says), "{}", ready.message);
            let types: Vec<_> = s.conditions.iter().map(|c| c.type_.as_str()).collect();
            assert_eq!(types.contains(&reasons::STALLED), stalled, "{types:?}");
            assert_eq!(types.contains(&reasons::RECONCILING), !stalled, "{types:?}");
        }
    }

    /// A sandboxed account's pool stays Ready and says so beside it; the condition is an event
    /// once, when it appears, and a failed pass keeps it.
    #[test]
    fn a_sandboxed_channel_is_said_beside_ready_and_announced_once() {
        let mut o = outputs("Success");
        o.region = "eu-west-1".into();
        o.delivery_restricted = Some(Channel::Sms);
        let s = status_of(&o, Some(1), at(10));
        assert_eq!(ready_of(Some(&s)).unwrap().status, "True");
        let restricted = s
            .conditions
            .iter()
            .find(|c| c.type_ == reasons::DELIVERY_RESTRICTED)
            .unwrap();
        assert_eq!(restricted.reason, reasons::SMS_SANDBOX);
        assert!(
            restricted.message.contains("eu-west-1"),
            "{}",
            restricted.message
        );
        let first = settle(None, s.clone());
        assert_eq!(
            first.restricted.as_ref().map(|c| c.reason.as_str()),
            Some(reasons::SMS_SANDBOX)
        );
        let again = settle(Some(&first.status), status_of(&o, Some(1), at(20)));
        assert!(again.restricted.is_none() && !again.changed);
        let failed = with_ready(
            Some(&s),
            (false, false),
            reasons::AWS_ERROR,
            "x".into(),
            Some(1),
            at(30),
        );
        assert!(
            failed
                .conditions
                .iter()
                .any(|c| c.type_ == reasons::DELIVERY_RESTRICTED)
        );
        o.delivery_restricted = None;
        let left = status_of(&o, Some(1), at(40));
        assert!(
            left.conditions
                .iter()
                .all(|c| c.type_ != reasons::DELIVERY_RESTRICTED)
        );
    }

    /// An address whose link expired says when the operator sends the next, or, when the
    /// operator did not create it, how to have SES send one.
    #[test]
    fn an_expired_sender_says_when_or_how_a_new_link_goes() {
        let message = |ours: bool, sent_at: Option<u64>, resends: u32| {
            let mut o = outputs("Failed");
            let sender = o.sender.as_mut().unwrap();
            (sender.ours, sender.verification_sent_at, sender.resends) = (ours, sent_at, resends);
            let ready = ready_of(Some(&status_of(&o, Some(1), now()))).cloned();
            let ready = ready.unwrap();
            assert_eq!(ready.reason, reasons::SENDER_NOT_VERIFIED);
            ready.message
        };
        let by_hand =
            "aws ses verify-email-identity --email-address no-reply@example.com --region eu-west-1";
        let cases = [
            (
                true,
                Some(1_800_000_000),
                0,
                "once a day (next at 2027-01-16T08:00:00Z)",
            ),
            (true, None, 1, "once a day (next at the next reconcile)"),
            (
                true,
                Some(1_800_000_000),
                3,
                "so did the 3 new ones the operator sent",
            ),
            (true, Some(1_800_000_000), 3, by_hand),
            (false, None, 0, "this pool did not create it"),
            (false, None, 0, by_hand),
        ];
        for (ours, sent_at, resends, expected) in cases {
            let text = message(ours, sent_at, resends);
            assert!(
                text.contains(expected),
                "{ours} {sent_at:?} {resends}: {text}"
            );
        }
    }

    /// A domain identity's status names the three CNAME records to publish, and the reason
    /// says to publish them, not to click a link.
    #[test]
    fn a_domain_sender_shows_its_dkim_records() {
        let mut o = outputs("Pending");
        o.sender = Some(SenderObserved {
            identity: "example.com".into(),
            verification_status: "Pending".into(),
            dkim_tokens: vec!["t1".into(), "t2".into(), "t3".into()],
            ..Default::default()
        });
        let s = status_of(&o, Some(1), now());
        let records = &s.sender.as_ref().unwrap().dkim_records;
        assert_eq!(records.len(), 3);
        assert_eq!(records[0].name, "t1._domainkey.example.com");
        assert_eq!(records[0].type_, "CNAME");
        assert_eq!(records[0].value, "t1.dkim.amazonses.com");
        let ready = ready_of(Some(&s)).unwrap();
        assert_eq!(ready.reason, reasons::SENDER_NOT_VERIFIED);
        assert!(
            ready.message.contains("3 DKIM CNAME records"),
            "{}",
            ready.message
        );
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["sender"]["dkimRecords"][0]["type"], "CNAME");
    }

    #[test]
    fn a_verified_sender_and_both_ids_make_the_pool_ready() {
        let s = status_of(&outputs("Success"), None, now());
        assert_eq!(
            (
                s.conditions[0].status.as_str(),
                s.conditions[0].reason.as_str()
            ),
            ("True", reasons::READY)
        );
    }

    fn at(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap())
    }

    #[test]
    fn an_unchanged_status_needs_no_write_and_no_event() {
        let first = status_of(&outputs("Success"), Some(1), at(10));
        let again = settle(
            Some(&first),
            status_of(&outputs("Success"), Some(1), at(99)),
        );
        assert!(!again.changed && !again.transition);
        assert_eq!(again.status, first);
    }

    #[test]
    fn a_new_generation_is_written_without_an_event_and_keeps_the_transition_time() {
        let first = status_of(&outputs("Success"), Some(1), at(10));
        let next = settle(
            Some(&first),
            status_of(&outputs("Success"), Some(2), at(99)),
        );
        assert!(next.changed && !next.transition);
        assert_eq!(next.status.conditions[0].last_transition_time, at(10));
        assert_eq!(next.status.observed_generation, Some(2));
    }

    #[test]
    fn a_failure_flips_ready_keeps_the_ids_and_is_a_transition() {
        let first = status_of(&outputs("Success"), Some(1), at(10));
        let failed = with_ready(
            Some(&first),
            (false, false),
            reasons::AWS_ERROR,
            "AWS iam:DeleteRole failed".into(),
            Some(1),
            at(20),
        );
        let next = settle(Some(&first), failed);
        assert!(next.changed && next.transition);
        assert_eq!(next.status.conditions[0].last_transition_time, at(20));
        assert_eq!(next.status.user_pool_id.as_deref(), Some("p"));
        assert!(reasons::is_warning(&next.status.conditions[0].reason));
        // The first status ever written is a transition too.
        assert!(settle(None, first).transition);
    }

    /// A status built afresh from AWS keeps the request handled before; a new one replaces it.
    #[test]
    fn a_handled_reconcile_request_stays_handled() {
        let handled = |value: Option<&str>| PasswordlessPoolStatus {
            last_handled_reconcile_at: value.map(str::to_owned),
            ..Default::default()
        };
        let kept = settle(Some(&handled(Some("a"))), handled(None));
        assert_eq!(kept.status.last_handled_reconcile_at.as_deref(), Some("a"));
        assert!(!kept.changed);
        let newer = settle(Some(&handled(Some("a"))), handled(Some("b")));
        assert_eq!(newer.status.last_handled_reconcile_at.as_deref(), Some("b"));
        assert!(newer.changed);
    }

    /// Pausing adds `Paused` beside what the status said, once, and no Ready transition.
    #[test]
    fn a_pause_adds_its_condition_and_keeps_ready() {
        let ready = with_ready(
            None,
            (true, false),
            reasons::READY,
            "ok".into(),
            Some(2),
            now(),
        );
        let paused_once = paused(Some(&ready), false, Some(2), now());
        let paused_twice = paused(Some(&paused_once), true, Some(2), now());
        assert!(is_paused(Some(&paused_twice)) && !is_paused(Some(&ready)));
        let types: Vec<_> = paused_twice
            .conditions
            .iter()
            .map(|c| format!("{}={}/{}", c.type_, c.status, c.reason))
            .collect();
        assert_eq!(types, ["Ready=True/Ready", "Paused=True/ReconcilePaused"]);
        assert!(
            paused_twice.conditions[1]
                .message
                .ends_with("the deletion waits for it too")
        );
        assert!(!settle(Some(&ready), paused_once).transition);
        // The first apply after the pause builds the conditions afresh: Paused goes.
        let resumed = with_ready(
            Some(&paused_twice),
            (false, false),
            reasons::PROVISIONING,
            String::new(),
            Some(2),
            now(),
        );
        assert!(!is_paused(Some(&resumed)));
    }

    /// Only a move of an existing pool to a dearer plan warns.
    #[test]
    fn a_tier_raised_warns_once_the_pool_moves_up() {
        use crate::diff::{Action, Change, FieldChange};
        let pass = |from: Option<&str>, to: &str| Plan {
            changes: vec![Change {
                resource: "user pool",
                name: "p".into(),
                action: if from.is_some() {
                    Action::Update
                } else {
                    Action::Create
                },
                fields: vec![FieldChange {
                    field: USER_POOL_TIER_FIELD.into(),
                    from: from.map(str::to_owned),
                    to: Some(to.to_owned()),
                }],
            }],
        };
        let essentials = crate::desired::Tier {
            plan: "ESSENTIALS",
            required_by: Some("spec.native"),
        };
        let warned = tier_raised(
            &[Plan::default(), pass(Some("LITE"), "ESSENTIALS")],
            &essentials,
        )
        .expect("LITE to ESSENTIALS warns");
        assert!(
            warned.starts_with("the user pool moved from Cognito's LITE to its ESSENTIALS feature plan, which spec.native requires"),
            "{warned}"
        );
        for quiet in [
            pass(None, "ESSENTIALS"),
            pass(Some("ESSENTIALS"), "LITE"),
            pass(Some("PLUS"), "ESSENTIALS"),
            Plan::default(),
        ] {
            assert_eq!(
                tier_raised(std::slice::from_ref(&quiet), &essentials),
                None,
                "{quiet:?}"
            );
        }
    }
}
