/*
 * "host[:port]" server names and "host:port:host:port" mappings
 * (src/core/hostport.c), as federation.connectTo lines in the config and
 * delegated names from .well-known give them. What is read writes back to
 * the same text: the host as written, then the port if there was one.
 */
#include "fuzz.h"

#include "core/hostport.h"
#include "core/mxid.h"

/* "host" or "host:port", as hostport_parse() read it. */
static char *
join(const struct hostport *hp)
{
	return hp->port < 0 ? xstrdup(hp->host) :
	    xasprintf("%s:%d", hp->host, hp->port);
}

static void
check_hostport(const struct hostport *hp)
{
	FUZZ_CHECK(hp->host[0] != '\0' &&
	    strlen(hp->host) <= HOSTPORT_HOST_MAX);
	FUZZ_CHECK(hp->port == -1 || (hp->port >= 1 && hp->port <= 65535));
	FUZZ_CHECK(strchr(hp->host, ':') == NULL || hp->host[0] == '[');
	FUZZ_CHECK(!(hp->host[0] == '[') || hp->ip);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), *back, *line;
	struct hostport hp, from, to, again;

	fuzz_setup();
	if (hostport_parse(s, &hp) == 0) {
		FUZZ_CHECK(mxid_server_name_valid(s));
		check_hostport(&hp);
		back = join(&hp);
		/* "example.org:0080" reads as port 80. */
		FUZZ_CHECK(hostport_parse(back, &again) == 0);
		FUZZ_CHECK(strcmp(again.host, hp.host) == 0 &&
		    again.port == hp.port && again.ip == hp.ip);
		FUZZ_CHECK(strncmp(back, s, strlen(hp.host)) == 0);
		free(back);
	} else {
		FUZZ_CHECK(!mxid_server_name_valid(s));
	}
	if (hostport_parse_mapping(s, &from, &to) == 0) {
		check_hostport(&from);
		check_hostport(&to);
		FUZZ_CHECK(from.port > 0 && to.port > 0);
		line = xasprintf("%s:%d:%s:%d", from.host, from.port, to.host,
		    to.port);
		FUZZ_CHECK(hostport_parse_mapping(line, &hp, &again) == 0);
		FUZZ_CHECK(strcmp(hp.host, from.host) == 0 &&
		    hp.port == from.port && strcmp(again.host, to.host) == 0 &&
		    again.port == to.port);
		free(line);
	}
	free(s);
	return 0;
}
