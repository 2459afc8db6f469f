//! `make bench-triggers`: how fast the trigger starts and answers, beside a no-op trigger built
//! the same way (the named baseline, measured in the same run).
//!
//! - Cold start and warm latency run against a minimal Runtime API server owned by this bench
//!   (loopback, TCP_NODELAY), which also stands in for SES, DynamoDB and Secrets Manager
//!   (GetSecretValue answers the signing keys) as an instant sink, so delivery is excluded but
//!   every call the trigger makes is. ministack is not used for these: its provided runtime adds
//!   ~55 ms.
//! - Cold start again with the largest messages a pool may carry in other languages (ten, at
//!   their longest), from a `messages.json` under `LAMBDA_TASK_ROOT`, as Lambda unpacks them.
//! - The sign-in round trip on ministack, on stacks the operator builds, is the operator crate's
//!   `signin_round_trip` bench (the same `make bench-triggers` runs it).
//!
//!   bench_triggers <bootstrap> <noop> <bootstrap.zip>

#![allow(clippy::unwrap_used)] // a bench: a panic is a failed measurement

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use passwordless_triggers::config::vars;
use passwordless_triggers::flows::{PRIVATE_ROUND, Round};
use passwordless_triggers::keys::SigningKey;
use passwordless_triggers::token::{LinkClaims, code_mac, destination_hash, sign};
use serde_json::{Value, json};

const COLD_RUNS: usize = 15;
const WARM_RUNS: usize = 2000;
const WARMUP: usize = 50;
/// The harness's signing key, which its GetSecretValue answers with.
const KEY: (&str, &[u8; 32]) = ("kid-bench", b"0123456789abcdef0123456789abcdef");
const SECRET_ARN: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:bench-keys";

fn key() -> SigningKey {
    SigningKey {
        id: KEY.0.to_owned(),
        secret: KEY.1.to_vec(),
    }
}

/// One Runtime API + AWS sink, for one trigger process.
struct Harness {
    port: u16,
    events: Sender<(String, Vec<u8>)>,
    next_seen: Receiver<Instant>,
    done: Receiver<(Instant, bool)>,
}

struct Shared {
    events: Mutex<Receiver<(String, Vec<u8>)>>,
    next_seen: Sender<Instant>,
    done: Sender<(Instant, bool)>,
}

impl Harness {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (events_tx, events_rx) = channel();
        let (next_tx, next_rx) = channel();
        let (done_tx, done_rx) = channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            next_seen: next_tx,
            done: done_tx,
        });
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                stream.set_nodelay(true).unwrap();
                let shared = shared.clone();
                thread::spawn(move || serve(stream, &shared));
            }
        });
        Harness {
            port,
            events: events_tx,
            next_seen: next_rx,
            done: done_rx,
        }
    }

    /// Hands one event to the waiting process; returns the time until its answer.
    fn invoke(&self, event: &[u8]) -> Duration {
        let start = Instant::now();
        self.events
            .send(("req".to_owned(), event.to_vec()))
            .unwrap();
        let (at, failed) = self
            .done
            .recv_timeout(Duration::from_secs(30))
            .expect("an answer within 30 s");
        assert!(!failed, "the trigger answered with an error");
        at - start
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        );
        let (mut length, mut target) = (0usize, String::new());
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "x-amz-target" => target = value.trim().to_owned(),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let reply = |out: &mut TcpStream, status: &str, extra: &str, body: &[u8]| {
            let head = format!(
                "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\n\r\n",
                body.len()
            );
            out.write_all(&[head.as_bytes(), body].concat()).is_ok()
        };
        let ok = if method == "GET" && path == "/2018-06-01/runtime/invocation/next" {
            shared.next_seen.send(Instant::now()).ok();
            let Ok((id, event)) = shared.events.lock().unwrap().recv() else {
                return;
            };
            let extra = format!(
                "Content-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: 9999999999999\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\nLambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n"
            );
            reply(&mut out, "200 OK", &extra, &event)
        } else if path.starts_with("/2018-06-01/runtime/") {
            let failed = !path.ends_with("/response");
            if failed {
                eprintln!(
                    "runtime error report on {path}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            shared.done.send((Instant::now(), failed)).ok();
            reply(&mut out, "202 Accepted", "", b"{}")
        } else if path.starts_with("/v2/email/outbound-emails") {
            reply(
                &mut out,
                "200 OK",
                "Content-Type: application/json\r\n",
                br#"{"MessageId":"bench"}"#,
            )
        } else if target == "secretsmanager.GetSecretValue" {
            let secret = json!({
                "ARN": SECRET_ARN,
                "Name": "bench-keys",
                "SecretString": format!("{}:{}", KEY.0, STANDARD.encode(KEY.1)),
                "VersionId": "v1",
            });
            reply(
                &mut out,
                "200 OK",
                "Content-Type: application/x-amz-json-1.1\r\n",
                secret.to_string().as_bytes(),
            )
        } else if !target.is_empty() {
            reply(
                &mut out,
                "200 OK",
                "Content-Type: application/x-amz-json-1.0\r\n",
                b"{}",
            )
        } else {
            reply(&mut out, "200 OK", "Content-Type: text/xml\r\n", b"<PublishResponse><PublishResult><MessageId>bench</MessageId></PublishResult></PublishResponse>")
        };
        if !ok {
            return;
        }
    }
}

fn trigger_env(port: u16) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}")),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "bench".to_owned()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench".to_owned()),
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "bench".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "bench".to_owned()),
        (vars::STRATEGY, "magicLink".to_owned()),
        (vars::SIGNING_KEYS_SECRET, SECRET_ARN.to_owned()),
        // Only builds from before the keys moved to Secrets Manager read this; it lets the same
        // harness measure them for comparison. The current trigger never looks at it.
        (
            "PWP_SIGNING_KEYS",
            format!("{}:{}", KEY.0, STANDARD.encode(KEY.1)),
        ),
        (vars::TABLE_NAME, "bench".to_owned()),
        (vars::SENDER_ADDRESS, "no-reply@example.com".to_owned()),
        (
            vars::REDIRECT_URLS,
            r#"["https://app.example.com/auth/callback"]"#.to_owned(),
        ),
        (vars::SIGN_UP, "AutoConfirm".to_owned()),
        (vars::MIN_INTERVAL_SECONDS, "60".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn spawn(binary: &str, harness: &Harness, extra: &[(String, String)]) -> Child {
    Command::new(binary)
        .env_clear()
        .envs(trigger_env(harness.port))
        .envs(extra.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The events the warm benchmark replays: one per trigger (and per link/code path).
fn events() -> Vec<(&'static str, bool, Value)> {
    let key = key();
    let claims = LinkClaims {
        kid: key.id.clone(),
        sub: "alice@example.com".to_owned(),
        pool: "us-east-1_TestPool".to_owned(),
        client: "testclient".to_owned(),
        iat: 1,
        exp: u64::MAX / 2,
        nonce: "bench-nonce".to_owned(),
        dest: destination_hash(&key, "alice@example.com"),
    };
    let mut verify_link = fixture("verify_link");
    verify_link["request"]["challengeAnswer"] = json!(sign(&key, &claims));
    let mut verify_code = fixture("verify_link");
    verify_code["request"]["challengeAnswer"] = json!("123456");
    let round = Round::Code {
        kid: key.id.clone(),
        exp: u64::MAX / 2,
        mac: code_mac(&key, "alice@example.com", "123456"),
        link: true,
        dest: destination_hash(&key, "alice@example.com"),
        hardened: false,
    };
    let mut private = serde_json::Map::new();
    private.insert(PRIVATE_ROUND.to_owned(), json!(round.encode()));
    verify_code["request"]["privateChallengeParameters"] = Value::Object(private);
    // (name, decision-only, event)
    vec![
        ("DefineAuthChallenge", true, fixture("define_first_round")),
        (
            "CreateAuthChallenge (link + code email, via sinks)",
            false,
            fixture("create_after_link_request"),
        ),
        (
            "VerifyAuthChallenge (link, nonce write to sink)",
            false,
            verify_link,
        ),
        (
            "VerifyAuthChallenge (code, failure read from sink)",
            false,
            verify_code,
        ),
        ("PreSignUp", true, fixture("pre_sign_up")),
        (
            "PostAuthentication (already verified)",
            true,
            fixture("post_authentication_verified"),
        ),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (time to the first /next, time to the first answer), median over COLD_RUNS fresh processes.
fn cold_start(binary: &str, first_event: &str) -> (Duration, Duration) {
    cold_start_with(binary, first_event, &[])
}

/// [`cold_start`], with more environment (a package's messages).
fn cold_start_with(
    binary: &str,
    first_event: &str,
    extra: &[(String, String)],
) -> (Duration, Duration) {
    let first_event = serde_json::to_vec(&fixture(first_event)).unwrap();
    let (mut init, mut first) = (Vec::new(), Vec::new());
    for _ in 0..COLD_RUNS {
        let harness = Harness::start();
        let start = Instant::now();
        let mut child = spawn(binary, &harness, extra);
        let ready = harness
            .next_seen
            .recv_timeout(Duration::from_secs(30))
            .expect("the process polls /next");
        init.push(ready - start);
        harness
            .events
            .send(("req".to_owned(), first_event.clone()))
            .unwrap();
        let (answered, failed) = harness.done.recv_timeout(Duration::from_secs(30)).unwrap();
        assert!(!failed);
        first.push(answered - start);
        child.kill().ok();
        child.wait().ok();
    }
    init.sort();
    first.sort();
    (percentile(&init, 0.5), percentile(&first, 0.5))
}

/// (p50, p99) per event, over WARM_RUNS invocations of one warm process.
fn warm(binary: &str) -> Vec<(Duration, Duration)> {
    let harness = Harness::start();
    let mut child = spawn(binary, &harness, &[]);
    harness
        .next_seen
        .recv_timeout(Duration::from_secs(30))
        .unwrap();
    let mut figures = Vec::new();
    for (_, _, event) in events() {
        let event = serde_json::to_vec(&event).unwrap();
        for _ in 0..WARMUP {
            harness.invoke(&event);
        }
        let mut samples: Vec<Duration> = (0..WARM_RUNS).map(|_| harness.invoke(&event)).collect();
        samples.sort();
        figures.push((percentile(&samples, 0.5), percentile(&samples, 0.99)));
    }
    child.kill().ok();
    child.wait().ok();
    figures
}

/// The most a pool may carry: ten languages, each with a subject and two bodies at their
/// longest. Written as the operator writes it; returns the environment that points at it.
fn largest_messages() -> Vec<(String, String)> {
    use passwordless_contract::messages;
    let dir = std::env::temp_dir().join(format!("pwp-bench-messages-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tags = [
        "da", "de", "es", "fi", "fr", "it", "nl", "pl", "pt-BR", "sv",
    ];
    assert_eq!(tags.len(), messages::MAX_LANGUAGES);
    let body = |tag: &str| {
        let line = format!("<p>{tag}: {{{{code}}}} {{{{ttlMinutes}}}} {{{{appName}}}}</p>");
        line.repeat(12_000 / line.len())
    };
    let file: serde_json::Map<String, Value> = tags
        .iter()
        .map(|tag| {
            let fields = json!({
                messages::SUBJECT: format!("{tag} {{{{appName}}}}"),
                messages::HTML: body(tag),
                messages::TEXT: body(tag),
            });
            ((*tag).to_owned(), fields)
        })
        .collect();
    let text = serde_json::to_string(&file).unwrap();
    std::fs::write(dir.join(messages::FILE), &text).unwrap();
    println!(
        "messages: {} languages, {} KiB in {}",
        tags.len(),
        text.len() / 1024,
        messages::FILE
    );
    vec![
        (vars::LOCALES.to_owned(), tags.join(",")),
        ("LAMBDA_TASK_ROOT".to_owned(), dir.display().to_string()),
    ]
}

/// One init figure against the no-op's, and the target: at most 1 ms above it.
fn init_row(what: &str, ours: Duration, noop: Duration) {
    let above = ms(ours) - ms(noop);
    let verdict = if above <= 1.0 {
        "meets target"
    } else {
        "MISSES target"
    };
    println!(
        "  {what} {:7.2} ms  {:7.2} ms   <= baseline + 1 ms: {above:+.2} ms, {verdict}",
        ms(ours),
        ms(noop)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, noop, bootstrap_zip] = args.as_slice() else {
        panic!("usage: bench_triggers <bootstrap> <noop> <bootstrap.zip>");
    };
    println!(
        "trigger benchmark: ours = bootstrap (release), baseline = noop trigger built the same way\n"
    );

    let (our_init, our_first) = cold_start(bootstrap, "define_first_round");
    let (noop_init, noop_first) = cold_start(noop, "define_first_round");
    // The first invocation that needs a key: it builds the Secrets Manager client and reads the
    // secret, then writes the cooldown and sends, all to the sinks.
    let (_, our_first_create) = cold_start(bootstrap, "create_after_link_request");
    let (_, noop_first_create) = cold_start(noop, "create_after_link_request");
    let localized = largest_messages();
    let (local_init, _) = cold_start_with(bootstrap, "define_first_round", &localized);
    let (_, local_first_create) =
        cold_start_with(bootstrap, "create_after_link_request", &localized);
    println!("cold start, median of {COLD_RUNS} spawns       ours      baseline   target");
    init_row("spawn -> first /next (init)       ", our_init, noop_init);
    println!(
        "  spawn -> first answer (Define)     {:7.2} ms  {:7.2} ms",
        ms(our_first),
        ms(noop_first)
    );
    println!(
        "  spawn -> first answer (Create)     {:7.2} ms  {:7.2} ms",
        ms(our_first_create),
        ms(noop_first_create)
    );
    init_row("with the largest messages: init   ", local_init, noop_init);
    println!(
        "  with the largest messages: Create  {:7.2} ms  {:7.2} ms",
        ms(local_first_create),
        ms(noop_first_create)
    );

    let ours = warm(bootstrap);
    let baseline = warm(noop);
    println!("\nwarm latency over {WARM_RUNS} invocations (delivery to local sinks)");
    println!(
        "  {:<50} {:>9} {:>9}   {:>9} {:>9}",
        "trigger", "p50 ms", "p99 ms", "noop p50", "noop p99"
    );
    for ((name, decision_only, _), ((p50, p99), (b50, b99))) in
        events().iter().zip(ours.iter().zip(baseline.iter()))
    {
        let target = if *decision_only {
            "   (target p99 <= 1 ms)"
        } else {
            ""
        };
        println!(
            "  {name:<50} {:>9.3} {:>9.3}   {:>9.3} {:>9.3}{target}",
            ms(*p50),
            ms(*p99),
            ms(*b50),
            ms(*b99)
        );
    }

    let zip_size = std::fs::metadata(bootstrap_zip).unwrap().len();
    println!(
        "\nzip size: {:.2} MiB (target <= 8 MiB)",
        zip_size as f64 / 1024.0 / 1024.0
    );
}
