/*
 * signpost: arguments, wiring and signals. Everything else is in the
 * library under src/.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "identity/openid.h"
#include "store/store.h"
#include "tools/checkbackend.h"

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
	    "       signpost check-backend -c FILE [options]  (check the "
	    "webapp; -h for more)\n"
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
	/* The resolved URLs, as mxisd printed them: a path left at an older
	 * release's default shows here rather than as a 404 per login. */
	log_info("webapp endpoints: auth %s, single lookup %s, bulk lookup %s, "
	    "listing %s", cfg->url_auth ? cfg->url_auth : "(off)",
	    cfg->url_single ? cfg->url_single : "(off)",
	    cfg->url_bulk ? cfg->url_bulk : "(off)",
	    cfg->url_list ? cfg->url_list : "(off)");
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
	struct fetch_header *headers;
	struct fetch_opts opts;
	struct fetch_engine *engine;

	rest_fetch_opts(cfg, &opts, &headers);
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

	if (stat(cfg->key_path, &st) == 0 && S_ISDIR(st.st_mode)) {
		path = xasprintf("%s/signpost-ed25519.key", cfg->key_path);
		/* mxisd's own key, when the folder is its key store. */
		if (sig_key_import_mxisd(cfg->key_path, path, cfg->key_id, err,
			sizeof(err)) < 0) {
			log_error("key.path: %s", err);
			free(path);
			return NULL;
		}
	} else {
		path = xstrdup(cfg->key_path);
	}
	key = sig_key_load_or_create(path, cfg->key_id, err, sizeof(err));
	if (key == NULL)
		log_error("key.path: %s", err);
	else
		log_info("signing as %s with key %s from %s", cfg->server_name,
		    sig_key_id(key), path);
	free(path);
	return key;
}

/*
 * Everything one configuration runs: built by gen_start, swapped in whole
 * on SIGHUP. Each request holds a reference to the generation it started
 * in, so a reload never pulls the webapp engine or the store out from
 * under a request; the old generation is freed by the main thread once
 * its last request is over.
 */
struct gen {
	struct daemon *d;
	struct cfg *cfg;
	struct sig_key *key;
	struct store *store;
	struct fetch_engine *engine;
	struct fetch_engine *fed_engine;
	struct openid_config discovery; /* borrows cfg; used by fed_engine */
	struct identity *identity;
	struct hashing *hashing;
	struct api *api;
	atomic_size_t refs; /* requests, plus one while current */
	struct gen *next_retired;
};

struct daemon {
	const char *config_path;
	bool debug;               /* -d: keeps the debug level over reloads */
	pthread_t main_thread;    /* woken with SIGUSR1 to free generations */
	struct http_server *srv;

	/* Readers take a reference to current under the read lock, so a
	 * reload (the writer) cannot retire a generation between a reader
	 * loading the pointer and counting itself in. */
	pthread_rwlock_t current_lock;
	struct gen *current;
	pthread_mutex_t lock;     /* guards retired */
	struct gen *retired;      /* refs 0, waiting for the main thread */
};

/* Stops what can still call back into requests: the index builder, then
 * the engines, letting webapp calls under way finish (bounded by
 * rest.timeout) so their requests get real answers. Idempotent. */
static void
gen_wind_down(struct gen *g)
{
	hashing_stop(g->hashing);
	g->hashing = NULL;
	fetch_engine_stop(g->engine);
	g->engine = NULL;
	fetch_engine_stop(g->fed_engine);
	g->fed_engine = NULL;
}

static void
gen_free(struct gen *g)
{
	if (g == NULL)
		return;
	gen_wind_down(g);
	api_free(g->api);
	identity_free(g->identity);
	store_close(g->store);
	sig_key_free(g->key);
	cfg_free(g->cfg);
	free(g);
}

/* Builds everything cfg describes except the listener. Takes cfg. */
static struct gen *
gen_start(struct daemon *d, struct cfg *cfg)
{
	struct gen *g = xcalloc(1, sizeof(*g));
	struct rest_opts ropts = {
		.url_auth = cfg->url_auth,
		.url_single = cfg->url_single,
		.url_bulk = cfg->url_bulk,
		.url_list = cfg->url_list,
	};
	struct backend backend;
	char err[512];

	g->d = d;
	g->cfg = cfg;
	if ((g->key = load_key(cfg)) == NULL)
		goto fail;
	if ((g->store = store_open_sqlite(cfg->db_path, err,
		 sizeof(err))) == NULL) {
		log_error("storage.provider.sqlite.database: %s", err);
		goto fail;
	}
	if (store_purge_expired(g->store) > 0)
		log_info("removed expired access tokens");
	if ((g->engine = start_engine(cfg)) == NULL ||
	    (g->fed_engine = start_federation_engine(cfg)) == NULL)
		goto fail;
	/* SRV lookups share the connect bound: like curl's own name lookups
	 * they are part of connecting. */
	g->discovery = (struct openid_config){
	    .resolver = cfg->fed_resolver,
	    .dns_timeout_ms = cfg->connect_timeout_ms,
	    .connect_to = cfg->fed_connect_to,
	    .nconnect_to = cfg->nfed_connect_to,
	};
	ropts.engine = g->engine;
	rest_backend_init(&ropts, &backend);
	g->identity = identity_new(&backend, &(struct identity_opts){
	    .domain = cfg->domain,
	    .bulk_chunk = cfg->bulk_chunk,
	    .cache_max = cfg->cache_enabled ? cfg->cache_max : 0,
	    .cache_ttl_s = cfg->cache_ttl,
	    .cache_negative_ttl_s = cfg->cache_negative_ttl,
	    .batch_after = cfg->batch_after,
	});
	g->hashing = hashing_start(g->store, g->identity, &(struct hashing_opts){
	    .pepper_length = cfg->pepper_length,
	    .rotation_s = cfg->pepper_rotation,
	    .refresh_s = cfg->index_refresh,
	    .retry_s = cfg->index_retry,
	});
	if (g->hashing == NULL)
		goto fail;
	g->api = api_new(&(struct api_opts){
	    .auth_allow = &cfg->auth_allow,
	    .identity = g->identity,
	    .key = g->key,
	    .server_name = cfg->server_name,
	    .validity_s = cfg->lookup_validity,
	    .max_bulk = cfg->max_bulk,
	    .store = g->store,
	    .fed_engine = g->fed_engine,
	    .fed_discovery = &g->discovery,
	    .hashing = g->hashing,
	    .policies = cfg->policies,
	    .npolicies = cfg->npolicies,
	    .token_lifetime = cfg->token_lifetime,
	    .fed_allowed = cfg->fed_allowed,
	    .nfed_allowed = cfg->nfed_allowed,
	    .signed_cache_max = cfg->cache_enabled ? cfg->cache_max : 0,
	    .signed_reuse_s = cfg->cache_ttl,
	    .fail_user_max = cfg->fail_user_max,
	    .fail_peer_max = cfg->fail_peer_max,
	    .fail_window_s = cfg->fail_window,
	    .fail_tracked = cfg->fail_tracked,
	    .metrics_enabled = cfg->metrics_enabled,
	    .metrics_allow = &cfg->metrics_allow,
	});
	announce_features(cfg);
	g->refs = 1;
	return g;
fail:
	gen_free(g);
	return NULL;
}

/* Drops one reference; the last one hands g to the main thread, since
 * freeing joins threads and must not stall a server thread. */
static void
gen_release(void *arg)
{
	struct gen *g = arg;
	struct daemon *d = g->d;
	bool last;

	last = atomic_fetch_sub(&g->refs, 1) == 1;
	if (last) {
		pthread_mutex_lock(&d->lock);
		g->next_retired = d->retired;
		d->retired = g;
		pthread_mutex_unlock(&d->lock);
	}
	if (last && !pthread_equal(pthread_self(), d->main_thread))
		pthread_kill(d->main_thread, SIGUSR1);
}

static void
reap_retired(struct daemon *d)
{
	struct gen *g, *next;

	pthread_mutex_lock(&d->lock);
	g = d->retired;
	d->retired = NULL;
	pthread_mutex_unlock(&d->lock);
	for (; g != NULL; g = next) {
		next = g->next_retired;
		if (g != d->current)
			log_info("previous configuration released");
		gen_free(g);
	}
}

/* The server's handler: the request runs in the current generation. */
static void
dispatch(struct http_request *req, void *arg)
{
	struct daemon *d = arg;
	struct gen *g;

	pthread_rwlock_rdlock(&d->current_lock);
	g = d->current;
	atomic_fetch_add(&g->refs, 1);
	pthread_rwlock_unlock(&d->current_lock);
	http_req_on_done(req, gen_release, g);
	api_handle(req, g->api);
}

/* Listener settings live in the running server; a reload cannot move
 * them, so it says so instead of pretending. */
static void
warn_listener_changes(const struct cfg *old, const struct cfg *cfg)
{
	const char *a = old->bind_address ? old->bind_address : "";
	const char *b = cfg->bind_address ? cfg->bind_address : "";

	if (old->port != cfg->port || strcmp(a, b) != 0 ||
	    old->threads != cfg->threads || old->max_body != cfg->max_body ||
	    old->max_header != cfg->max_header ||
	    old->conn_timeout != cfg->conn_timeout ||
	    old->max_clients != cfg->max_clients ||
	    old->max_active != cfg->max_active)
		log_warnx("reload: server.* settings changed; they apply at "
		    "the next restart, the listener keeps the old ones");
}

/* Reads the config file as cfg_load does, each problem logged. */
static struct cfg *
load_logged(const char *path)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *errs = open_memstream(&text, &len);
	struct cfg *cfg;

	if (errs == NULL)
		return cfg_load(path, stderr);
	cfg = cfg_load(path, errs);
	fclose(errs);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (cfg == NULL)
			log_error("%s", line);
		else
			log_warnx("%s", line);
	}
	free(text);
	return cfg;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* SIGHUP: a new generation from the file, or the old one kept. */
static void
reload(struct daemon *d)
{
	struct cfg *cfg;
	struct gen *g, *old;

	log_info("SIGHUP: reloading %s", d->config_path);
	if ((cfg = load_logged(d->config_path)) == NULL) {
		log_error("reload failed: the configuration has errors; still "
		    "running with the previous one");
		return;
	}
	old = d->current;
	warn_listener_changes(old->cfg, cfg);
	log_init(d->debug ? LOG_LEVEL_DEBUG : cfg->log_level, cfg->log_json);
	if ((g = gen_start(d, cfg)) == NULL) {
		log_init(d->debug ? LOG_LEVEL_DEBUG : old->cfg->log_level,
		    old->cfg->log_json);
		log_error("reload failed: see above; still running with the "
		    "previous configuration");
		return;
	}
	if (same_str(cfg->url_list, old->cfg->url_list) &&
	    strcmp(cfg->domain, old->cfg->domain) == 0)
		hashing_adopt(g->hashing, old->hashing);
	pthread_rwlock_wrlock(&d->current_lock);
	d->current = g;
	pthread_rwlock_unlock(&d->current_lock);
	gen_release(old);
	log_info("configuration reloaded; requests under way finish with the "
	    "previous one");
}

/* Serves until SIGTERM or SIGINT; SIGHUP reloads, SIGUSR1 frees
 * generations whose last request ended. */
static void
serve(struct daemon *d, const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			fatalx("sigwait failed");
		if (sig == SIGUSR1) {
			reap_retired(d);
		} else if (sig == SIGHUP) {
			reload(d);
			reap_retired(d);
		} else {
			log_info("signal %d: shutting down", sig);
			return;
		}
	}
}

/*
 * Stops in an order that lets requests under way end with real answers:
 * no new connections (and 503 for new requests on open ones), webapp
 * calls finished, answers sent (for up to server.connectionTimeout), then
 * the listener stopped and everything freed.
 */
static void
shut_down(struct daemon *d, unsigned drain_s)
{
	struct gen *g;
	size_t left;

	if (d->srv != NULL)
		http_server_quiesce(d->srv);
	g = d->current; /* only the main thread changes it */
	if (g != NULL)
		gen_wind_down(g);
	if (d->srv != NULL) {
		left = http_server_drain(d->srv, drain_s * 1000);
		if (left > 0)
			log_warnx("%zu requests still under way at shutdown are "
			    "cut", left);
		http_server_stop(d->srv);
	}
	/* Every request is over: only the current reference is left. */
	if (g != NULL)
		gen_release(g);
	reap_retired(d);
}

static int
run(struct daemon *d, struct cfg *cfg)
{
	struct http_server_opts hopts = {
		.address = cfg->bind_address,
		.port = cfg->port,
		.threads = thread_count(cfg),
		.max_body = cfg->max_body,
		.conn_timeout = cfg->conn_timeout,
		.max_clients = cfg->max_clients,
		.max_active = cfg->max_active,
		.conn_memory = cfg->max_header,
	};
	unsigned drain_s = cfg->conn_timeout;
	sigset_t set;
	int rc = 1;

	/* Blocked before any thread starts, so every thread inherits the
	 * mask and only sigwait() below sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	d->main_thread = pthread_self();
	pthread_mutex_init(&d->lock, NULL);
	pthread_rwlock_init(&d->current_lock, NULL);
	if ((d->current = gen_start(d, cfg)) != NULL &&
	    (d->srv = http_server_start(&hopts, dispatch, d)) != NULL) {
		log_info("signpost %s serving %s on %s port %u with %u threads",
		    SIGNPOST_VERSION, cfg->domain,
		    cfg->bind_address ? cfg->bind_address : "every address",
		    cfg->port, hopts.threads);
		serve(d, &set);
		rc = 0;
	}
	shut_down(d, drain_s);
	pthread_mutex_destroy(&d->lock);
	pthread_rwlock_destroy(&d->current_lock);
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
	int opt;

	if (argc > 1 && strcmp(argv[1], "check-backend") == 0)
		return checkbackend_main(argc - 1, argv + 1);
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
	/* run() hands cfg to the first generation, which frees it. */
	return run(&(struct daemon){ .config_path = path, .debug = debug }, cfg);
}
