#include "core/mxid.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* DNS limit on a whole host name. */
#define HOSTNAME_MAX_LEN 253

static bool
port_valid(const char *p)
{
	int64_t port;

	return parse_int64(p, 1, 65535, &port) == 0;
}

static bool
hostname_valid(const char *h, size_t len)
{
	if (len == 0 || len > HOSTNAME_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = h[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
	}
	return true;
}

bool
mxid_server_name_valid(const char *name)
{
	const char *host_end, *colon;
	char buf[64];

	if (name[0] == '[') {
		/* IPv6 literal: "[::1]" or "[::1]:8448". */
		host_end = strchr(name, ']');
		if (host_end == NULL || (size_t)(host_end - name - 1) >= sizeof(buf))
			return false;
		memcpy(buf, name + 1, (size_t)(host_end - name - 1));
		buf[host_end - name - 1] = '\0';
		{
			unsigned char addr[16];

			if (inet_pton(AF_INET6, buf, addr) != 1)
				return false;
		}
		if (host_end[1] == '\0')
			return true;
		return host_end[1] == ':' && port_valid(host_end + 2);
	}
	colon = strchr(name, ':');
	if (colon == NULL)
		return hostname_valid(name, strlen(name));
	return hostname_valid(name, (size_t)(colon - name)) &&
	    port_valid(colon + 1);
}

bool
mxid_localpart_valid(const char *localpart, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)localpart[i];

		if (c < 0x21 || c > 0x7e || c == ':')
			return false;
	}
	return true;
}

bool
mxid_valid(const char *mxid)
{
	const char *colon;
	size_t len = strlen(mxid);

	if (len < 4 || len > MXID_MAX_LEN || mxid[0] != '@')
		return false;
	colon = strchr(mxid, ':');
	if (colon == NULL)
		return false;
	return mxid_localpart_valid(mxid + 1, (size_t)(colon - mxid - 1)) &&
	    mxid_server_name_valid(colon + 1);
}

int
mxid_split(const char *mxid, char **localpart, char **domain)
{
	const char *colon;

	if (!mxid_valid(mxid))
		return -1;
	colon = strchr(mxid, ':');
	*localpart = xstrndup(mxid + 1, (size_t)(colon - mxid - 1));
	*domain = xstrdup(colon + 1);
	return 0;
}
