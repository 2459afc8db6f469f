//! Waiting on AWS: for a resource just made to spread ([`Patience`]), and for one to settle
//! ([`wait_for`]).

use std::time::Duration;

use super::AwsError;

/// Waits out a resource that AWS has just made but not yet spread (IAM roles, WAF web ACLs:
/// seconds, eventually consistent), backing off 0.5 s, 1 s, 2 s… up to 8 s apart, until
/// [`Patience::LIMIT`] has been spent on one call (the last wait may pass it by up to 8 s).
/// Past that, the caller's error is transient: the next reconcile goes on.
pub struct Patience {
    waited: Duration,
    next: Duration,
}

impl Patience {
    pub const LIMIT: Duration = Duration::from_secs(30);

    pub fn new() -> Self {
        Self {
            waited: Duration::ZERO,
            next: Duration::from_millis(500),
        }
    }

    /// Sleeps the next wait and says true, or says false once the patience is spent.
    pub async fn wait(&mut self, what: &str) -> bool {
        if self.waited >= Self::LIMIT {
            return false;
        }
        tracing::debug!(waited = ?self.waited, "{what} not yet usable; retrying");
        tokio::time::sleep(self.next).await;
        self.waited += self.next;
        self.next = (self.next * 2).min(Duration::from_secs(8));
        true
    }
}

impl Default for Patience {
    fn default() -> Self {
        Self::new()
    }
}

/// The longest gap between two polls of [`wait_for`].
const MAX_POLL_GAP: Duration = Duration::from_secs(2);

/// Polls `check` until it yields `Some`: at once, then `first` later, each gap twice the last
/// up to [`MAX_POLL_GAP`], for `within` at most. Backing off matters because a poll spends the
/// same per-account quota as the fleet's other calls (Lambda's control plane: 15 a second), and
/// AWS keeps a resource Pending for seconds: a 3 s wait costs 5 polls, not 13 at a steady 250 ms.
pub async fn wait_for<T, F, Fut>(
    what: &'static str,
    within: Duration,
    first: Duration,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, AwsError>>,
{
    let started = tokio::time::Instant::now();
    let mut gap = first;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if started.elapsed() >= within {
            break;
        }
        tokio::time::sleep(gap).await;
        gap = (gap * 2).min(MAX_POLL_GAP);
    }
    Err(AwsError::Call {
        operation: what,
        code: "Timeout".into(),
        message: format!("{what} did not settle in time"),
        transient: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    /// How many polls a resource ready after `ready_after` costs, and whether the wait ended
    /// in time.
    async fn polls(ready_after: Duration, within: Duration) -> (u32, bool) {
        let started = Instant::now();
        let n = AtomicU32::new(0);
        let done = wait_for("test", within, Duration::from_millis(250), || async {
            n.fetch_add(1, Ordering::Relaxed);
            Ok((started.elapsed() >= ready_after).then_some(()))
        })
        .await;
        (n.load(Ordering::Relaxed), done.is_ok())
    }

    #[tokio::test(start_paused = true)]
    async fn polls_back_off_to_two_seconds_and_give_up_after_the_limit() {
        let minute = Duration::from_secs(60);
        for (ready_after, expected) in [
            (Duration::ZERO, 1),
            // At 0, 0.25, 0.75, 1.75, 3.75 s.
            (Duration::from_secs(3), 5),
            // Then every 2 s: 5.75, 7.75, 9.75.
            (Duration::from_secs(9), 8),
        ] {
            assert_eq!(polls(ready_after, minute).await, (expected, true));
        }
        let (n, done) = polls(Duration::from_secs(3600), minute).await;
        assert!(!done, "never ready: the wait ends");
        // 3.75 s in 5 polls, then one every 2 s until a minute has passed.
        assert_eq!(n, 5 + 29);
    }
}
