/*
 * The identity store Signpost asks. A backend is an ops table; the REST
 * backend (rest.c) is the one there is today, and a new store is one new
 * file ending with its table.
 *
 * Every operation is asynchronous: it returns 0 and calls its callback
 * exactly once (possibly before returning, possibly on another thread), or
 * returns -1 and never calls it. A verdict is three-way, so that "the store
 * does not know this user" never looks like "the store is down".
 */
#ifndef SIGNPOST_BACKEND_BACKEND_H
#define SIGNPOST_BACKEND_BACKEND_H

#include <stddef.h>

enum backend_verdict {
	BACKEND_ERROR = -1, /* the store failed; see fault and reason */
	BACKEND_NO = 0,     /* refused / not found */
	BACKEND_YES = 1,
};

enum backend_fault {
	BACKEND_FAULT_NONE = 0,
	BACKEND_FAULT_TIMEOUT,  /* the store did not answer in time */
	BACKEND_FAULT_BAD_GATEWAY, /* anything else that went wrong */
};

/* How the store names a user: a localpart on matrix.domain, or a full
 * Matrix user id. The identity layer maps and validates it. */
enum backend_id_type {
	BACKEND_ID_LOCALPART,
	BACKEND_ID_MXID,
};

struct backend_id {
	enum backend_id_type type;
	const char *value;
};

struct backend_threepid {
	const char *medium;
	const char *address;
};

struct backend_auth_request {
	const char *mxid;
	const char *localpart;
	const char *domain;
	const char *password;
};

/* Valid only during the callback. */
struct backend_auth_result {
	enum backend_verdict verdict;
	enum backend_fault fault;
	const char *reason;       /* for the log when verdict is ERROR */
	struct backend_id id;     /* when YES */
	const char *display_name; /* when YES; NULL if the store gave none */
	const struct backend_threepid *threepids;
	size_t nthreepids;
};

typedef void (*backend_auth_cb)(const struct backend_auth_result *res,
    void *arg);

/* Valid only during the callback. */
struct backend_lookup_result {
	enum backend_verdict verdict; /* YES: id is set */
	enum backend_fault fault;
	const char *reason;
	struct backend_id id;
};

typedef void (*backend_lookup_cb)(const struct backend_lookup_result *res,
    void *arg);

/* One match of a bulk lookup: index into the caller's query array. */
struct backend_match {
	size_t index;
	struct backend_id id;
};

/* Valid only during the callback. */
struct backend_bulk_result {
	enum backend_verdict verdict; /* YES: answered (matches may be none) */
	enum backend_fault fault;
	const char *reason;
	const struct backend_match *matches;
	size_t nmatches;
};

typedef void (*backend_bulk_cb)(const struct backend_bulk_result *res,
    void *arg);

/* One 3PID binding of a listing page. */
struct backend_entry {
	struct backend_threepid tp;
	struct backend_id id;
};

/* Valid only during the callback. */
struct backend_page_result {
	enum backend_verdict verdict; /* YES: a page; ERROR: no page */
	enum backend_fault fault;
	const char *reason;
	const struct backend_entry *entries;
	size_t nentries;
	const char *next; /* cursor of the next page; NULL on the last */
};

typedef void (*backend_page_cb)(const struct backend_page_result *res,
    void *arg);

/* What a configured backend can answer; see struct backend. */
enum backend_feature {
	BACKEND_CAN_AUTH = 1 << 0,
	BACKEND_CAN_SINGLE = 1 << 1,
	BACKEND_CAN_BULK = 1 << 2,
	BACKEND_CAN_LIST = 1 << 3, /* every binding, page by page */
};

struct backend_ops {
	const char *name;
	/* The request's strings are copied before the call returns. */
	int (*authenticate)(void *self, const struct backend_auth_request *req,
	    backend_auth_cb cb, void *arg);
	/* Who owns one 3PID; strings copied before the call returns. */
	int (*lookup)(void *self, const struct backend_threepid *q,
	    backend_lookup_cb cb, void *arg);
	/*
	 * Who owns each of q[0..n); q must stay valid until the callback.
	 * Matches name the query they answer by index; entries the store
	 * sends that match no query are dropped.
	 */
	int (*bulk_lookup)(void *self, const struct backend_threepid *q,
	    size_t n, backend_bulk_cb cb, void *arg);
	/*
	 * One page of every binding the store has, after cursor (NULL: the
	 * first page), at most limit entries. Strings copied before return.
	 */
	int (*list)(void *self, const char *after, size_t limit,
	    backend_page_cb cb, void *arg);
	void (*destroy)(void *self);
};

struct backend {
	const struct backend_ops *ops;
	void *self;
	unsigned features; /* enum backend_feature bits */
};

#endif
