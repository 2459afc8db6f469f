"""What both test-bed proxies (fault-proxy.py, model-check.py) do alike: read a request's body
(plain or chunked), pass it on to the upstream emulator, and write an answer. Python 3 stdlib."""

import http.client
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Not passed on: hop-by-hop headers, and what send_response and respond() write themselves.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te",
              "trailer", "upgrade", "content-length", "server", "date"}


class ProxyHandler(BaseHTTPRequestHandler):
    """A keep-alive handler with `self.server.upstream` (a urlsplit result) and `NAME`."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    NAME = "proxy"

    def log_message(self, fmt, *args):  # each proxy logs what it did instead
        pass

    def read_body(self):
        """The request body, or None when the client sent less than it announced."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        want = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(want)
        # Short: the client died or hung up mid-upload. Passing the fragment on would make the
        # emulator (and the model check) see a request nobody sent.
        return body if len(body) == want else None

    def hang_up(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(2)
        except OSError:
            pass

    def fetch(self, body):
        """The upstream's answer to the request: (status, headers, body, reason). The emulator
        away: a 502, as from a gateway."""
        up = self.server.upstream
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=300)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
            return resp.status, out, data, resp.reason
        except OSError as e:
            print(f"{self.NAME}: upstream failed: {e}", flush=True)
            return 502, [("Content-Type", "text/plain")], b"upstream failed\n", None
        finally:
            conn.close()

    def forward(self, body, deliver=True):
        """Sends the request upstream; `deliver=False` drops the answer (a lost reply)."""
        status, headers, data, reason = self.fetch(body)
        if deliver:
            self.respond(status, headers, data, reason=reason)

    def respond(self, status, headers, body, reason=None):
        try:
            self.send_response(status, reason)
            items = headers.items() if isinstance(headers, dict) else headers
            for k, v in items:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller stopped waiting (its own timeout): nobody to answer


class ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
