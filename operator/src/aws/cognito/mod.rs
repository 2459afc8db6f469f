//! Cognito: one file per resource of ours (the user pool, its app client, managed login's
//! domain and the client's style).

mod client;
mod domain;
mod login_style;
mod user_pool;

pub use client::*;
pub use domain::*;
pub use login_style::*;
pub use user_pool::*;

/// Pool and client names are not unique in Cognito: a create the SDK retried after its answer
/// was lost (a dropped connection, a timeout, a 5xx after the fact) would make a second one. So
/// these creates are sent once; a failure goes back to the reconcile, whose next look finds by
/// name whatever a lost answer made.
pub(super) fn sent_once() -> aws_sdk_cognitoidentityprovider::config::Builder {
    aws_sdk_cognitoidentityprovider::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::disabled())
}
