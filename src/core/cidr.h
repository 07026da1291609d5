/*
 * CIDR lists for address gates (who may call check_credentials). Addresses
 * are kept as 16-byte IPv6; IPv4 is mapped (::ffff:a.b.c.d), so one
 * comparison serves both families and a v4-mapped peer matches v4 rules.
 */
#ifndef SIGNPOST_CORE_CIDR_H
#define SIGNPOST_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	uint8_t addr[16];
	unsigned prefix; /* 0..128, in the mapped space */
};

struct cidr_list {
	struct cidr *items;
	size_t len;
};

/*
 * Parses "10.0.0.0/8", "::1/128" or a bare address (a host). Host bits set
 * beyond the prefix are an error, since "10.1.2.3/8" is usually a typo.
 * Returns 0, or -1 with *why set to a static message.
 */
int cidr_parse(const char *text, struct cidr *out, const char **why);
/* Appends; the list owns its array. */
void cidr_list_add(struct cidr_list *list, const struct cidr *c);
void cidr_list_free(struct cidr_list *list);
/* addr16 is an address in the mapped 16-byte form. */
bool cidr_list_match(const struct cidr_list *list, const uint8_t addr16[16]);
/* Converts a textual address to the mapped form; -1 when not an address. */
int cidr_addr_parse(const char *text, uint8_t addr16[16]);

#endif
