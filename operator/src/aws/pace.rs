//! Client-side pacing for the Cognito and Lambda control planes. Their quotas are per account and
//! region, per category of operation, and some cannot be raised (Cognito's `UserPoolUpdate`,
//! Lambda's control plane, 15 requests per second each); a fleet of pools applied or resyncing
//! together must queue here rather than collect TooManyRequests. One pacer per account and
//! region, however many namespaces (so client sets) map to that account.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

/// The quota category an operation counts against, and its default rate (requests per second):
/// a Cognito operation by its name (`DescribeUserPool`, or `cognito-idp:DescribeUserPool`), a
/// Lambda one as `lambda:CreateFunction`. Lambda's invocations have no rate quota (their
/// concurrency is bounded instead) and are not paced.
pub fn category(operation: &str) -> (&'static str, u32) {
    if let Some(lambda) = operation.strip_prefix("lambda:") {
        return match lambda {
            "GetFunction" => ("LambdaGetFunction", 100),
            "GetPolicy" => ("LambdaGetPolicy", 15),
            // "Control plane API request rate (excludes invocation, GetFunction, and GetPolicy
            // requests)": every other call, creates, polls and deletes alike; not raisable.
            _ => ("LambdaControlPlane", 15),
        };
    }
    match operation.trim_start_matches("cognito-idp:") {
        "UpdateUserPool" | "DeleteUserPool" | "SetUserPoolMfaConfig" => ("UserPoolUpdate", 15),
        "CreateUserPool" => ("UserPoolCreate", 15),
        "DescribeUserPool" | "ListUserPools" | "GetUserPoolMfaConfig" => ("UserPoolRead", 15),
        "CreateUserPoolClient" => ("UserPoolClientCreate", 15),
        "UpdateUserPoolClient" | "DeleteUserPoolClient" => ("UserPoolClientUpdate", 15),
        "DescribeUserPoolClient" | "ListUserPoolClients" => ("UserPoolClientRead", 15),
        "TagResource" | "UntagResource" | "ListTagsForResource" => ("UserPoolResourceTag", 15),
        _ => ("Other", 15),
    }
}

/// Per account and category: requests let through, and the time they waited for their slot.
/// The account's name is shared by every count of it, not copied per call.
pub type PaceTotals = BTreeMap<(Arc<str>, &'static str), (u64, Duration)>;

/// One slot per request, spaced evenly at each category's rate, for one account and region.
#[derive(Debug, Default)]
pub struct Pace {
    next_slot: Mutex<HashMap<&'static str, Instant>>,
    /// Shared, not copied: each call let through is counted under it.
    account: Arc<str>,
    totals: Arc<Mutex<PaceTotals>>,
}

impl Pace {
    /// Waits for the operation's next free slot. Never holds the lock across the wait.
    pub async fn wait(&self, operation: &str) {
        let (name, rate) = category(operation);
        let interval = Duration::from_secs(1) / rate.max(1);
        let now = Instant::now();
        let slot = {
            let Ok(mut next) = self.next_slot.lock() else {
                return;
            };
            let slot = next.get(name).copied().unwrap_or(now).max(now);
            next.insert(name, slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
        // Counted when let through, not when queued: the counts' rate is the rate sent.
        if let Ok(mut totals) = self.totals.lock() {
            let entry = totals.entry((Arc::clone(&self.account), name)).or_default();
            entry.0 += 1;
            entry.1 += slot - now;
        }
    }
}

/// An account's pacer for a region, shared by every client set that reaches it.
type Key = (String, String);

/// The pacers in use, one per account and region, and what they let through. A pacer lives as
/// long as a client set holds it, so regions a tenant walks through do not accumulate; the
/// totals are per account (the platform team's mapping, plus the operator's own), not region.
#[derive(Debug, Default)]
pub struct Pacers {
    live: Mutex<HashMap<Key, Weak<Pace>>>,
    totals: Arc<Mutex<PaceTotals>>,
}

impl Pacers {
    /// The pacer for `account` in `region` (a region's name in any case or padding is one).
    pub fn get(&self, account: &str, region: &str) -> Arc<Pace> {
        let key = (account.to_owned(), region.trim().to_ascii_lowercase());
        let Ok(mut live) = self.live.lock() else {
            return Arc::new(self.new_pace(account));
        };
        if let Some(pace) = live.get(&key).and_then(Weak::upgrade) {
            return pace;
        }
        live.retain(|_, pace| pace.strong_count() > 0);
        let pace = Arc::new(self.new_pace(account));
        live.insert(key, Arc::downgrade(&pace));
        pace
    }

    fn new_pace(&self, account: &str) -> Pace {
        Pace {
            next_slot: Mutex::default(),
            account: Arc::from(account),
            totals: self.totals.clone(),
        }
    }

    /// Requests let through and time waited, per account and category, since the start.
    pub fn totals(&self) -> PaceTotals {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }

    #[cfg(test)]
    fn live(&self) -> usize {
        self.live.lock().map(|l| l.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_of_one_category_are_spaced_at_its_rate_and_others_do_not_wait() {
        let pace = Pacers::default().get("111111111111", "us-east-1");
        let start = Instant::now();
        for _ in 0..16 {
            pace.wait("UpdateUserPool").await;
        }
        // 16 requests at 15/s: the 16th leaves one second after the first.
        let spent = start.elapsed();
        assert!(spent >= Duration::from_millis(999), "{spent:?}");
        assert!(spent < Duration::from_millis(1100), "{spent:?}");
        let before = Instant::now();
        pace.wait("DescribeUserPoolClient").await;
        assert_eq!(before.elapsed(), Duration::ZERO);
    }

    #[test]
    fn the_unraisable_update_quota_is_its_own_category() {
        assert_eq!(category("UpdateUserPool"), ("UserPoolUpdate", 15));
        assert_eq!(
            category("cognito-idp:UpdateUserPool"),
            ("UserPoolUpdate", 15)
        );
        assert_eq!(
            category("lambda:CreateFunction"),
            ("LambdaControlPlane", 15)
        );
        assert_eq!(
            category("lambda:GetFunctionConfiguration"),
            category("lambda:AddPermission")
        );
        assert_eq!(category("lambda:GetFunction"), ("LambdaGetFunction", 100));
        assert_eq!(category("lambda:GetPolicy"), ("LambdaGetPolicy", 15));
        assert_ne!(
            category("UpdateUserPool").0,
            category("UpdateUserPoolClient").0
        );
    }

    /// Namespaces mapped to one account share its pacer, whatever the region's spelling; another
    /// account or region has its own; the totals say who waited how long.
    #[tokio::test(start_paused = true)]
    async fn one_pacer_per_account_and_region_with_waits_counted_per_account() {
        let pacers = Pacers::default();
        let a = pacers.get("111111111111", "eu-west-1");
        assert!(Arc::ptr_eq(&a, &pacers.get("111111111111", " EU-West-1")));
        let other_account = pacers.get("222222222222", "eu-west-1");
        let other_region = pacers.get("111111111111", "eu-central-1");
        assert!(!Arc::ptr_eq(&a, &other_account) && !Arc::ptr_eq(&a, &other_region));
        for _ in 0..3 {
            a.wait("CreateUserPool").await;
            pacers
                .get("111111111111", "eu-west-1")
                .wait("CreateUserPool")
                .await;
        }
        other_account.wait("CreateUserPool").await;
        let totals = pacers.totals();
        let (calls, waited) = totals[&(Arc::from("111111111111"), "UserPoolCreate")];
        assert_eq!(calls, 6);
        // Slots at 0, 1/15, ... 5/15 s: each waited for the one before it (to the timer's
        // millisecond).
        let expected = Duration::from_secs(1) / 15 * 5;
        assert!(
            waited.abs_diff(expected) < Duration::from_millis(5),
            "{waited:?}"
        );
        assert_eq!(
            totals[&(Arc::from("222222222222"), "UserPoolCreate")],
            (1, Duration::ZERO)
        );
    }

    /// A region walked through by a tenant leaves no pacer behind once its clients are gone.
    #[test]
    fn pacers_no_client_holds_are_let_go() {
        let pacers = Pacers::default();
        let kept = pacers.get("111111111111", "us-east-1");
        for i in 0..100 {
            drop(pacers.get("111111111111", &format!("zz-test-{i}")));
        }
        assert_eq!(pacers.live(), 2, "the one held and the last made");
        assert!(Arc::ptr_eq(&kept, &pacers.get("111111111111", "us-east-1")));
    }
}
