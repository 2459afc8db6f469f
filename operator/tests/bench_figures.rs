//! The bench's pure figures, tested by tables: what bound an apply (`make bench-operator`'s
//! verdicts rest on it). The bench's modules are compiled here as they are there.

#![allow(dead_code)] // the bench uses the rest of its modules
#![allow(clippy::unwrap_used)]

mod common;

#[path = "../benches/operator/accounting.rs"]
mod accounting;
#[path = "../benches/operator/procs.rs"]
mod procs;
#[path = "../benches/operator/scrape.rs"]
mod scrape;

use accounting::{Binding, QuotaUse, binding, slowdown};
use procs::CpuUse;
use scrape::Scrape;

fn cpu(operator: f64, ministack: f64, model_check: f64) -> Vec<CpuUse> {
    [
        ("operator", operator),
        ("ministack", ministack),
        ("model check", model_check),
    ]
    .into_iter()
    .map(|(name, cores)| CpuUse {
        name,
        seconds: cores * 100.0,
        cores,
    })
    .collect()
}

fn quota(category: &'static str, share: f64) -> QuotaUse {
    QuotaUse {
        category,
        calls: share * 1500.0,
        waited: 0.0,
        rate: 15.0,
        share,
    }
}

/// `(service, operation, calls, seconds)` rows into a scrape.
fn calls(rows: &[(&str, &str, f64, f64)]) -> Scrape {
    let mut s = Scrape::default();
    for &(service, operation, n, seconds) in rows {
        let key = (service.to_owned(), operation.to_owned());
        s.calls.insert(key.clone(), n);
        s.call_seconds.insert(key, seconds);
    }
    s
}

/// What, the quotas' use, the CPU, reconciles in flight (of 32), the shares of their time in
/// calls and in the pacer, the calls' slowdown against at rest, and the limit expected.
#[allow(clippy::type_complexity)] // one row of a table
type Case = (
    &'static str,
    Vec<QuotaUse>,
    Vec<CpuUse>,
    f64,
    f64,
    f64,
    Option<f64>,
    Binding,
);

#[test]
fn the_binding_limit_by_table() {
    let quotas_low = [
        quota("UserPoolRead", 0.15),
        quota("LambdaControlPlane", 0.3),
    ];
    let endpoint = |slowdown| Binding::Endpoint {
        in_flight: 31.9,
        allowed: 32,
        in_calls: 0.93,
        slowdown,
    };
    let cases: Vec<Case> = vec![
        (
            "a quota at 80 % binds, whatever else",
            vec![
                quota("UserPoolRead", 0.5),
                quota("LambdaControlPlane", 0.86),
            ],
            cpu(0.2, 0.95, 0.4),
            32.0,
            0.4,
            0.5,
            Some(9.0),
            Binding::Quota {
                category: "LambdaControlPlane",
                share: 0.86,
            },
        ),
        (
            "an emulator process at a core",
            quotas_low.to_vec(),
            cpu(0.2, 0.94, 0.4),
            32.0,
            0.9,
            0.0,
            Some(9.0),
            Binding::Emulator {
                process: "ministack",
                cores: 0.94,
            },
        ),
        (
            "the machine's cores busy",
            quotas_low.to_vec(),
            cpu(0.6, 0.7, 0.6),
            32.0,
            0.9,
            0.0,
            None,
            Binding::Machine { cores: 0.95 },
        ),
        (
            "full, in calls that answer 3x slower than at rest: the endpoint (run 5's case)",
            quotas_low.to_vec(),
            cpu(0.14, 0.47, 0.34),
            31.9,
            0.93,
            0.02,
            Some(3.0),
            endpoint(3.0),
        ),
        (
            "full, in calls that answer as at rest: the concurrency",
            quotas_low.to_vec(),
            cpu(0.14, 0.47, 0.34),
            31.9,
            0.93,
            0.02,
            Some(1.2),
            Binding::Concurrency {
                in_flight: 31.9,
                allowed: 32,
                in_calls: 0.93,
                in_pacer: 0.02,
            },
        ),
        (
            "full, slow calls but most time elsewhere: the concurrency",
            quotas_low.to_vec(),
            cpu(0.14, 0.47, 0.34),
            31.9,
            0.39,
            0.22,
            Some(6.0),
            Binding::Concurrency {
                in_flight: 31.9,
                allowed: 32,
                in_calls: 0.39,
                in_pacer: 0.22,
            },
        ),
        (
            "full, nothing measured at rest: the concurrency",
            quotas_low.to_vec(),
            cpu(0.14, 0.47, 0.34),
            31.9,
            0.93,
            0.02,
            None,
            Binding::Concurrency {
                in_flight: 31.9,
                allowed: 32,
                in_calls: 0.93,
                in_pacer: 0.02,
            },
        ),
        (
            "room to spare everywhere: our own work",
            quotas_low.to_vec(),
            cpu(0.3, 0.2, 0.1),
            12.0,
            0.9,
            0.0,
            Some(5.0),
            Binding::OurWork { cores: 0.3 },
        ),
    ];
    for (what, quotas, cpu, in_flight, in_calls, in_pacer, slower, expected) in cases {
        let got = binding(
            &quotas,
            &cpu,
            2.0,
            (in_flight, 32),
            (in_calls, in_pacer),
            slower,
        );
        assert_eq!(got, expected, "{what}");
    }
}

#[test]
fn slowdown_weighs_the_apply_calls_by_their_time_at_rest() {
    let rest = calls(&[
        ("Cognito Identity Provider", "DescribeUserPool", 100.0, 1.0),
        ("Lambda", "GetFunction", 100.0, 2.0),
    ]);
    // The same answer time: 1x.
    let same = calls(&[
        ("Cognito Identity Provider", "DescribeUserPool", 50.0, 0.5),
        ("Lambda", "GetFunction", 10.0, 0.2),
    ]);
    assert!((slowdown(&same, &rest).unwrap() - 1.0).abs() < 1e-9);
    // 30 ms and 60 ms against 10 and 20 at rest: 3x; an operation never called at rest
    // (CreateUserPool) does not count.
    let slow = calls(&[
        ("Cognito Identity Provider", "DescribeUserPool", 50.0, 1.5),
        ("Lambda", "GetFunction", 10.0, 0.6),
        ("Cognito Identity Provider", "CreateUserPool", 50.0, 90.0),
    ]);
    assert!((slowdown(&slow, &rest).unwrap() - 3.0).abs() < 1e-9);
    // Weighted by what the calls take at rest: 90 calls of 10 ms at 1x and 5 of 20 ms at 11x:
    // (0.9 + 1.1) s over (0.9 + 0.1) s = 2x, not the mean of 1x and 11x.
    let mixed = calls(&[
        ("Cognito Identity Provider", "DescribeUserPool", 90.0, 0.9),
        ("Lambda", "GetFunction", 5.0, 1.1),
    ]);
    assert!((slowdown(&mixed, &rest).unwrap() - 2.0).abs() < 1e-9);
    // Nothing in common: unknown.
    let other = calls(&[("Lambda", "CreateFunction", 10.0, 1.0)]);
    assert_eq!(slowdown(&other, &rest), None);
    assert_eq!(slowdown(&rest, &Scrape::default()), None);
}
