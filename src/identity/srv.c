#include "identity/srv.h"

#include <arpa/nameser.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <ares.h>
#include <sodium.h>

#include "core/hostport.h"
#include "core/util.h"

/* DNS limit on one label. */
#define LABEL_MAX 63

/* Tries per server: one retransmission covers a lost UDP datagram. */
#define DNS_TRIES 2

/* The two services, in the order the spec asks them. */
static const char *const services[] = { "_matrix-fed._tcp", "_matrix._tcp" };

bool
srv_target_valid(const char *host)
{
	size_t len = strlen(host), label = 0;
	bool digits_only = true;

	if (len == 0 || len > SRV_HOST_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = host[i];

		if (c == '.' || c == '\0') {
			/* Empty labels, and hyphens at either end, are not
			 * hostnames (RFC 1123). */
			if (label == 0 || label > LABEL_MAX ||
			    host[i - 1] == '-' || host[i - label] == '-')
				return false;
			if (c == '\0')
				break;
			label = 0;
			digits_only = true;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c < '0' || c > '9')
			digits_only = false;
		label++;
	}
	/* An all-numeric last label makes an IPv4 literal (or something
	 * resolvers would read as one), which a target must not be. */
	return !digits_only;
}

void
srv_parse(const unsigned char *abuf, size_t len, struct srv_answer *out)
{
	struct ares_srv_reply *list = NULL;
	size_t seen = 0;
	bool dot = false;
	int rc;

	out->n = 0;
	out->error[0] = '\0';
	rc = len == 0 || len > 65535 ? ARES_EBADRESP :
	    ares_parse_srv_reply(abuf, (int)len, &list);
	if (rc == ARES_ENODATA) {
		out->status = SRV_NONE;
		return;
	}
	if (rc != ARES_SUCCESS) {
		out->status = SRV_ERROR;
		snprintf(out->error, sizeof(out->error), "bad SRV answer: %s",
		    ares_strerror(rc));
		return;
	}
	for (struct ares_srv_reply *r = list; r && seen < SRV_MAX_TARGETS;
	    r = r->next, seen++) {
		struct srv_target *t = &out->targets[out->n];
		size_t hlen = strlen(r->host);

		/* RFC 2782: a target of "." means "no service here". */
		if (hlen == 0 || strcmp(r->host, ".") == 0) {
			dot = true;
			continue;
		}
		if (r->host[hlen - 1] == '.')
			hlen--;
		if (hlen > SRV_HOST_MAX || r->port == 0)
			continue;
		memcpy(t->host, r->host, hlen);
		t->host[hlen] = '\0';
		if (!srv_target_valid(t->host))
			continue;
		for (char *p = t->host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		t->port = r->port;
		t->priority = r->priority;
		t->weight = r->weight;
		out->n++;
	}
	ares_free_data(list);
	if (out->n > 0)
		out->status = SRV_FOUND;
	else if (seen == 0)
		out->status = SRV_NONE;
	else if (dot && seen == 1)
		out->status = SRV_UNAVAILABLE;
	else {
		/* Records that all point nowhere valid: a broken zone is
		 * reported rather than skipped past to another step. */
		out->status = SRV_ERROR;
		snprintf(out->error, sizeof(out->error),
		    "no usable SRV target");
	}
}

void
srv_order(struct srv_target *t, size_t n, srv_random_fn random)
{
	struct srv_target tmp;

	/* Insertion sort by priority: n is at most SRV_MAX_TARGETS. */
	for (size_t i = 1; i < n; i++) {
		size_t j = i;

		tmp = t[i];
		for (; j > 0 && t[j - 1].priority > tmp.priority; j--)
			t[j] = t[j - 1];
		t[j] = tmp;
	}
	for (size_t start = 0, end; start < n; start = end) {
		for (end = start; end < n && t[end].priority == t[start].priority;
		    end++)
			;
		/* RFC 2782 within one priority: pick each next target with a
		 * random number in [0, sum of weights]; the first whose
		 * running sum reaches it wins, weight-0 targets walked
		 * first so they win only on a draw of 0. */
		for (size_t k = start; k + 1 < end; k++) {
			uint32_t sum = 0, running = 0, r;
			size_t pick = end;

			for (size_t m = k; m < end; m++)
				sum += t[m].weight;
			r = random(sum);
			for (int pass = 0; pass < 2 && pick == end; pass++)
				for (size_t m = k; m < end; m++) {
					if ((t[m].weight == 0) != (pass == 0))
						continue;
					running += t[m].weight;
					if (running >= r) {
						pick = m;
						break;
					}
				}
			if (pick == end) /* r beyond the sum: a bad random */
				pick = end - 1;
			tmp = t[k];
			t[k] = t[pick];
			t[pick] = tmp;
		}
	}
}

static uint32_t
sodium_uniform(uint32_t upper)
{
	return upper == UINT32_MAX ? randombytes_random() :
				     randombytes_uniform(upper + 1);
}

static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_rc;

static void
ares_init_once(void)
{
	ares_init_rc = ares_library_init(ARES_LIB_INIT_ALL);
}

struct query {
	bool done;
	int status;
	struct srv_answer *out;
};

static void
on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;

	(void)timeouts;
	q->done = true;
	q->status = status;
	if (status == ARES_SUCCESS)
		srv_parse(abuf, alen > 0 ? (size_t)alen : 0, q->out);
}

/* Drives c-ares's sockets for one query until it ends or deadline. */
static void
run_query(ares_channel ch, const char *qname, uint64_t deadline,
    struct srv_answer *out)
{
	struct query q = { .out = out };

	ares_query(ch, qname, ns_c_in, ns_t_srv, on_answer, &q);
	while (!q.done) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		struct timeval left, tv, *next;
		uint64_t now = now_monotonic_ms();
		unsigned bits;
		int npfd = 0, rc;

		if (now >= deadline) {
			ares_cancel(ch); /* calls on_answer: ARES_ECANCELLED */
			break;
		}
		/* Bits tested by hand: c-ares's ARES_GETSOCK_WRITABLE
		 * shifts a signed 1 into the sign bit for the last socket. */
		bits = (unsigned)ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		for (unsigned i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;

			if (bits & 1u << i)
				ev |= POLLIN;
			if (bits & 1u << (i + ARES_GETSOCK_MAXNUM))
				ev |= POLLOUT;
			if (ev != 0)
				pfd[npfd++] = (struct pollfd){ socks[i], ev, 0 };
		}
		left.tv_sec = (time_t)((deadline - now) / 1000);
		left.tv_usec = (suseconds_t)((deadline - now) % 1000 * 1000);
		next = ares_timeout(ch, &left, &tv);
		rc = poll(pfd, (nfds_t)npfd, (int)(next->tv_sec * 1000 +
		    (next->tv_usec + 999) / 1000));
		if (rc < 0 && errno != EINTR) {
			ares_cancel(ch);
			q.status = ARES_ECONNREFUSED;
			break;
		}
		if (rc <= 0) {
			/* Nothing to read: let c-ares retry or time out. */
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (int i = 0; i < npfd; i++)
			if (pfd[i].revents != 0)
				ares_process_fd(ch, pfd[i].revents &
				    (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd :
				    ARES_SOCKET_BAD, pfd[i].revents & POLLOUT ?
				    pfd[i].fd : ARES_SOCKET_BAD);
	}
	switch (q.status) {
	case ARES_SUCCESS:
		break; /* on_answer parsed it */
	case ARES_ENODATA:
	case ARES_ENOTFOUND:
		out->status = SRV_NONE;
		break;
	case ARES_ETIMEOUT:
	case ARES_ECANCELLED:
		out->status = SRV_TIMEOUT;
		snprintf(out->error, sizeof(out->error), "no DNS answer for %s "
		    "in time", qname);
		break;
	default:
		out->status = SRV_ERROR;
		snprintf(out->error, sizeof(out->error), "DNS lookup of %s: %s",
		    qname, ares_strerror(q.status));
		break;
	}
}

/* Points the channel at opts->resolver ("ip[:port]", port 53 if none). */
static int
use_resolver(ares_channel ch, const char *resolver, struct srv_answer *out)
{
	struct hostport hp;
	char csv[HOSTPORT_HOST_MAX + 16];
	int rc;

	if (hostport_parse(resolver, &hp) != 0 || !hp.ip) {
		snprintf(out->error, sizeof(out->error), "bad resolver address");
		return -1;
	}
	snprintf(csv, sizeof(csv), "%s:%d", hp.host, hp.port > 0 ? hp.port : 53);
	if ((rc = ares_set_servers_ports_csv(ch, csv)) != ARES_SUCCESS) {
		snprintf(out->error, sizeof(out->error), "resolver %s: %s",
		    resolver, ares_strerror(rc));
		return -1;
	}
	return 0;
}

void
srv_lookup(const struct srv_opts *opts, const char *hostname,
    struct srv_answer *out)
{
	uint64_t deadline = now_monotonic_ms() +
	    (uint64_t)(opts->timeout_ms > 0 ? opts->timeout_ms : 1);
	struct ares_options o = {
		/* Two tries (t, then 2t as c-ares backs off) fit the
		 * budget; the deadline below cuts anything longer. */
		.timeout = opts->timeout_ms / 3 > 0 ? (int)(opts->timeout_ms / 3) : 1,
		.tries = DNS_TRIES,
		.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES,
	};
	ares_channel ch;
	int rc;

	memset(out, 0, sizeof(*out));
	out->status = SRV_ERROR;
	pthread_once(&ares_once, ares_init_once);
	if (ares_init_rc != ARES_SUCCESS) {
		snprintf(out->error, sizeof(out->error), "c-ares: %s",
		    ares_strerror(ares_init_rc));
		return;
	}
	/* One channel per lookup: a c-ares 1.18 channel is not safe to share
	 * between threads, and this one lives on a lookup's own thread. */
	rc = ares_init_options(&ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
	    ARES_OPT_FLAGS);
	if (rc != ARES_SUCCESS) {
		snprintf(out->error, sizeof(out->error), "c-ares: %s",
		    ares_strerror(rc));
		return;
	}
	if (opts->resolver == NULL || use_resolver(ch, opts->resolver, out) == 0)
		for (size_t i = 0; i < ARRAY_LEN(services); i++) {
			char qname[SRV_HOST_MAX + 32];

			snprintf(qname, sizeof(qname), "%s.%s", services[i],
			    hostname);
			run_query(ch, qname, deadline, out);
			if (out->status != SRV_NONE) {
				if (out->status == SRV_FOUND ||
				    out->status == SRV_UNAVAILABLE)
					out->service = services[i];
				break;
			}
		}
	ares_destroy(ch);
	if (out->status == SRV_FOUND)
		srv_order(out->targets, out->n, sodium_uniform);
}
