/*
 * Addresses and CIDR ranges (src/core/cidr.c), as auth.allowFrom gives
 * them. A range that parses has a prefix within its family, no host bits
 * set, matches its own address, and reads back the same from the text
 * inet_ntop() writes for it.
 */
#include <arpa/inet.h>

#include "fuzz.h"

#include "core/cidr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size), text[INET6_ADDRSTRLEN + 8];
	struct cidr c, again;
	struct cidr_list list = { 0 };
	const char *why = NULL;
	uint8_t addr[16];

	fuzz_setup();
	if (cidr_addr_parse(s, addr) == 0)
		FUZZ_CHECK(strlen(s) < INET6_ADDRSTRLEN);
	if (cidr_parse(s, &c, &why) != 0) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		free(s);
		return 0;
	}
	FUZZ_CHECK(c.prefix <= 128);
	for (unsigned bit = c.prefix; bit < 128; bit++)
		FUZZ_CHECK((c.addr[bit / 8] & (0x80 >> (bit % 8))) == 0);
	cidr_list_add(&list, &c);
	FUZZ_CHECK(cidr_list_match(&list, c.addr));
	/* An IPv4 range is written in the mapped space: prefix >= 96. */
	if (strchr(s, ':') == NULL) {
		FUZZ_CHECK(c.prefix >= 96);
		FUZZ_CHECK(inet_ntop(AF_INET, c.addr + 12, text,
		    sizeof(text)) != NULL);
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "/%u", c.prefix - 96);
	} else {
		FUZZ_CHECK(inet_ntop(AF_INET6, c.addr, text,
		    sizeof(text)) != NULL);
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "/%u", c.prefix);
	}
	FUZZ_CHECK(cidr_parse(text, &again, &why) == 0);
	FUZZ_CHECK(memcmp(again.addr, c.addr, 16) == 0);
	/* "::ffff:1.2.3.4/n" is written as IPv6; its prefix keeps its
	 * place in the mapped space either way. */
	FUZZ_CHECK(again.prefix == c.prefix);
	cidr_list_free(&list);
	free(s);
	return 0;
}
