/* SRV lookups for homeserver discovery: answer parsing, target names,
 * RFC 2782 ordering, and srv_lookup() against a responder on loopback
 * (an answer, NXDOMAIN then the legacy name, silence). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/util.h"
#include "identity/srv.h"

/* ---- building DNS messages */

struct msg {
	unsigned char b[8192];
	size_t len;
	size_t ancount_at;
};

static void
put16(struct msg *m, unsigned v)
{
	m->b[m->len++] = (unsigned char)(v >> 8);
	m->b[m->len++] = (unsigned char)v;
}

static void
put_name(struct msg *m, const char *name)
{
	while (*name) {
		size_t n = strcspn(name, ".");

		m->b[m->len++] = (unsigned char)n;
		memcpy(m->b + m->len, name, n);
		m->len += n;
		name += n;
		if (*name == '.')
			name++;
	}
	m->b[m->len++] = 0;
}

/* A response header and question for an SRV query of qname. */
static void
msg_start(struct msg *m, unsigned id, unsigned rcode, const char *qname)
{
	m->len = 0;
	put16(m, id);
	put16(m, 0x8180 | rcode); /* QR, RD, RA */
	put16(m, 1);
	m->ancount_at = m->len;
	put16(m, 0);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, 33);
	put16(m, 1);
}

static void
bump_ancount(struct msg *m)
{
	unsigned n = (unsigned)(m->b[m->ancount_at] << 8 | m->b[m->ancount_at + 1]);

	m->b[m->ancount_at] = (unsigned char)((n + 1) >> 8);
	m->b[m->ancount_at + 1] = (unsigned char)(n + 1);
}

/* An SRV answer owned by the question's name (a pointer to offset 12). */
static void
add_srv(struct msg *m, unsigned prio, unsigned weight, unsigned port,
    const char *target)
{
	size_t rdlen_at;

	put16(m, 0xC00C);
	put16(m, 33);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60);
	rdlen_at = m->len;
	put16(m, 0);
	put16(m, prio);
	put16(m, weight);
	put16(m, port);
	put_name(m, target);
	m->b[rdlen_at] = (unsigned char)((m->len - rdlen_at - 2) >> 8);
	m->b[rdlen_at + 1] = (unsigned char)(m->len - rdlen_at - 2);
	bump_ancount(m);
}

static void
add_a(struct msg *m)
{
	put16(m, 0xC00C);
	put16(m, 1);
	put16(m, 1);
	put16(m, 0);
	put16(m, 60);
	put16(m, 4);
	put16(m, 0x7f00);
	put16(m, 0x0001);
	bump_ancount(m);
}

static void
parse(const struct msg *m, struct srv_answer *a)
{
	memset(a, 0, sizeof(*a));
	srv_parse(m->b, m->len, a);
}

/* ---- parsing */

static void
test_parse_records(void **state)
{
	struct msg m;
	struct srv_answer a;

	(void)state;
	msg_start(&m, 1, 0, "_matrix-fed._tcp.example.org");
	add_srv(&m, 10, 5, 8448, "Matrix.Example.org");
	add_srv(&m, 20, 0, 443, "backup.example.net");
	parse(&m, &a);
	assert_int_equal(a.status, SRV_FOUND);
	assert_int_equal(a.n, 2);
	/* Lowercased; no trailing dot. */
	assert_string_equal(a.targets[0].host, "matrix.example.org");
	assert_int_equal(a.targets[0].port, 8448);
	assert_int_equal(a.targets[0].priority, 10);
	assert_int_equal(a.targets[0].weight, 5);
	assert_string_equal(a.targets[1].host, "backup.example.net");
	assert_int_equal(a.targets[1].port, 443);

	/* No answer records: nothing there. */
	msg_start(&m, 1, 0, "_matrix-fed._tcp.example.org");
	parse(&m, &a);
	assert_int_equal(a.status, SRV_NONE);
	/* Answers of another type only. */
	msg_start(&m, 1, 0, "_matrix-fed._tcp.example.org");
	add_a(&m);
	parse(&m, &a);
	assert_int_equal(a.status, SRV_NONE);
	assert_int_equal(a.n, 0);
}

static void
test_parse_dot_and_bad_targets(void **state)
{
	struct msg m;
	struct srv_answer a;
	static const char *const bad[] = {
		"bad_name.test", "1.2.3.4", "-lead.test", "trail-.test",
		"x.123",
	};

	(void)state;
	/* RFC 2782's "." alone: decidedly no service. */
	msg_start(&m, 1, 0, "_matrix-fed._tcp.example.org");
	add_srv(&m, 0, 0, 0, "");
	parse(&m, &a);
	assert_int_equal(a.status, SRV_UNAVAILABLE);
	/* "." beside a real target is skipped. */
	add_srv(&m, 10, 0, 8448, "hs.example.org");
	parse(&m, &a);
	assert_int_equal(a.status, SRV_FOUND);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.targets[0].host, "hs.example.org");

	/* Targets that are no hostname, and port 0, are dropped; nothing
	 * usable left is an error, not "no record". */
	msg_start(&m, 1, 0, "_matrix-fed._tcp.example.org");
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		add_srv(&m, 10, 0, 8448, bad[i]);
	add_srv(&m, 10, 0, 0, "hs.example.org");
	parse(&m, &a);
	assert_int_equal(a.status, SRV_ERROR);
	assert_string_equal(a.error, "no usable SRV target");
	add_srv(&m, 10, 0, 8448, "good.example.org");
	parse(&m, &a);
	assert_int_equal(a.status, SRV_FOUND);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.targets[0].host, "good.example.org");
}

static void
test_parse_malformed_and_capped(void **state)
{
	struct msg m;
	struct srv_answer a;

	(void)state;
	msg_start(&m, 1, 0, "_matrix-fed._tcp.example.org");
	add_srv(&m, 10, 0, 8448, "hs.example.org");
	/* Cut inside the record. */
	m.len -= 5;
	parse(&m, &a);
	assert_int_equal(a.status, SRV_ERROR);
	assert_non_null(strstr(a.error, "bad SRV answer"));
	parse(&(struct msg){ .len = 0 }, &a);
	assert_int_equal(a.status, SRV_ERROR);
	m.len = 7; /* shorter than a header */
	parse(&m, &a);
	assert_int_equal(a.status, SRV_ERROR);

	/* More records than kept: the first SRV_MAX_TARGETS count. */
	msg_start(&m, 1, 0, "_matrix-fed._tcp.example.org");
	for (int i = 0; i < 40; i++) {
		char name[32];

		snprintf(name, sizeof(name), "hs%d.example.org", i);
		add_srv(&m, 10, 1, (unsigned)(8000 + i), name);
	}
	parse(&m, &a);
	assert_int_equal(a.status, SRV_FOUND);
	assert_int_equal(a.n, SRV_MAX_TARGETS);
	assert_string_equal(a.targets[SRV_MAX_TARGETS - 1].host,
	    "hs15.example.org");
}

static void
test_target_valid(void **state)
{
	(void)state;
	assert_true(srv_target_valid("localhost"));
	assert_true(srv_target_valid("matrix.example.org"));
	assert_true(srv_target_valid("a-b.c0.example"));
	assert_true(srv_target_valid("1host.example.org"));
	assert_false(srv_target_valid(""));
	assert_false(srv_target_valid("."));
	assert_false(srv_target_valid("a..b"));
	assert_false(srv_target_valid(".a"));
	assert_false(srv_target_valid("a."));
	assert_false(srv_target_valid("under_score.org"));
	assert_false(srv_target_valid("-a.org"));
	assert_false(srv_target_valid("a-.org"));
	assert_false(srv_target_valid("hs.org:8448"));
	assert_false(srv_target_valid("10.0.0.1"));
	assert_false(srv_target_valid("[::1]"));
	{
		char label[70], name[300];

		memset(label, 'a', 64);
		label[64] = '\0';
		snprintf(name, sizeof(name), "%s.org", label);
		assert_false(srv_target_valid(name)); /* 64-byte label */
		label[63] = '\0';
		snprintf(name, sizeof(name), "%s.org", label);
		assert_true(srv_target_valid(name));
		memset(name, 0, sizeof(name));
		for (int i = 0; i < 64; i++)
			memcpy(name + i * 4, "abc.", 4);
		memcpy(name + 64 * 4 - 1, "", 1);
		assert_false(srv_target_valid(name)); /* 255 bytes */
	}
}

/* ---- ordering */

static uint32_t script[64];
static size_t script_at;

/* Replays script[], checking each draw is within [0, upper]. */
static uint32_t
scripted(uint32_t upper)
{
	uint32_t r = script[script_at++];

	assert_true(r <= upper);
	return r;
}

static void
set_targets(struct srv_target *t, size_t n, const uint16_t (*pw)[2])
{
	for (size_t i = 0; i < n; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		snprintf(t[i].host, sizeof(t[i].host), "t%zu", i);
		t[i].priority = pw[i][0];
		t[i].weight = pw[i][1];
	}
}

static void
test_order_priority(void **state)
{
	static const uint16_t pw[][2] = { { 30, 1 }, { 10, 1 }, { 20, 1 },
		{ 10, 1 } };
	struct srv_target t[4];

	(void)state;
	set_targets(t, 4, pw);
	memset(script, 0, sizeof(script));
	script_at = 0;
	srv_order(t, 4, scripted);
	/* Lowest priority first whatever the draws. */
	assert_int_equal(t[0].priority, 10);
	assert_int_equal(t[1].priority, 10);
	assert_int_equal(t[2].priority, 20);
	assert_int_equal(t[3].priority, 30);
	/* One draw per choice within the priority-10 pair, none for the
	 * single targets. */
	assert_int_equal(script_at, 1);
}

static void
test_order_weights(void **state)
{
	/* Weights 0, 10, 30 at one priority: running sums 0, 10, 40 with
	 * the weight-0 target walked first. */
	static const uint16_t pw[][2] = { { 1, 10 }, { 1, 0 }, { 1, 30 } };
	struct srv_target t[3];

	(void)state;
	/* Draw 0: the weight-0 target; then 0 of 40: weight 10 ... */
	set_targets(t, 3, pw);
	script[0] = 0;
	script[1] = 0;
	script_at = 0;
	srv_order(t, 3, scripted);
	assert_string_equal(t[0].host, "t1");
	assert_string_equal(t[1].host, "t0");
	assert_string_equal(t[2].host, "t2");

	/* Draw 10 of 40: running sums 0, 10 -> weight 10 (t0). */
	set_targets(t, 3, pw);
	script[0] = 10;
	script[1] = 0;
	script_at = 0;
	srv_order(t, 3, scripted);
	assert_string_equal(t[0].host, "t0");
	assert_string_equal(t[1].host, "t1");

	/* Draw 11 and 40: the weight-30 target; then of {t1, t0} sum 10,
	 * draw 1: t0 (weight 0 needs a draw of 0). */
	set_targets(t, 3, pw);
	script[0] = 11;
	script[1] = 1;
	script_at = 0;
	srv_order(t, 3, scripted);
	assert_string_equal(t[0].host, "t2");
	assert_string_equal(t[1].host, "t0");
	assert_string_equal(t[2].host, "t1");
}

static uint64_t lcg_state = 42;

static uint32_t
lcg(uint32_t upper)
{
	lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
	return (uint32_t)((lcg_state >> 33) % ((uint64_t)upper + 1));
}

static int
heavy_first_of(uint16_t light, uint16_t heavy, int runs)
{
	const uint16_t pw[][2] = { { 5, light }, { 5, heavy } };
	struct srv_target t[2];
	int n = 0;

	for (int i = 0; i < runs; i++) {
		set_targets(t, 2, pw);
		srv_order(t, 2, lcg);
		n += t[0].weight == heavy;
	}
	return n;
}

static void
test_order_distribution(void **state)
{
	int n;

	(void)state;
	/* RFC 2782 draws from [0, sum] inclusive and takes the first
	 * running sum >= the draw, so the first target walked gets one
	 * extra chance in sum + 1: weights 1 and 3 put the heavier one
	 * first 3 times in 5, and weight 0 first 1 time in 5 beside 4. */
	n = heavy_first_of(1, 3, 20000);
	assert_true(n > 20000 * 57 / 100 && n < 20000 * 63 / 100);
	n = heavy_first_of(0, 4, 20000);
	assert_true(n > 20000 * 77 / 100 && n < 20000 * 83 / 100);
	/* Larger weights come close to proportional: 30 of 41 vs 3/4. */
	n = heavy_first_of(10, 30, 20000);
	assert_true(n > 20000 * 70 / 100 && n < 20000 * 76 / 100);
}

/* ---- srv_lookup against a loopback responder */

struct responder {
	int fd;
	char addr[64];
	bool silent;     /* never answer */
	bool fed_nx;     /* NXDOMAIN for _matrix-fed, records for _matrix */
	int queries;
	pthread_t thread;
	volatile bool stop;
};

static void *
responder_main(void *arg)
{
	struct responder *r = arg;

	while (!r->stop) {
		struct pollfd p = { r->fd, POLLIN, 0 };
		unsigned char q[512];
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		struct msg m;
		char qname[256];
		size_t at = 12, out = 0;
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recvfrom(r->fd, q, sizeof(q), 0, (struct sockaddr *)&peer,
		    &plen);
		if (n < 17)
			continue;
		r->queries++;
		if (r->silent)
			continue;
		while (at < (size_t)n && q[at] != 0) {
			if (out > 0)
				qname[out++] = '.';
			memcpy(qname + out, q + at + 1, q[at]);
			out += q[at];
			at += q[at] + 1u;
		}
		qname[out] = '\0';
		if (r->fed_nx && strncmp(qname, "_matrix-fed.", 12) == 0) {
			msg_start(&m, (unsigned)(q[0] << 8 | q[1]), 3, qname);
		} else {
			msg_start(&m, (unsigned)(q[0] << 8 | q[1]), 0, qname);
			add_srv(&m, 10, 0, 8448, "hs.example.org");
			add_srv(&m, 5, 0, 8449, "first.example.org");
		}
		sendto(r->fd, m.b, m.len, 0, (struct sockaddr *)&peer, plen);
	}
	return NULL;
}

static void
responder_start(struct responder *r)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(r->fd >= 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_equal(pthread_create(&r->thread, NULL, responder_main, r),
	    0);
}

static void
responder_stop(struct responder *r)
{
	r->stop = true;
	pthread_join(r->thread, NULL);
	close(r->fd);
}

static void
test_lookup_found(void **state)
{
	struct responder r = { 0 };
	struct srv_answer a;

	(void)state;
	responder_start(&r);
	srv_lookup(&(struct srv_opts){ r.addr, 2000 }, "example.org", &a);
	responder_stop(&r);
	assert_int_equal(a.status, SRV_FOUND);
	assert_string_equal(a.service, "_matrix-fed._tcp");
	assert_int_equal(a.n, 2);
	/* Ordered: priority 5 first. */
	assert_string_equal(a.targets[0].host, "first.example.org");
	assert_int_equal(a.targets[0].port, 8449);
	assert_int_equal(r.queries, 1);
}

static void
test_lookup_legacy(void **state)
{
	struct responder r = { .fed_nx = true };
	struct srv_answer a;

	(void)state;
	responder_start(&r);
	srv_lookup(&(struct srv_opts){ r.addr, 2000 }, "example.org", &a);
	responder_stop(&r);
	assert_int_equal(a.status, SRV_FOUND);
	assert_string_equal(a.service, "_matrix._tcp");
	assert_int_equal(r.queries, 2);
}

static void
test_lookup_silence_is_bounded(void **state)
{
	struct responder r = { .silent = true };
	struct srv_answer a;
	uint64_t t0, took;

	(void)state;
	responder_start(&r);
	t0 = now_monotonic_ms();
	srv_lookup(&(struct srv_opts){ r.addr, 300 }, "example.org", &a);
	took = now_monotonic_ms() - t0;
	responder_stop(&r);
	assert_int_equal(a.status, SRV_TIMEOUT);
	assert_non_null(strstr(a.error, "_matrix-fed._tcp.example.org"));
	/* Retried once within the bound, then gave up: no legacy query. */
	assert_true(took >= 250 && took < 1000);
	assert_int_equal(r.queries, 2);
}

static void
test_lookup_bad_resolver(void **state)
{
	struct srv_answer a;

	(void)state;
	srv_lookup(&(struct srv_opts){ "dns.example.org", 300 }, "example.org",
	    &a);
	assert_int_equal(a.status, SRV_ERROR);
	assert_string_equal(a.error, "bad resolver address");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_records),
		cmocka_unit_test(test_parse_dot_and_bad_targets),
		cmocka_unit_test(test_parse_malformed_and_capped),
		cmocka_unit_test(test_target_valid),
		cmocka_unit_test(test_order_priority),
		cmocka_unit_test(test_order_weights),
		cmocka_unit_test(test_order_distribution),
		cmocka_unit_test(test_lookup_found),
		cmocka_unit_test(test_lookup_legacy),
		cmocka_unit_test(test_lookup_silence_is_bounded),
		cmocka_unit_test(test_lookup_bad_resolver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
