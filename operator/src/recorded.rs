//! What one run records so the next resumes where it stopped, for the CLI and the controller
//! alike: the IDs AWS assigned (the CLI keeps them in its state file, the controller in the
//! pool's status), written the moment they change and only then, and the reconcile request
//! built from them and the signing keys.

use crate::crd::{PasswordlessPool, PasswordlessPoolStatus};
use crate::observed::ObservedIds;
use crate::reconcile::{self, IdSink, Purpose, RecordError, Request};
use crate::state::State;
use crate::tenancy::Platform;
use crate::trigger_code::TriggerCode;

/// A record that keeps some of the IDs AWS assigns.
pub trait RecordsIds: Clone + PartialEq {
    /// The IDs recorded so far.
    fn recorded_ids(&self) -> ObservedIds;
    /// Takes each ID `ids` holds that this record has a place for; keeps the others.
    fn record_ids(&mut self, ids: &ObservedIds);
}

/// Where a record is written: the state file, the pool's status.
pub trait RecordStore<T>: Send {
    fn write(
        &mut self,
        record: &T,
    ) -> impl std::future::Future<Output = Result<(), RecordError>> + Send;
}

/// An [`IdSink`] that records IDs in `record` and writes it to `store` when, and only when,
/// they changed it.
pub struct RecordingSink<T, S> {
    pub record: T,
    pub store: S,
}

impl<T, S> IdSink for RecordingSink<T, S>
where
    T: RecordsIds + Send + Sync,
    S: RecordStore<T>,
{
    async fn record(&mut self, ids: &ObservedIds) -> Result<(), RecordError> {
        let mut next = self.record.clone();
        next.record_ids(ids);
        if next == self.record {
            return Ok(());
        }
        self.store.write(&next).await?;
        self.record = next;
        Ok(())
    }
}

/// The reconcile request for a pool, for `purpose`: its signing keys, and the IDs an earlier
/// run recorded.
pub fn request<'a>(
    purpose: Purpose,
    pool: &'a PasswordlessPool,
    platform: &'a Platform,
    code: &'a TriggerCode,
    keys: &State,
    recorded: &impl RecordsIds,
) -> Result<Request<'a>, reconcile::Error> {
    let (signing_keys, known) = (keys.signing_keys_env(), recorded.recorded_ids());
    Request::new(purpose, pool, platform, code, signing_keys, known)
}

/// An ID AWS reported replaces the recorded one; an unknown one leaves it.
fn take(field: &mut Option<String>, reported: &Option<String>) {
    if reported.is_some() {
        field.clone_from(reported);
    }
}

/// [`RecordsIds`] for a record whose fields are named as in [`ObservedIds`]: the ones listed.
macro_rules! records_ids {
    ($record:ty: $($field:ident),+) => {
        impl RecordsIds for $record {
            fn recorded_ids(&self) -> ObservedIds {
                ObservedIds {
                    $($field: self.$field.clone(),)+
                    ..Default::default()
                }
            }

            fn record_ids(&mut self, ids: &ObservedIds) {
                $(take(&mut self.$field, &ids.$field);)+
            }
        }
    };
}

// The CLI's state file keeps the user pool, client and web ACL IDs (the pool's ARN follows
// from them).
records_ids!(State: user_pool_id, client_id, web_acl_arn);
// The status keeps the user pool's ID and ARN, the client ID and the web ACL's ARN.
records_ids!(PasswordlessPoolStatus: user_pool_id, user_pool_arn, client_id, web_acl_arn);

/// No record yet: the first ID starts one.
impl<T: RecordsIds + Default> RecordsIds for Option<T> {
    fn recorded_ids(&self) -> ObservedIds {
        self.as_ref().map(T::recorded_ids).unwrap_or_default()
    }

    fn record_ids(&mut self, ids: &ObservedIds) {
        self.get_or_insert_default().record_ids(ids);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps every record written.
    struct Written<T>(Vec<T>);

    impl<T: Clone + Send + Sync> RecordStore<T> for Written<T> {
        async fn write(&mut self, record: &T) -> Result<(), RecordError> {
            self.0.push(record.clone());
            Ok(())
        }
    }

    /// IDs as a record keeps them: neither keeps the account or the function ARN.
    fn kept(pool: Option<&str>, arn: Option<&str>, client: Option<&str>) -> ObservedIds {
        ObservedIds {
            user_pool_id: pool.map(str::to_owned),
            user_pool_arn: arn.map(str::to_owned),
            client_id: client.map(str::to_owned),
            ..Default::default()
        }
    }

    /// IDs as AWS reports them.
    fn reported(pool: Option<&str>, arn: Option<&str>, client: Option<&str>) -> ObservedIds {
        ObservedIds {
            function_arn: Some("arn:aws:lambda:f".into()),
            ..kept(pool, arn, client)
        }
    }

    async fn record_all<T: RecordsIds + Send + Sync>(
        record: T,
        reports: &[ObservedIds],
    ) -> (T, Vec<T>) {
        let mut sink = RecordingSink {
            record,
            store: Written(Vec::new()),
        };
        for report in reports {
            sink.record(report).await.unwrap();
        }
        (sink.record, sink.store.0)
    }

    #[tokio::test]
    async fn only_a_change_is_written_and_unknown_ids_keep_what_was_recorded() {
        let reports = [
            reported(None, None, None),
            reported(Some("p1"), None, None),
            reported(Some("p1"), Some("arn:p1"), None),
            reported(Some("p1"), Some("arn:p1"), Some("c1")),
            reported(None, None, None),
            reported(Some("p1"), Some("arn:p1"), Some("c1")),
        ];
        // The state file has no place for the ARN: learning it writes nothing.
        let (state, written) = record_all(State::default(), &reports).await;
        assert_eq!(written.len(), 2);
        assert_eq!(state.recorded_ids(), kept(Some("p1"), None, Some("c1")));
        let (status, written) = record_all(PasswordlessPoolStatus::default(), &reports).await;
        assert_eq!(written.len(), 3);
        assert_eq!(
            status.recorded_ids(),
            kept(Some("p1"), Some("arn:p1"), Some("c1"))
        );
    }

    #[tokio::test]
    async fn both_records_keep_the_web_acl_so_an_interrupted_deletion_finds_it() {
        let acl = ObservedIds {
            web_acl_arn: Some("arn:aws:wafv2:r:1:regional/webacl/w/id".into()),
            ..reported(Some("p1"), Some("arn:p1"), Some("c1"))
        };
        let (state, _) = record_all(State::default(), std::slice::from_ref(&acl)).await;
        assert_eq!(state.recorded_ids().web_acl_arn, acl.web_acl_arn);
        let (status, _) = record_all(
            PasswordlessPoolStatus::default(),
            std::slice::from_ref(&acl),
        )
        .await;
        assert_eq!(status.recorded_ids().web_acl_arn, acl.web_acl_arn);
    }

    #[tokio::test]
    async fn a_missing_record_is_started_by_the_first_report() {
        let (status, written) = record_all(
            None::<PasswordlessPoolStatus>,
            &[reported(None, None, None)],
        )
        .await;
        assert_eq!(status, Some(PasswordlessPoolStatus::default()));
        assert_eq!(written.len(), 1);
        assert_eq!(None::<State>.recorded_ids(), ObservedIds::default());
    }

    #[test]
    fn the_request_carries_the_keys_and_the_recorded_ids() {
        let pool: PasswordlessPool = serde_yaml::from_str(
            "apiVersion: passwordless-operator.dev/v1alpha1\nkind: PasswordlessPool\nmetadata: {name: web, namespace: team}\nspec: {strategy: emailOtp, sender: {address: a@example.com}, otp: {}}\n",
        )
        .unwrap();
        let mut keys = State::default();
        crate::key_rotation::advance(&mut keys, crate::key_rotation::Rotation::Keep, 1, 900);
        let status = PasswordlessPoolStatus {
            user_pool_id: Some("p1".into()),
            user_pool_arn: Some("arn:p1".into()),
            ..Default::default()
        };
        let platform = crate::tenancy::Platform::trusting();
        let code = TriggerCode::from_bytes(b"zip".to_vec());
        let req = request(
            Purpose::Apply,
            &pool,
            &platform,
            &code,
            &keys,
            &Some(status),
        )
        .unwrap();
        assert_eq!((req.namespace, req.name), ("team", "web"));
        assert_eq!(req.signing_keys, keys.signing_keys_env());
        assert_eq!(req.known, kept(Some("p1"), Some("arn:p1"), None));
    }
}
