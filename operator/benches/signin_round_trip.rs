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

const SIGN_INS: usize = 21;
/// Sign-ins before the measured ones: the first starts the function cold.
const WARMUP: usize = 2;

/// One trigger deployed to a pool of its own, and the sign-in times measured on it.
struct Bench {
    stack: Stack,
    ours: bool,
    samples: Vec<Duration>,
}

impl Bench {
    async fn deploy(zip: &Path, ours: bool) -> Self {
        let stack = Stack::apply_with_zip(
            "strategy: emailOtp\nsender: {address: no-reply@example.com}\n",
            zip,
        )
        .await;
        Self {
            stack,
            ours,
            samples: Vec::new(),
        }
    }

    /// One sign-in of a new user. The no-op trigger accepts the answer "ok" and sends nothing.
    async fn sign_in(&mut self, measured: bool) {
        let user = format!("{}@example.com", unique("bench"));
        self.stack.add_user(&user).await;
        let start = Instant::now();
        let (session, _) = self.stack.initiate(&user).await.challenge();
        let initiated = start.elapsed();
        let answer = if self.ours {
            code_in(&self.stack.emails_to(&user)[0].1, 6)
        } else {
            "ok".to_owned()
        };
        let start = Instant::now();
        self.stack
            .respond(&user, &session, &answer, &[])
            .await
            .id_token();
        if measured {
            self.samples.push(initiated + start.elapsed());
        }
    }

    /// Median sign-in time in ms.
    fn median(&mut self) -> f64 {
        self.samples.sort();
        self.samples[self.samples.len() / 2].as_secs_f64() * 1000.0
    }
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
    let mut ours = Bench::deploy(Path::new(ours_zip), true).await;
    let mut noop = Bench::deploy(Path::new(noop_zip), false).await;
    // Interleaved, each going first every other time: the machine's drift (other builds, the
    // emulator's own growth) falls on both alike.
    for i in 0..SIGN_INS + WARMUP {
        let measured = i >= WARMUP;
        let (first, second) = if i % 2 == 0 {
            (&mut ours, &mut noop)
        } else {
            (&mut noop, &mut ours)
        };
        first.sign_in(measured).await;
        second.sign_in(measured).await;
    }
    let (ours_ms, noop_ms) = (ours.median(), noop.median());
    ours.stack.delete().await;
    noop.stack.delete().await;
    println!(
        "\nemail-code sign-in on ministack, median of {SIGN_INS} interleaved (4 trigger invocations each)"
    );
    println!(
        "  ours {ours_ms:.1} ms, baseline {noop_ms:.1} ms, ratio {:.2}x (target <= 1.2x)",
        ours_ms / noop_ms
    );
}
