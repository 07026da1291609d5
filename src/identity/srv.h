/*
 * DNS SRV lookups for homeserver discovery: _matrix-fed._tcp.<name>, then
 * the deprecated _matrix._tcp.<name>, through c-ares with a deadline.
 *
 * srv_lookup() blocks for up to its deadline, so callers run it off any
 * event loop (openid.c runs it as a fetch_run job). Parsing and RFC 2782
 * ordering are separate functions so they can be tested on fixed answers.
 */
#ifndef SIGNPOST_IDENTITY_SRV_H
#define SIGNPOST_IDENTITY_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Records kept from one answer; more are ignored (a homeserver needs a
 * handful at most, and this bounds the work an answer can cause). */
#define SRV_MAX_TARGETS 16
/* A DNS name: 253 characters without the trailing dot. */
#define SRV_HOST_MAX 253

struct srv_target {
	char host[SRV_HOST_MAX + 1]; /* lowercase, no trailing dot */
	uint16_t port;
	uint16_t priority;
	uint16_t weight;
};

enum srv_status {
	SRV_FOUND,        /* targets[0..n) in the order to try them */
	SRV_NONE,         /* no record (NXDOMAIN or no SRV data) */
	SRV_UNAVAILABLE,  /* the only target is ".": no service there */
	SRV_TIMEOUT,      /* no answer before the deadline */
	SRV_ERROR,        /* SERVFAIL, refused, malformed, unusable targets */
};

struct srv_answer {
	enum srv_status status;
	const char *service;  /* "_matrix-fed._tcp" or "_matrix._tcp" when
				 FOUND or UNAVAILABLE; else NULL */
	struct srv_target targets[SRV_MAX_TARGETS];
	size_t n;
	char error[SRV_HOST_MAX + 128]; /* for logs when TIMEOUT or ERROR */
};

struct srv_opts {
	/* DNS server "ip[:port]" or "[ipv6][:port]"; NULL: the system's
	 * (/etc/resolv.conf). */
	const char *resolver;
	long timeout_ms;      /* for both queries together */
};

/* A random number in [0, upper], for weighted selection. */
typedef uint32_t (*srv_random_fn)(uint32_t upper);

/*
 * Looks up the SRV records for hostname (a DNS name, not an IP literal):
 * _matrix-fed._tcp first, _matrix._tcp only when the first has no record.
 * Blocks for at most opts->timeout_ms (plus scheduling). Fills out; the
 * targets are validated and ordered by srv_order() with libsodium's
 * random numbers.
 */
void srv_lookup(const struct srv_opts *opts, const char *hostname,
    struct srv_answer *out);

/*
 * Parses a DNS answer message (abuf, len) to an SRV query into out
 * (status, targets, n; service is left alone). Records whose target is
 * not a valid hostname are dropped; when records existed but none is
 * usable the status is SRV_ERROR. Targets are not ordered.
 */
void srv_parse(const unsigned char *abuf, size_t len, struct srv_answer *out);

/*
 * Orders targets as RFC 2782 says to try them: ascending priority, and
 * within one priority a weighted random order (weight 0 rarely first).
 */
void srv_order(struct srv_target *targets, size_t n, srv_random_fn random);

/* True when host is a DNS hostname usable as an SRV target: LDH labels of
 * 1..63 characters, no IP literal, no port, at most SRV_HOST_MAX long. */
bool srv_target_valid(const char *host);

#endif
