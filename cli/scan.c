/*
 * `cdscan scan [--all | DOMAIN...] [--dry-run]`: the registry's nightly
 * job. Joins (or starts) a run in the database, claims delegations in
 * batches, probes up to scan.concurrency of them at once on one event
 * loop, decides each with policy, and hands the results back to the
 * database: unchanged ones in batches, each accepted change in its own
 * transaction with its audit row.
 *
 * Several workers, on one host or many, share a run: the database hands
 * out batches (FOR UPDATE SKIP LOCKED) under a lease that this worker
 * renews while it lives. A worker that dies leaves its claims to lapse;
 * one on the same host releases them at once when their process is gone.
 * A run cut short — killed, or the database gone — is continued by the
 * next `cdscan scan` of the same selection.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "core/log.h"
#include "db/db.h"
#include "policy/policy.h"
#include "scanner/probe.h"

/* One delegation on its way through the worker. */
struct job {
	struct scan_worker *w;
	struct db_delegation deleg;
	struct scan_result *res;
	struct cds_decision dec;
	int64_t now;
};

struct scan_worker {
	/* from the command line and configuration */
	char **domains;
	size_t n_domains;
	bool all;
	bool dry_run;
	bool progress;          /* a progress line on the terminal */
	struct policy_config pol;
	enum db_sink sink;
	size_t batch_size;
	size_t concurrency;
	int64_t lease_ms;
	bool early_stop;
	uint16_t port;
	char worker[DB_WORKER_MAX];
	const struct cli_global *g;

	struct db *db;
	struct db_run_info run;
	struct cli_scan_parts parts;
	struct event_base *base; /* parts.base */
	struct scanner *sc;      /* parts.sc */
	struct event *ev_tick;  /* progress, lease, flush, retry claims */
	struct event *ev_int, *ev_term;

	/* claimed, not started */
	struct db_delegation *batch;
	size_t n_batch, next_batch;
	/* probed and decided, waiting for db_record_batch */
	struct job **unwritten;
	size_t n_unwritten;
	size_t in_flight;

	bool nothing_to_claim;  /* last claim came back empty */
	bool stopping;          /* SIGINT/SIGTERM: finish what is started */
	bool finished;          /* the run is done */
	int fatal;              /* a database error: stop now */

	/* this worker's figures */
	int64_t started_ms, last_renew_ms, last_flush_ms;
	uint64_t scanned, queries, changes, stale, lost;
	/* progress rate, from the run's own count */
	int64_t rate_t0_ms, rate_done0;
	double rate;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void scan_usage(FILE *f)
{
	fprintf(f, "usage: cdscan scan (--all | DOMAIN...) [--dry-run] "
		   "[--no-progress] [--set KEY=VALUE]...\n");
}

static int parse_args(struct scan_worker *w, struct conf *conf, int argc,
		      char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"dry-run", no_argument, NULL, 'n'},
		{"no-progress", no_argument, NULL, 'P'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool no_progress = false;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'a': w->all = true; break;
		case 'n': w->dry_run = true; break;
		case 'P': no_progress = true; break;
		case 's':
			if (cli_set_option(conf, optarg, "scan") != 0)
				return -1;
			break;
		case 'h': scan_usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (w->all == (optind < argc)) {
		scan_usage(stderr);
		return -1;
	}
	w->n_domains = (size_t)(argc - optind);
	w->domains = calloc(w->n_domains + 1, sizeof *w->domains);
	if (!w->domains)
		return -1;
	for (size_t i = 0; i < w->n_domains; i++) {
		char name[CDS_NAME_MAX];

		if (cds_name_normalize(argv[optind + (int)i], name) != 0) {
			fprintf(stderr, "cdscan scan: '%s' is not a domain "
					"name\n", argv[optind + (int)i]);
			return -1;
		}
		if (!(w->domains[i] = strdup(name)))
			return -1;
	}
	w->progress = !no_progress && isatty(STDERR_FILENO);
	return 0;
}

static int read_conf(struct scan_worker *w, const struct conf *conf)
{
	char err[512], host[64];

	if (policy_config_from_conf(conf, &w->pol, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan scan: %s\n", err);
		return -1;
	}
	w->sink = strcmp(conf_enum(conf, "sink"), "requests") == 0
			  ? DB_SINK_REQUESTS
			  : DB_SINK_TABLES;
	w->batch_size = (size_t)conf_int(conf, "scan.batch-size");
	w->concurrency = (size_t)conf_int(conf, "scan.concurrency");
	w->lease_ms = conf_duration_ms(conf, "scan.lease");
	w->early_stop = conf_bool(conf, "scan.early-stop");
	w->port = (uint16_t)conf_int(conf, "scanner.port");
	if (gethostname(host, sizeof host) != 0)
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	snprintf(w->worker, sizeof w->worker, "%s:%ld", host, (long)getpid());
	return 0;
}

/* ---- claims of dead workers on this host ------------------------------ */

/* "host:pid" of a process on this host that no longer exists? */
static bool worker_is_dead_here(const struct scan_worker *w, const char *other)
{
	const char *colon = strrchr(other, ':');
	size_t hlen = (size_t)(strrchr(w->worker, ':') - w->worker);
	char *end;
	long pid;

	if (!colon || (size_t)(colon - other) != hlen ||
	    strncmp(other, w->worker, hlen) != 0 || strcmp(other, w->worker) == 0)
		return false;
	pid = strtol(colon + 1, &end, 10);
	if (*end || pid <= 0)
		return false;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int release_dead_claims(struct scan_worker *w)
{
	char **claimants = NULL;
	size_t n = 0;
	int rc = db_run_claimants(w->db, w->run.id, &claimants, &n);

	for (size_t i = 0; rc == 0 && i < n; i++) {
		int64_t freed = 0;

		if (!worker_is_dead_here(w, claimants[i]))
			continue;
		rc = db_run_release(w->db, w->run.id, claimants[i], &freed);
		if (rc == 0 && freed)
			log_info("run %" PRId64 ": took back %" PRId64
				 " delegations claimed by %s, which is gone",
				 w->run.id, freed, claimants[i]);
	}
	db_strv_free(claimants, n);
	return rc;
}

/* ---- results ---------------------------------------------------------- */

static void job_free(struct job *j)
{
	if (!j)
		return;
	scan_result_free(j->res);
	db_delegation_deinit(&j->deleg);
	free(j);
}

static void db_failed(struct scan_worker *w, int rc)
{
	if (w->fatal)
		return;
	w->fatal = rc;
	fprintf(stderr, "%scdscan scan: database: %s\n", w->progress ? "\n" : "",
		db_errmsg(w->db));
	event_base_loopbreak(w->base);
}

static void flush_unwritten(struct scan_worker *w)
{
	struct db_result *r;
	size_t recorded = 0;
	int rc;

	if (w->n_unwritten == 0 || w->fatal)
		return;
	r = calloc(w->n_unwritten, sizeof *r);
	if (!r) {
		w->fatal = CDS_ENOMEM;
		event_base_loopbreak(w->base);
		return;
	}
	for (size_t i = 0; i < w->n_unwritten; i++) {
		struct job *j = w->unwritten[i];

		r[i] = (struct db_result){
			.deleg = &j->deleg,
			.obs = j->res ? j->res->obs : NULL,
			.n_obs = j->res ? j->res->n_obs : 0,
			.dec = &j->dec,
			.time = j->now,
			.queries = j->res ? j->res->queries : 0,
		};
	}
	rc = db_record_batch(w->db, w->run.id, w->worker, w->dry_run, r,
			     w->n_unwritten, &recorded);
	free(r);
	if (rc != 0) {
		db_failed(w, rc);
		return;
	}
	w->scanned += recorded;
	w->lost += w->n_unwritten - recorded;
	for (size_t i = 0; i < w->n_unwritten; i++)
		job_free(w->unwritten[i]);
	w->n_unwritten = 0;
	w->last_flush_ms = now_ms();
}

static void record_change(struct scan_worker *w, struct job *j)
{
	struct db_result r = {
		.deleg = &j->deleg,
		.obs = j->res->obs,
		.n_obs = j->res->n_obs,
		.dec = &j->dec,
		.time = j->now,
		.queries = j->res->queries,
	};
	enum db_outcome out = DB_OUT_NONE;
	int rc = db_record_change(w->db, w->run.id, w->worker, w->sink, &r,
				  &out);

	if (rc != 0) {
		db_failed(w, rc);
		job_free(j);
		return;
	}
	switch (out) {
	case DB_OUT_APPLIED:
	case DB_OUT_REQUESTED:
		w->changes++;
		w->scanned++;
		log_info("%s: %s applied (%s)", j->deleg.name,
			 cds_verdict_name(j->dec.verdict),
			 out == DB_OUT_APPLIED ? "registry" : "change request");
		break;
	case DB_OUT_STALE:
		w->stale++;
		w->scanned++;
		log_warn("%s: DS set changed during the scan; %s left for the "
			 "next run", j->deleg.name,
			 cds_verdict_name(j->dec.verdict));
		break;
	case DB_OUT_LOST:
		w->lost++;
		break;
	case DB_OUT_NONE:
		w->scanned++;
		break;
	}
	job_free(j);
}

static void decide(struct scan_worker *w, struct job *j)
{
	cli_decide(&j->deleg, j->res->obs, j->res->n_obs, &w->pol, j->now,
		   &j->dec);
}

/* A delegation is through: decided (or refused before probing). */
static void job_done(struct scan_worker *w, struct job *j)
{
	if (w->fatal) {
		job_free(j);
		return;
	}
	if (j->res)
		w->queries += j->res->queries;
	if (!w->dry_run && (j->dec.verdict == CDS_DEC_UPDATE ||
			    j->dec.verdict == CDS_DEC_DELETE)) {
		record_change(w, j);
		return;
	}
	w->unwritten[w->n_unwritten++] = j;
	if (w->n_unwritten >= w->batch_size)
		flush_unwritten(w);
}

static void fill(struct scan_worker *w);

static void probed(struct scan_result *res, void *arg)
{
	struct job *j = arg;
	struct scan_worker *w = j->w;

	j->res = res;
	w->in_flight--;
	if (w->fatal) {
		job_free(j);
		return;
	}
	decide(w, j);
	job_done(w, j);
	fill(w);
}

/* ---- feeding the scanner ---------------------------------------------- */

static int claim(struct scan_worker *w)
{
	int rc;

	for (size_t i = w->next_batch; i < w->n_batch; i++)
		db_delegation_deinit(&w->batch[i]);
	free(w->batch);
	w->batch = NULL;
	w->n_batch = w->next_batch = 0;
	rc = db_run_claim(w->db, w->run.id, w->worker, w->batch_size, &w->batch,
			  &w->n_batch);
	if (rc != 0)
		return rc;
	w->nothing_to_claim = w->n_batch == 0;
	w->last_renew_ms = now_ms();
	return 0;
}

/* FNV-1a of the name: spreads an operator's zones over its addresses
   for the early-stop question, and asks the same one again on a rerun. */
static uint32_t name_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h;
}

static void start_one(struct scan_worker *w, struct db_delegation *d)
{
	struct job *j = calloc(1, sizeof *j);
	struct scan_request req;

	if (!j) {
		w->fatal = CDS_ENOMEM;
		event_base_loopbreak(w->base);
		return;
	}
	j->w = w;
	j->deleg = *d; /* takes over ds_text */
	memset(d, 0, sizeof *d);
	j->now = cli_now(w->g);
	if (j->deleg.load_error) {
		/* The registry holds something we cannot scan as it is: say
		   so in the record instead of stopping the run. */
		j->dec.verdict = CDS_DEC_PENDING;
		j->dec.reason = CDS_R_NONE;
		snprintf(j->dec.detail, sizeof j->dec.detail, "not scanned: %s",
			 j->deleg.load_errtext);
		job_done(w, j);
		return;
	}
	req = (struct scan_request){
		.zone = j->deleg.name,
		.ns = j->deleg.ns,
		.n_ns = j->deleg.n_ns,
		.ds = j->deleg.ds,
		.n_ds = j->deleg.n_ds,
		.now = j->now,
		.port = w->port,
		.early_stop = w->early_stop,
		.early_seed = name_hash(j->deleg.name),
		.policy = &w->pol,
	};
	if (scan_probe_start(w->sc, &req, probed, j) != 0) {
		j->dec.verdict = CDS_DEC_PENDING;
		snprintf(j->dec.detail, sizeof j->dec.detail,
			 "not scanned: the probe could not start");
		job_done(w, j);
		return;
	}
	w->in_flight++;
}

/* Keep scan.concurrency delegations in flight while there is work. */
static void fill(struct scan_worker *w)
{
	while (!w->fatal && !w->stopping && w->in_flight < w->concurrency) {
		if (w->next_batch == w->n_batch) {
			if (w->nothing_to_claim)
				return; /* the tick tries again */
			/* Results first: claims are cheaper to hand over
			   when what is done is on record. */
			flush_unwritten(w);
			if (w->fatal)
				return;
			int rc = claim(w);

			if (rc != 0) {
				db_failed(w, rc);
				return;
			}
			if (w->n_batch == 0)
				return;
		}
		start_one(w, &w->batch[w->next_batch++]);
	}
}

/* ---- the tick: progress, lease, flush, end of run ---------------------- */

static void show_progress(struct scan_worker *w, int64_t done, bool final)
{
	int64_t t = now_ms(), left = w->run.total - done;
	char eta[32] = "-";

	if (w->rate_t0_ms == 0) {
		w->rate_t0_ms = t;
		w->rate_done0 = done;
	} else if (t - w->rate_t0_ms >= 1000) {
		double r = (double)(done - w->rate_done0) * 1000.0 /
			   (double)(t - w->rate_t0_ms);

		/* smooth, so the ETA does not jump about */
		w->rate = w->rate > 0 ? 0.7 * w->rate + 0.3 * r : r;
		w->rate_t0_ms = t;
		w->rate_done0 = done;
	}
	if (w->rate > 0 && left > 0) {
		int64_t s = (int64_t)((double)left / w->rate);

		snprintf(eta, sizeof eta, "%" PRId64 ":%02" PRId64 ":%02" PRId64,
			 s / 3600, s / 60 % 60, s % 60);
	}
	if (!w->progress)
		return;
	fprintf(stderr, "\rscan: %" PRId64 "/%" PRId64 " (%3.0f%%) %8.0f/s  "
			"ETA %s   %s",
		done, w->run.total,
		w->run.total ? 100.0 * (double)done / (double)w->run.total : 100.0,
		w->rate, eta, final ? "\n" : "");
	fflush(stderr);
}

static void check_end(struct scan_worker *w)
{
	int64_t done, claimed, todo;
	int rc;

	if (w->in_flight || w->next_batch < w->n_batch)
		return;
	flush_unwritten(w);
	if (w->fatal)
		return;
	if (w->stopping) {
		event_base_loopbreak(w->base);
		return;
	}
	if ((rc = db_run_progress(w->db, w->run.id, &done, &claimed, &todo))) {
		db_failed(w, rc);
		return;
	}
	if (todo == 0 && claimed == 0) {
		if ((rc = db_run_finish(w->db, w->run.id, &w->finished)) != 0)
			db_failed(w, rc);
		else
			event_base_loopbreak(w->base);
		return;
	}
	/* Others hold claims: wait for them, or for their lease to lapse
	   (a dead worker on this host is released at once). */
	if ((rc = release_dead_claims(w)) != 0) {
		db_failed(w, rc);
		return;
	}
	w->nothing_to_claim = false;
	fill(w);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct scan_worker *w = arg;
	int64_t t = now_ms(), done, claimed, todo;
	int rc;

	(void)fd;
	(void)what;
	if (w->fatal)
		return;
	if (t - w->last_renew_ms >= w->lease_ms / 3) {
		if ((rc = db_run_renew(w->db, w->run.id, w->worker,
				       w->lease_ms)) != 0) {
			db_failed(w, rc);
			return;
		}
		w->last_renew_ms = t;
	}
	if (t - w->last_flush_ms >= 2000)
		flush_unwritten(w);
	if (w->fatal)
		return;
	if (w->progress) {
		if ((rc = db_run_progress(w->db, w->run.id, &done, &claimed,
					  &todo)) != 0) {
			db_failed(w, rc);
			return;
		}
		show_progress(w, done, false);
	}
	if (w->nothing_to_claim || w->stopping)
		check_end(w);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct scan_worker *w = arg;

	(void)what;
	if (w->stopping) {
		/* second signal: leave now; the claims lapse or are released
		   by the next worker on this host */
		fprintf(stderr, "\ncdscan scan: stopped\n");
		exit(CLI_EXIT_FAIL);
	}
	w->stopping = true;
	fprintf(stderr, "%scdscan scan: %s: finishing the %zu delegations in "
			"flight (again to stop at once)\n",
		w->progress ? "\n" : "", strsignal((int)sig), w->in_flight);
	check_end(w);
}

/* ---- setup and summary ------------------------------------------------ */

static int setup_scanner(struct scan_worker *w, const struct conf *conf)
{
	int rc = cli_scan_parts_init(&w->parts, conf, "scan");

	if (rc != 0)
		return rc;
	w->base = w->parts.base;
	w->sc = w->parts.sc;
	w->unwritten = calloc(w->batch_size, sizeof *w->unwritten);
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, tick, w);
	w->ev_int = evsignal_new(w->base, SIGINT, on_signal, w);
	w->ev_term = evsignal_new(w->base, SIGTERM, on_signal, w);
	if (!w->unwritten || !w->ev_tick || !w->ev_int || !w->ev_term)
		return CDS_ENOMEM;
	event_add(w->ev_tick, &(struct timeval){0, 250000});
	event_add(w->ev_int, NULL);
	event_add(w->ev_term, NULL);
	return 0;
}

static void teardown(struct scan_worker *w)
{
	for (size_t i = 0; i < w->n_unwritten; i++)
		job_free(w->unwritten[i]);
	free(w->unwritten);
	for (size_t i = w->next_batch; i < w->n_batch; i++)
		db_delegation_deinit(&w->batch[i]);
	free(w->batch);
	if (w->ev_tick)
		event_free(w->ev_tick);
	if (w->ev_int)
		event_free(w->ev_int);
	if (w->ev_term)
		event_free(w->ev_term);
	cli_scan_parts_deinit(&w->parts);
	db_close(w->db);
	for (size_t i = 0; i < w->n_domains; i++)
		free(w->domains[i]);
	free(w->domains);
}

static void print_worker_summary(const struct scan_worker *w)
{
	double secs = (double)(now_ms() - w->started_ms) / 1000.0, cpu;
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	if (secs <= 0)
		secs = 0.001;
	printf("worker %s: %" PRIu64 " delegations in %.1f s (%.0f/s), "
	       "%" PRIu64 " queries (%.0f/s), %" PRIu64 " changes%s, "
	       "cpu %.2f s, max rss %ld MiB\n",
	       w->worker, w->scanned, secs, (double)w->scanned / secs,
	       w->queries, (double)w->queries / secs, w->changes,
	       w->dry_run ? " (dry run: none applied)" : "", cpu,
	       ru.ru_maxrss / 1024);
	if (w->stale)
		printf("  %" PRIu64 " changes left alone: the DS set changed "
		       "during the scan\n", w->stale);
	if (w->lost)
		printf("  %" PRIu64 " results dropped: another worker took "
		       "over their claim\n", w->lost);
}

int cmd_scan(int argc, char **argv, const struct cli_global *g)
{
	struct scan_worker *w = calloc(1, sizeof *w);
	struct conf *conf = cli_load_conf(g);
	struct db_run_spec spec;
	int ret = CLI_EXIT_FAIL, rc;

	if (!w || !conf)
		goto out;
	w->g = g;
	if (parse_args(w, conf, argc, argv) != 0) {
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (read_conf(w, conf) != 0 ||
	    !(w->db = cli_open_db(conf, "scan", false)))
		goto out;
	spec = (struct db_run_spec){
		.domains = (const char *const *)w->domains,
		.n_domains = w->n_domains,
		.dry_run = w->dry_run,
		.worker = w->worker,
		.lease_ms = w->lease_ms,
	};
	rc = db_run_begin(w->db, &spec, &w->run);
	if (rc == CDS_ENOTFOUND) {
		fprintf(stderr, "cdscan scan: none of the domains named is "
				"held in the registry\n");
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "cdscan scan: database: %s\n", db_errmsg(w->db));
		goto out;
	}
	printf("run %" PRId64 ": %s%s, %" PRId64 " delegations, %" PRId64
	       " already done\n",
	       w->run.id, w->run.joined ? "joined" : "started",
	       w->dry_run ? " (dry run)" : "", w->run.total, w->run.done);
	fflush(stdout);
	if (setup_scanner(w, conf) != 0)
		goto out;
	w->started_ms = w->last_flush_ms = now_ms();
	if ((rc = release_dead_claims(w)) != 0) {
		fprintf(stderr, "cdscan scan: database: %s\n", db_errmsg(w->db));
		goto out;
	}
	fill(w);
	if (!w->fatal && w->nothing_to_claim && !w->in_flight)
		check_end(w);
	if (!w->fatal && !w->finished)
		event_base_dispatch(w->base);
	if (w->fatal) {
		fprintf(stderr, "cdscan scan: run %" PRId64 " stopped; the next "
				"'cdscan scan' of the same selection continues "
				"it\n", w->run.id);
		goto out;
	}
	if (w->progress) {
		int64_t done = 0, claimed, todo;

		if (db_run_progress(w->db, w->run.id, &done, &claimed, &todo) == 0)
			show_progress(w, done, true);
	}
	print_worker_summary(w);
	if (w->finished) {
		if (db_report_run_summary(w->db, w->run.id, stdout) != 0)
			fprintf(stderr, "cdscan scan: database: %s\n",
				db_errmsg(w->db));
	} else if (w->stopping) {
		int64_t freed = 0;

		/* what we claimed but never started goes back at once */
		if (db_run_release(w->db, w->run.id, w->worker, &freed) != 0)
			fprintf(stderr, "cdscan scan: database: %s\n",
				db_errmsg(w->db));
		printf("run %" PRId64 " interrupted; the next 'cdscan scan' of "
		       "the same selection continues it\n", w->run.id);
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	if (w)
		teardown(w);
	free(w);
	conf_free(conf);
	return ret;
}
