//! Client-side pacing for the Cognito control plane. Its quotas are per account and region, per
//! category of operation, and `UserPoolUpdate` (15 requests per second) cannot be raised; a fleet
//! of pools resyncing together must queue here rather than collect TooManyRequests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The quota category an operation counts against, and its default rate (requests per second).
pub fn category(operation: &str) -> (&'static str, u32) {
    match operation {
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

/// One slot per request, spaced evenly at each category's rate.
#[derive(Debug, Default)]
pub struct Pace {
    next_slot: Mutex<HashMap<&'static str, Instant>>,
}

impl Pace {
    /// Waits for the operation's next free slot. Never holds the lock across the wait.
    pub async fn wait(&self, operation: &str) {
        let (name, rate) = category(operation);
        let interval = Duration::from_secs(1) / rate.max(1);
        let slot = {
            let Ok(mut next) = self.next_slot.lock() else {
                return;
            };
            let now = Instant::now();
            let slot = next.get(name).copied().unwrap_or(now).max(now);
            next.insert(name, slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_of_one_category_are_spaced_at_its_rate_and_others_do_not_wait() {
        let pace = Pace::default();
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
        assert_ne!(
            category("UpdateUserPool").0,
            category("UpdateUserPoolClient").0
        );
    }
}
