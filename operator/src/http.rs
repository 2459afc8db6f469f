//! `/healthz`, `/readyz` and `/metrics` over plain HTTP/1.1: three GETs that probes and
//! Prometheus make, one request per connection. Small enough to need no HTTP framework.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::metrics::Metrics;

/// Requests bigger than this are not probes or scrapes.
const MAX_REQUEST: usize = 8 * 1024;
/// The whole exchange (request head in, response out): a probe or a scrape takes milliseconds.
const EXCHANGE_DEADLINE: Duration = Duration::from_secs(5);
/// Connections open at once. A new one past this closes the oldest: slow or idle connections
/// (a slowloris) are the old ones, so a probe that sends its request at once still gets in,
/// and memory and file descriptors stay bounded whatever reaches the port.
pub const MAX_CONNECTIONS: usize = 128;

/// The open connections, oldest first, each with the handle that closes it.
#[derive(Default)]
struct Open {
    next_id: u64,
    live: VecDeque<(u64, AbortHandle)>,
}

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    serve_at_most(listener, metrics, MAX_CONNECTIONS).await;
}

async fn serve_at_most(listener: TcpListener, metrics: Arc<Metrics>, cap: usize) {
    let open = Arc::new(Mutex::new(Open::default()));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let metrics = metrics.clone();
                let mut guard = open.lock().unwrap_or_else(PoisonError::into_inner);
                while guard.live.len() >= cap {
                    if let Some((_, oldest)) = guard.live.pop_front() {
                        oldest.abort();
                    }
                }
                let id = guard.next_id;
                guard.next_id += 1;
                let done = open.clone();
                let task = tokio::spawn(async move {
                    match tokio::time::timeout(EXCHANGE_DEADLINE, answer(stream, &metrics)).await {
                        Ok(Err(e)) => tracing::debug!(error = %e, "HTTP connection failed"),
                        Err(_) => tracing::debug!("HTTP connection closed at its deadline"),
                        Ok(Ok(())) => {}
                    }
                    let mut open = done.lock().unwrap_or_else(PoisonError::into_inner);
                    open.live.retain(|(other, _)| *other != id);
                });
                guard.live.push_back((id, task.abort_handle()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "accepting an HTTP connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The status line and body for a request line such as `GET /metrics HTTP/1.1`.
pub fn route(request_line: &str, metrics: &Metrics) -> (&'static str, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    // Probes may add a query string; it changes nothing here.
    let path = path.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET", "/healthz") => ("200 OK", TEXT, "ok\n".into()),
        ("GET", "/readyz") if metrics.is_ready() => ("200 OK", TEXT, "ok\n".into()),
        ("GET", "/readyz") => (
            "503 Service Unavailable",
            TEXT,
            "the Kubernetes API has not answered yet\n".into(),
        ),
        ("GET", "/metrics") => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            metrics.render(),
        ),
        ("GET", _) => ("404 Not Found", TEXT, "not found\n".into()),
        _ => ("405 Method Not Allowed", TEXT, "only GET\n".into()),
    }
}

async fn answer(mut stream: TcpStream, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break Some(end);
        }
        if buf.len() > MAX_REQUEST {
            break None;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let Some(end) = head_end else {
        return Ok(());
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let (status, content_type, body) = route(head.lines().next().unwrap_or(""), metrics);
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_and_metrics_are_routed_and_readiness_follows_the_flag() {
        let m = Metrics::default();
        assert_eq!(route("GET /healthz HTTP/1.1", &m).0, "200 OK");
        assert_eq!(
            route("GET /readyz HTTP/1.1", &m).0,
            "503 Service Unavailable"
        );
        m.set_ready(true);
        assert_eq!(route("GET /readyz?verbose HTTP/1.1", &m).0, "200 OK");
        let (status, kind, body) = route("GET /metrics HTTP/1.1", &m);
        assert_eq!(status, "200 OK");
        assert!(kind.starts_with("text/plain; version=0.0.4"));
        assert!(body.contains("passwordless_operator_reconciles_total 0"));
        assert_eq!(route("GET /nope HTTP/1.1", &m).0, "404 Not Found");
        assert_eq!(
            route("POST /metrics HTTP/1.1", &m).0,
            "405 Method Not Allowed"
        );
    }

    /// Thousands of slow connections (a slowloris) neither grow the operator nor keep a probe
    /// out: past the cap the oldest close, and a probe that sends its request at once is served.
    #[tokio::test]
    async fn slow_connections_are_bounded_and_probes_still_get_in() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cap = 16;
        let server = tokio::spawn(serve_at_most(listener, Arc::new(Metrics::default()), cap));
        let mut slow = Vec::new();
        for _ in 0..500 {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            conn.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
            slow.push(conn);
        }
        let started = std::time::Instant::now();
        let mut probe = TcpStream::connect(addr).await.unwrap();
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        tokio::time::timeout(Duration::from_secs(2), probe.read_to_string(&mut response))
            .await
            .expect("the probe is answered while slow connections pile up")
            .unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        println!(
            "probe answered in {:?} behind 500 slow connections",
            started.elapsed()
        );
        // The server closed all but the newest `cap` of them: reading finds the end at once.
        let mut closed = 0;
        for conn in &mut slow {
            let mut byte = [0u8; 1];
            if let Ok(Ok(0)) =
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

    #[tokio::test]
    async fn a_real_connection_gets_a_complete_response() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve(listener, Arc::new(Metrics::default())));
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut response = String::new();
        conn.read_to_string(&mut response).await.unwrap();
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
        assert!(response.ends_with("\r\n\r\nok\n"), "{response}");
        server.abort();
    }
}
