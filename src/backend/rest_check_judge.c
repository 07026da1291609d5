/*
 * check-backend's judges: one answer in, a verdict and its explanation out.
 *
 * The verdict always comes from the daemon's own code: rest_answer_usable
 * sorts the HTTP outcome and the rest_parse_* functions decide whether a
 * body is well formed. Only then is the raw answer read a second time, to
 * explain a rejection in the webapp author's terms ("auth.id.type is
 * \"email\"") and to warn about answers the daemon accepts but that are
 * mistakes waiting to happen (an address not echoed, a slow answer). That
 * second reading may add warnings, never turn a pass into a failure of
 * its own invention, so the tool and the daemon cannot disagree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend/rest.h"
#include "backend/rest_check_internal.h"
#include "core/json.h"
#include "core/util.h"

/* Separate warnings of one kind in one answer (strays, addresses). */
#define SAME_WARNINGS_MAX 3

/* The string member key of obj, or NULL (not an object, not a string). */
static const char *
str_of(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* The 3PIDs of a profile: the parser's rules, then the address forms. */
static void
walk_threepids(struct rest_check_ctx *j, const json_t *list)
{
	const json_t *e;
	size_t i;
	char q[QBUF];

	if (!json_is_array(list)) {
		problem(j, "auth.profile.three_pids is %s; expected an array",
		    rest_check_type_name(list));
		return;
	}
	json_array_foreach(list, i, e) {
		const char *m = str_of(e, "medium");
		const char *ad = str_of(e, "address");

		if (m == NULL || ad == NULL) {
			problem(j, "auth.profile.three_pids[%zu] lacks "
			    "\"medium\" or \"address\" strings", i);
			fix(j, "send {\"medium\": \"email\", \"address\": "
			    "\"...\"} per entry, or leave three_pids out");
			return;
		}
		if (strcmp(m, "email") != 0 && strcmp(m, "msisdn") != 0)
			warning(j, "auth.profile.three_pids[%zu].medium is %s; "
			    "the homeserver knows \"email\" and \"msisdn\"", i,
			    rest_check_quote(q, m));
		else if (strcmp(m, "msisdn") == 0 &&
		    strspn(ad, "0123456789") != strlen(ad))
			warning(j, "auth.profile.three_pids[%zu].address %s: "
			    "write phone numbers as international digits, "
			    "without '+'", i, rest_check_quote(q, ad));
	}
}

static void
walk_profile(struct rest_check_ctx *j, const json_t *profile)
{
	const json_t *name, *list;

	if (profile == NULL || json_is_null(profile))
		return;
	if (!json_is_object(profile)) {
		problem(j, "auth.profile is %s; expected an object (or leave "
		    "it out: it is optional)", rest_check_type_name(profile));
		return;
	}
	name = json_object_get(profile, "display_name");
	if (name != NULL && !json_is_null(name) && !json_is_string(name))
		problem(j, "auth.profile.display_name is %s; expected a string",
		    rest_check_type_name(name));
	list = json_object_get(profile, "three_pids");
	if (list != NULL && !json_is_null(list))
		walk_threepids(j, list);
}

/* The localpart of "@lp:domain", for examples in fixes. */
static const char *
localpart_of(char buf[QBUF], const char *mxid)
{
	size_t n = strcspn(mxid + 1, ":");

	snprintf(buf, QBUF, "%.*s", (int)(n < QUOTE_MAX ? n : QUOTE_MAX),
	    mxid + 1);
	return buf;
}

static void
walk_auth(struct rest_check_ctx *j, const json_t *root, const char *mxid)
{
	const json_t *auth, *success, *id;
	char q[QBUF];

	if (!json_is_object(root)) {
		problem(j, "the answer is %s; the auth endpoint answers an "
		    "object {\"auth\": {...}}", rest_check_type_name(root));
		return;
	}
	auth = json_object_get(root, "auth");
	if (auth == NULL) {
		if (json_object_get(root, "success") != NULL) {
			problem(j, "\"success\" is at the top level, not "
			    "inside \"auth\"");
			fix(j, "wrap the answer: {\"auth\": {\"success\": ..., "
			    "\"id\": ...}}");
		} else {
			problem(j, "there is no \"auth\" key (keys: %s)",
			    rest_check_key_list(q, root));
		}
		return;
	}
	if (!json_is_object(auth)) {
		problem(j, "auth is %s; it must be an object",
		    rest_check_type_name(auth));
		return;
	}
	success = json_object_get(auth, "success");
	if (success == NULL) {
		problem(j, "auth.success is missing");
		fix(j, "send \"success\": true or false");
		return;
	}
	if (!json_is_boolean(success)) {
		problem(j, "auth.success is %s (%s); it must be the JSON "
		    "boolean true or false, without quotes",
		    rest_check_type_name(success), rest_check_show(q, success));
		return;
	}
	if (!json_is_true(success))
		return;
	id = json_object_get(auth, "id");
	if (id == NULL) {
		problem(j, "auth.success is true but auth.id is missing: "
		    "Signpost cannot tell who logged in");
		fix(j, "add \"id\": {\"type\": \"localpart\", \"value\": "
		    "\"%s\"}; the profile is optional, the id is not",
		    localpart_of(q, mxid));
	} else {
		rest_check_explain_id(j, id, "auth.id");
	}
	walk_profile(j, json_object_get(auth, "profile"));
}

static void
walk_auth_cb(struct rest_check_ctx *j, const json_t *root, const void *arg)
{
	walk_auth(j, root, arg);
}

/* The 4xx an auth endpoint may answer for "no", said for what it is. */
static void
auth_refused_by_status(struct rest_check_ctx *j, bool real)
{
	long s = j->a->fr.status;

	if (real) {
		problem(j, "the webapp refused the login with HTTP %ld", s);
		if (s == 401 || s == 403)
			rest_check_headers_hint(j);
		else if (s == 404)
			rest_check_path_hint(j);
		fix(j, "if the password is right, see why in the webapp's "
		    "log");
		return;
	}
	if (s == 404)
		warning(j, "HTTP 404: read as \"refused\", so this passes, but "
		    "a wrong URL gives 404 too, and then every login is "
		    "refused");
	else if (s == 401 || s == 403)
		warning(j, "HTTP %ld: read as \"refused\", so this passes, but "
		    "a webapp answers the same when the shared secret in "
		    "rest.headers is wrong, and then every login is refused",
		    s);
	else
		warning(j, "HTTP %ld: read as \"refused\", so this passes", s);
	fix(j, "answer a wrong password with 200 {\"auth\":{\"success\":"
	    "false}}, so that a refusal cannot be mistaken for a fault");
}

static void
auth_accepted(struct rest_check_ctx *j, const struct rest_auth_answer *ans,
    const char *mxid, bool real)
{
	char *got = rest_check_mapped_id(j, &ans->id, "auth.id");
	char q[QBUF];

	if (got == NULL)
		return;
	if (!real) {
		problem(j, "the webapp accepted a made-up user (%s) with a "
		    "random password, as %s", mxid, got);
		fix(j, "check that the user exists and the password is right "
		    "before answering \"success\": true");
	} else {
		if (ans->display_name != NULL)
			note(j, "logged in as %s (display name %s), %zu 3PIDs",
			    got, rest_check_quote(q, ans->display_name),
			    ans->nthreepids);
		else
			note(j, "logged in as %s, %zu 3PIDs", got,
			    ans->nthreepids);
		if (strcmp(got, mxid) != 0)
			warning(j, "the login was for %s but the webapp "
			    "answered %s: the homeserver may refuse it, or log "
			    "the user in as another account", mxid, got);
	}
	free(got);
}

void
rest_check_judge_auth(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const char *mxid, bool real,
    const char *secret, struct rest_check_item *it)
{
	struct rest_check_ctx j;
	struct rest_auth_answer ans;
	const char *why;
	int rc;

	rest_check_judge_start(&j, o, a, it);
	j.secret = secret;
	rc = rest_check_sort_outcome(&j, true);
	if (rc == 0)
		auth_refused_by_status(&j, real);
	if (rc <= 0)
		goto out;
	if (rest_parse_auth_answer(a->fr.body, a->fr.body_len, &ans,
	    &why) != 0) {
		rest_check_explain_malformed(&j, why, walk_auth_cb, mxid);
		goto out;
	}
	j.lint = true;
	walk_auth(&j, ans.root, mxid);
	j.lint = false;
	if (ans.success) {
		auth_accepted(&j, &ans, mxid, real);
	} else if (real) {
		problem(&j, "the webapp refused the login of %s", mxid);
		fix(&j, "check the password given to check-backend; if it is "
		    "right, check how the webapp finds the user from what it "
		    "is sent (localpart and domain)");
	} else {
		note(&j, "refused, as it should be");
	}
	rest_auth_answer_clear(&ans);
out:
	rest_check_common(&j);
}

/* The entry of a single lookup answer; the parser's rules in words. */
static void
walk_single(struct rest_check_ctx *j, const json_t *root, const void *arg)
{
	const struct backend_threepid *q = arg;
	const json_t *lookup, *id;
	const char *m, *ad;
	char q1[QBUF], q2[QBUF];

	if (json_is_array(root)) {
		problem(j, "the answer is an array; the single endpoint "
		    "answers an object: {\"lookup\": {...}} for a match, {} "
		    "for none");
		fix(j, "an array of entries is the bulk endpoint's answer: "
		    "check that %s is the single endpoint", j->ep->key);
		return;
	}
	if (!json_is_object(root)) {
		problem(j, "the answer is %s; expected an object",
		    rest_check_type_name(root));
		return;
	}
	lookup = json_object_get(root, "lookup");
	if (lookup == NULL || json_is_null(lookup) ||
	    (json_is_array(lookup) && json_array_size(lookup) == 0))
		return;
	if (json_is_array(lookup)) {
		problem(j, "lookup is an array; the single endpoint answers "
		    "one entry, as an object: {\"lookup\": {\"medium\": ..., "
		    "\"address\": ..., \"id\": ...}}");
		return;
	}
	if (!json_is_object(lookup)) {
		problem(j, "lookup is %s; expected an object",
		    rest_check_type_name(lookup));
		return;
	}
	id = json_object_get(lookup, "id");
	if (id == NULL) {
		problem(j, "lookup.id is missing: a match needs its owner");
		fix(j, "add \"id\": {\"type\": \"localpart\", \"value\": ...}, "
		    "or answer {} when nobody has the address");
		return;
	}
	rest_check_explain_id(j, id, "lookup.id");
	m = json_string_value(json_object_get(lookup, "medium"));
	ad = json_string_value(json_object_get(lookup, "address"));
	if (m == NULL || ad == NULL)
		warning(j, "lookup.medium or lookup.address is missing: copy "
		    "both from the request (recommended)");
	else if (strcmp(m, q->medium) != 0 || strcmp(ad, q->address) != 0)
		warning(j, "the answer names %s, but the request asked for "
		    "%s: copy medium and address from the request unchanged",
		    rest_check_quote(q1, ad), rest_check_quote(q2, q->address));
}

/* Why a probe address found nobody, when the raw answer hints at it:
 * an entry left at the top level is read as "no match". */
static void
explain_no_match(struct rest_check_ctx *j)
{
	const struct fetch_result *fr = &j->a->fr;
	bool bulk = strcmp(j->ep->name, "bulk") == 0;
	const char *why;
	json_t *root = json_parse(fr->body, fr->body_len, &why);
	char q[QBUF];

	if (json_is_object(root) && json_object_get(root, "lookup") == NULL &&
	    json_object_size(root) > 0) {
		rest_check_line(j->it, REST_CHECK_NOTE, "the answer has no "
		    "\"lookup\" key (keys: %s), which Signpost reads as no "
		    "match", rest_check_key_list(q, root));
		if (json_object_get(root, "id") != NULL ||
		    json_object_get(root, "mxid") != NULL)
			rest_check_line(j->it, REST_CHECK_FIX, "wrap the "
			    "entry: {\"lookup\": %s{\"medium\": ..., "
			    "\"address\": ..., \"id\": ...}%s}",
			    bulk ? "[" : "", bulk ? "]" : "");
	}
	json_decref(root);
}

void
rest_check_judge_single(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const struct backend_threepid *q,
    enum rest_check_want want, struct rest_check_item *it)
{
	struct rest_check_ctx j;
	struct backend_id id;
	json_t *root = NULL;
	const char *why;
	enum rest_check_kind miss = want == REST_CHECK_WANT_SOFT ?
	    REST_CHECK_WARNING : REST_CHECK_PROBLEM;
	char qa[QBUF];
	int rc;

	rest_check_judge_start(&j, o, a, it);
	rc = rest_check_sort_outcome(&j, false);
	if (rc == 0) {
		if (want == REST_CHECK_WANT_NONE) {
			warning(&j, "HTTP 404: read as \"no match\", so this "
			    "passes, but a wrong URL gives 404 too, and then "
			    "every lookup finds nobody");
			fix(&j, "answer a miss with 200 {}, so that it cannot "
			    "be mistaken for a wrong URL");
		} else {
			rest_check_say(&j, miss, "no match for %s (HTTP 404)",
			    rest_check_quote(qa, q->address));
			rest_check_path_hint(&j);
		}
	}
	if (rc <= 0)
		goto out;
	rc = rest_parse_lookup_answer(a->fr.body, a->fr.body_len, &root, &id,
	    &why);
	if (rc < 0) {
		rest_check_explain_malformed(&j, why, walk_single, q);
		goto out;
	}
	j.lint = true;
	walk_single(&j, root, q);
	j.lint = false;
	if (rc == 1) {
		char *got = rest_check_mapped_id(&j, &id, "lookup.id");

		if (got != NULL && want == REST_CHECK_WANT_NONE) {
			problem(&j, "the webapp says a made-up address belongs "
			    "to %s", got);
			fix(&j, "answer {} for an address nobody has");
		} else if (got != NULL) {
			note(&j, "belongs to %s", got);
		}
		free(got);
	} else if (want == REST_CHECK_WANT_NONE) {
		note(&j, "no match, as it should be");
	} else {
		rest_check_say(&j, miss, "no match for %s %s", q->medium,
		    rest_check_quote(qa, q->address));
		if (want == REST_CHECK_WANT_SOFT)
			fix(&j, "match emails case-insensitively: lowercase "
			    "both the address asked and the stored ones");
		explain_no_match(&j);
	}
	json_decref(root);
out:
	rest_check_common(&j);
}

static void
walk_bulk_entries(struct rest_check_ctx *j, const json_t *list)
{
	const json_t *e;
	size_t i;
	char where[48];

	json_array_foreach(list, i, e) {
		const json_t *id;

		if (!json_is_object(e)) {
			problem(j, "lookup[%zu] is %s; each entry is an object",
			    i, rest_check_type_name(e));
			return;
		}
		if (!json_is_string(json_object_get(e, "medium")) ||
		    !json_is_string(json_object_get(e, "address"))) {
			problem(j, "lookup[%zu] lacks \"medium\" or "
			    "\"address\" strings: the bulk answer needs both, "
			    "copied from the request", i);
			return;
		}
		snprintf(where, sizeof(where), "lookup[%zu].id", i);
		id = json_object_get(e, "id");
		if (id == NULL) {
			problem(j, "%s is missing: a match needs its owner",
			    where);
			fix(j, "leave out the entries that did not match");
			return;
		}
		rest_check_explain_id(j, id, where);
		if (j->explained)
			return;
	}
}

/* Entries that answer no question: the parser drops them silently. */
static void
warn_strays(struct rest_check_ctx *j, const json_t *list)
{
	const json_t *e;
	size_t i, shown = 0;
	char q1[QBUF], q2[QBUF];

	json_array_foreach(list, i, e) {
		const char *m = str_of(e, "medium");
		const char *ad = str_of(e, "address");
		const struct backend_threepid *near = NULL;
		bool asked = false;

		if (m == NULL || ad == NULL)
			continue;
		for (size_t k = 0; k < j->nq && !asked; k++) {
			if (strcmp(m, j->q[k].medium) != 0)
				continue;
			if (strcmp(ad, j->q[k].address) == 0)
				asked = true;
			else if (strcasecmp(ad, j->q[k].address) == 0)
				near = &j->q[k];
		}
		if (asked)
			continue;
		if (shown++ >= SAME_WARNINGS_MAX)
			continue;
		if (near != NULL)
			warning(j, "lookup[%zu] answers %s, but the request "
			    "asked %s: Signpost pairs answers with questions "
			    "byte for byte, so this match is lost", i,
			    rest_check_quote(q1, ad),
			    rest_check_quote(q2, near->address));
		else
			warning(j, "lookup[%zu] answers %s %s, which was not "
			    "asked; Signpost drops it", i,
			    rest_check_quote(q2, m), rest_check_quote(q1, ad));
		if (shown == 1)
			rest_check_line(j->it, REST_CHECK_FIX, "copy medium "
			    "and address from the request unchanged into each "
			    "answer entry");
	}
}

static void
walk_bulk(struct rest_check_ctx *j, const json_t *root, const void *arg)
{
	const json_t *list;

	(void)arg;
	if (json_is_array(root)) {
		problem(j, "the answer is an array; the bulk endpoint answers "
		    "an object {\"lookup\": [...]}");
		fix(j, "wrap the array: {\"lookup\": [ ... ]}");
		return;
	}
	if (!json_is_object(root)) {
		problem(j, "the answer is %s; expected an object {\"lookup\": "
		    "[...]}", rest_check_type_name(root));
		return;
	}
	list = json_object_get(root, "lookup");
	if (list == NULL || json_is_null(list))
		return;
	if (!json_is_array(list)) {
		problem(j, "lookup is %s; the bulk endpoint answers an array, "
		    "{\"lookup\": [...]}", rest_check_type_name(list));
		if (json_is_object(list))
			fix(j, "one object is the single endpoint's answer: "
			    "check that %s is the bulk endpoint", j->ep->key);
		return;
	}
	walk_bulk_entries(j, list);
	if (j->lint)
		warn_strays(j, list);
}

/* A wanted address nobody answered: lost to an answer that did not echo
 * it byte for byte, or not found at all. */
static void
bulk_missed(struct rest_check_ctx *j, const json_t *root,
    const struct backend_threepid *q, enum rest_check_want want)
{
	enum rest_check_kind kind = want == REST_CHECK_WANT_SOFT ?
	    REST_CHECK_WARNING : REST_CHECK_PROBLEM;
	const json_t *e;
	size_t i;
	char q1[QBUF], q2[QBUF];

	json_array_foreach(json_object_get(root, "lookup"), i, e) {
		const char *m = str_of(e, "medium");
		const char *ad = str_of(e, "address");

		if (m != NULL && ad != NULL && strcmp(m, q->medium) == 0 &&
		    strcasecmp(ad, q->address) == 0) {
			rest_check_say(j, kind, "no match for %s %s: "
			    "lookup[%zu] answers %s instead, and Signpost "
			    "pairs answers with questions byte for byte, so "
			    "this match is lost",
			    q->medium, rest_check_quote(q1, q->address), i,
			    rest_check_quote(q2, ad));
			rest_check_line(j->it, REST_CHECK_FIX, "copy medium "
			    "and address from the request unchanged into each "
			    "answer entry");
			return;
		}
	}
	rest_check_say(j, kind, "no match for %s %s", q->medium,
	    rest_check_quote(q1, q->address));
	if (want == REST_CHECK_WANT_SOFT)
		fix(j, "match emails case-insensitively: lowercase both the "
		    "address asked and the stored ones");
}

void
rest_check_judge_bulk(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const struct backend_threepid *q,
    const enum rest_check_want *want, size_t n, struct rest_check_item *it)
{
	struct rest_check_ctx j;
	struct backend_match *matches = NULL;
	size_t nmatches = 0, found = 0;
	json_t *root = NULL;
	const char *why;
	bool need_match = false;
	char qa[QBUF];
	int rc;

	rest_check_judge_start(&j, o, a, it);
	j.q = q;
	j.nq = n;
	for (size_t i = 0; i < n; i++)
		need_match |= want[i] == REST_CHECK_WANT_MATCH;
	rc = rest_check_sort_outcome(&j, false);
	if (rc == 0 && !need_match) {
		warning(&j, "HTTP 404: read as \"nothing matched\", so this "
		    "passes, but a wrong URL gives 404 too, and then every "
		    "bulk lookup finds nobody");
		fix(&j, "answer with 200 {\"lookup\":[]} when nothing matched");
	} else if (rc == 0) {
		problem(&j, "HTTP 404, read as \"nothing matched\", for "
		    "addresses that should");
		rest_check_path_hint(&j);
	}
	if (rc <= 0)
		goto out;
	if (rest_parse_bulk_answer(a->fr.body, a->fr.body_len, q, n, &root,
	    &matches, &nmatches, &why) != 0) {
		rest_check_explain_malformed(&j, why, walk_bulk, NULL);
		goto out;
	}
	j.lint = true;
	walk_bulk(&j, root, NULL);
	j.lint = false;
	for (size_t i = 0; i < n; i++) {
		const struct backend_match *m = NULL;
		char *got;

		for (size_t k = 0; k < nmatches && m == NULL; k++)
			if (matches[k].index == i)
				m = &matches[k];
		if (m == NULL) {
			if (want[i] != REST_CHECK_WANT_NONE)
				bulk_missed(&j, root, &q[i], want[i]);
			continue;
		}
		found++;
		if ((got = rest_check_mapped_id(&j, &m->id, "an id")) == NULL)
			continue;
		if (want[i] == REST_CHECK_WANT_NONE)
			problem(&j, "the webapp says the made-up %s belongs to "
			    "%s", rest_check_quote(qa, q[i].address), got);
		free(got);
	}
	if (need_match && found == 0)
		explain_no_match(&j);
	note(&j, "%zu of %zu addresses matched", found, n);
	free(matches);
	json_decref(root);
out:
	rest_check_common(&j);
}

/* Addresses a client would hash differently: said once per kind. */
static void
warn_list_addresses(struct rest_check_ctx *j,
    const struct rest_list_answer *ans)
{
	size_t upper = 0, phone = 0, medium = 0;
	size_t first_upper = 0, first_phone = 0, first_medium = 0;
	char q[QBUF];

	for (size_t i = 0; i < ans->nentries; i++) {
		const struct backend_threepid *t = &ans->entries[i].tp;

		if (strcmp(t->medium, "email") == 0) {
			if (rest_check_has_upper(t->address) && upper++ == 0)
				first_upper = i;
		} else if (strcmp(t->medium, "msisdn") == 0) {
			if (strspn(t->address, "0123456789") !=
			    strlen(t->address) && phone++ == 0)
				first_phone = i;
		} else if (medium++ == 0) {
			first_medium = i;
		}
	}
	if (upper > 0)
		warning(j, "%zu emails have capital letters (first: list[%zu] "
		    "%s): Element hashes the lowercased address, so it will "
		    "not find them; list emails lowercased", upper, first_upper,
		    rest_check_quote(q, ans->entries[first_upper].tp.address));
	if (phone > 0)
		warning(j, "%zu phone numbers are not digits only (first: "
		    "list[%zu] %s): list them as international digits "
		    "without '+'", phone, first_phone,
		    rest_check_quote(q, ans->entries[first_phone].tp.address));
	if (medium > 0)
		warning(j, "%zu entries have a medium other than \"email\" or "
		    "\"msisdn\" (first: list[%zu] %s)", medium, first_medium,
		    rest_check_quote(q, ans->entries[first_medium].tp.medium));
}

struct list_walk {
	const char *after;
	size_t limit;
};

static void
walk_list_next(struct rest_check_ctx *j, const json_t *next, const char *after)
{
	char q[QBUF];

	if (next == NULL || json_is_null(next))
		return;
	if (!json_is_string(next)) {
		problem(j, "next is %s (%s); it must be a string or null",
		    rest_check_type_name(next), rest_check_show(q, next));
		if (json_is_number(next))
			fix(j, "send the cursor as a string: \"next\": \"%s\"",
			    rest_check_show(q, next));
		return;
	}
	if (json_string_length(next) == 0) {
		problem(j, "next is an empty string");
		fix(j, "leave \"next\" out (or null) on the last page");
	} else if (json_string_length(next) > 1024) {
		problem(j, "next is longer than 1024 bytes");
	} else if (after != NULL &&
	    strcmp(json_string_value(next), after) == 0) {
		problem(j, "next repeats the cursor of the request (%s): the "
		    "listing would never end", rest_check_quote(q, after));
		fix(j, "answer the position after this page, and leave "
		    "\"next\" out on the last page");
	}
}

static void
walk_list(struct rest_check_ctx *j, const json_t *root, const void *arg)
{
	const struct list_walk *w = arg;
	const json_t *list, *e;
	size_t i;
	char q[QBUF], where[48];

	if (!json_is_object(root)) {
		problem(j, "the answer is %s; the list endpoint answers an "
		    "object {\"list\": [...], \"next\": ...}",
		    rest_check_type_name(root));
		return;
	}
	list = json_object_get(root, "list");
	if (list == NULL) {
		problem(j, "there is no \"list\" key (keys: %s)",
		    rest_check_key_list(q, root));
		if (json_object_get(root, "lookup") != NULL)
			fix(j, "this looks like a lookup answer: check %s",
			    j->ep->key);
		else
			fix(j, "a webapp with nothing to list answers "
			    "{\"list\": []}");
		return;
	}
	if (!json_is_array(list)) {
		problem(j, "list is %s; expected an array",
		    rest_check_type_name(list));
		return;
	}
	if (json_array_size(list) > w->limit) {
		problem(j, "list has %zu entries, more than the limit of %zu "
		    "the request asked for", json_array_size(list), w->limit);
		fix(j, "never send more than \"limit\" entries; send the rest "
		    "on later pages, through \"next\"");
	}
	walk_list_next(j, json_object_get(root, "next"), w->after);
	json_array_foreach(list, i, e) {
		const char *m, *ad;

		if (j->explained)
			return;
		if (!json_is_object(e)) {
			problem(j, "list[%zu] is %s; each entry is an object",
			    i, rest_check_type_name(e));
			return;
		}
		m = json_string_value(json_object_get(e, "medium"));
		ad = json_string_value(json_object_get(e, "address"));
		if (m == NULL || ad == NULL || m[0] == '\0' || ad[0] == '\0') {
			problem(j, "list[%zu] lacks a non-empty \"medium\" or "
			    "\"address\" string", i);
			return;
		}
		snprintf(where, sizeof(where), "list[%zu].id", i);
		if (json_object_get(e, "id") == NULL)
			problem(j, "%s is missing", where);
		else
			rest_check_explain_id(j, json_object_get(e, "id"),
			    where);
	}
}

void
rest_check_judge_list(const struct rest_check_opts *o,
    const struct rest_check_answer *a, const char *after, size_t limit,
    struct rest_check_item *it, char **next)
{
	struct rest_check_ctx j;
	struct rest_list_answer ans;
	struct list_walk w = { after, limit };
	const char *why;
	int rc;

	*next = NULL;
	rest_check_judge_start(&j, o, a, it);
	rc = rest_check_sort_outcome(&j, false);
	if (rc == 0) {
		/* The lookups' "no match"; the list's failure (rest_list.c). */
		problem(&j, "HTTP 404: no endpoint at %s (for the list "
		    "endpoint a 404 is a failure, never an empty listing)",
		    it->url);
		if (a->fr.body_len > 0)
			rest_check_note_body(&j);
		rest_check_path_hint(&j);
	}
	if (rc <= 0)
		goto out;
	if (rest_parse_list_answer(a->fr.body, a->fr.body_len, after, limit,
	    &ans, &why) != 0) {
		rest_check_explain_malformed(&j, why, walk_list, &w);
		goto out;
	}
	j.lint = true;
	walk_list(&j, ans.root, &w);
	j.lint = false;
	for (size_t i = 0; i < ans.nentries; i++) {
		char *got = rest_check_mapped_id(&j, &ans.entries[i].id,
		    "an id");

		free(got);
		if (got == NULL)
			break;
	}
	warn_list_addresses(&j, &ans);
	note(&j, "%zu entries, %s", ans.nentries,
	    ans.next ? "and a next page" : "the last page");
	if (ans.next != NULL)
		*next = xstrdup(ans.next);
	rest_list_answer_clear(&ans);
out:
	rest_check_common(&j);
}
