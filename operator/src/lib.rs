//! passwordless-operator: one `PasswordlessPool` resource becomes a passwordless sign-in stack on
//! AWS Cognito. The library holds the API types and the pure core; `controller` the in-cluster edge; `main.rs` the CLI.

pub mod aws;
pub mod controller;
pub mod crd;
pub mod crdgen;
pub mod desired;
pub mod diff;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod names;
pub mod observed;
pub mod reconcile;
pub mod recorded;
pub mod signin;
pub mod state;
pub mod status;
pub mod validate;
