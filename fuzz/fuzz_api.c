/*
 * Whole requests through the Matrix API (api_handle in src/api/api.c):
 * routing, query strings, headers, bodies and every handler, with a fake
 * HTTP layer in place of src/http/server.c, a fake webapp (backend ops
 * table) that answers at once, and a fake store; the identity, hashing and
 * signing code is the real one.
 *
 * An input is a request written as text:
 *
 *   GET /_matrix/identity/api/v1/lookup?medium=email&address=a%40b.c
 *   Authorization: Bearer tok-alice
 *   X-Peer: 10.0.0.1
 *
 *   {"optional":"body"}
 *
 * The path and query arguments are percent-decoded once (as libmicrohttpd
 * does; its own parsing is not under test here), header names match
 * case-insensitively, X-Peer sets the caller's address (default
 * 127.0.0.1). Tokens "tok-alice" (every policy accepted) and "tok-bob"
 * (none) are known. The fake webapp knows "…@example.org" addresses,
 * fails for the address "error" (and times out for "timeout"), takes the
 * password "right", and lists three bindings.
 *
 * Every request gets exactly one answer, a JSON object with the CORS
 * headers (but for the Prometheus text of /_signpost/metrics); an error is {"errcode":"M_…","error":…}; nothing answers 500
 * (nothing here fails) or 503 (nothing is shutting down); a v1 lookup that
 * finds someone is signed by the server's key and names the address asked
 * about; mappings and bulk answers only name what was asked.
 *
 * The fake HTTP layer replaces the http_req_* accessors and http_respond
 * at link time: libsignpost.a's server.o is never pulled in. A function
 * added to src/http/server.h and used by api/ must be added here too.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <strings.h>

#include <sodium.h>

#include "fuzz.h"

#include "api/api.h"
#include "core/cidr.h"
#include "core/mxid.h"
#include "crypto/sign.h"
#include "http/server.h"
#include "identity/hashing.h"
#include "identity/identity.h"
#include "store/store.h"

/* Bounds what one input can hold: query arguments and headers. */
#define FUZZ_MAX_FIELDS 16

#define FUZZ_DOMAIN "example.org"
#define FUZZ_PEPPER "fuzzpepper"

/* ---- the fake HTTP layer */

struct field {
	char *name, *value; /* value NULL: "name" without "=" */
};

struct http_request {
	char *method, *path;
	struct field query[FUZZ_MAX_FIELDS], header[FUZZ_MAX_FIELDS];
	size_t nquery, nheader;
	const char *body;
	size_t body_len;
	uint8_t peer[16];

	pthread_mutex_t lock;
	pthread_cond_t done;
	int answers;
	unsigned status;
	char *answer;
	size_t answer_len;
	bool cors;
	void (*on_done)(void *);
	void *on_done_arg;
};

const char *
http_req_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_req_path(const struct http_request *req)
{
	return req->path;
}

/* libmicrohttpd gives the first of repeated arguments, and NULL for one
 * written without "=". */
const char *
http_req_query(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].name, name) == 0)
			return req->query[i].value;
	return NULL;
}

const char *
http_req_header(const struct http_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheader; i++)
		if (strcasecmp(req->header[i].name, name) == 0)
			return req->header[i].value;
	return NULL;
}

const char *
http_req_body(const struct http_request *req, size_t *len)
{
	*len = req->body_len;
	return req->body;
}

const uint8_t *
http_req_peer(const struct http_request *req)
{
	return req->peer;
}

void
http_req_set_label(struct http_request *req, const char *label)
{
	(void)req;
	FUZZ_CHECK(label != NULL && label[0] != '\0');
}

void
http_req_on_done(struct http_request *req, void (*fn)(void *), void *arg)
{
	FUZZ_CHECK(req->on_done == NULL);
	req->on_done = fn;
	req->on_done_arg = arg;
}

void
http_respond(struct http_request *req, unsigned status, char *body,
    size_t len, const char *const *headers)
{
	pthread_mutex_lock(&req->lock);
	req->answers++;
	if (req->answers == 1) {
		req->status = status;
		req->answer = body;
		req->answer_len = len;
		for (; headers && headers[0]; headers += 2)
			if (strcmp(headers[0], "Access-Control-Allow-Origin") ==
			    0 && strcmp(headers[1], "*") == 0)
				req->cors = true;
	} else {
		free(body);
	}
	pthread_cond_broadcast(&req->done);
	pthread_mutex_unlock(&req->lock);
}

/* ---- the fake webapp: answers before its call returns */

/* Like the REST backend, which cannot put other bytes in JSON. */
static bool
sendable(const char *s)
{
	return fuzz_utf8_valid(s, strlen(s));
}

static bool
known_address(const char *address)
{
	size_t n = strlen(address), d = strlen("@" FUZZ_DOMAIN);

	return n > d && strcmp(address + n - d, "@" FUZZ_DOMAIN) == 0;
}

static int
fake_authenticate(void *self, const struct backend_auth_request *req,
    backend_auth_cb cb, void *arg)
{
	static const struct backend_threepid tp[] = {
		{ "email", "alice@" FUZZ_DOMAIN },
	};
	struct backend_auth_result res = { .verdict = BACKEND_NO };

	(void)self;
	if (!sendable(req->mxid) || !sendable(req->password))
		return -1;
	if (strcmp(req->password, "right") == 0) {
		res.verdict = BACKEND_YES;
		res.id.type = BACKEND_ID_LOCALPART;
		res.id.value = req->localpart;
		res.display_name = "Alice";
		res.threepids = tp;
		res.nthreepids = ARRAY_LEN(tp);
	} else if (strcmp(req->password, "down") == 0) {
		res.verdict = BACKEND_ERROR;
		res.fault = BACKEND_FAULT_BAD_GATEWAY;
		res.reason = "fake webapp down";
	}
	cb(&res, arg);
	return 0;
}

/* One answer of the fake webapp; -1 for an error answer. */
static int
fake_answer(const struct backend_threepid *q, enum backend_fault *fault)
{
	if (strcmp(q->address, "error") == 0) {
		*fault = BACKEND_FAULT_BAD_GATEWAY;
		return -1;
	}
	if (strcmp(q->address, "timeout") == 0) {
		*fault = BACKEND_FAULT_TIMEOUT;
		return -1;
	}
	return known_address(q->address);
}

static int
fake_lookup(void *self, const struct backend_threepid *q,
    backend_lookup_cb cb, void *arg)
{
	struct backend_lookup_result res = { .verdict = BACKEND_NO };
	int rc;

	(void)self;
	if (!sendable(q->medium) || !sendable(q->address))
		return -1;
	rc = fake_answer(q, &res.fault);
	if (rc < 0) {
		res.verdict = BACKEND_ERROR;
		res.reason = "fake webapp error";
	} else if (rc == 1) {
		res.verdict = BACKEND_YES;
		res.id = (struct backend_id){ BACKEND_ID_MXID,
		    "@alice:" FUZZ_DOMAIN };
	}
	cb(&res, arg);
	return 0;
}

static int
fake_bulk(void *self, const struct backend_threepid *q, size_t n,
    backend_bulk_cb cb, void *arg)
{
	struct backend_bulk_result res = { .verdict = BACKEND_YES };
	struct backend_match *m = xcalloc(n, sizeof(*m));

	(void)self;
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (!sendable(q[i].medium) || !sendable(q[i].address)) {
			free(m);
			return -1;
		}
		rc = fake_answer(&q[i], &res.fault);
		if (rc < 0) {
			res.verdict = BACKEND_ERROR;
			res.reason = "fake webapp error";
			res.nmatches = 0;
			break;
		}
		if (rc == 1) {
			m[res.nmatches].index = i;
			m[res.nmatches].id = (struct backend_id){
			    BACKEND_ID_LOCALPART, "alice" };
			res.nmatches++;
		}
	}
	res.matches = m;
	cb(&res, arg);
	free(m);
	return 0;
}

static int
fake_list(void *self, const char *after, size_t limit, backend_page_cb cb,
    void *arg)
{
	static const struct backend_entry entries[] = {
		{ { "email", "alice@" FUZZ_DOMAIN },
		    { BACKEND_ID_LOCALPART, "alice" } },
		{ { "email", "bob@" FUZZ_DOMAIN },
		    { BACKEND_ID_MXID, "@bob:" FUZZ_DOMAIN } },
		{ { "msisdn", "15555550100" },
		    { BACKEND_ID_LOCALPART, "alice" } },
	};
	struct backend_page_result res = { .verdict = BACKEND_YES,
	    .entries = entries, .nentries = ARRAY_LEN(entries) };

	(void)self;
	(void)after;
	FUZZ_CHECK(limit >= ARRAY_LEN(entries));
	cb(&res, arg);
	return 0;
}

static void
fake_destroy(void *self)
{
	(void)self;
}

static const struct backend_ops fake_backend_ops = {
	.name = "fuzz",
	.authenticate = fake_authenticate,
	.lookup = fake_lookup,
	.bulk_lookup = fake_bulk,
	.list = fake_list,
	.destroy = fake_destroy,
};

/* ---- the fake store: two known tokens, terms by token, settings */

static unsigned char hash_alice[STORE_HASH_LEN], hash_bob[STORE_HASH_LEN];
static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static char *pepper_setting;

static int
fs_token_add(void *self, const char *user_id,
    const unsigned char hash[STORE_HASH_LEN], int64_t created_ms,
    int64_t expires_ms)
{
	(void)self, (void)user_id, (void)hash, (void)created_ms;
	(void)expires_ms;
	return 0;
}

static int
fs_token_user(void *self, const unsigned char hash[STORE_HASH_LEN],
    int64_t now_ms, char **user_id)
{
	(void)self, (void)now_ms;
	if (memcmp(hash, hash_alice, STORE_HASH_LEN) == 0)
		*user_id = xstrdup("@alice:" FUZZ_DOMAIN);
	else if (memcmp(hash, hash_bob, STORE_HASH_LEN) == 0)
		*user_id = xstrdup("@bob:" FUZZ_DOMAIN);
	else
		return 0;
	return 1;
}

static int
fs_token_remove(void *self, const unsigned char hash[STORE_HASH_LEN])
{
	(void)self, (void)hash;
	return 0;
}

static int
fs_terms_accept(void *self, const char *user_id, const char *const *urls,
    size_t n, int64_t now_ms)
{
	(void)self, (void)now_ms;
	FUZZ_CHECK(mxid_valid(user_id) && n > 0);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(urls[i] != NULL && urls[i][0] != '\0');
	return 0;
}

/* Alice accepted everything, Bob nothing: no state between inputs. */
static int
fs_terms_accepted(void *self, const char *user_id, const char *url)
{
	(void)self, (void)url;
	return strcmp(user_id, "@alice:" FUZZ_DOMAIN) == 0;
}

static int
fs_setting_get(void *self, const char *name, char **value)
{
	int rc = 0;

	(void)self, (void)name;
	pthread_mutex_lock(&store_lock);
	if (pepper_setting != NULL) {
		*value = xstrdup(pepper_setting);
		rc = 1;
	}
	pthread_mutex_unlock(&store_lock);
	return rc;
}

static int
fs_setting_set(void *self, const char *name, const char *value)
{
	(void)self, (void)name;
	pthread_mutex_lock(&store_lock);
	free(pepper_setting);
	pepper_setting = xstrdup(value);
	pthread_mutex_unlock(&store_lock);
	return 0;
}

static long
fs_purge_expired(void *self, int64_t now_ms)
{
	(void)self, (void)now_ms;
	return 0;
}

static void
fs_close(void *self)
{
	(void)self;
}

static const struct store_ops fake_store_ops = {
	.name = "fuzz",
	.token_add = fs_token_add,
	.token_user = fs_token_user,
	.token_remove = fs_token_remove,
	.terms_accept = fs_terms_accept,
	.terms_accepted = fs_terms_accepted,
	.setting_get = fs_setting_get,
	.setting_set = fs_setting_set,
	.purge_expired = fs_purge_expired,
	.close = fs_close,
};

/* ---- the service, set up once */

static struct cfg_policy_terms terms_en[] = {
	{ "en", "Terms", "https://" FUZZ_DOMAIN "/terms.html" },
};
static const struct cfg_policy policies[] = {
	{ "terms_of_service", "1.0", terms_en, ARRAY_LEN(terms_en) },
};
/* No valid server name equals "": registration never calls out. */
static char *const no_server[] = { "" };

static struct api *api;
static struct sig_key *key;

static void
setup(void)
{
	static struct cidr_list allow;
	struct backend be = { &fake_backend_ops, NULL,
	    BACKEND_CAN_AUTH | BACKEND_CAN_SINGLE | BACKEND_CAN_BULK |
	    BACKEND_CAN_LIST };
	unsigned char seed[SIG_SEED_LEN];
	struct identity *id;
	struct store *st;
	struct hashing *h;
	struct hashidx *idx;
	struct cidr c;
	const char *why;

	fuzz_setup();
	FUZZ_CHECK(sodium_init() >= 0);
	crypto_hash_sha256(hash_alice, (const unsigned char *)"tok-alice", 9);
	crypto_hash_sha256(hash_bob, (const unsigned char *)"tok-bob", 7);
	memset(seed, 0x11, sizeof(seed));
	key = sig_key_from_seed(seed, "ed25519:0");
	FUZZ_CHECK(key != NULL);
	FUZZ_CHECK(cidr_parse("127.0.0.0/8", &c, &why) == 0);
	cidr_list_add(&allow, &c);
	FUZZ_CHECK(cidr_parse("::1", &c, &why) == 0);
	cidr_list_add(&allow, &c);

	pepper_setting = xstrdup(FUZZ_PEPPER);
	st = store_wrap(&fake_store_ops, NULL);
	id = identity_new(&be, &(struct identity_opts){ .domain = FUZZ_DOMAIN,
	    .bulk_chunk = 2 });
	h = hashing_start(st, id, &(struct hashing_opts){ .pepper_length = 20,
	    .refresh_s = 604800 });
	FUZZ_CHECK(h != NULL);
	/* The first index is built before hashing_start returns, since the
	 * fake webapp answers at once. */
	idx = hashing_index(h);
	FUZZ_CHECK(idx != NULL);
	hashidx_unref(idx);
	api = api_new(&(struct api_opts){ .auth_allow = &allow,
	    .identity = id, .key = key, .server_name = FUZZ_DOMAIN,
	    .validity_s = 3600, .max_bulk = 8, .store = st, .hashing = h,
	    .policies = policies, .npolicies = ARRAY_LEN(policies),
	    .token_lifetime = 3600, .fed_allowed = no_server,
	    .nfed_allowed = ARRAY_LEN(no_server), .metrics_enabled = true,
	    .metrics_allow = &allow });
	/* All of it lives until the process ends. */
}

/* ---- parsing an input into a request */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..n) into a new string; "%00" ends it, as C would. */
static char *
unescape(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

static void
parse_query(struct http_request *req, const char *q)
{
	while (*q != '\0' && req->nquery < FUZZ_MAX_FIELDS) {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		struct field *f = &req->query[req->nquery++];

		f->name = unescape(q, eq ? (size_t)(eq - q) : n);
		f->value = eq ? unescape(eq + 1, n - (size_t)(eq - q) - 1) :
				NULL;
		q += n;
		if (*q == '&')
			q++;
	}
}

/* Splits text into the request line, headers and body. */
static void
parse_request(struct http_request *req, char *text, size_t len)
{
	char *line = text, *end = text + len, *nl, *sp, *q;
	bool first = true;

	req->body = end;
	while (line < end) {
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		if (first) {
			sp = strchr(line, ' ');
			req->method = xstrndup(line, sp ? (size_t)(sp - line) :
			    strlen(line));
			line = sp ? sp + 1 : line + strlen(line);
			q = strchr(line, '?');
			req->path = unescape(line, q ? (size_t)(q - line) :
			    strlen(line));
			if (q != NULL)
				parse_query(req, q + 1);
			first = false;
		} else if (line[0] == '\0') {
			req->body = nl < end ? nl + 1 : end;
			break;
		} else if ((sp = strchr(line, ':')) != NULL &&
		    req->nheader < FUZZ_MAX_FIELDS) {
			struct field *f = &req->header[req->nheader++];

			f->name = xstrndup(line, (size_t)(sp - line));
			f->value = xstrdup(sp + 1 + strspn(sp + 1, " \t"));
		}
		line = nl + 1;
	}
	req->body_len = (size_t)(end - req->body);
	if (req->method == NULL) {
		req->method = xstrdup("");
		req->path = xstrdup("");
	}
}

static void
free_request(struct http_request *req)
{
	for (size_t i = 0; i < req->nquery; i++) {
		free(req->query[i].name);
		free(req->query[i].value);
	}
	for (size_t i = 0; i < req->nheader; i++) {
		free(req->header[i].name);
		free(req->header[i].value);
	}
	free(req->method);
	free(req->path);
	free(req->answer);
	pthread_mutex_destroy(&req->lock);
	pthread_cond_destroy(&req->done);
}

/* ---- checking the answer */

static bool
in_array_of_strings(const json_t *list, const char *s)
{
	const json_t *v;
	size_t i;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static void
check_answer(const struct http_request *req)
{
	const char *why, *path = req->path;
	json_t *v, *body = NULL;
	size_t i;

	FUZZ_CHECK(req->answers == 1);
	/* Metrics are Prometheus text for a scraper, not for browsers;
	 * everything else is JSON with CORS headers. */
	if (strcmp(path, "/_signpost/metrics") == 0 && req->status == 200)
		return;
	FUZZ_CHECK(req->cors);
	v = json_parse(req->answer, req->answer_len, &why);
	FUZZ_CHECK(v != NULL && json_is_object(v));
	FUZZ_CHECK(req->status != 500 && req->status != 503);
	FUZZ_CHECK(req->status >= 200 && req->status < 600);
	if (req->status >= 400) {
		const char *code = json_string_value(json_object_get(v,
		    "errcode"));

		FUZZ_CHECK(code != NULL && strncmp(code, "M_", 2) == 0);
		FUZZ_CHECK(json_is_string(json_object_get(v, "error")));
		json_decref(v);
		return;
	}
	if (req->body_len > 0)
		body = json_parse(req->body, req->body_len, &why);
	if (strcmp(path, "/_matrix/identity/api/v1/lookup") == 0 &&
	    json_object_size(v) > 0) {
		FUZZ_CHECK(sig_verify_json(sig_public_key(key), FUZZ_DOMAIN,
		    "ed25519:0", v));
		FUZZ_CHECK(strcmp(json_string_value(json_object_get(v,
		    "address")), http_req_query(req, "address")) == 0);
	}
	if (strcmp(path, "/_matrix/identity/v2/lookup") == 0) {
		const char *k;
		json_t *m;

		json_object_foreach(json_object_get(v, "mappings"), k, m)
			FUZZ_CHECK(in_array_of_strings(json_object_get(body,
			    "addresses"), k));
	}
	if (strcmp(path, "/_matrix/identity/api/v1/bulk_lookup") == 0) {
		const json_t *asked = json_object_get(body, "threepids"), *t;

		json_array_foreach(json_object_get(v, "threepids"), i, t) {
			const json_t *a;
			size_t j;
			bool found = false;

			json_array_foreach(asked, j, a)
				found |= json_equal(json_array_get(a, 0),
				    json_array_get(t, 0)) &&
				    json_equal(json_array_get(a, 1),
				    json_array_get(t, 1));
			FUZZ_CHECK(found);
		}
	}
	json_decref(body);
	json_decref(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req = { 0 };
	char *text = xmalloc(size + 1);
	const char *peer;

	if (api == NULL)
		setup();
	memcpy(text, data, size);
	text[size] = '\0';
	pthread_mutex_init(&req.lock, NULL);
	pthread_cond_init(&req.done, NULL);
	parse_request(&req, text, size);
	peer = http_req_header(&req, "X-Peer");
	if (peer == NULL || cidr_addr_parse(peer, req.peer) != 0)
		FUZZ_CHECK(cidr_addr_parse("127.0.0.1", req.peer) == 0);

	api_handle(&req, api);
	/* Every fake answers at once, so the answer is there already. */
	pthread_mutex_lock(&req.lock);
	FUZZ_CHECK(req.answers == 1);
	pthread_mutex_unlock(&req.lock);
	/* FUZZ_VERBOSE=1 shows each answer, for writing seeds. */
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "%u %.*s\n", req.status, (int)req.answer_len,
		    req.answer);
	check_answer(&req);
	if (req.on_done != NULL)
		req.on_done(req.on_done_arg);

	free_request(&req);
	free(text);
	return 0;
}
