/*
 * "host[:port]" strings written the way Matrix server names are (a
 * hostname, an IPv4 literal or a bracketed IPv6 literal, then an optional
 * port), and mappings between two of them in libcurl's CONNECT_TO syntax
 * ("host:port:host:port"). Shared by config/ (to check values) and
 * identity/ (to use them), so both read a value the same way.
 */
#ifndef SIGNPOST_CORE_HOSTPORT_H
#define SIGNPOST_CORE_HOSTPORT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest host kept: a DNS name (253) or a bracketed IPv6 literal. */
#define HOSTPORT_HOST_MAX 253

struct hostport {
	/* As written: an IPv6 literal keeps its brackets, so host can go
	 * into a URL or a CONNECT_TO line unchanged. */
	char host[HOSTPORT_HOST_MAX + 1];
	int port;  /* 1..65535, or -1 when none was written */
	bool ip;   /* host is an IPv4 or IPv6 literal */
};

/*
 * Parses a server name (core/mxid rules). Returns 0 and fills out, or -1
 * when s is not a valid server name.
 */
int hostport_parse(const char *s, struct hostport *out);

/*
 * Parses "host:port:host:port" (both ports required; IPv6 literals in
 * brackets). Returns 0 and fills from and to, or -1.
 */
int hostport_parse_mapping(const char *s, struct hostport *from,
    struct hostport *to);

#endif
