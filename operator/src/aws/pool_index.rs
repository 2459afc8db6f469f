//! Which user pool carries which name, for finding a pool whose id was never recorded (a new
//! pool, or a crash between its create and the record). Cognito has no lookup by name and lists
//! pools 60 a page, so a scan per lookup costs a fleet's first apply O(pools²) reads against
//! the UserPoolRead quota (1,000 new pools: ~8,500 pages, ~10 minutes at 15 a second). One scan
//! serves every lookup for a while instead.
//!
//! Only this operator makes pools under its names (they carry the cluster id), so the index
//! goes stale only through this process: a pool it creates is added at once, and a create
//! that fails (its answer may have been lost after the pool was made) or a new term as leader
//! (another replica may have created pools meanwhile) makes the next lookup scan again. A found
//! id is still described before use, so an entry for a deleted pool is harmless.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// A safety net: however sure the index is, it is rebuilt this often while in use.
const MAX_AGE: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct PoolIndex {
    /// `None`: no scan yet, or the last one can no longer be trusted. Held across a scan, so
    /// a fleet's reconciles wait for one scan rather than each running its own.
    scan: tokio::sync::Mutex<Option<Scan>>,
}

#[derive(Debug)]
struct Scan {
    ids: HashMap<String, String>,
    at: Instant,
}

impl PoolIndex {
    /// The id of the pool named `name`: from the last scan if it is fresh, else from a new one
    /// made by `list` (every pool's `(name, id)`).
    pub async fn find<E, F, Fut>(&self, name: &str, list: F) -> Result<Option<String>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<(String, String)>, E>>,
    {
        let mut scan = self.scan.lock().await;
        if scan.as_ref().is_none_or(|s| s.at.elapsed() >= MAX_AGE) {
            let mut ids = HashMap::new();
            for (pool, id) in list().await? {
                // The first of a name, as a page-by-page search would find it.
                ids.entry(pool).or_insert(id);
            }
            *scan = Some(Scan {
                ids,
                at: Instant::now(),
            });
        }
        Ok(scan.as_ref().and_then(|s| s.ids.get(name).cloned()))
    }

    /// A pool this process just created.
    pub async fn created(&self, name: &str, id: &str) {
        if let Some(scan) = self.scan.lock().await.as_mut() {
            scan.ids.insert(name.to_owned(), id.to_owned());
        }
    }

    /// The next lookup scans again.
    pub async fn forget(&self) {
        *self.scan.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn pools(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("p{i}"), format!("id{i}")))
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn one_scan_serves_lookups_until_it_is_old_or_forgotten() {
        let index = PoolIndex::default();
        let scans = AtomicU32::new(0);
        let list = || async {
            scans.fetch_add(1, Ordering::Relaxed);
            Ok::<_, ()>(pools(3))
        };
        assert_eq!(index.find("p1", list).await, Ok(Some("id1".into())));
        assert_eq!(index.find("p9", list).await, Ok(None));
        index.created("p9", "id9").await;
        assert_eq!(index.find("p9", list).await, Ok(Some("id9".into())));
        assert_eq!(scans.load(Ordering::Relaxed), 1);
        index.forget().await;
        assert_eq!(index.find("p9", list).await, Ok(None), "a new scan");
        assert_eq!(scans.load(Ordering::Relaxed), 2);
        tokio::time::advance(MAX_AGE).await;
        index.find("p1", list).await.unwrap();
        assert_eq!(scans.load(Ordering::Relaxed), 3);
    }

    #[tokio::test]
    async fn a_failed_scan_is_not_kept_and_the_first_of_a_name_wins() {
        let index = PoolIndex::default();
        assert_eq!(
            index.find("p1", || async { Err("throttled") }).await,
            Err("throttled")
        );
        let twice = || async {
            Ok::<_, ()>(vec![
                ("p".to_owned(), "first".to_owned()),
                ("p".to_owned(), "second".to_owned()),
            ])
        };
        assert_eq!(index.find("p", twice).await, Ok(Some("first".into())));
    }
}
