/*
 * A page from the webapp's listing endpoint (rest_parse_list_answer in
 * src/backend/rest_list.c). The input's first line is the request the page
 * answers, "<limit> [<after>]" (an unreadable line asks for 16 entries
 * from the start), and the rest is the answer.
 *
 * A page that is read has at most limit entries, each with non-empty
 * medium and address strings and a valid id, and a next cursor that is
 * absent or a non-empty string of at most 1024 bytes other than after.
 */
#include "rest_checks.h"

#include "backend/rest.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct rest_list_answer page;
	size_t limit = 16, hlen, blen;
	char *head, *sp, *after = NULL;
	const char *body, *why = NULL;
	int64_t v;

	fuzz_setup();
	hlen = nl ? (size_t)(nl - data) : 0;
	body = nl ? (const char *)nl + 1 : (const char *)data;
	blen = size - (size_t)(body - (const char *)data);
	head = fuzz_cstr(data, hlen);
	if ((sp = strchr(head, ' ')) != NULL) {
		*sp = '\0';
		after = sp + 1;
	}
	if (parse_int64(head, 1, 100000, &v) == 0)
		limit = (size_t)v;

	if (rest_parse_list_answer(body, blen, after, limit, &page,
		&why) != 0) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		FUZZ_CHECK(page.root == NULL && page.entries == NULL &&
		    page.nentries == 0 && page.next == NULL);
		free(head);
		return 0;
	}
	FUZZ_CHECK(page.root != NULL && page.nentries <= limit);
	for (size_t i = 0; i < page.nentries; i++) {
		check_string(page.entries[i].tp.medium);
		check_string(page.entries[i].tp.address);
		FUZZ_CHECK(page.entries[i].tp.medium[0] != '\0' &&
		    page.entries[i].tp.address[0] != '\0');
		check_id(&page.entries[i].id);
	}
	if (page.next != NULL) {
		check_string(page.next);
		FUZZ_CHECK(page.next[0] != '\0' && strlen(page.next) <= 1024);
		FUZZ_CHECK(after == NULL || strcmp(page.next, after) != 0);
	}
	rest_list_answer_clear(&page);
	free(head);
	return 0;
}
