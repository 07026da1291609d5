/*
 * check-backend's explanations: what the judges (rest_check_judge.c) share.
 * A failed call is explained from its outcome and status, a refused body
 * from a walk over the raw JSON, an id from its type and value; and every
 * answer gets the checks the daemon cannot make (time, Content-Type).
 * The verdicts themselves always come from the daemon's code: these
 * functions only put them in words.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/rest_check_internal.h"
#include "backend/rest_internal.h"
#include "core/json.h"
#include "core/mxid.h"
#include "core/util.h"

/* Bytes of a URL from the webapp (a redirect's target) shown. */
#define URL_MAX 200
/* Keys of an object listed when the expected one is missing. */
#define KEYS_MAX 6

static const struct rest_check_endpoint endpoints[] = {
	{ "auth", "rest.endpoints.auth", "{\"auth\":{\"success\":false}}" },
	{ "single", "rest.endpoints.identity.single", "{}" },
	{ "bulk", "rest.endpoints.identity.bulk", "{\"lookup\":[]}" },
	{ "list", "rest.endpoints.identity.list", "{\"list\":[]}" },
};

void
rest_check_say(struct rest_check_ctx *j, enum rest_check_kind kind,
    const char *fmt, ...)
{
	va_list ap;

	if (j->lint && (kind == REST_CHECK_PROBLEM || kind == REST_CHECK_FIX))
		return;
	if (kind == REST_CHECK_PROBLEM)
		j->explained = true;
	va_start(ap, fmt);
	rest_check_vline(j->it, kind, fmt, ap);
	va_end(ap);
}

/*
 * Writes s[0..len) into buf as a double-quoted string with JSON escapes,
 * cut after QUOTE_MAX bytes. raw: the bytes may not be UTF-8 (a body that
 * is not JSON), so bytes above 0x7f are escaped as well; otherwise they are
 * kept, cut only at a character boundary, so names stay readable.
 */
static const char *
quote_n(char buf[QBUF], const char *s, size_t len, bool raw)
{
	size_t i, o = 0, n = len > QUOTE_MAX ? QUOTE_MAX : len;

	if (!raw)
		while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	buf[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else if (c < 0x20 || c == 0x7f || (raw && c > 0x7f)) {
			o += (size_t)snprintf(buf + o, QBUF - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	if (n < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}

const char *
rest_check_quote(char buf[QBUF], const char *s)
{
	return quote_n(buf, s, strlen(s), false);
}

/* A JSON value for a message: strings quoted, anything else as compact
 * JSON, in ASCII so that a cut cannot split a character. */
const char *
rest_check_show(char buf[QBUF], const json_t *v)
{
	char *text;
	size_t len;

	if (json_is_string(v))
		return quote_n(buf, json_string_value(v), json_string_length(v),
		    false);
	text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_ENSURE_ASCII);
	if (text == NULL)
		return "?";
	len = strlen(text);
	snprintf(buf, QBUF, "%.*s%s", QUOTE_MAX, text,
	    len > QUOTE_MAX ? "..." : "");
	free(text);
	return buf;
}

const char *
rest_check_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* The keys of an object, for "there is no X (keys: ...)". */
const char *
rest_check_key_list(char buf[QBUF], const json_t *obj)
{
	const char *key;
	const json_t *v;
	size_t n = 0, o = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)obj, key, v) {
		char q[QBUF];

		if (n++ == KEYS_MAX) {
			snprintf(buf + o, QBUF - o, ", ...");
			break;
		}
		quote_n(q, key, strlen(key), false);
		/* Keys are cut to fit: the buffer holds the first ones. */
		if (o + strlen(q) + 3 >= QBUF)
			break;
		o += (size_t)snprintf(buf + o, QBUF - o, "%s%s", o ? ", " : "",
		    q);
	}
	if (n == 0)
		snprintf(buf, QBUF, "none");
	return buf;
}

/* A body that is not the JSON expected, shown as its start. */
void
rest_check_note_body(struct rest_check_ctx *j)
{
	const struct fetch_result *fr = &j->a->fr;
	size_t i = 0;
	char q[QBUF];

	if (fr->body_len == 0) {
		note(j, "the body is empty");
		return;
	}
	/* A webapp that echoes what it was sent must not make the report
	 * show the probe's password. */
	if (j->secret != NULL && j->secret[0] != '\0' &&
	    memmem(fr->body, fr->body_len, j->secret, strlen(j->secret))) {
		warning(j, "the answer contains the password it was sent; "
		    "it is not shown here, and a webapp should never echo it");
		return;
	}
	while (i < fr->body_len && isspace((unsigned char)fr->body[i]))
		i++;
	note(j, "the body%s begins: %s",
	    i < fr->body_len && fr->body[i] == '<' ? " is HTML; it" : "",
	    quote_n(q, fr->body + i, fr->body_len - i, true));
}

static bool
is_json_type(const char *ct)
{
	size_t n = strcspn(ct, ";");

	while (n > 0 && isspace((unsigned char)ct[n - 1]))
		n--;
	/* application/json, and the +json types (application/problem+json). */
	return (n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	    (n > 5 && strncasecmp(ct + n - 5, "+json", 5) == 0);
}

/* A header value from the webapp, safe to print: at most URL_MAX bytes,
 * anything but printable ASCII replaced. */
static const char *
printable(char buf[URL_MAX + 4], const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < URL_MAX; i++)
		buf[i] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	strcpy(buf + i, s[i] ? "..." : "");
	return buf;
}

void
rest_check_headers_hint(struct rest_check_ctx *j)
{
	const struct fetch_opts *f = j->o->fetch;
	char names[QBUF] = "";
	size_t o = 0;

	if (f == NULL || f->nheaders == 0) {
		fix(j, "rest.headers is empty: if the webapp expects a shared "
		    "secret (e.g. Authorization: Bearer ...), add it there");
		return;
	}
	for (size_t i = 0; i < f->nheaders && o + 3 < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s",
		    i ? ", " : "", f->headers[i].name);
	fix(j, "check that rest.headers (sent: %s; values not shown) holds "
	    "exactly the secret the webapp expects", names);
}

void
rest_check_path_hint(struct rest_check_ctx *j)
{
	if (j->o->rest_host != NULL)
		fix(j, "check rest.host (%s) and %s; a path prefix "
		    "(https://example.org/matrix) belongs in rest.host",
		    j->o->rest_host, j->ep->key);
	else
		fix(j, "check the URL in %s", j->ep->key);
}

/* The start of a failed answer's body: an error page often says why. */
static void
note_error_body(struct rest_check_ctx *j)
{
	if (j->a->fr.body_len > 0)
		rest_check_note_body(j);
}

/* Explains an HTTP status that is a failure for this endpoint: what it
 * means, the body, then the fix. */
static void
explain_status(struct rest_check_ctx *j)
{
	long s = j->a->fr.status;
	const char *url = j->it->url;
	const char *loc = NULL;
	char lbuf[URL_MAX + 4];

	if (j->a->location != NULL)
		loc = printable(lbuf, j->a->location);
	if (s >= 300 && s < 400) {
		if (loc != NULL)
			problem(j, "HTTP %ld: a redirect to %s", s, loc);
		else
			problem(j, "HTTP %ld: a redirect", s);
		note(j, "Signpost never follows redirects: a password must "
		    "not travel on to an address nobody configured");
		note_error_body(j);
		if (loc != NULL && strncmp(url, "http://", 7) == 0 &&
		    strncmp(loc, "https://", 8) == 0)
			fix(j, "the webapp redirects http to https: use "
			    "https:// in %s", j->o->rest_host ? "rest.host" :
			    j->ep->key);
		else if (loc != NULL)
			fix(j, "point %s (or rest.host) at the final URL, "
			    "%s", j->ep->key, loc);
		else
			fix(j, "point %s (or rest.host) at the final URL",
			    j->ep->key);
	} else if (s == 401 || s == 403) {
		problem(j, "HTTP %ld: the webapp refused Signpost's request",
		    s);
		note_error_body(j);
		rest_check_headers_hint(j);
	} else if (s == 404) {
		problem(j, "HTTP 404: no endpoint at %s", url);
		note_error_body(j);
		rest_check_path_hint(j);
	} else if (s == 405) {
		problem(j, "HTTP 405: %s does not take POST; Signpost always "
		    "POSTs", url);
		note_error_body(j);
		fix(j, "accept POST with a JSON body at that URL");
	} else if (s == 400 || s == 422) {
		problem(j, "HTTP %ld: the webapp rejected the request as "
		    "malformed", s);
		note_error_body(j);
		fix(j, "read the request as docs/backend-api.md describes it: "
		    "a JSON object, sent with Content-Type: application/json");
	} else if (s >= 500) {
		if (s == 502 || s == 503 || s == 504)
			problem(j, "HTTP %ld: a proxy in front of the webapp "
			    "could not get an answer from it, or the webapp is "
			    "overloaded", s);
		else
			problem(j, "HTTP %ld: the webapp failed; its log "
			    "should say why", s);
		note_error_body(j);
		if (strcmp(j->ep->name, "list") == 0)
			fix(j, "a 5xx aborts the listing; Signpost keeps the "
			    "previous one and tries again later");
		else
			fix(j, "a 5xx is a failure, never a \"no\": answer "
			    "a %s with 200 %s",
			    strcmp(j->ep->name, "auth") == 0 ?
			    "wrong password or unknown user" : "miss",
			    j->ep->negative);
	} else {
		problem(j, "HTTP %ld: only 2xx answers carry results", s);
		note_error_body(j);
		fix(j, "answer with status 200 and a JSON object");
	}
}

static bool
contains(const char *hay, const char *needle)
{
	return hay != NULL && strcasestr(hay, needle) != NULL;
}

/* A call that never got an HTTP answer: curl's message says why. */
static void
explain_unreachable(struct rest_check_ctx *j)
{
	const char *e = j->a->fr.error ? j->a->fr.error : "";
	const struct fetch_opts *f = j->o->fetch;
	const char *where = j->o->rest_host ? "rest.host" : j->ep->key;

	if (contains(e, "resolve")) {
		problem(j, "the host name does not resolve: %s", e);
		fix(j, "check the host name in %s", where);
	} else if (contains(e, "refused") || contains(e, "connect to") ||
	    contains(e, "couldn't connect")) {
		problem(j, "connection refused: nothing listens there (%s)", e);
		fix(j, "start the webapp, or correct the host and port in %s",
		    where);
	} else if (contains(e, "wrong version number") ||
	    contains(e, "packet length too long") ||
	    contains(e, "HTTP/0.9")) {
		problem(j, "the two sides speak different protocols: %s", e);
		fix(j, "the scheme in %s does not match the port: https:// "
		    "on a plain HTTP port, or http:// on an HTTPS one", where);
	} else if (contains(e, "SSL") || contains(e, "TLS") ||
	    contains(e, "certificate")) {
		problem(j, "TLS failed: %s", e);
		if (f != NULL && f->ca_file != NULL)
			fix(j, "the certificate is checked against rest.caFile "
			    "(%s): it must hold the CA that signed the "
			    "webapp's certificate, and the URL's host name "
			    "must be in the certificate", f->ca_file);
		else
			fix(j, "the certificate is checked against the "
			    "system's CAs: for a private CA set rest.caFile to "
			    "its bundle (rest.tlsVerify: false is for tests "
			    "only)");
	} else if (contains(e, "empty reply")) {
		problem(j, "the webapp closed the connection without "
		    "answering");
		fix(j, "look in the webapp's log: it may have failed on this "
		    "request");
	} else {
		problem(j, "no answer: %s", e);
		fix(j, "check that the webapp runs and that %s is right",
		    where);
	}
}

/* A call the daemon counts as failed before reading a body. */
static void
explain_failure(struct rest_check_ctx *j)
{
	const struct fetch_result *fr = &j->a->fr;
	const struct fetch_opts *f = j->o->fetch;
	long limit_ms = f ? f->timeout_ms : 0;

	switch (fr->outcome) {
	case FETCH_ANSWERED:
		explain_status(j);
		break;
	case FETCH_TIMEOUT:
		if (contains(fr->error, "connection timed out") ||
		    contains(fr->error, "resolving timed out")) {
			problem(j, "no connection within rest.connectTimeout "
			    "(%ld ms): %s", f ? f->connect_timeout_ms : 0,
			    fr->error);
			fix(j, "check that the webapp's host and port are "
			    "reachable from here; a firewall that drops "
			    "packets looks like this");
		} else {
			problem(j, "no complete answer within rest.timeout "
			    "(%ld ms)", limit_ms);
			fix(j, "make the endpoint answer faster (the "
			    "homeserver waits while someone logs in), or raise "
			    "rest.timeout");
		}
		break;
	case FETCH_UNREACHABLE:
		explain_unreachable(j);
		break;
	case FETCH_TOO_LARGE:
		problem(j, "the answer is larger than rest.maxResponseSize "
		    "(%zu bytes)", f ? f->max_response : 0);
		fix(j, "%s", strcmp(j->ep->name, "list") == 0 ?
		    "send smaller pages" : "check what the endpoint sends; "
		    "raise rest.maxResponseSize only if the answer is right");
		break;
	default:
		problem(j, "the call failed: %s", fr->error ? fr->error : "?");
		break;
	}
}

/* Checks that apply to every answer, whatever its verdict. */
void
rest_check_common(struct rest_check_ctx *j)
{
	const struct fetch_result *fr = &j->a->fr;
	const struct fetch_opts *f = j->o->fetch;
	const char *ct = j->a->content_type;
	char q[QBUF];

	if (fr->outcome != FETCH_ANSWERED)
		return;
	if (f != NULL && f->timeout_ms > 0 &&
	    (long)fr->elapsed_ms * 2 >= f->timeout_ms) {
		warning(j, "the answer took %u ms; rest.timeout is %ld ms: "
		    "close", fr->elapsed_ms, f->timeout_ms);
		/* A fix, even when the answer parsed: lint mode would drop
		 * it, and this one is about time, not shape. */
		rest_check_line(j->it, REST_CHECK_FIX, "under load this "
		    "becomes a time-out: make the endpoint faster, or raise "
		    "rest.timeout");
	}
	if (ct != NULL && fr->status >= 200 && fr->status < 300 &&
	    !is_json_type(ct)) {
		warning(j, "Content-Type is %s; send application/json",
		    rest_check_quote(q, ct));
	}
}

/* Says the local form of a store id on matrix.domain, as the identity
 * layer will map it; NULL when it cannot be mapped. */
static char *
map_id(const struct backend_id *id, const char *domain)
{
	char *mxid;

	if (id->type == BACKEND_ID_MXID)
		return mxid_valid(id->value) ? xstrdup(id->value) : NULL;
	mxid = xasprintf("@%s:%s", id->value, domain);
	if (!mxid_valid(mxid)) {
		free(mxid);
		return NULL;
	}
	return mxid;
}

bool
rest_check_has_upper(const char *s)
{
	for (; *s; s++)
		if (isupper((unsigned char)*s))
			return true;
	return false;
}

/* Explains an id object the parser refused; warns about one it took. */
void
rest_check_explain_id(struct rest_check_ctx *j, const json_t *id,
    const char *where)
{
	const json_t *type, *value;
	const char *t, *v;
	char q1[QBUF], q2[QBUF];
	bool bad = false;

	if (json_is_string(id)) {
		v = json_string_value(id);
		problem(j, "%s is a string (%s); it must be an object", where,
		    rest_check_quote(q1, v));
		fix(j, "send {\"type\": \"%s\", \"value\": %s}",
		    v[0] == '@' ? "mxid" : "localpart",
		    rest_check_quote(q2, v));
		return;
	}
	if (!json_is_object(id)) {
		problem(j, "%s is %s; it must be an object {\"type\": "
		    "\"localpart\" or \"mxid\", \"value\": ...}", where,
		    rest_check_type_name(id));
		return;
	}
	type = json_object_get(id, "type");
	value = json_object_get(id, "value");
	if (!json_is_string(type)) {
		problem(j, "%s.type is %s; expected \"localpart\" or \"mxid\"",
		    where, type ? rest_check_type_name(type) : "missing");
		bad = true;
	}
	if (!json_is_string(value)) {
		problem(j, "%s.value is %s; expected a string", where,
		    value ? rest_check_type_name(value) : "missing");
		bad = true;
	}
	if (bad)
		return;
	t = json_string_value(type);
	v = json_string_value(value);
	if (strcasecmp(t, "localpart") != 0 && strcasecmp(t, "mxid") != 0) {
		problem(j, "%s.type is %s; expected \"localpart\" or \"mxid\"",
		    where, rest_check_quote(q1, t));
		fix(j, "use \"%s\" for a value such as %s",
		    v[0] == '@' ? "mxid" : "localpart",
		    rest_check_quote(q2, v));
		return;
	}
	if (strcmp(t, "localpart") != 0 && strcmp(t, "mxid") != 0)
		warning(j, "%s.type is %s: accepted, but write it in lowercase",
		    where, rest_check_quote(q1, t));
	if (v[0] == '\0') {
		problem(j, "%s.value is empty", where);
		return;
	}
	if (strcasecmp(t, "mxid") == 0 && !mxid_valid(v)) {
		if (v[0] != '@' && mxid_localpart_valid(v, strlen(v))) {
			problem(j, "%s.value %s is a bare localpart, but type "
			    "\"mxid\" needs a full user id", where,
			    rest_check_quote(q1, v));
			fix(j, "send {\"type\": \"localpart\", \"value\": %s}, "
			    "or type \"mxid\" with \"@%.*s:%s\"", q1, QUOTE_MAX,
			    v, j->o->domain);
		} else {
			problem(j, "%s.value %s is not a valid Matrix user id "
			    "(@localpart:server, at most 255 bytes)", where,
			    rest_check_quote(q1, v));
		}
		return;
	}
	if (strcasecmp(t, "localpart") == 0) {
		if (!mxid_localpart_valid(v, strlen(v))) {
			problem(j, "%s.value %s is not a valid localpart",
			    where, rest_check_quote(q1, v));
			if (v[0] == '@' && mxid_valid(v))
				fix(j, "it is a full user id: send type "
				    "\"mxid\" with it, or the localpart alone");
			return;
		}
		if (rest_check_has_upper(v))
			warning(j, "%s.value %s has capital letters: answer "
			    "the localpart as the homeserver knows the user, "
			    "normally lowercase", where,
			    rest_check_quote(q1, v));
	}
}

/* After a successful parse: the id must also map to a user id, as the
 * identity layer does, or the daemon fails the call there. */
char *
rest_check_mapped_id(struct rest_check_ctx *j, const struct backend_id *id,
    const char *where)
{
	char *mxid = map_id(id, j->o->domain);
	char q[QBUF];

	if (mxid == NULL) {
		/* Not lint: the daemon's identity layer refuses it. */
		rest_check_line(j->it, REST_CHECK_PROBLEM, "%s %s on %s is not "
		    "a valid Matrix user id (too long?)", where,
		    rest_check_quote(q, id->value), j->o->domain);
		j->explained = true;
	}
	return mxid;
}

void
rest_check_judge_start(struct rest_check_ctx *j,
    const struct rest_check_opts *o, const struct rest_check_answer *a,
    struct rest_check_item *it)
{
	memset(j, 0, sizeof(*j));
	j->o = o;
	j->a = a;
	j->it = it;
	j->ep = &endpoints[0];
	for (size_t i = 0; i < ARRAY_LEN(endpoints); i++)
		if (strcmp(endpoints[i].name, it->endpoint) == 0)
			j->ep = &endpoints[i];
}

/*
 * The first step of every judge: the daemon's sorting of the outcome.
 * Returns 1 when a 2xx body is there to parse, 0 for a status the
 * endpoint reads as "no" (404, or any 4xx for auth), -1 for a failure,
 * which is explained here.
 */
int
rest_check_sort_outcome(struct rest_check_ctx *j, bool any_4xx_is_no)
{
	enum backend_fault fault;
	const char *reason;

	if (rest_answer_usable(&j->a->fr, j->it->url ? j->it->url : "",
	    any_4xx_is_no, &fault, &reason))
		return 1;
	if (reason == NULL)
		return 0;
	explain_failure(j);
	return -1;
}

/* A body the parser refused: the walk names the fault, or the parser's
 * reason stands. */
void
rest_check_explain_malformed(struct rest_check_ctx *j, const char *why,
    rest_check_walk_fn walk, const void *arg)
{
	const struct fetch_result *fr = &j->a->fr;
	const char *jwhy;
	json_t *root = json_parse(fr->body, fr->body_len, &jwhy);
	char q[QBUF];

	if (root == NULL) {
		problem(j, "the answer is not JSON (%s)", jwhy);
		if (j->a->content_type != NULL &&
		    !is_json_type(j->a->content_type))
			note(j, "Content-Type is %s",
			    rest_check_quote(q, j->a->content_type));
		rest_check_note_body(j);
		fix(j, "answer every call with a JSON object and "
		    "Content-Type: application/json, errors included; an HTML "
		    "page usually comes from the framework's error or login "
		    "handling (exempt these endpoints from sessions and CSRF "
		    "checks)");
		return;
	}
	walk(j, root, arg);
	json_decref(root);
	if (!j->explained)
		problem(j, "malformed answer: %s", why);
}