//! The Cognito custom-auth triggers of passwordless-operator: magic link, email code and SMS
//! code. One `bootstrap` binary serves every trigger; `main.rs` only wires the AWS clients.

pub mod config;
pub mod delivery;
pub mod dispatch;
pub mod flows;
pub mod keys;
pub mod latency;
pub mod messages;
pub mod otp;
pub mod outcomes;
pub mod ports;
pub mod template;
pub mod token;
