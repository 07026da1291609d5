#!/usr/bin/env python3
"""Example webapp for Signpost's REST backend.

Signpost is a Matrix identity server that stores no users of its own. When
it needs to check a password or find out who owns an email address, it asks
a webapp like this one over small JSON endpoints:

    POST /_mxisd/identity/api/v1/auth           is this password right?
    POST /_mxisd/identity/api/v1/lookup/single  who owns this email/phone?
    POST /_mxisd/identity/api/v1/lookup/bulk    the same, for a list
    POST /_signpost/identity/api/v1/list        every email/phone, page by
                                                page (optional)

The fourth endpoint is optional. Signpost calls it only when
rest.endpoints.identity.list is configured, to hash every address in
advance for clients that send hashes instead of addresses.

This file is meant to be read. It is a template for people who add these
endpoints to their own application (in PHP, Node, Java, ...): each protocol
rule is explained where it is applied. The full protocol is described in
docs/backend-api.md.

It uses only the Python standard library. Users come from a JSON file (see
users.json next to this file and README.md).

    webapp.py --users users.json [--host 127.0.0.1] [--port 8091]
              [--secret TOKEN]
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

# The default paths Signpost calls. Signpost's config can point each
# feature at another path or at a full URL (rest.endpoints.*); a real
# webapp can mount these wherever it likes as long as the config agrees.
AUTH_PATH = "/_mxisd/identity/api/v1/auth"
SINGLE_PATH = "/_mxisd/identity/api/v1/lookup/single"
BULK_PATH = "/_mxisd/identity/api/v1/lookup/bulk"
# The optional listing endpoint is Signpost's own, so it has no /_mxisd/
# path to stay compatible with, and Signpost has no default for it.
LIST_PATH = "/_signpost/identity/api/v1/list"

# Most entries one listing page holds, whatever limit Signpost asks for.
# Signpost asks for 1000; a smaller page is fine too (it follows "next"),
# and a cap keeps one request from building an answer of the whole table.
LIST_MAX = 1000

# Largest request body we accept. Signpost's requests are small (a bulk
# lookup of a few thousand addresses stays well below this); anything
# bigger is refused with 413 before it is read.
MAX_BODY = 4 * 1024 * 1024


# ---------------------------------------------------------------------------
# Passwords
#
# Never store passwords in clear. We store a salted scrypt hash as one
# string:  scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>
# Keeping the parameters inside the string lets you raise them later
# without breaking the hashes you already have.
# ---------------------------------------------------------------------------

SCRYPT_N = 2 ** 14  # CPU/memory cost: about 16 MiB and tens of ms per check
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_LEN = 32     # bytes of hash output


def hash_password(password):
    """Return a storable hash string for password (a str)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt,
                            n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=SCRYPT_LEN)
    return "scrypt$%d$%d$%d$%s$%s" % (
        SCRYPT_N, SCRYPT_R, SCRYPT_P,
        base64.b64encode(salt).decode("ascii"),
        base64.b64encode(digest).decode("ascii"))


def verify_password(password, stored):
    """True when password (a str) matches the stored hash string."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        salt = base64.b64decode(salt, validate=True)
        expected = base64.b64decode(expected, validate=True)
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt,
                                n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        # A damaged hash in the users file must not crash the request or
        # let anybody in: it simply never matches.
        return False
    # compare_digest takes the same time whatever the first differing byte
    # is, so an attacker cannot learn the hash a byte at a time.
    return hmac.compare_digest(digest, expected)


# ---------------------------------------------------------------------------
# The user directory (your application's database, in a real webapp)
# ---------------------------------------------------------------------------

def normalise_address(medium, address):
    """The form of a 3PID address we compare on.

    Signpost passes addresses exactly as the Matrix client sent them: it
    does not lowercase anything. Deciding what counts as the same address
    is the webapp's job. We treat emails case-insensitively (what users
    expect, and what Element does before it asks) and compare phone
    numbers (msisdn: international digits without '+') exactly.
    """
    if medium == "email":
        return address.lower()
    return address


class UsersFileError(Exception):
    pass


class Directory:
    """Users loaded from the JSON users file, indexed for the lookups."""

    def __init__(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            raise UsersFileError("%s: %s" % (path, e))
        if not isinstance(doc, dict) or not isinstance(doc.get("users"), list):
            raise UsersFileError('%s: expected {"users": [...]}' % path)

        # If the file names a domain, only logins for that Matrix domain
        # are accepted (see authenticate()).
        self.domain = doc.get("domain")
        self.by_localpart = {}
        self.by_threepid = {}
        # Every (medium, address, user) in one fixed order, for the list
        # endpoint: a cursor is a position in this list.
        self.listing = []
        for i, user in enumerate(doc["users"]):
            where = "%s: users[%d]" % (path, i)
            self._check_user(user, where)
            key = user["localpart"].lower()
            if key in self.by_localpart:
                raise UsersFileError("%s: duplicate localpart %r"
                                     % (where, user["localpart"]))
            self.by_localpart[key] = user
            for tp in user.get("threepids", []):
                key = (tp["medium"], normalise_address(tp["medium"],
                                                       tp["address"]))
                if key in self.by_threepid:
                    raise UsersFileError("%s: %s %r belongs to two users"
                                         % (where, tp["medium"],
                                            tp["address"]))
                self.by_threepid[key] = user
                self.listing.append((key[0], key[1], user))

    @staticmethod
    def _check_user(user, where):
        if not isinstance(user, dict):
            raise UsersFileError(where + ": not an object")
        for field in ("localpart", "password"):
            if not isinstance(user.get(field), str) or not user[field]:
                raise UsersFileError("%s: missing %s" % (where, field))
        mxid = user.get("mxid")
        if mxid is not None and not looks_like_mxid(mxid):
            raise UsersFileError("%s: mxid %r is not @user:server"
                                 % (where, mxid))
        for tp in user.get("threepids", []):
            if not (isinstance(tp, dict)
                    and isinstance(tp.get("medium"), str)
                    and isinstance(tp.get("address"), str)):
                raise UsersFileError(where + ": bad threepid entry")

    def find_login(self, localpart, domain):
        """The user who may log in as localpart on domain, or None."""
        if self.domain and domain.lower() != self.domain.lower():
            return None
        # Localparts are matched case-insensitively: "John.Doe" and
        # "john.doe" are the same person here.
        return self.by_localpart.get(localpart.lower())

    def find_threepid(self, medium, address):
        """The user who owns this email/phone number, or None."""
        return self.by_threepid.get((medium, normalise_address(medium,
                                                               address)))


def looks_like_mxid(value):
    """A rough check for a full Matrix user id: @localpart:server."""
    return (isinstance(value, str) and value.startswith("@")
            and ":" in value and value.index(":") > 1
            and not value.endswith(":"))


def matrix_id(user):
    """The "id" object Signpost expects for a user.

    Two forms exist:
      {"type": "localpart", "value": "john.doe"}
          Signpost turns it into @john.doe:<its matrix.domain>. Use it for
          users who live on Signpost's own Matrix server (the usual case).
      {"type": "mxid", "value": "@ext:other.example"}
          A complete Matrix user id, used as is. Use it when the account
          lives on another server. The value MUST be the full id: sending
          a bare localpart with type "mxid" is an error.
    Any other type is rejected by Signpost.
    """
    if user.get("mxid"):
        return {"type": "mxid", "value": user["mxid"]}
    return {"type": "localpart", "value": user["localpart"]}


# ---------------------------------------------------------------------------
# The endpoints
#
# Each handler takes the parsed JSON request and returns (status, answer).
# They know nothing about HTTP sockets, so they are easy to read and test.
# ---------------------------------------------------------------------------

class BadRequest(Exception):
    """The request does not follow the protocol: answered with 400."""


def string_field(obj, name):
    value = obj.get(name)
    if not isinstance(value, str):
        raise BadRequest("%r must be a string" % name)
    return value


# scrypt takes tens of milliseconds. When the user does not exist we still
# check the password against this throw-away hash, so that "no such user"
# and "wrong password" take the same time and cannot be told apart.
DUMMY_HASH = None


def handle_auth(directory, body):
    """POST auth: {"auth": {"mxid", "localpart", "domain", "password"}}.

    Signpost sends all four fields; "mxid" is "@localpart:domain", given
    for convenience. We need localpart, domain and password.
    """
    req = body.get("auth")
    if not isinstance(req, dict):
        raise BadRequest('expected {"auth": {...}}')
    localpart = string_field(req, "localpart")
    domain = string_field(req, "domain")
    password = string_field(req, "password")

    user = directory.find_login(localpart, domain)
    # Check a password even for an unknown user (see DUMMY_HASH).
    stored = user["password"] if user else DUMMY_HASH
    password_ok = verify_password(password, stored)
    if user is None or not password_ok:
        # A refused login is a normal answer: HTTP 200 with success false.
        # (Signpost also reads any 4xx as "refused", but a 5xx or a broken
        # answer is treated as "the webapp is down", never as a refusal.)
        note = "auth %s: refused" % localpart
        return 200, {"auth": {"success": False}}, note

    # On success "id" is required: it tells Signpost which Matrix user this
    # is. "profile" and everything in it are optional; when present,
    # Signpost passes them to the homeserver (display name and the
    # user's emails/phone numbers).
    profile = {}
    if user.get("display_name"):
        profile["display_name"] = user["display_name"]
    profile["three_pids"] = [{"medium": tp["medium"],
                              "address": tp["address"]}
                             for tp in user.get("threepids", [])]
    answer = {"auth": {"success": True,
                       "id": matrix_id(user),
                       "profile": profile}}
    return 200, answer, "auth %s: success" % localpart


def lookup_one(directory, item):
    """Answer one {"medium", "address"} query: a match object or None."""
    if not isinstance(item, dict):
        raise BadRequest("each lookup must be an object")
    medium = string_field(item, "medium")
    address = string_field(item, "address")
    user = directory.find_threepid(medium, address)
    if user is None:
        return None
    # Echo medium and address exactly as they were sent (not our stored or
    # lowercased form): Signpost uses them to pair answers with questions.
    return {"medium": medium, "address": address, "id": matrix_id(user)}


def handle_single(directory, body):
    """POST lookup/single: {"lookup": {"medium", "address"}}."""
    req = body.get("lookup")
    if not isinstance(req, dict):
        raise BadRequest('expected {"lookup": {"medium": ..., '
                         '"address": ...}}')
    match = lookup_one(directory, req)
    if match is None:
        # "Nobody has this address" is the empty object, with status 200.
        # (A 404 means the same to Signpost, but {} is clearer.)
        return 200, {}, "single: no match"
    return 200, {"lookup": match}, "single: match"


def handle_bulk(directory, body):
    """POST lookup/bulk: {"lookup": [{"medium", "address"}, ...]}."""
    req = body.get("lookup")
    if not isinstance(req, list):
        raise BadRequest('expected {"lookup": [...]}')
    # Answer only the entries that matched, each with its "id". Entries
    # without a match are simply left out; no match at all gives
    # {"lookup": []}.
    matches = []
    for item in req:
        match = lookup_one(directory, item)
        if match is not None:
            matches.append(match)
    return 200, {"lookup": matches}, "bulk: %d of %d matched" % (
        len(matches), len(req))


def list_limit(req):
    """The page size Signpost asked for, capped at LIST_MAX."""
    limit = req.get("limit", LIST_MAX)
    # bool is a subclass of int in Python: refuse true/false explicitly.
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise BadRequest('"limit" must be a positive integer')
    return min(limit, LIST_MAX)


def list_start(directory, req):
    """The position in directory.listing where the requested page starts.

    The cursor is opaque to Signpost: it hands back the "next" of the
    previous page unchanged, as "after", and never makes one up. Ours is
    simply the position of the next entry, written as a decimal string.
    A database would rather use the last primary key it sent ("WHERE id >
    :after ORDER BY id"), which stays correct when rows are added or
    removed while Signpost pages through.
    """
    after = req.get("after")
    if after is None:
        return 0  # no cursor: the first page
    if not isinstance(after, str):
        raise BadRequest('"after" must be a string')
    # Only cursors we handed out are valid; anything else is a client
    # error, never silently "start again from the top".
    if not after.isascii() or not after.isdigit() \
            or int(after) > len(directory.listing):
        raise BadRequest('"after" is not a cursor this webapp gave out')
    return int(after)


def handle_list(directory, body):
    """POST list: {"list": {"after": "<cursor>", "limit": 1000}}.

    Answers one page of every 3PID we know, with its owner:
        {"list": [{"medium", "address", "id"}, ...], "next": "<cursor>"}
    "after" is absent on the first page. "next" is left out on the last
    page: Signpost keeps asking until a page has no "next", so a page
    that is not the last must have one (even when it is short).
    """
    req = body.get("list")
    if not isinstance(req, dict):
        raise BadRequest('expected {"list": {"limit": ...}}')
    limit = list_limit(req)
    start = list_start(directory, req)
    end = min(start + limit, len(directory.listing))
    # Addresses are listed in the form clients hash them: Signpost hashes
    # exactly what we send. Element lowercases emails before hashing, so
    # we list the lowercased form (normalise_address), never the raw one.
    page = [{"medium": medium, "address": address, "id": matrix_id(user)}
            for medium, address, user in directory.listing[start:end]]
    answer = {"list": page}
    if end < len(directory.listing):
        answer["next"] = str(end)
    return 200, answer, "list: %d entries from %d" % (len(page), start)


ROUTES = {
    AUTH_PATH: handle_auth,
    SINGLE_PATH: handle_single,
    BULK_PATH: handle_bulk,
    LIST_PATH: handle_list,
}


# ---------------------------------------------------------------------------
# HTTP plumbing
# ---------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open between requests. Signpost reuses
    # its connections, which saves a TCP (and TLS) handshake per login or
    # lookup. The price: every answer must carry Content-Length, and every
    # request body must be read completely, or the next request on the
    # connection is garbled.
    protocol_version = "HTTP/1.1"
    server_version = "SignpostExampleWebapp/1.0"

    # Set by main(): the Directory and the expected secret (or None).
    directory = None
    secret = None

    def do_POST(self):
        self.handle_request()

    # Signpost only ever POSTs. Other methods get 405 on our paths (and
    # 404 elsewhere) from handle_request().
    def do_GET(self):
        self.handle_request()

    do_PUT = do_DELETE = do_PATCH = do_GET

    def handle_request(self):
        self.started = time.monotonic()
        # Read the body first, even when we are about to refuse the
        # request: unread bytes would be taken for the next request on
        # this kept-alive connection.
        body = self.read_body()
        if body is None:
            return  # read_body() has already answered

        if not self.authorised():
            self.send_json(401, {"error": "missing or wrong bearer token"},
                           note="unauthorised")
            return

        path = urlsplit(self.path).path
        handler = ROUTES.get(path)
        if handler is None:
            self.send_json(404, {"error": "no such endpoint"})
            return
        if self.command != "POST":
            self.send_json(405, {"error": "use POST"},
                           extra_headers={"Allow": "POST"})
            return

        # Signpost sends Content-Type: application/json with a UTF-8 body.
        # We do not insist on the header, only on a JSON object.
        try:
            doc = json.loads(body.decode("utf-8"))
        except ValueError as e:
            # Bad UTF-8 and bad JSON both raise ValueError subclasses.
            self.send_json(400, {"error": "invalid JSON: %s" % e})
            return
        try:
            if not isinstance(doc, dict):
                raise BadRequest("the body must be a JSON object")
            status, answer, note = handler(self.directory, doc)
        except BadRequest as e:
            self.send_json(400, {"error": str(e)})
            return
        self.send_json(status, answer, note=note)

    def read_body(self):
        """The request body as bytes, or None after answering an error."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # Signpost always sends Content-Length; keep this example
            # simple and refuse chunked bodies.
            self.close_connection = True
            self.send_json(411, {"error": "Content-Length required"})
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
            if length < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self.send_json(400, {"error": "bad Content-Length"})
            return None
        if length > MAX_BODY:
            # We will not read the body, so the connection cannot be
            # reused: close it after the answer.
            self.close_connection = True
            self.send_json(413, {"error": "request too large"})
            return None
        return self.rfile.read(length)

    def authorised(self):
        """Is this request from Signpost?

        With --secret, Signpost must be configured to send the header
            Authorization: Bearer <secret>
        (rest.headers in Signpost's config). It is the webapp's way to know
        that a password check comes from Signpost and not from someone
        trying passwords. Do this check in your own webapp too, and keep
        the endpoints off the public internet where you can.
        """
        if not self.secret:
            return True
        expected = "Bearer " + self.secret
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode("utf-8"),
                                   expected.encode("utf-8"))

    def send_json(self, status, answer, note="", extra_headers=None):
        """Answer with a JSON body. Always sends Content-Length."""
        # json.dumps escapes non-ASCII characters as \uXXXX, which is
        # valid JSON and so valid UTF-8 whatever the names contain.
        data = json.dumps(answer).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.log_line(status, note)

    def log_line(self, status, note):
        # One line per request. Never log the body: it holds passwords
        # (auth) and people's email addresses and phone numbers (lookups).
        ms = (time.monotonic() - self.started) * 1000
        sys.stderr.write("%s %s %s %s %d %.1fms%s\n" % (
            time.strftime("%Y-%m-%dT%H:%M:%S"), self.client_address[0],
            self.command, self.path, status, ms,
            " " + note if note else ""))
        sys.stderr.flush()

    def log_request(self, code="-", size="-"):
        pass  # replaced by log_line(), which knows the outcome

    def log_message(self, format, *args):
        # Errors the standard library answers itself (malformed request
        # lines, unsupported methods).
        sys.stderr.write("%s %s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"),
                                         self.client_address[0],
                                         format % args))


class Server(ThreadingHTTPServer):
    daemon_threads = True  # do not wait for open connections on exit


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Example webapp for Signpost's REST backend.")
    p.add_argument("--users", required=True,
                   help="users file (JSON, see users.json)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8091,
                   help="port to listen on, 0 for any free one "
                        "(default 8091)")
    p.add_argument("--secret",
                   default=os.environ.get("WEBAPP_SECRET") or None,
                   help="require 'Authorization: Bearer SECRET' on every "
                        "request (default: $WEBAPP_SECRET, else none)")
    return p.parse_args(argv)


def main(argv=None):
    global DUMMY_HASH
    args = parse_args(argv)
    try:
        directory = Directory(args.users)
    except UsersFileError as e:
        sys.stderr.write("webapp: %s\n" % e)
        return 1
    DUMMY_HASH = hash_password(secrets.token_hex(16))

    Handler.directory = directory
    Handler.secret = args.secret
    if ":" in args.host:
        Server.address_family = socket.AF_INET6
    try:
        server = Server((args.host, args.port), Handler)
    except OSError as e:
        sys.stderr.write("webapp: cannot listen on %s:%d: %s\n"
                         % (args.host, args.port, e))
        return 1
    host, port = server.server_address[:2]
    sys.stderr.write("webapp: %d users, listening on %s:%d%s\n" % (
        len(directory.by_localpart), host, port,
        " (bearer token required)" if args.secret else ""))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
