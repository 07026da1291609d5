"""A scriptable fake webapp for the integration tests.

Each test queues replies per path; every request Signpost makes is recorded
(method, path, headers, parsed body) so tests can assert exactly what was
sent. Replies can be slow, broken, or never come.
"""

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Reply:
    """What the fake answers to one request.

    status/body: the answer (body: dict/list -> JSON, str/bytes -> raw).
    hold: a threading.Event the handler waits on before answering (up to
      10 s), to keep a call in flight for as long as a test needs.
    close: drop the connection without answering.
    headers: extra response headers.
    """

    def __init__(self, status=200, body=None, hold=None, close=False,
                 headers=None, partial=False):
        self.status = status
        self.body = body if body is not None else {}
        self.hold = hold
        self.close = close
        self.headers = headers or {}
        self.partial = partial


class Recorded:
    def __init__(self, method, path, headers, raw):
        self.method = method
        self.path = path
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw.decode("utf-8"))
        except ValueError:
            self.json = None


class FakeWebapp:
    def __init__(self, tls=None, port=0):
        """tls: (certfile, keyfile) to serve HTTPS instead of HTTP; port:
        0 for any free one, or a given one (a webapp coming back)."""
        self.requests = []
        self.replies = {}      # path -> list of Reply, consumed in order
        self.default = {}      # path -> Reply used when the list is empty
        self.dynamic_replies = {}  # path -> fn(request JSON) -> Reply
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.client_ports = set()
        self.connections = set()  # open client sockets, cut by stop()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with fake.lock:
                    fake.connections.add(self.connection)

            def finish(self):
                with fake.lock:
                    fake.connections.discard(self.connection)
                super().finish()

            def do_POST(self):
                fake._handle(self)

            def do_GET(self):
                fake._handle(self)

        class Server(ThreadingHTTPServer):
            # The default backlog of 5 drops SYNs under a burst of
            # concurrent calls, which then wait a second to retry.
            request_queue_size = 256

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket,
                                                 server_side=True)
            self.url = "https://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        """Stops like a webapp going down: no new connections, and the
        open keep-alive ones cut."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            conns = list(self.connections)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def reply(self, path, *replies):
        with self.lock:
            self.replies.setdefault(path, []).extend(replies)

    def dynamic(self, path, fn):
        """Answers every request to path with fn(request JSON) -> Reply."""
        with self.lock:
            self.dynamic_replies[path] = fn

    def wait_in_flight(self, n, timeout):
        """Polls until n requests are held at once; raises on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if self.in_flight >= n:
                    return
            if time.monotonic() > deadline:
                raise AssertionError("only %d requests in flight, wanted %d"
                                     % (self.in_flight, n))
            time.sleep(0.01)

    def always(self, path, reply):
        with self.lock:
            self.default[path] = reply

    def calls(self, path=None):
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def _next_reply(self, path, rec=None):
        with self.lock:
            fn = self.dynamic_replies.get(path)
        if fn is not None and rec is not None:
            return fn(rec.json)
        with self.lock:
            queue = self.replies.get(path)
            if queue:
                return queue.pop(0)
            return self.default.get(path)

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        rec = Recorded(h.command, h.path, dict(h.headers.items()), raw)
        with self.lock:
            self.requests.append(rec)
            self.client_ports.add(h.client_address[1])
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            self._answer(h, self._next_reply(h.path, rec))
        finally:
            with self.lock:
                self.in_flight -= 1

    def _answer(self, h, reply):
        if reply is None:
            reply = Reply(404, {"error": "no fixture for this path"})
        if reply.hold is not None:
            reply.hold.wait(10)
        if reply.close:
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        body = reply.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        h.send_response(reply.status)
        h.send_header("Content-Type", "application/json")
        for k, v in reply.headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if reply.partial:
            # Promise the whole body, send half, then hang up.
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        h.wfile.write(body)
