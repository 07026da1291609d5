#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int
cidr_addr_parse(const char *text, uint8_t addr16[16])
{
	struct in_addr v4;

	if (inet_pton(AF_INET, text, &v4) == 1) {
		memset(addr16, 0, 10);
		addr16[10] = 0xff;
		addr16[11] = 0xff;
		memcpy(addr16 + 12, &v4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr16) == 1)
		return 0;
	return -1;
}

int
cidr_parse(const char *text, struct cidr *out, const char **why)
{
	char host[64];
	const char *slash = strchr(text, '/');
	size_t hostlen = slash ? (size_t)(slash - text) : strlen(text);
	bool v4;
	int64_t prefix;

	if (hostlen == 0 || hostlen >= sizeof(host)) {
		*why = "not an address or CIDR range";
		return -1;
	}
	memcpy(host, text, hostlen);
	host[hostlen] = '\0';
	if (cidr_addr_parse(host, out->addr) != 0) {
		*why = "not an address or CIDR range";
		return -1;
	}
	v4 = strchr(host, ':') == NULL;
	if (slash == NULL) {
		out->prefix = 128;
		return 0;
	}
	if (parse_int64(slash + 1, 0, v4 ? 32 : 128, &prefix) != 0) {
		*why = v4 ? "prefix length must be 0 to 32" :
			    "prefix length must be 0 to 128";
		return -1;
	}
	out->prefix = (unsigned)prefix + (v4 ? 96 : 0);
	for (unsigned bit = out->prefix; bit < 128; bit++) {
		if (out->addr[bit / 8] & (0x80 >> (bit % 8))) {
			*why = "address has bits set beyond the prefix length";
			return -1;
		}
	}
	return 0;
}

void
cidr_list_add(struct cidr_list *list, const struct cidr *c)
{
	list->items = xrealloc(list->items, (list->len + 1) * sizeof(*c));
	list->items[list->len++] = *c;
}

void
cidr_list_free(struct cidr_list *list)
{
	free(list->items);
	list->items = NULL;
	list->len = 0;
}

static bool
cidr_match(const struct cidr *c, const uint8_t addr[16])
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (memcmp(c->addr, addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((c->addr[full] ^ addr[full]) & (0xff00 >> rest)) == 0;
}

bool
cidr_list_match(const struct cidr_list *list, const uint8_t addr16[16])
{
	for (size_t i = 0; i < list->len; i++)
		if (cidr_match(&list->items[i], addr16))
			return true;
	return false;
}
