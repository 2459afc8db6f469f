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

/// Polls `check` until it yields `Some`, every `every` for at most `attempts` times.
pub async fn wait_for<T, F, Fut>(
    what: &'static str,
    attempts: u32,
    every: std::time::Duration,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, AwsError>>,
{
    for _ in 0..attempts {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        tokio::time::sleep(every).await;
    }
    Err(AwsError::Call {
        operation: what,
        code: "Timeout".into(),
        message: format!("{what} did not settle in time"),
        transient: true,
    })
}
