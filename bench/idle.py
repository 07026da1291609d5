"""Opens many idle keep-alive HTTP connections to a server, for bench/run.

    /usr/bin/python3 bench/idle.py PORT COUNT PATH

Each connection sends one GET PATH and reads the whole answer, so the
server has served it and holds it as an idle keep-alive connection, not a
half-open socket. Prints "ready <open> <failed>" on stdout once every
connection is open, then keeps them until stdin is closed, and exits.
"""

import resource
import socket
import sys


def one(port, request):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed before the answer's headers")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise OSError("closed before the answer's end")
        body += chunk
    if not head.startswith(b"HTTP/1.1 200"):
        raise OSError(head.split(b"\r\n")[0].decode())
    return s


def main():
    port, count, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    # Each connection is a descriptor; the default soft limit is 1024.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode()
    conns, failed, first_error = [], 0, None
    for _ in range(count):
        try:
            conns.append(one(port, request))
        except OSError as e:
            failed += 1
            first_error = first_error or str(e)
            if failed > 100:
                break
    print("ready %d %d %s" % (len(conns), failed, first_error or ""),
          flush=True)
    sys.stdin.read()
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
