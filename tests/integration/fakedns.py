"""A scriptable fake DNS server for the integration tests (stdlib, UDP).

Tests register SRV (and optionally A) records per name; every other name is
NXDOMAIN. Every question is recorded as (name, type) so tests can assert
exactly what Signpost asked. It can also answer late, answer SERVFAIL, or
never answer, per name or for everything.

    dns = FakeDNS()
    dns.srv("_matrix-fed._tcp.hs.test", [(10, 5, 8448, "localhost")])
    ... federation.resolver: dns.address ...
    assert dns.asked() == [("_matrix-fed._tcp.hs.test", "SRV")]
"""

import socket
import struct
import threading
import time

TYPES = {1: "A", 28: "AAAA", 33: "SRV"}
CLASS_IN = 1
RCODE_NOERROR, RCODE_SERVFAIL, RCODE_NXDOMAIN = 0, 2, 3
# Longest wait for a delayed answer, so a test cannot hang on the fake.
MAX_DELAY_S = 30


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        assert 0 < len(raw) < 64, name
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def decode_name(msg, pos):
    """Reads an uncompressed question name; returns (name, next pos)."""
    labels = []
    while True:
        n = msg[pos]
        pos += 1
        if n == 0:
            return ".".join(labels), pos
        if n & 0xC0:
            raise ValueError("compressed question name")
        labels.append(msg[pos:pos + n].decode("ascii", "replace"))
        pos += n


class FakeDNS:
    def __init__(self):
        self.records = {}   # lowercase name -> list of (type, rdata bytes)
        self.delays = {}    # lowercase name -> seconds before answering
        self.silent = set()  # names never answered
        self.servfail = set()
        self.silent_all = False
        self.queries = []   # (name, type name)
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    # ---- scripting

    def srv(self, name, records):
        """records: [(priority, weight, port, target)]; target "." is
        RFC 2782's "no service"."""
        for prio, weight, port, target in records:
            rdata = struct.pack("!HHH", prio, weight, port) + (
                b"\0" if target == "." else encode_name(target))
            self._add(name, 33, rdata)

    def a(self, name, address):
        self._add(name, 1, socket.inet_aton(address))

    def delay(self, name, seconds):
        with self.lock:
            self.delays[name.lower()] = seconds

    def never_answer(self, name=None):
        """Drops questions for name, or for every name when None."""
        with self.lock:
            if name is None:
                self.silent_all = True
            else:
                self.silent.add(name.lower())

    def fail(self, name):
        """Answers SERVFAIL for name."""
        with self.lock:
            self.servfail.add(name.lower())

    def asked(self):
        with self.lock:
            return list(self.queries)

    def stop(self):
        self.running = False
        self.sock.close()

    # ---- serving

    def _add(self, name, rtype, rdata):
        with self.lock:
            self.records.setdefault(name.lower().rstrip("."), []).append(
                (rtype, rdata))

    def _serve(self):
        while self.running:
            try:
                msg, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                self._handle(msg, peer)
            except (ValueError, IndexError, struct.error):
                pass  # not a question we understand: no answer

    def _handle(self, msg, peer):
        qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
        if flags & 0x8000 or qdcount != 1:
            return
        name, pos = decode_name(msg, 12)
        qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
        question = msg[12:pos + 4]
        key = name.lower().rstrip(".")
        with self.lock:
            self.queries.append((name, TYPES.get(qtype, str(qtype))))
            if self.silent_all or key in self.silent:
                return
            delay = min(self.delays.get(key, 0), MAX_DELAY_S)
            if key in self.servfail:
                rcode, answers = RCODE_SERVFAIL, []
            elif key not in self.records:
                rcode, answers = RCODE_NXDOMAIN, []
            else:
                rcode = RCODE_NOERROR
                answers = [r for r in self.records[key]
                           if r[0] == qtype and qclass == CLASS_IN]
        # QR, opcode 0, AA, RD copied, RA; no EDNS, no truncation.
        out = struct.pack("!HHHHHH", qid, 0x8400 | (flags & 0x0100) | 0x80 |
                          rcode, 1, len(answers), 0, 0) + question
        for rtype, rdata in answers:
            # The owner is a pointer to the question name (offset 12).
            out += struct.pack("!HHHIH", 0xC00C, rtype, CLASS_IN, 60,
                               len(rdata)) + rdata
        if delay > 0:
            threading.Timer(delay, self._send, (out, peer)).start()
        else:
            self._send(out, peer)

    def _send(self, out, peer):
        try:
            self.sock.sendto(out, peer)
        except OSError:
            pass  # stopped meanwhile


def wait_for_queries(dns, n, timeout=10):
    deadline = time.monotonic() + timeout
    while len(dns.asked()) < n:
        assert time.monotonic() < deadline, "only %r asked" % dns.asked()
        time.sleep(0.01)
