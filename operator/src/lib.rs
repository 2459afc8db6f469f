//! passwordless-operator: one `PasswordlessPool` resource becomes a passwordless sign-in stack on
//! AWS Cognito. The library holds the API types and the pure core (with what the CLI and the
//! controller share: `keys`, the signing-key lifecycle, and `recorded`, the IDs a run keeps);
//! `controller` the in-cluster edge. The binary's `cli/` holds the commands, `main.rs` parses.

pub mod annotations;
pub mod aws;
pub mod controller;
pub mod crd;
pub mod crdgen;
pub mod desired;
pub mod diff;
pub mod http;
pub mod iam_policy;
pub mod key_rotation;
pub mod lenient;
pub mod metrics;
pub mod names;
pub mod observed;
pub mod partition;
pub mod reasons;
pub mod reconcile;
pub mod reconcile_error;
pub mod recorded;
pub mod reference;
pub mod resource;
pub mod signin;
pub mod stack;
pub mod state;
pub mod status;
pub mod tenancy;
pub mod trigger_code;
pub mod validate;
