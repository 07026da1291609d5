/*
 * The configuration loader (src/config/config.c) on any file, through
 * cfg_load_string(). Inputs whose length is a multiple of 8 are also
 * written to a memfd and loaded through cfg_load(), the daemon's path
 * (only some: its 1 MiB read buffer costs ASan more than the parse), and
 * both must agree, byte for byte in what they print. A config that loads must hold only checked values: a valid
 * server name, endpoints that are http(s) URLs or off, header names that
 * are tokens and values without CR or LF, and so on. Every problem is
 * printed as "file:line:col: key: ...".
 */
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#include "config/config.h"
#include "core/mxid.h"
#include "crypto/sign.h"

static void
check_url(const struct cfg *c, const char *url)
{
	if (url == NULL)
		return;
	FUZZ_CHECK(c->rest_enabled);
	FUZZ_CHECK(strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0);
}

static bool
is_token_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static void
check_cfg(const struct cfg *c)
{
	FUZZ_CHECK(c->domain != NULL && mxid_server_name_valid(c->domain));
	FUZZ_CHECK(c->server_name != NULL &&
	    mxid_server_name_valid(c->server_name));
	FUZZ_CHECK(c->port >= 1);
	FUZZ_CHECK(c->threads <= 64);
	FUZZ_CHECK(c->max_body >= 1024 && c->max_body <= 268435456);
	FUZZ_CHECK(c->connect_timeout_ms >= 1 &&
	    c->timeout_ms >= c->connect_timeout_ms);
	FUZZ_CHECK(c->max_backend_conns >= 1 && c->max_backend_conns <= 4096);
	check_url(c, c->url_auth);
	check_url(c, c->url_single);
	check_url(c, c->url_bulk);
	check_url(c, c->url_list);
	FUZZ_CHECK(c->key_path != NULL && c->key_path[0] != '\0');
	FUZZ_CHECK(c->key_id != NULL && sig_key_id_valid(c->key_id));
	FUZZ_CHECK(c->db_path != NULL);
	FUZZ_CHECK(c->max_bulk >= 1 && c->bulk_chunk >= 1);
	FUZZ_CHECK(c->lookup_validity >= 60);
	FUZZ_CHECK(c->pepper_length >= 8 && c->pepper_length <= 128);
	FUZZ_CHECK(c->rotation_policy != NULL);
	FUZZ_CHECK(c->pepper_rotation == 0 ||
	    strcmp(c->rotation_policy, "per_seconds") == 0);
	FUZZ_CHECK(c->log_level <= LOG_LEVEL_DEBUG);
	FUZZ_CHECK(c->bind_address == NULL || c->bind_address[0] != '\0');
	for (size_t i = 0; i < c->auth_allow.len; i++)
		FUZZ_CHECK(c->auth_allow.items[i].prefix <= 128);
	for (size_t i = 0; i < c->nheaders; i++) {
		const char *n = c->headers[i].name;

		FUZZ_CHECK(n[0] != '\0');
		for (; *n != '\0'; n++)
			FUZZ_CHECK(is_token_char(*n));
		FUZZ_CHECK(strpbrk(c->headers[i].value, "\r\n") == NULL);
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(strcasecmp(c->headers[i].name,
			    c->headers[j].name) != 0);
	}
	for (size_t i = 0; i < c->nfed_allowed; i++)
		FUZZ_CHECK(c->fed_allowed[i][0] != '\0');
	for (size_t i = 0; i < c->npolicies; i++) {
		const struct cfg_policy *p = &c->policies[i];

		FUZZ_CHECK(p->id[0] != '\0' && p->version != NULL);
		FUZZ_CHECK(p->nterms > 0);
		for (size_t j = 0; j < p->nterms; j++)
			FUZZ_CHECK(p->terms[j].lang[0] != '\0' &&
			    p->terms[j].name != NULL && p->terms[j].url != NULL);
	}
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Loads text by name into *msgs (malloc'd, what was printed). */
static struct cfg *
load_string(const char *name, const uint8_t *data, size_t size, char **msgs)
{
	size_t msglen;
	FILE *errs = open_memstream(msgs, &msglen);
	struct cfg *c;

	FUZZ_CHECK(errs != NULL);
	c = cfg_load_string(name, (const char *)data, size, errs);
	fclose(errs);
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[64], *msgs = NULL, *file_msgs = NULL;
	size_t msglen;
	struct cfg *c, *fc;
	FILE *errs;
	static int fd = -1;

	fuzz_setup();
	/* One file for the whole run, rewritten for each input; its name
	 * is the name of the string too, so messages and relative paths
	 * agree. */
	if (fd < 0) {
		fd = memfd_create("signpost-fuzz.yaml", MFD_CLOEXEC);
		FUZZ_CHECK(fd >= 0);
	}
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	c = load_string(name, data, size, &msgs);
	if (size % 8 == 0) {
		FUZZ_CHECK(ftruncate(fd, 0) == 0);
		FUZZ_CHECK(size == 0 ||
		    pwrite(fd, data, size, 0) == (ssize_t)size);
		errs = open_memstream(&file_msgs, &msglen);
		FUZZ_CHECK(errs != NULL);
		fc = cfg_load(name, errs);
		fclose(errs);
		FUZZ_CHECK(strcmp(msgs, file_msgs) == 0);
		FUZZ_CHECK((c == NULL) == (fc == NULL));
	} else {
		/* Compares c with itself below. */
		fc = c;
	}
	/* Every message names the file and a place in it. */
	FUZZ_CHECK(msgs[0] == '\0' || strncmp(msgs, name, strlen(name)) == 0);
	if (c == NULL) {
		/* A refusal always says why. */
		FUZZ_CHECK(msgs[0] != '\0');
	} else {
		check_cfg(c);
		FUZZ_CHECK(same_str(c->domain, fc->domain));
		FUZZ_CHECK(same_str(c->key_path, fc->key_path));
		FUZZ_CHECK(same_str(c->db_path, fc->db_path));
		FUZZ_CHECK(same_str(c->url_auth, fc->url_auth));
		FUZZ_CHECK(same_str(c->url_list, fc->url_list));
		FUZZ_CHECK(c->nheaders == fc->nheaders &&
		    c->npolicies == fc->npolicies);
	}
	if (fc != c)
		cfg_free(fc);
	cfg_free(c);
	free(msgs);
	free(file_msgs);
	return 0;
}
