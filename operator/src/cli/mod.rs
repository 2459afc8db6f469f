//! The binary's commands, one module per command or group; `main` parses and dispatches. Errors
//! here are `anyhow`: they end the process with a message, the library's stay typed.

pub mod args;
pub mod iam_policy;
mod load;
pub mod pool;
pub mod reference;
pub mod run;
pub mod signin;
