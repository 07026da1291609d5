/*
 * signpost: arguments, wiring and signals. Everything else is in the
 * library under src/.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "api/api.h"
#include "backend/fetch.h"
#include "backend/rest.h"
#include "config/config.h"
#include "core/json.h"
#include "core/log.h"
#include "core/util.h"
#include "crypto/sign.h"
#include "http/server.h"
#include "identity/hashing.h"
#include "identity/identity.h"
#include "store/store.h"

/* Largest answer read from a homeserver (.well-known, userinfo). */
#define FEDERATION_MAX_ANSWER (64 * 1024)

/* Upper bound on event-loop threads when server.threads is 0. */
#define MAX_AUTO_THREADS 16

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: signpost -c FILE [-t] [-d]\n"
	    "       signpost -V\n"
	    "  -c FILE  configuration file (YAML, mxisd keys)\n"
	    "  -t       check the configuration and exit\n"
	    "  -d       debug logging (overrides logging.level)\n"
	    "  -V       print the version and exit\n");
}

static void
announce_features(const struct cfg *cfg)
{
	if (!cfg->rest_enabled) {
		log_warnx("rest.enabled is false: every password check fails "
		    "and every lookup finds nothing");
		return;
	}
	if (cfg->url_auth == NULL)
		log_warnx("rest.endpoints.auth is empty: password checks are "
		    "off and every login is refused");
	if (cfg->url_single == NULL)
		log_warnx("rest.endpoints.identity.single is empty: single "
		    "lookups are off");
	if (cfg->url_bulk == NULL)
		log_warnx("rest.endpoints.identity.bulk is empty: bulk lookups "
		    "are off");
}

static unsigned
thread_count(const struct cfg *cfg)
{
	long n;

	if (cfg->threads > 0)
		return cfg->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		return 1;
	return n > MAX_AUTO_THREADS ? MAX_AUTO_THREADS : (unsigned)n;
}

/* Homeserver calls: none of the webapp's headers (they may hold its
 * shared secret), federation.* TLS and address rules. */
static struct fetch_engine *
start_federation_engine(const struct cfg *cfg)
{
	struct fetch_opts opts = {
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.timeout_ms = cfg->timeout_ms,
		.tls_verify = cfg->fed_tls_verify,
		.max_conns = cfg->max_backend_conns,
		.max_response = FEDERATION_MAX_ANSWER,
		.public_only = !cfg->fed_allow_private,
	};

	return fetch_engine_start(&opts);
}

static struct fetch_engine *
start_engine(const struct cfg *cfg)
{
	struct fetch_header *headers = xcalloc(cfg->nheaders, sizeof(*headers));
	struct fetch_opts opts = {
		.connect_timeout_ms = cfg->connect_timeout_ms,
		.timeout_ms = cfg->timeout_ms,
		.tls_verify = cfg->tls_verify,
		.ca_file = cfg->ca_file,
		.max_conns = cfg->max_backend_conns,
		.max_response = cfg->max_response,
		.headers = headers,
		.nheaders = cfg->nheaders,
	};
	struct fetch_engine *engine;

	for (size_t i = 0; i < cfg->nheaders; i++) {
		headers[i].name = cfg->headers[i].name;
		headers[i].value = cfg->headers[i].value;
	}
	engine = fetch_engine_start(&opts);
	free(headers);
	return engine;
}

/*
 * The signing key. mxisd kept its keys in a folder at key.path; when
 * key.path is a folder, Signpost keeps its own key file inside it.
 */
static struct sig_key *
load_key(const struct cfg *cfg)
{
	struct stat st;
	char err[512];
	char *path;
	struct sig_key *key;

	if (stat(cfg->key_path, &st) == 0 && S_ISDIR(st.st_mode))
		path = xasprintf("%s/signpost-ed25519.key", cfg->key_path);
	else
		path = xstrdup(cfg->key_path);
	key = sig_key_load_or_create(path, cfg->key_id, err, sizeof(err));
	if (key == NULL)
		log_error("key.path: %s", err);
	else
		log_info("signing as %s with key %s from %s", cfg->server_name,
		    sig_key_id(key), path);
	free(path);
	return key;
}

/* Waits for SIGTERM or SIGINT; SIGHUP is acknowledged and ignored until
 * reloading exists. */
static void
wait_for_stop(const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			fatalx("sigwait failed");
		if (sig == SIGHUP) {
			log_warnx("SIGHUP: configuration reload is not supported "
			    "yet; restart to apply changes");
			continue;
		}
		log_info("signal %d: shutting down", sig);
		return;
	}
}

/* Everything run() starts, stopped in reverse by stop_all(). */
struct daemon {
	struct sig_key *key;
	struct store *store;
	struct fetch_engine *engine;
	struct fetch_engine *fed_engine;
	struct identity *identity;
	struct hashing *hashing;
	struct api *api;
	struct http_server *srv;
};

static void
stop_all(struct daemon *d)
{
	if (d->srv)
		http_server_quiesce(d->srv);
	/* The index builder uses the engine; stop it first. */
	hashing_stop(d->hashing);
	/* Lets webapp calls under way finish (bounded by rest.timeout), so
	 * their requests get real answers before the server stops. */
	fetch_engine_stop(d->engine);
	fetch_engine_stop(d->fed_engine);
	http_server_stop(d->srv);
	api_free(d->api);
	identity_free(d->identity);
	store_close(d->store);
	sig_key_free(d->key);
}

static int
start_all(struct daemon *d, const struct cfg *cfg)
{
	struct rest_opts ropts = {
		.url_auth = cfg->url_auth,
		.url_single = cfg->url_single,
		.url_bulk = cfg->url_bulk,
		.url_list = cfg->url_list,
	};
	struct http_server_opts hopts = {
		.address = cfg->bind_address,
		.port = cfg->port,
		.threads = thread_count(cfg),
		.max_body = cfg->max_body,
		.conn_timeout = cfg->conn_timeout,
		.max_clients = cfg->max_clients,
	};
	struct backend backend;
	char err[512];

	if ((d->key = load_key(cfg)) == NULL)
		return -1;
	if ((d->store = store_open_sqlite(cfg->db_path, err,
		 sizeof(err))) == NULL) {
		log_error("storage.provider.sqlite.database: %s", err);
		return -1;
	}
	if (store_purge_expired(d->store) > 0)
		log_info("removed expired access tokens");
	if ((d->engine = start_engine(cfg)) == NULL ||
	    (d->fed_engine = start_federation_engine(cfg)) == NULL)
		return -1;
	ropts.engine = d->engine;
	rest_backend_init(&ropts, &backend);
	d->identity = identity_new(&backend, &(struct identity_opts){
	    .domain = cfg->domain,
	    .bulk_chunk = cfg->bulk_chunk,
	});
	d->hashing = hashing_start(d->store, d->identity, &(struct hashing_opts){
	    .pepper_length = cfg->pepper_length,
	    .rotation_s = cfg->pepper_rotation,
	    .refresh_s = cfg->index_refresh,
	});
	if (d->hashing == NULL)
		return -1;
	d->api = api_new(&(struct api_opts){
	    .auth_allow = &cfg->auth_allow,
	    .identity = d->identity,
	    .key = d->key,
	    .server_name = cfg->server_name,
	    .validity_s = cfg->lookup_validity,
	    .max_bulk = cfg->max_bulk,
	    .store = d->store,
	    .fed_engine = d->fed_engine,
	    .hashing = d->hashing,
	    .policies = cfg->policies,
	    .npolicies = cfg->npolicies,
	    .token_lifetime = cfg->token_lifetime,
	    .fed_allowed = cfg->fed_allowed,
	    .nfed_allowed = cfg->nfed_allowed,
	});
	if ((d->srv = http_server_start(&hopts, api_handle, d->api)) == NULL)
		return -1;
	announce_features(cfg);
	log_info("signpost %s serving %s on %s port %u with %u threads",
	    SIGNPOST_VERSION, cfg->domain,
	    cfg->bind_address ? cfg->bind_address : "every address",
	    cfg->port, hopts.threads);
	return 0;
}

static int
run(const struct cfg *cfg)
{
	struct daemon d = { 0 };
	sigset_t set;
	int rc = 1;

	/* Blocked before any thread starts, so every thread inherits the
	 * mask and only sigwait() below sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (start_all(&d, cfg) == 0) {
		wait_for_stop(&set);
		rc = 0;
	}
	stop_all(&d);
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int
main(int argc, char **argv)
{
	const char *path = NULL;
	bool check_only = false, debug = false;
	struct cfg *cfg;
	int opt, rc;

	while ((opt = getopt(argc, argv, "c:tdVh")) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check_only = true;
			break;
		case 'd':
			debug = true;
			break;
		case 'V':
			printf("signpost %s\n", SIGNPOST_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		fatalx("cannot initialise libsodium");
	json_setup();

	cfg = cfg_load(path, stderr);
	if (cfg == NULL)
		return 1;
	if (check_only) {
		printf("configuration OK\n");
		cfg_free(cfg);
		return 0;
	}
	log_init(debug ? LOG_LEVEL_DEBUG : cfg->log_level, cfg->log_json);
	rc = run(cfg);
	cfg_free(cfg);
	return rc;
}
