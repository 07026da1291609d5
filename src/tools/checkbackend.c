/*
 * `signpost check-backend`: the command line around rest_check_run. It
 * reads the configuration the daemon would read, starts the same fetch
 * engine with the same headers, TLS settings and limits, and prints the
 * report as text or JSON. The probe user's password is taken from a file,
 * the environment or (last resort) the command line, never printed, and
 * wiped when the checks are done.
 */
#include "tools/checkbackend.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "backend/fetch.h"
#include "backend/rest.h"
#include "backend/rest_check.h"
#include "config/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mxid.h"
#include "core/util.h"

/* Longest password read from --password-file or the environment. A
 * passphrase is far shorter; a file larger than this is the wrong file. */
#define PASSWORD_MAX 1024
/* Longest --email or --phone taken: an email address is at most 254. */
#define ADDRESS_MAX 512
/* Bounds of --timeout, in milliseconds: those of rest.timeout. */
#define TIMEOUT_MIN_MS 1
#define TIMEOUT_MAX_MS 600000

struct args {
	const char *config;
	const char *user;
	char *password; /* malloc'd; wiped by secret_free */
	const char *email;
	char *phone;    /* malloc'd, digits only */
	long timeout_ms; /* 0: rest.timeout */
	bool json;
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: signpost check-backend -c FILE [--user ID] "
	    "[--password-file FILE]\n"
	    "           [--email ADDRESS] [--phone NUMBER] [--timeout MS] "
	    "[--json]\n"
	    "  -c FILE               configuration file, as for the daemon\n"
	    "  --user ID             a real user to log in: @user:domain or "
	    "a localpart\n"
	    "  --password-file FILE  that user's password, first line of FILE "
	    "(- for stdin);\n"
	    "                        or set " CHECKBACKEND_PASSWORD_ENV
	    " (--password PW\n"
	    "                        works too, but shows in ps)\n"
	    "  --email ADDRESS       an email address the webapp knows\n"
	    "  --phone NUMBER        a phone number (msisdn) the webapp knows\n"
	    "  --timeout MS          limit per call (default: rest.timeout)\n"
	    "  --json                print the report as JSON\n"
	    "Exit status: 0 when no check failed, 1 when one did, 2 for a "
	    "usage error.\n");
}

/* Reads the first line of path ("-": stdin) into a new secret string. */
static char *
read_password_file(const char *path)
{
	char buf[PASSWORD_MAX + 2];
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t n;
	char *pw = NULL;

	if (f == NULL) {
		fprintf(stderr, "check-backend: %s: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	/* Unbuffered, so that stdio keeps no copy of the password. */
	setvbuf(f, NULL, _IONBF, 0);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	n = strcspn(buf, "\r\n");
	if (n > PASSWORD_MAX)
		fprintf(stderr, "check-backend: %s: the password is longer "
		    "than %d bytes\n", path, PASSWORD_MAX);
	else if (n == 0)
		fprintf(stderr, "check-backend: %s: no password on the first "
		    "line\n", path);
	else
		pw = xstrndup(buf, n);
	secure_wipe(buf, sizeof(buf));
	if (f != stdin)
		fclose(f);
	return pw;
}

/* The password from the environment, wiped there so that a child
 * process or a core file does not find it. */
static char *
take_env_password(void)
{
	char *v = getenv(CHECKBACKEND_PASSWORD_ENV);
	char *pw = NULL;

	if (v == NULL)
		return NULL;
	if (v[0] != '\0' && strlen(v) <= PASSWORD_MAX)
		pw = xstrdup(v);
	secure_wipe(v, strlen(v));
	unsetenv(CHECKBACKEND_PASSWORD_ENV);
	return pw;
}

/* Digits only; "+", spaces, dashes, dots and brackets are dropped, the
 * way people write numbers. NULL when anything else is in it. */
static char *
phone_digits(const char *in)
{
	char *out = xmalloc(strlen(in) + 1);
	size_t n = 0;

	for (const char *p = in; *p; p++) {
		if (*p >= '0' && *p <= '9')
			out[n++] = *p;
		else if (strchr("+ -.()", *p) == NULL)
			goto bad;
	}
	out[n] = '\0';
	if (n > 0)
		return out;
bad:
	free(out);
	return NULL;
}

enum { OPT_USER = 256, OPT_PASSWORD, OPT_PASSWORD_FILE, OPT_EMAIL,
	OPT_PHONE, OPT_TIMEOUT, OPT_JSON };

static const struct option long_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "user", required_argument, NULL, OPT_USER },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "password-file", required_argument, NULL, OPT_PASSWORD_FILE },
	{ "email", required_argument, NULL, OPT_EMAIL },
	{ "phone", required_argument, NULL, OPT_PHONE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Returns 0, 1 after printing help, or 2 after a usage error. */
static int
parse_args(int argc, char **argv, struct args *a)
{
	int opt, sources = 0;
	int64_t ms;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", long_options,
	    NULL)) != -1) {
		switch (opt) {
		case 'c':
			a->config = optarg;
			break;
		case OPT_USER:
			a->user = optarg;
			break;
		case OPT_PASSWORD:
			secret_free(a->password);
			a->password = xstrdup(optarg);
			/* Shortens what ps shows from now on; it may have
			 * been read already, hence the other two ways. */
			secure_wipe(optarg, strlen(optarg));
			sources++;
			break;
		case OPT_PASSWORD_FILE:
			secret_free(a->password);
			if ((a->password = read_password_file(optarg)) == NULL)
				return 2;
			sources++;
			break;
		case OPT_EMAIL:
			a->email = optarg;
			break;
		case OPT_PHONE:
			free(a->phone);
			if ((a->phone = phone_digits(optarg)) == NULL) {
				fprintf(stderr, "check-backend: --phone: "
				    "digits only, as international numbers "
				    "are written (15551234567)\n");
				return 2;
			}
			break;
		case OPT_TIMEOUT:
			if (parse_int64(optarg, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS,
			    &ms) != 0) {
				fprintf(stderr, "check-backend: --timeout: "
				    "milliseconds from %d to %d\n",
				    TIMEOUT_MIN_MS, TIMEOUT_MAX_MS);
				return 2;
			}
			a->timeout_ms = (long)ms;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (a->config == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sources > 1) {
		fprintf(stderr, "check-backend: give the password once\n");
		return 2;
	}
	if (a->email != NULL && (a->email[0] == '\0' ||
	    strlen(a->email) > ADDRESS_MAX || strchr(a->email, '@') == NULL)) {
		fprintf(stderr, "check-backend: --email: not an email "
		    "address\n");
		return 2;
	}
	if (a->phone != NULL && strlen(a->phone) > ADDRESS_MAX) {
		fprintf(stderr, "check-backend: --phone: too long\n");
		return 2;
	}
	return 0;
}

/*
 * Splits --user into localpart and domain (NULL: matrix.domain). Returns
 * 0, or -1 after saying what is wrong.
 */
static int
parse_user(const char *user, char **localpart, char **domain)
{
	*localpart = *domain = NULL;
	if (user[0] == '@') {
		if (mxid_split(user, localpart, domain) == 0)
			return 0;
	} else if (mxid_localpart_valid(user, strlen(user)) &&
	    strlen(user) < MXID_MAX_LEN) {
		*localpart = xstrdup(user);
		return 0;
	}
	fprintf(stderr, "check-backend: --user: neither a user id "
	    "(@user:domain) nor a localpart\n");
	return -1;
}

/* The webapp engine exactly as the daemon starts it (rest_fetch_opts),
 * but for the time limit, which --timeout may shorten or lengthen. */
static void
engine_opts(const struct cfg *cfg, long timeout_ms, struct fetch_opts *o,
    struct fetch_header **headers)
{
	rest_fetch_opts(cfg, o, headers);
	if (timeout_ms)
		o->timeout_ms = timeout_ms;
	if (o->connect_timeout_ms > o->timeout_ms)
		o->connect_timeout_ms = o->timeout_ms;
}

static void
print_text(const struct cfg *cfg, const struct fetch_opts *f,
    const struct rest_check_report *r)
{
	static const char *const prefix[] = { "", "warning: ", "problem: ",
		"fix: " };

	printf("signpost check-backend: %s (rest.timeout %ld ms, "
	    "rest.connectTimeout %ld ms)\n", cfg->path, f->timeout_ms,
	    f->connect_timeout_ms);
	for (size_t i = 0; i < r->nitems; i++) {
		const struct rest_check_item *it = &r->items[i];

		printf("\n%s  %s\n", rest_check_status_name(it->status),
		    it->title);
		if (it->url != NULL && it->http_status != 0)
			printf("      POST %s: HTTP %ld in %ld ms\n", it->url,
			    it->http_status, it->elapsed_ms);
		else if (it->url != NULL && it->elapsed_ms >= 0)
			printf("      POST %s: no answer after %ld ms\n",
			    it->url, it->elapsed_ms);
		for (size_t k = 0; k < it->nlines; k++)
			printf("      %s%s\n", prefix[it->lines[k].kind],
			    it->lines[k].text);
		if (it->truncated)
			printf("      (more lines not shown)\n");
	}
	printf("\nsummary: %zu PASS, %zu WARN, %zu FAIL, %zu SKIP: %s\n",
	    r->count[REST_CHECK_PASS], r->count[REST_CHECK_WARN],
	    r->count[REST_CHECK_FAIL], r->count[REST_CHECK_SKIP],
	    r->count[REST_CHECK_FAIL] ? "fix what FAIL lists above" :
	    r->count[REST_CHECK_WARN] ? "works; the warnings are worth a look" :
	    "the webapp follows the protocol");
}

/* A JSON string of s; text from a webapp that is not UTF-8 has been
 * escaped by the judges, but a string jansson refuses is shown, not lost. */
static json_t *
jstr(const char *s)
{
	json_t *v = json_string(s);
	char *copy;

	if (v != NULL)
		return v;
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p > 0x7f)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

static void
print_json(const struct cfg *cfg, const struct fetch_opts *f,
    const struct rest_check_report *r)
{
	json_t *checks = json_array(), *doc;
	char *text;

	for (size_t i = 0; i < r->nitems; i++) {
		const struct rest_check_item *it = &r->items[i];
		json_t *lines = json_array();

		for (size_t k = 0; k < it->nlines; k++)
			json_array_append_new(lines, json_pack("{s:s,s:o}",
			    "kind", rest_check_kind_name(it->lines[k].kind),
			    "text", jstr(it->lines[k].text)));
		json_array_append_new(checks, json_pack(
		    "{s:s,s:o,s:s,s:o,s:o,s:o,s:o,s:b}",
		    "endpoint", it->endpoint,
		    "title", jstr(it->title),
		    "status", rest_check_status_name(it->status),
		    "url", it->url ? jstr(it->url) : json_null(),
		    "http_status", it->http_status ?
			json_integer(it->http_status) : json_null(),
		    "elapsed_ms", it->elapsed_ms >= 0 ?
			json_integer(it->elapsed_ms) : json_null(),
		    "lines", lines,
		    "truncated", it->truncated));
	}
	doc = json_pack("{s:o,s:I,s:I,s:o,s:{s:I,s:I,s:I,s:I},s:b}",
	    "config", jstr(cfg->path),
	    "timeout_ms", (json_int_t)f->timeout_ms,
	    "connect_timeout_ms", (json_int_t)f->connect_timeout_ms,
	    "checks", checks,
	    "summary",
	    "pass", (json_int_t)r->count[REST_CHECK_PASS],
	    "warn", (json_int_t)r->count[REST_CHECK_WARN],
	    "fail", (json_int_t)r->count[REST_CHECK_FAIL],
	    "skip", (json_int_t)r->count[REST_CHECK_SKIP],
	    "ok", r->count[REST_CHECK_FAIL] == 0);
	if (doc == NULL)
		fatalx("cannot build the JSON report");
	text = json_dumps(doc, JSON_INDENT(2));
	if (text == NULL)
		fatalx("out of memory");
	printf("%s\n", text);
	free(text);
	json_decref(doc);
}

static int
run(const struct args *a, const struct cfg *cfg)
{
	struct fetch_header *headers;
	struct fetch_opts fopts;
	struct fetch_engine *engine;
	struct rest_check_report report;
	char *localpart = NULL, *domain = NULL;
	int rc;

	if (a->user != NULL && parse_user(a->user, &localpart, &domain) != 0)
		return 2;
	engine_opts(cfg, a->timeout_ms, &fopts, &headers);
	if ((engine = fetch_engine_start(&fopts)) == NULL) {
		free(headers);
		free(localpart);
		free(domain);
		return 1;
	}
	rest_check_run(&(struct rest_check_opts){
	    .rest_enabled = cfg->rest_enabled,
	    .url_auth = cfg->url_auth,
	    .url_single = cfg->url_single,
	    .url_bulk = cfg->url_bulk,
	    .url_list = cfg->url_list,
	    .rest_host = cfg->rest_host,
	    .domain = cfg->domain,
	    .engine = engine,
	    .fetch = &fopts,
	    .user_localpart = localpart,
	    .user_domain = domain,
	    .password = a->user ? a->password : NULL,
	    .email = a->email,
	    .msisdn = a->phone,
	}, &report);
	fetch_engine_stop(engine);
	if (a->json)
		print_json(cfg, &fopts, &report);
	else
		print_text(cfg, &fopts, &report);
	rc = report.count[REST_CHECK_FAIL] > 0 ? 1 : 0;
	rest_check_report_clear(&report);
	free(headers);
	free(localpart);
	free(domain);
	return rc;
}

int
checkbackend_main(int argc, char **argv)
{
	struct args a = { 0 };
	struct cfg *cfg = NULL;
	char *env_pw;
	int rc;

	if (sodium_init() < 0)
		fatalx("cannot initialise libsodium");
	json_setup();
	/* Taken first, so that it is wiped from the environment whatever
	 * happens next. */
	env_pw = take_env_password();
	rc = parse_args(argc, argv, &a);
	if (rc != 0) {
		rc = rc == 1 ? 0 : rc;
		goto out;
	}
	if (a.password == NULL) {
		a.password = env_pw;
		env_pw = NULL;
	}
	if (a.password != NULL && a.user == NULL) {
		fprintf(stderr, "check-backend: a password needs --user\n");
		rc = 2;
		goto out;
	}
	if ((cfg = cfg_load(a.config, stderr)) == NULL) {
		rc = 1;
		goto out;
	}
	/* The report says everything the backend would log. */
	log_init(LOG_LEVEL_ERROR, false);
	rc = run(&a, cfg);
out:
	cfg_free(cfg);
	secret_free(a.password);
	secret_free(env_pw);
	free(a.phone);
	return rc;
}
