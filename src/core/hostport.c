#include "core/hostport.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "core/mxid.h"
#include "core/util.h"

int
hostport_parse(const char *s, struct hostport *out)
{
	const char *end;
	unsigned char addr[4];
	int64_t port;
	size_t len;

	if (!mxid_server_name_valid(s))
		return -1;
	/* mxid_server_name_valid checked the brackets, the literal and the
	 * port; what is left is finding where the host ends. */
	end = s[0] == '[' ? strchr(s, ']') + 1 : s + strcspn(s, ":");
	len = (size_t)(end - s);
	if (len > HOSTPORT_HOST_MAX)
		return -1;
	memcpy(out->host, s, len);
	out->host[len] = '\0';
	out->port = -1;
	if (*end == ':') {
		if (parse_int64(end + 1, 1, 65535, &port) != 0)
			return -1;
		out->port = (int)port;
	}
	out->ip = s[0] == '[' || inet_pton(AF_INET, out->host, addr) == 1;
	return 0;
}

int
hostport_parse_mapping(const char *s, struct hostport *from,
    struct hostport *to)
{
	/* "[v6]:port:" or "host:port:": the second colon after the host
	 * ends the first half. */
	const char *host_end = s[0] == '[' ? strchr(s, ']') : s;
	const char *port, *sep;
	char first[HOSTPORT_HOST_MAX + 8];

	if (host_end == NULL || (port = strchr(host_end, ':')) == NULL ||
	    (sep = strchr(port + 1, ':')) == NULL ||
	    (size_t)(sep - s) >= sizeof(first))
		return -1;
	memcpy(first, s, (size_t)(sep - s));
	first[sep - s] = '\0';
	if (hostport_parse(first, from) != 0 || from->port < 0 ||
	    hostport_parse(sep + 1, to) != 0 || to->port < 0)
		return -1;
	return 0;
}
