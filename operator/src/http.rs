//! `/healthz`, `/readyz` and `/metrics` over plain HTTP/1.1: three GETs that probes and
//! Prometheus make, one request per connection. hyper (already in the tree through kube and the
//! AWS SDK) parses and answers; this module bounds the connections and routes.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
#[cfg(test)]
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::metrics::Metrics;

/// Requests bigger than this are not probes or scrapes (hyper's smallest read buffer).
const MAX_REQUEST: usize = 8 * 1024;
/// The whole exchange (request head in, response out): a probe or a scrape takes milliseconds.
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(5);
/// Connections open at once: past this, memory and file descriptors stay bounded whatever
/// reaches the port.
pub const MAX_CONNECTIONS: usize = 128;
/// How long a connection may take to send its request head. A probe or a scrape sends it at
/// once; one still reading after this is idle or a slowloris.
const HEAD_DEADLINE: Duration = Duration::from_secs(1);
/// At the cap, a connection still reading its head after this long makes room for a new one:
/// a just-accepted probe (younger) is never the one closed.
const EVICTABLE_AFTER: Duration = Duration::from_millis(500);

/// One open connection: when it was accepted, whether its head is in, and its task.
struct Conn {
    id: u64,
    since: Instant,
    head_read: Arc<AtomicBool>,
    task: AbortHandle,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Open {
    next_id: u64,
    live: VecDeque<Conn>,
}

impl Open {
    /// Room for one more: closes the oldest connection still reading its head after
    /// [`EVICTABLE_AFTER`]; `false` if every open one is younger or already answering (then the
    /// new one is refused, so a flood can never close a probe before it is served).
    fn make_room(&mut self, cap: usize, now: Instant) -> bool {
        if self.live.len() < cap {
            return true;
        }
        let stale = self.live.iter().position(|c| {
            !c.head_read.load(Ordering::Relaxed) && now.duration_since(c.since) >= EVICTABLE_AFTER
        });
        match stale.and_then(|at| self.live.remove(at)) {
            Some(conn) => {
                conn.task.abort();
                true
            }
            None => false,
        }
    }
}

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    serve_at_most(listener, metrics, MAX_CONNECTIONS).await;
}

async fn serve_at_most(listener: TcpListener, metrics: Arc<Metrics>, cap: usize) {
    let open = Arc::new(Mutex::new(Open::default()));
    // One request per connection, its head within HEAD_DEADLINE and MAX_REQUEST; no Date
    // header, names as before ("Content-Type").
    let mut http = http1::Builder::new();
    http.keep_alive(false)
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_DEADLINE)
        .max_buf_size(MAX_REQUEST)
        .auto_date_header(false)
        .title_case_headers(true);
    let http = Arc::new(http);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let mut guard = open.lock().unwrap_or_else(PoisonError::into_inner);
                if !guard.make_room(cap, Instant::now()) {
                    drop(stream);
                    continue;
                }
                let id = guard.next_id;
                guard.next_id += 1;
                let head_read = Arc::new(AtomicBool::new(false));
                let (metrics, done, flag) = (metrics.clone(), open.clone(), head_read.clone());
                let http = http.clone();
                let task = tokio::spawn(async move {
                    match tokio::time::timeout(
                        EXCHANGE_DEADLINE,
                        answer(&http, stream, &metrics, &flag),
                    )
                    .await
                    {
                        Ok(Err(e)) => tracing::debug!(error = %e, "HTTP connection failed"),
                        Err(_) => tracing::debug!("HTTP connection closed at its deadline"),
                        Ok(Ok(())) => {}
                    }
                    let mut open = done.lock().unwrap_or_else(PoisonError::into_inner);
                    open.live.retain(|c| c.id != id);
                });
                guard.live.push_back(Conn {
                    id,
                    since: Instant::now(),
                    head_read,
                    task: task.abort_handle(),
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting an HTTP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The status, content type and body for a request's method and path (its query, which
/// probes may add, changes nothing).
pub fn route(method: &str, path: &str, metrics: &Metrics) -> (StatusCode, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    match (method, path) {
        ("GET", "/healthz") => (StatusCode::OK, TEXT, "ok\n".into()),
        ("GET", "/readyz") if metrics.is_ready() => (StatusCode::OK, TEXT, "ok\n".into()),
        ("GET", "/readyz") => (
            StatusCode::SERVICE_UNAVAILABLE,
            TEXT,
            "the Kubernetes API has not answered yet\n".into(),
        ),
        ("GET", "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        ("GET", _) => (StatusCode::NOT_FOUND, TEXT, "not found\n".into()),
        _ => (StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET\n".into()),
    }
}

/// Reads one request with hyper, answers it from [`route`] and closes the connection.
async fn answer(
    http: &http1::Builder,
    stream: TcpStream,
    metrics: &Metrics,
    head_read: &AtomicBool,
) -> hyper::Result<()> {
    let service = service_fn(|request: Request<hyper::body::Incoming>| {
        head_read.store(true, Ordering::Relaxed);
        let (status, content_type, body) =
            route(request.method().as_str(), request.uri().path(), metrics);
        let mut response = Response::new(body);
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(content_type),
        );
        std::future::ready(Ok::<_, Infallible>(response))
    });
    http.serve_connection(TokioIo::new(stream), service).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_and_metrics_are_routed_and_readiness_follows_the_flag() {
        let m = Metrics::default();
        assert_eq!(route("GET", "/healthz", &m).0, StatusCode::OK);
        assert_eq!(
            route("GET", "/readyz", &m).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        m.set_ready(true);
        assert_eq!(route("GET", "/readyz", &m).0, StatusCode::OK);
        let (status, kind, body) = route("GET", "/metrics", &m);
        assert_eq!(status, StatusCode::OK);
        assert!(kind.starts_with("text/plain; version=0.0.4"));
        assert!(body.contains("passwordless_operator_reconciles_total 0"));
        assert_eq!(route("GET", "/nope", &m).0, StatusCode::NOT_FOUND);
        assert_eq!(
            route("POST", "/metrics", &m).0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    /// A server on a free loopback port with at most `cap` connections.
    async fn server(cap: usize) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(serve_at_most(listener, Arc::new(Metrics::default()), cap));
        (addr, task)
    }

    /// A probe's GET /healthz on an open connection: the whole answer, within 2 s.
    async fn healthz(probe: &mut TcpStream) -> String {
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        tokio::time::timeout(Duration::from_secs(2), probe.read_to_string(&mut response))
            .await
            .expect("the probe is answered within 2 s")
            .unwrap();
        response
    }

    /// Thousands of slow connections (a slowloris) neither grow the operator nor keep a probe
    /// out: past the cap new ones are refused while the open ones are young, and the stale ones
    /// make room, so a probe that sends its request at once is served.
    #[tokio::test]
    async fn slow_connections_are_bounded_and_probes_still_get_in() {
        let cap = 16;
        let (addr, server) = server(cap).await;
        let mut slow = Vec::new();
        for _ in 0..500 {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            conn.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            slow.push(conn);
        }
        // Past the eviction age they make room; younger ones would not.
        tokio::time::sleep(EVICTABLE_AFTER).await;
        let started = std::time::Instant::now();
        let mut probe = TcpStream::connect(addr).await.unwrap();
        let response = healthz(&mut probe).await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        println!(
            "probe answered in {:?} behind 500 slow connections",
            started.elapsed()
        );
        // The server closed all but `cap` of them: reading finds the end (or a reset) at once.
        let mut closed = 0;
        for conn in &mut slow {
            let mut byte = [0u8; 1];
            // The end of the stream, or a reset (closed with the request unread).
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(20), conn.read(&mut byte)).await
            {
                closed += 1;
            }
        }
        assert!(
            closed >= slow.len() - cap,
            "only {closed} of {} closed",
            slow.len()
        );
        server.abort();
    }

    /// A flood right after a probe connects never closes the probe: only connections stale for
    /// [`EVICTABLE_AFTER`] make room, the flood's newest are refused.
    #[tokio::test]
    async fn a_flood_after_a_probe_connects_does_not_close_it() {
        let (addr, server) = server(16).await;
        let mut probe = TcpStream::connect(addr).await.unwrap();
        let mut flood = Vec::new();
        for _ in 0..300 {
            flood.push(TcpStream::connect(addr).await.unwrap());
        }
        let response = healthz(&mut probe).await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        server.abort();
    }

    #[tokio::test]
    async fn a_real_connection_gets_a_complete_response() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, Arc::new(Metrics::default())));
        let mut conn = TcpStream::connect(addr).await.unwrap();
        // A probe may add a query string: it changes nothing.
        conn.write_all(b"GET /healthz?verbose HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("\r\n\r\nok\n"), "{response}");
        server.abort();
    }
}
