//! Part of `make bench-triggers`: an email-code sign-in on ministack (InitiateAuth and
//! RespondToAuthChallenge, 4 trigger invocations), our trigger beside the no-op baseline, each
//! deployed by the operator's reconcile core to a pool of its own. A benchmark, not a test: it
//! prints the medians and their ratio against the target.
//!
//!   signin_round_trip <bootstrap.zip> <noop.zip>

#![allow(clippy::unwrap_used)] // a bench: a panic is a failed measurement

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::cluster::unique;
use common::stack::{Stack, code_in};

const SIGN_INS: usize = 15;
/// Sign-ins before the measured ones: the first starts the function cold.
const WARMUP: usize = 2;

/// Median sign-in time in ms. The no-op trigger accepts the answer "ok" and sends nothing.
async fn sign_in_round_trip(zip: &Path, ours: bool) -> f64 {
    let stack = Stack::apply_with_zip(
        "strategy: emailOtp\nsender: {address: no-reply@example.com}\n",
        zip,
    )
    .await;
    let mut samples = Vec::new();
    for i in 0..SIGN_INS + WARMUP {
        let user = format!("{}@example.com", unique("bench"));
        stack.add_user(&user).await;
        let start = Instant::now();
        let (session, _) = stack.initiate(&user).await.challenge();
        let initiated = start.elapsed();
        let answer = if ours {
            code_in(&stack.emails_to(&user)[0].1, 6)
        } else {
            "ok".to_owned()
        };
        let start = Instant::now();
        stack
            .respond(&user, &session, &answer, &[])
            .await
            .id_token();
        if i >= WARMUP {
            samples.push(initiated + start.elapsed());
        }
    }
    stack.delete().await;
    samples.sort();
    let median: Duration = samples[samples.len() / 2];
    median.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    // `cargo bench` adds `--bench` to the arguments.
    let zips: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [ours_zip, noop_zip] = zips.as_slice() else {
        panic!("usage: signin_round_trip <bootstrap.zip> <noop.zip>");
    };
    let ours = sign_in_round_trip(Path::new(ours_zip), true).await;
    let noop = sign_in_round_trip(Path::new(noop_zip), false).await;
    println!(
        "\nemail-code sign-in on ministack, median of {SIGN_INS} (4 trigger invocations each)"
    );
    println!(
        "  ours {ours:.1} ms, baseline {noop:.1} ms, ratio {:.2}x (target <= 1.2x)",
        ours / noop
    );
}
