/*
 * `cdscan scan [--all | DOMAIN...] [--dry-run]`: the registry's nightly
 * job. Joins (or starts) a run in the database, claims delegations in
 * batches, probes up to scan.concurrency of them at once on one event
 * loop, decides each with policy, and hands the results back to the
 * database: unchanged ones in batches, each accepted change in its own
 * transaction with its audit row.
 *
 * The loop never waits for PostgreSQL while it scans: claims, results,
 * changes, lease renewals and progress counts are tasks for a pool of
 * database threads (db/async.c), each on its own connection, and come
 * back to the loop when done. The next batch is claimed while the
 * current one is probed, so the in-flight window stays full across batch
 * boundaries; a change transaction of several milliseconds no longer
 * stops every probe. What waits to be written is bounded: past the bound
 * no new probe starts until the database catches up.
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
#include <stddef.h>
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
#include "core/window.h"
#include "db/db.h"
#include "policy/policy.h"
#include "scanner/probe.h"

/* Database threads (connections) of one worker: two, so that a change
   transaction and a claim or a batch of results proceed side by side. */
#define SCAN_DB_THREADS 2

/* Delegations whose decision reads their history, read together: at
   most this many a query (and whatever waits at each tick). */
#define HISTORY_BATCH 200
/* How often the in-flight limit is judged (core/window.h), and where it
   starts: an interval holds a few hundred answers at the rates a loop
   turns over, and 64 probes in flight keep even a slow host busy. */
#define WINDOW_TICK_MS 100
#define WINDOW_MIN 64

struct batch;

/* One delegation on its way through the worker. A job is allocated when
   it starts and takes its delegation out of the claimed batch (moved,
   not duplicated); it goes when it is recorded. So a slow delegation
   (a server that times out) holds its own ~5 KB and nothing of the
   rest of its batch, which is what kept a rescan's memory at ~20
   batches of rows (docs/BENCH.md). */
struct job {
	struct batch *b;
	size_t idx;                  /* in b->jobs */
	struct db_delegation *deleg; /* &own */
	struct scan_result *res;
	struct cds_decision dec;
	int64_t now;
	/* CSYNC (policy.csync): the decision, allocated when asked (it is
	   large and most scans need it only until recorded); for a change,
	   the delegation it leaves; what the recorder did with it. */
	struct cds_csync_decision *csync;
	struct cds_ns *csync_after;
	size_t n_csync_after;
	enum db_outcome csync_out;
	/* the sanity probe of the delegation the change leaves, kept for
	   the change's audit evidence */
	struct scan_result *csync_check;
	struct db_delegation own; /* last: not zeroed, moved in */
};

/* Delegations claimed together. The claimed rows (d) go once every job
   has started and taken its own; the batch once the last is recorded. */
struct batch {
	struct scan_worker *w;
	struct batch *prev, *next;
	struct db_delegation *d; /* d[started..n) wait; NULL once all started */
	struct job **jobs;       /* jobs[0..started), NULL once released */
	size_t n;
	size_t started; /* jobs started */
	size_t left;    /* jobs not yet recorded (started or not) */
	int64_t id;     /* the run's batch (cdscan.run_batch) */
};

/* Database tasks; the struct db_task comes first (the callbacks get it). */
struct claim_task {
	struct db_task t;
	struct scan_worker *w;
	int64_t *done;  /* batches recorded whole, to mark done first */
	size_t n_done;
	struct db_delegation *d;
	size_t n;
};

struct write_task {
	struct db_task t;
	struct scan_worker *w;
	struct job **jobs;
	struct db_result *r;
	size_t n, recorded;
};

struct change_task {
	struct db_task t;
	struct scan_worker *w;
	struct job *j;
	struct db_result r;
	enum db_outcome out;
};

/* The history of delegations decided once without it, for which
   policy_history_matters. */
struct history_task {
	struct db_task t;
	struct scan_worker *w;
	struct job **jobs;
	struct db_delegation **d; /* jobs[i]->deleg, sorted by the load */
	size_t n;
};

struct renew_task {
	struct db_task t;
	struct scan_worker *w;
};

struct progress_task {
	struct db_task t;
	struct scan_worker *w;
	int64_t done;
};

/* Is the run over? If not, take back the claims of dead workers here. */
struct end_task {
	struct db_task t;
	struct scan_worker *w;
	bool finished;
	int64_t freed;     /* claims taken back */
	char gone[256];    /* from whom */
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
	size_t concurrency;     /* the most in flight */
	bool adaptive;          /* scan.adaptive-window */
	int64_t lease_ms;
	bool early_stop;
	uint16_t port;
	char worker[DB_WORKER_MAX];
	const struct cli_global *g;

	struct db *db;          /* this thread's: before and after the scan */
	struct db_pool *pool;   /* during the scan */
	struct db_run_info run;
	struct cli_scan_parts parts;
	struct event_base *base; /* parts.base */
	struct scanner *sc;      /* parts.sc */
	struct event *ev_tick;  /* progress, lease, flush, retry claims */
	/* The in-flight limit (core/window.h): concurrency when not
	   adaptive, else what wctl says, judged every WINDOW_TICK_MS from
	   the loop thread's scheduling, the window's fullness and the
	   engine's round trips since the last judgement (wprev). */
	size_t limit;
	struct cds_window wctl;
	struct event *ev_window;
	struct {
		int64_t t_us, full_us, sched_ns;
		uint64_t rtt_hist[CDS_RTT_BUCKETS];
	} wprev;
	struct event *ev_int, *ev_term;
	struct event *ev_db;    /* database tasks came back */

	/* claimed batches, oldest first; cur: the first not fully started */
	struct batch *head, *tail, *cur;
	size_t n_unstarted;     /* claimed, not started */
	/* batches recorded whole since the last claim, which marks them
	   done in the database */
	int64_t *done;
	size_t n_done, cap_done;
	/* probed and decided, waiting to be handed to the database */
	struct job **unwritten;
	size_t n_unwritten;
	/* probed, waiting for their history (policy_history_matters);
	   counted in n_waiting */
	struct job **hist_wait;
	size_t n_hist_wait;
	size_t in_flight;       /* probes */
	size_t n_waiting;       /* decided, not yet recorded */
	size_t max_waiting;     /* past this, no probe starts */
	size_t n_tasks;         /* claims, writes and changes in the pool */

	struct renew_task renew;
	struct progress_task prog;
	struct end_task end;
	bool claim_busy, renew_busy, prog_busy, end_busy;
	bool end_checked;       /* asked since the last claim came back empty */

	bool nothing_to_claim;  /* last claim came back empty */
	bool stopping;          /* SIGINT/SIGTERM: finish what is started */
	bool finished;          /* the run is done */
	bool closing;           /* the loop is over: tasks only free */
	int fatal;              /* a database error: stop now */

	/* CSYNC decisions of recorded jobs, kept for the next ones: 33 KB
	   each, past glibc's caches, and malloc searched its large bins
	   for every delegation (docs/BENCH.md). As many as can be alive at
	   once (probes and decided jobs), so no more than the peak. */
	struct cds_csync_decision **spare_csync;
	size_t n_spare_csync, cap_spare_csync;

	/* this worker's figures (also handed out: cli_scan_conf) */
	struct cli_scan_stats *stats;
	int64_t started_ms, last_renew_ms, last_flush_ms;
	uint64_t scanned, queries, changes, stale, lost;
	/* progress rate, from the run's own count */
	int64_t rate_t0_ms, rate_done0;
	double rate;
	/* How full the window was (fill): time with every slot taken, with
	   no claimed delegation left to start, with the database behind
	   (max_waiting), and the rest (nothing left to claim: the run's last
	   probes; stopping), and in_flight integrated over time: what an
	   operator tunes scan.concurrency and batch-size by. */
	struct {
		int64_t last_us;
		int64_t full_us, starved_us, held_us, rest_us;
		double inflight_us; /* sum of in_flight × µs */
		enum win_state {
			WIN_OTHER, WIN_FULL, WIN_STARVED, WIN_HELD
		} state;            /* since last_us */
		size_t in_flight;   /* w->in_flight at last_us */
	} win;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t now_ms(void)
{
	return now_us() / 1000;
}

/* Close the interval since the window last changed, and start one in
   the state the window is in now. */
static void win_account(struct scan_worker *w)
{
	int64_t t = now_us(), d = t - w->win.last_us;

	if (w->win.last_us) {
		w->win.inflight_us += (double)w->win.in_flight * (double)d;
		if (w->win.state == WIN_FULL)
			w->win.full_us += d;
		else if (w->win.state == WIN_STARVED)
			w->win.starved_us += d;
		else if (w->win.state == WIN_HELD)
			w->win.held_us += d;
		else
			w->win.rest_us += d;
	}
	w->win.last_us = t;
	w->win.in_flight = w->in_flight;
	if (w->in_flight >= w->limit)
		w->win.state = WIN_FULL;
	else if (w->n_waiting >= w->max_waiting)
		w->win.state = WIN_HELD;
	else if (!w->cur && !w->nothing_to_claim && !w->stopping)
		w->win.state = WIN_STARVED;
	else
		w->win.state = WIN_OTHER;
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
	w->sink = db_sink_from_name(conf_enum(conf, "sink"));
	w->batch_size = (size_t)conf_int(conf, "scan.batch-size");
	w->concurrency = (size_t)conf_int(conf, "scan.concurrency");
	w->adaptive = conf_bool(conf, "scan.adaptive-window");
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

/*
 * Give back the claims of workers on this host whose process is gone.
 * Runs on whichever connection it is given (the database thread's during
 * the scan); says whose in gone, for the caller to log.
 */
static int release_dead_claims(const struct scan_worker *w, struct db *db,
			       int64_t *freed_all, char *gone, size_t gonelen)
{
	char **claimants = NULL;
	size_t n = 0, off = 0;
	int rc = db_run_claimants(db, w->run.id, &claimants, &n);

	*freed_all = 0;
	gone[0] = '\0';
	for (size_t i = 0; rc == 0 && i < n; i++) {
		int64_t freed = 0;

		if (!worker_is_dead_here(w, claimants[i]))
			continue;
		rc = db_run_release(db, w->run.id, claimants[i], &freed);
		if (rc != 0 || !freed)
			continue;
		*freed_all += freed;
		if (off < gonelen)
			off += (size_t)snprintf(gone + off, gonelen - off, "%s%s",
						off ? ", " : "", claimants[i]);
	}
	db_strv_free(claimants, n);
	return rc;
}

static void log_released(const struct scan_worker *w, int64_t freed,
			 const char *gone)
{
	if (freed)
		log_info("run %" PRId64 ": took back %" PRId64 " delegations "
			 "claimed by %s, which is gone", w->run.id, freed, gone);
}

/* ---- batches and jobs ------------------------------------------------- */

/* A job and what it holds; its CSYNC decision is kept for the next. */
static void job_free(struct job *j)
{
	struct scan_worker *w = j->b->w;

	scan_result_free(j->res);
	scan_result_free(j->csync_check);
	if (j->csync && w->n_spare_csync < w->cap_spare_csync)
		w->spare_csync[w->n_spare_csync++] = j->csync;
	else
		free(j->csync);
	free(j->csync_after);
	db_delegation_deinit(j->deleg);
	free(j);
}

static void batch_free(struct batch *b)
{
	struct scan_worker *w = b->w;

	if (b->prev)
		b->prev->next = b->next;
	else
		w->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		w->tail = b->prev;
	if (w->cur == b)
		w->cur = b->next;
	for (size_t i = 0; i < b->started; i++)
		if (b->jobs[i])
			job_free(b->jobs[i]);
	for (size_t i = b->started; b->d && i < b->n; i++)
		db_delegation_deinit(&b->d[i]);
	free(b->jobs);
	free(b->d);
	free(b);
}

/* A batch whose every job is recorded: the next claim marks it done. A
   failed write stops the run (fatal), so one that ends otherwise had
   every job written. */
static void batch_recorded(struct batch *b)
{
	struct scan_worker *w = b->w;

	if (w->fatal || w->closing)
		return;
	if (w->n_done == w->cap_done) {
		size_t cap = w->cap_done ? 2 * w->cap_done : 8;
		int64_t *v = realloc(w->done, cap * sizeof *v);

		if (!v)
			return; /* it stays claimed: done at the end, or by
				   whoever takes it over, from its scans */
		w->done = v;
		w->cap_done = cap;
	}
	w->done[w->n_done++] = b->id;
}

/* A job is recorded (or given up): it goes now with what it holds, its
   batch with its last job. */
static void job_release(struct job *j)
{
	struct batch *b = j->b;

	b->jobs[j->idx] = NULL;
	job_free(j);
	if (--b->left == 0) {
		batch_recorded(b);
		batch_free(b);
	}
}

/* Stop the run: a database error (msg) or no memory. Queued database
   work is dropped — each task is a whole transaction, so nothing is half
   done — and the loop ends; the next run continues. */
static void fail_run(struct scan_worker *w, int rc, const char *msg)
{
	if (w->fatal || w->closing)
		return;
	w->fatal = rc;
	fprintf(stderr, "%scdscan scan: %s%s\n", w->progress ? "\n" : "",
		rc == CDS_ENOMEM ? "" : "database: ",
		rc == CDS_ENOMEM ? "out of memory" : msg);
	if (w->pool)
		db_pool_cancel(w->pool);
	event_base_loopbreak(w->base);
}

/* A task came back failed: say why, unless it was only canceled. */
static void task_failed(struct scan_worker *w, const struct db_task *t)
{
	if (t->rc != CDS_ECANCELED)
		fail_run(w, t->rc, t->err);
}

static void fill(struct scan_worker *w);
static void maybe_end(struct scan_worker *w);
static bool csync_change(const struct job *j);
static void log_csync(struct scan_worker *w, const struct job *j);

/* ---- results ---------------------------------------------------------- */

static struct db_result job_result(struct job *j)
{
	return (struct db_result){
		.deleg = j->deleg,
		.obs = j->res ? j->res->obs : NULL,
		.n_obs = j->res ? j->res->n_obs : 0,
		.dec = &j->dec,
		.time = j->now,
		.queries = j->res ? j->res->queries : 0,
		.csync = j->csync,
		.csync_after = j->csync_after,
		.n_csync_after = j->n_csync_after,
		.csync_outcome = &j->csync_out,
		.csync_check = j->csync_check ? j->csync_check->obs : NULL,
		.n_csync_check = j->csync_check ? j->csync_check->n_obs : 0,
	};
}

static int write_run(struct db *db, struct db_task *t)
{
	struct write_task *wt = (struct write_task *)t;
	const struct scan_worker *w = wt->w;

	return db_record_batch(db, w->run.id, w->worker, w->dry_run, wt->r,
			       wt->n, &wt->recorded);
}

static void write_done(struct db_task *t)
{
	struct write_task *wt = (struct write_task *)t;
	struct scan_worker *w = wt->w;

	w->n_tasks--;
	w->n_waiting -= wt->n;
	if (t->rc != 0) {
		task_failed(w, t);
	} else {
		w->scanned += wt->recorded;
		w->lost += wt->n - wt->recorded;
	}
	for (size_t i = 0; i < wt->n; i++)
		job_release(wt->jobs[i]);
	free(wt->jobs);
	free(wt->r);
	free(wt);
	fill(w);
}

/* Hand what is decided and changes nothing to the database, in one
   transaction. */
static void flush_unwritten(struct scan_worker *w)
{
	struct write_task *wt;
	struct job **fresh;

	if (w->n_unwritten == 0 || w->fatal || w->closing)
		return;
	wt = calloc(1, sizeof *wt);
	fresh = calloc(w->batch_size, sizeof *fresh);
	if (!wt || !fresh || !(wt->r = calloc(w->n_unwritten, sizeof *wt->r))) {
		free(wt);
		free(fresh);
		fail_run(w, CDS_ENOMEM, NULL);
		return;
	}
	wt->t.run = write_run;
	wt->t.done = write_done;
	wt->w = w;
	wt->jobs = w->unwritten;
	wt->n = w->n_unwritten;
	for (size_t i = 0; i < wt->n; i++)
		wt->r[i] = job_result(wt->jobs[i]);
	w->unwritten = fresh;
	w->n_unwritten = 0;
	w->last_flush_ms = now_ms();
	w->n_tasks++;
	db_pool_submit(w->pool, &wt->t, false);
}

static int change_run(struct db *db, struct db_task *t)
{
	struct change_task *ct = (struct change_task *)t;
	const struct scan_worker *w = ct->w;

	return db_record_change(db, w->run.id, w->worker, w->sink, &ct->r,
				&ct->out);
}

static void change_done(struct db_task *t)
{
	struct change_task *ct = (struct change_task *)t;
	struct scan_worker *w = ct->w;
	const struct job *j = ct->j;

	w->n_tasks--;
	w->n_waiting--;
	if (t->rc != 0) {
		task_failed(w, t);
		goto out;
	}
	switch (ct->out) {
	case DB_OUT_APPLIED:
	case DB_OUT_REQUESTED:
		w->changes++;
		w->scanned++;
		log_info("%s: %s applied (%s)", j->deleg->name,
			 cds_verdict_name(j->dec.verdict),
			 ct->out == DB_OUT_APPLIED ? "registry"
						   : "change request");
		break;
	case DB_OUT_STALE:
		w->stale++;
		w->scanned++;
		log_warn("%s: DS set changed during the scan; %s left for the "
			 "next run", j->deleg->name,
			 cds_verdict_name(j->dec.verdict));
		break;
	case DB_OUT_LOST:
		w->lost++;
		break;
	case DB_OUT_NONE:
		w->scanned++;
		break;
	}
	log_csync(w, ct->j);
out:
	job_release(ct->j);
	free(ct);
	fill(w);
}

/* What became of a CSYNC change (NS and glue) the scan carried. */
static void log_csync(struct scan_worker *w, const struct job *j)
{
	if (!j->csync || !j->csync_after)
		return;
	if (j->csync->verdict == CDS_DEC_PENDING) {
		log_info("%s: CSYNC change held for approval (serial %u)",
			 j->deleg->name, j->csync->serial);
		return;
	}
	switch (j->csync_out) {
	case DB_OUT_APPLIED:
	case DB_OUT_REQUESTED:
		w->changes++;
		log_info("%s: CSYNC NS/glue change %s", j->deleg->name,
			 j->csync_out == DB_OUT_APPLIED ? "applied (registry)"
			 : w->sink == DB_SINK_EPP ? "queued in the EPP outbox"
						  : "applied (change request)");
		break;
	case DB_OUT_STALE:
		w->stale++;
		log_warn("%s: NS set or glue changed during the scan; CSYNC "
			 "change left for the next run", j->deleg->name);
		break;
	default:
		break;
	}
}

/* Each accepted change in its own transaction, on a database thread. */
static void record_change(struct scan_worker *w, struct job *j)
{
	struct change_task *ct = calloc(1, sizeof *ct);

	if (!ct) {
		w->n_waiting--;
		job_release(j);
		fail_run(w, CDS_ENOMEM, NULL);
		return;
	}
	ct->t.run = change_run;
	ct->t.done = change_done;
	ct->w = w;
	ct->j = j;
	ct->r = job_result(j);
	w->n_tasks++;
	db_pool_submit(w->pool, &ct->t, false);
}

/* A delegation is through: decided (or refused before probing). */
/* The figures a daemon exports (cli_scan_stats): per verdict, per
   reason, and per kind of server failure. */
static void count_stats(struct cli_scan_stats *st, const struct job *j)
{
	size_t i;

	_Static_assert(CDS_R__COUNT <= 64, "cli_scan_stats.reasons too short");
	if ((unsigned)j->dec.verdict < CLI_SCAN_VERDICTS)
		st->verdicts[j->dec.verdict]++;
	if ((unsigned)j->dec.reason < CDS_R__COUNT)
		st->reasons[j->dec.reason]++;
	if (!j->res)
		return;
	for (i = 0; i < j->res->n_obs; i++) {
		int e = j->res->obs[i].error;

		if (e < 0 && -e < CLI_SCAN_ERRORS)
			st->server_errors[-e]++;
	}
}

static void job_done(struct scan_worker *w, struct job *j)
{
	if (w->fatal || w->closing) {
		job_release(j);
		return;
	}
	if (j->res)
		w->queries += j->res->queries;
	if (w->stats)
		count_stats(w->stats, j);
	w->n_waiting++;
	if (!w->dry_run && (j->dec.verdict == CDS_DEC_UPDATE ||
			    j->dec.verdict == CDS_DEC_DELETE ||
			    csync_change(j))) {
		record_change(w, j);
		return;
	}
	w->unwritten[w->n_unwritten++] = j;
	if (w->n_unwritten >= w->batch_size)
		flush_unwritten(w);
}

/* ---- CSYNC: NS and glue (RFC 7477, STANDARDS §6) ---------------------- */

/* A CSYNC change to carry out or to hold, with the delegation it leaves. */
static bool csync_change(const struct job *j)
{
	struct db_result r = {.csync = j->csync,
			      .csync_after = j->csync_after,
			      .n_csync_after = j->n_csync_after};

	return db_csync_wants_change(&r);
}

static bool csync_update(const struct job *j)
{
	return j->csync && (j->csync->verdict == CDS_DEC_UPDATE ||
			    (j->csync->verdict == CDS_DEC_PENDING &&
			     j->csync->reason == CDS_R_CSYNC_HELD));
}

/* Put `why` in front of a decision's detail. */
static void decided(struct scan_worker *w, struct job *j)
{
	job_done(w, j);
	fill(w);
}

/* The second probe came back: is the new delegation sane (issue 5
   item 2, Y8 [S])? */
static void sanity_probed(struct scan_result *res, void *arg)
{
	struct job *j = arg;
	struct scan_worker *w = j->b->w;
	struct cds_delegation deleg;

	w->in_flight--;
	if (w->fatal || w->closing) {
		scan_result_free(res);
		job_release(j);
		return;
	}
	snprintf(deleg.name, sizeof deleg.name, "%s", j->deleg->name);
	deleg.ds = j->deleg->ds;
	deleg.n_ds = j->deleg->n_ds;
	policy_csync_sanity(&deleg, res->obs, res->n_obs, j->csync);
	j->res->queries += res->queries;
	j->csync_check = res;
	decided(w, j);
}

/*
 * The CSYNC decision of a probed delegation, and for a change (now or
 * held) a probe of the delegation it would leave: its NS names, the
 * glue it gives them, the current DS; no CSYNC, no early stop. Returns
 * true when that probe started (sanity_probed finishes the job).
 */
static bool csync_decide(struct scan_worker *w, struct job *j)
{
	struct scan_request req;

	if (!w->pol.csync)
		return false;
	/* not zeroed: policy_decide_csync sets what is read (zeroing 33 KB
	   per delegation was a measurable part of a rescan's CPU) */
	if (w->n_spare_csync)
		j->csync = w->spare_csync[--w->n_spare_csync];
	else if (!(j->csync = malloc(sizeof *j->csync))) {
		j->dec.verdict = CDS_DEC_PENDING;
		snprintf(j->dec.detail, sizeof j->dec.detail, "out of memory");
		return false;
	}
	cli_decide_csync(j->deleg, j->res->obs, j->res->n_obs, &w->pol,
			 j->csync);
	{
		struct cds_delegation cur = {.ds = j->deleg->ds,
					     .n_ds = j->deleg->n_ds};

		policy_one_change_per_scan(&cur, &j->dec, j->csync);
	}
	if (!csync_update(j))
		return false;
	if (!(j->csync_after = calloc(CDS_CSYNC_NS_MAX,
				      sizeof *j->csync_after)) ||
	    policy_csync_result(j->csync, j->deleg->ns, j->deleg->n_ns,
				j->csync_after, &j->n_csync_after) != 0) {
		j->csync->verdict = CDS_DEC_REJECTED;
		j->csync->reason = CDS_R_CSYNC_NS_COUNT;
		snprintf(j->csync->detail, sizeof j->csync->detail,
			 "the new delegation has more than %d NS names",
			 CDS_CSYNC_NS_MAX);
		free(j->csync_after);
		j->csync_after = NULL;
		j->n_csync_after = 0;
		return false;
	}
	req = (struct scan_request){
		.zone = j->deleg->name,
		.ns = j->csync_after,
		.n_ns = j->n_csync_after,
		.ds = j->deleg->ds,
		.n_ds = j->deleg->n_ds,
		.now = j->now,
		.port = w->port,
	};
	if (scan_probe_start(w->sc, &req, sanity_probed, j) != 0) {
		j->csync->verdict = CDS_DEC_PENDING;
		j->csync->reason = CDS_R_CSYNC_NEW_NS_BROKEN;
		snprintf(j->csync->detail, sizeof j->csync->detail,
			 "the new delegation could not be probed");
		return false;
	}
	w->in_flight++;
	return true;
}

/* ---- history, for the decisions that read it ------------------------- */

static int history_run(struct db *db, struct db_task *t)
{
	struct history_task *ht = (struct history_task *)t;

	/* w->pol is set before the first task and never changed */
	return db_history_load(db, ht->d, ht->n,
			       ht->w->pol.notify_rejected_after);
}

static void history_done(struct db_task *t)
{
	struct history_task *ht = (struct history_task *)t;
	struct scan_worker *w = ht->w;

	w->n_tasks--;
	if (t->rc != 0)
		task_failed(w, t);
	for (size_t i = 0; i < ht->n; i++) {
		struct job *j = ht->jobs[i];

		w->n_waiting--;
		if (t->rc != 0 || w->fatal || w->closing) {
			job_release(j);
			continue;
		}
		cli_decide(j->deleg, j->res->obs, j->res->n_obs, &w->pol,
			   j->now, &j->dec);
		if (!csync_decide(w, j))
			job_done(w, j);
	}
	free(ht->jobs);
	free(ht->d);
	free(ht);
	fill(w);
}

/* Hand the delegations waiting for their history to the database, in
   one query. */
static void flush_history(struct scan_worker *w)
{
	struct history_task *ht;
	struct job **fresh;

	if (w->n_hist_wait == 0 || w->fatal || w->closing)
		return;
	ht = calloc(1, sizeof *ht);
	fresh = calloc(HISTORY_BATCH, sizeof *fresh);
	if (!ht || !fresh ||
	    !(ht->d = calloc(w->n_hist_wait, sizeof *ht->d))) {
		free(ht);
		free(fresh);
		fail_run(w, CDS_ENOMEM, NULL);
		return;
	}
	ht->t.run = history_run;
	ht->t.done = history_done;
	ht->w = w;
	ht->jobs = w->hist_wait;
	ht->n = w->n_hist_wait;
	for (size_t i = 0; i < ht->n; i++)
		ht->d[i] = ht->jobs[i]->deleg;
	w->hist_wait = fresh;
	w->n_hist_wait = 0;
	w->n_tasks++;
	db_pool_submit(w->pool, &ht->t, false);
}

/*
 * A delegation is probed: decided with no history first. Most
 * decisions (no CDS, or the CDS the DS already says; no CSYNC) are the
 * same whatever the history holds, and reading it for every claimed
 * delegation (four index probes each) was 1.4 s of the ~11 s
 * PostgreSQL spent on statements in a 100k rescan (docs/BENCH.md). The
 * others wait for theirs, read for many at once, and are decided again
 * with it.
 */
static void probed(struct scan_result *res, void *arg)
{
	struct job *j = arg;
	struct scan_worker *w = j->b->w;

	j->res = res;
	w->in_flight--;
	if (w->fatal || w->closing) {
		job_release(j);
		return;
	}
	cli_decide(j->deleg, res->obs, res->n_obs, &w->pol, j->now, &j->dec);
	if (policy_history_matters(&j->dec, res->obs, res->n_obs)) {
		w->n_waiting++;
		w->hist_wait[w->n_hist_wait++] = j;
		if (w->n_hist_wait >= HISTORY_BATCH)
			flush_history(w);
		fill(w);
		return;
	}
	if (csync_decide(w, j))
		return;
	decided(w, j);
}

/* ---- feeding the scanner ---------------------------------------------- */

static int claim_run(struct db *db, struct db_task *t)
{
	struct claim_task *ct = (struct claim_task *)t;
	const struct scan_worker *w = ct->w;

	return db_run_claim(db, w->run.id, w->worker, ct->done, ct->n_done,
			    &ct->d, &ct->n);
}

static void claim_done(struct db_task *t)
{
	struct claim_task *ct = (struct claim_task *)t;
	struct scan_worker *w = ct->w;
	struct batch *b = NULL;

	w->n_tasks--;
	w->claim_busy = false;
	if (t->rc != 0) {
		task_failed(w, t);
		goto out;
	}
	if (ct->n == 0) {
		w->nothing_to_claim = true;
		goto out;
	}
	if (!(b = calloc(1, sizeof *b)) ||
	    !(b->jobs = calloc(ct->n, sizeof *b->jobs))) {
		free(b);
		fail_run(w, CDS_ENOMEM, NULL);
		goto out;
	}
	/* Kept even when stopping or closing: teardown frees the batches,
	   and what was claimed but not started is released at the end. */
	b->w = w;
	b->d = ct->d;
	b->n = b->left = ct->n;
	b->id = ct->d[0].batch;
	ct->d = NULL;
	b->prev = w->tail;
	if (w->tail)
		w->tail->next = b;
	else
		w->head = b;
	w->tail = b;
	if (!w->cur)
		w->cur = b;
	w->n_unstarted += b->n;
out:
	if (ct->d) {
		for (size_t i = 0; i < ct->n; i++)
			db_delegation_deinit(&ct->d[i]);
		free(ct->d);
	}
	free(ct->done);
	free(ct);
	fill(w);
}

/*
 * Claim the next batch while this one is probed, so that the window does
 * not drain at a batch boundary. At most one claim at a time, and only
 * when less than a batch waits to start: this worker holds at most about
 * two batches it has not started, so its leases stay meaningful to
 * others.
 */
static void prefetch(struct scan_worker *w)
{
	struct claim_task *ct;

	if (w->fatal || w->closing || w->stopping || w->claim_busy ||
	    w->nothing_to_claim || w->n_unstarted >= w->batch_size)
		return;
	if (!(ct = calloc(1, sizeof *ct))) {
		fail_run(w, CDS_ENOMEM, NULL);
		return;
	}
	ct->t.run = claim_run;
	ct->t.done = claim_done;
	ct->w = w;
	/* the list goes with the task (the loop keeps adding to its own) */
	ct->done = w->done;
	ct->n_done = w->n_done;
	w->done = NULL;
	w->n_done = w->cap_done = 0;
	w->claim_busy = true;
	w->n_tasks++;
	db_pool_submit(w->pool, &ct->t, false);
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

static void start_one(struct scan_worker *w, struct job *j)
{
	const struct db_delegation *d = j->deleg;
	struct scan_request req;

	j->now = cli_now(w->g);
	if (d->load_error) {
		/* The registry holds something we cannot scan as it is: say
		   so in the record instead of stopping the run. */
		j->dec.verdict = CDS_DEC_PENDING;
		j->dec.reason = CDS_R_NONE;
		snprintf(j->dec.detail, sizeof j->dec.detail, "not scanned: %s",
			 d->load_errtext);
		job_done(w, j);
		return;
	}
	req = (struct scan_request){
		.zone = d->name,
		.ns = d->ns,
		.n_ns = d->n_ns,
		.ds = d->ds,
		.n_ds = d->n_ds,
		.now = j->now,
		.port = w->port,
		.early_stop = w->early_stop,
		.csync = w->pol.csync,
		.early_seed = name_hash(d->name),
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

/* The loop thread's time on a CPU and waiting for one, in ns
   (/proc/thread-self/schedstat: schedstats), or -1. */
static int64_t loop_sched_ns(void)
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	unsigned long long run, wait;
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%llu %llu", &run, &wait);
	fclose(f);
	return n == 2 ? (int64_t)(run + wait) : -1;
}

/* Where the next interval of the window starts from. */
static void window_mark(struct scan_worker *w, int64_t t_us)
{
	struct scan_engine_stats st;

	scan_engine_get_stats(w->parts.eng, &st);
	w->wprev.t_us = t_us;
	w->wprev.full_us = w->win.full_us;
	w->wprev.sched_ns = loop_sched_ns();
	memcpy(w->wprev.rtt_hist, st.rtt_hist, sizeof w->wprev.rtt_hist);
}

/* One interval of the adaptive window: what it showed to core/window.h,
   and the limit it gives back. */
static void window_tick(evutil_socket_t fd, short what, void *arg)
{
	struct scan_worker *w = arg;
	struct cds_window_obs obs = {.busy = -1};
	struct scan_engine_stats st;
	int64_t t, sched;
	double dt;

	(void)fd;
	(void)what;
	win_account(w);
	t = w->win.last_us;
	dt = (double)(t - w->wprev.t_us);
	sched = loop_sched_ns();
	scan_engine_get_stats(w->parts.eng, &st);
	if (dt > 0) {
		if (sched >= 0 && w->wprev.sched_ns >= 0)
			obs.busy = (double)(sched - w->wprev.sched_ns) /
				   (dt * 1000.0);
		obs.full = (double)(w->win.full_us - w->wprev.full_us) / dt;
		obs.rtt_ms = cds_rtt_percentile(st.rtt_hist, w->wprev.rtt_hist,
						0.10, &obs.samples);
		obs.rate = (double)obs.samples * 1e6 / dt;
		w->limit = cds_window_update(&w->wctl, &obs);
		log_debug("scan: window busy %.2f full %.2f rtt p10 %.2f ms "
			  "(%" PRIu64 " answers, least %.2f) in flight %zu, "
			  "limit %zu",
			  obs.busy, obs.full, obs.rtt_ms, obs.samples,
			  w->wctl.base, w->in_flight, w->limit);
	}
	window_mark(w, t);
	fill(w);
}

/*
 * Keep scan.concurrency delegations in flight while there is work and
 * the database keeps up (backpressure: at most max_waiting results
 * decided and not yet recorded).
 */
static void fill(struct scan_worker *w)
{
	if (w->closing)
		return;
	while (!w->fatal && !w->stopping && w->cur &&
	       w->in_flight < w->limit && w->n_waiting < w->max_waiting) {
		struct batch *b = w->cur;
		struct job *j = malloc(sizeof *j);

		if (!j) {
			fail_run(w, CDS_ENOMEM, NULL);
			break;
		}
		/* zero but the delegation, which is moved in: the claimed
		   row gives up what it owns (ns, ds_text) to the job */
		memset(j, 0, offsetof(struct job, own));
		memcpy(&j->own, &b->d[b->started], sizeof j->own);
		j->b = b;
		j->idx = b->started;
		j->deleg = &j->own;
		b->jobs[b->started] = j;
		if (++b->started == b->n) {
			w->cur = b->next;
			free(b->d);
			b->d = NULL;
		}
		w->n_unstarted--;
		start_one(w, j);
	}
	win_account(w);
	prefetch(w);
	maybe_end(w);
}

/* ---- the end of the run ------------------------------------------------ */

static int end_run(struct db *db, struct db_task *t)
{
	struct end_task *e = (struct end_task *)t;
	int64_t done, claimed, todo;
	int rc;

	e->finished = false;
	if ((rc = db_run_progress(db, e->w->run.id, &done, &claimed, &todo)))
		return rc;
	if (todo == 0 && claimed == 0)
		return db_run_finish(db, e->w->run.id, &e->finished);
	/* Others hold claims: wait for them, or for their lease to lapse
	   (a dead worker on this host is released at once). */
	return release_dead_claims(e->w, db, &e->freed, e->gone,
				   sizeof e->gone);
}

static void end_done(struct db_task *t)
{
	struct end_task *e = (struct end_task *)t;
	struct scan_worker *w = e->w;

	w->end_busy = false;
	if (t->rc != 0) {
		task_failed(w, t);
		return;
	}
	log_released(w, e->freed, e->gone);
	if (e->finished) {
		w->finished = true;
		event_base_loopbreak(w->base);
	}
	/* else the tick claims again */
}

/*
 * Nothing in flight, nothing left to start, nothing to claim: once what
 * is decided is recorded, end the loop (when stopping) or ask whether
 * the run is over.
 */
static void maybe_end(struct scan_worker *w)
{
	if (w->fatal || w->closing || w->in_flight || w->end_busy)
		return;
	if (!w->stopping &&
	    (w->cur || w->claim_busy || !w->nothing_to_claim || w->end_checked))
		return;
	flush_history(w);
	flush_unwritten(w);
	if (w->n_tasks || w->fatal)
		return;
	if (w->stopping) {
		event_base_loopbreak(w->base);
		return;
	}
	w->end = (struct end_task){
		.t = {.run = end_run, .done = end_done},
		.w = w,
	};
	w->end_busy = w->end_checked = true;
	db_pool_submit(w->pool, &w->end.t, false);
}

/* ---- the tick: progress, lease, flush, claims again -------------------- */

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

static int renew_run(struct db *db, struct db_task *t)
{
	const struct scan_worker *w = ((struct renew_task *)t)->w;

	return db_run_renew(db, w->run.id, w->worker, w->lease_ms);
}

static void renew_done(struct db_task *t)
{
	struct scan_worker *w = ((struct renew_task *)t)->w;

	w->renew_busy = false;
	if (t->rc != 0)
		task_failed(w, t);
}

static int progress_run(struct db *db, struct db_task *t)
{
	struct progress_task *p = (struct progress_task *)t;

	return db_run_progress(db, p->w->run.id, &p->done, NULL, NULL);
}

static void progress_done(struct db_task *t)
{
	struct progress_task *p = (struct progress_task *)t;
	struct scan_worker *w = p->w;

	w->prog_busy = false;
	if (t->rc != 0)
		task_failed(w, t);
	else if (!w->fatal && !w->closing)
		show_progress(w, p->done, false);
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct scan_worker *w = arg;
	int64_t t = now_ms();

	(void)fd;
	(void)what;
	if (w->fatal)
		return;
	/* Ahead of any queued writes: a lease that lapses behind a backlog
	   would hand this worker's delegations to another. */
	if (!w->renew_busy && t - w->last_renew_ms >= w->lease_ms / 3) {
		w->renew = (struct renew_task){
			.t = {.run = renew_run, .done = renew_done},
			.w = w,
		};
		w->renew_busy = true;
		w->last_renew_ms = t;
		db_pool_submit(w->pool, &w->renew.t, true);
	}
	flush_history(w);
	if (t - w->last_flush_ms >= 2000)
		flush_unwritten(w);
	if (w->progress && !w->prog_busy) {
		w->prog = (struct progress_task){
			.t = {.run = progress_run, .done = progress_done},
			.w = w,
		};
		w->prog_busy = true;
		db_pool_submit(w->pool, &w->prog.t, false);
	}
	/* Nothing to claim last time: others may have given some back, or
	   their lease lapsed. Ask again, at this pace. */
	if (w->nothing_to_claim && w->end_checked && !w->end_busy &&
	    !w->stopping) {
		w->nothing_to_claim = false;
		w->end_checked = false;
	}
	fill(w);
}

static void db_wake(evutil_socket_t fd, short what, void *arg)
{
	struct scan_worker *w = arg;

	(void)fd;
	(void)what;
	db_pool_reap(w->pool);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct scan_worker *w = arg;

	(void)what;
	if (w->stopping) {
		/* second signal: leave now; the claims lapse or are released
		   by the next worker on this host, and a transaction cut
		   short is rolled back by the server */
		fprintf(stderr, "\ncdscan scan: stopped\n");
		exit(CLI_EXIT_FAIL);
	}
	w->stopping = true;
	fprintf(stderr, "%scdscan scan: %s: finishing the %zu delegations in "
			"flight (again to stop at once)\n",
		w->progress ? "\n" : "", strsignal((int)sig), w->in_flight);
	maybe_end(w);
}

/* ---- setup and summary ------------------------------------------------ */

static int setup_scanner(struct scan_worker *w, const struct conf *conf)
{
	char err[512] = "";
	int rc = cli_scan_parts_init(&w->parts, conf, "scan");

	if (rc != 0)
		return rc;
	w->base = w->parts.base;
	w->sc = w->parts.sc;
	if ((rc = db_pool_new(w->db, SCAN_DB_THREADS, &w->pool, err,
			      sizeof err)) != 0) {
		fprintf(stderr, "cdscan scan: %s\n", err);
		return rc;
	}
	/* Bounded: three batches' worth decided and not yet recorded, so
	   that a slow database slows the scan instead of filling memory. */
	w->max_waiting = 3 * w->batch_size;
	w->unwritten = calloc(w->batch_size, sizeof *w->unwritten);
	w->hist_wait = calloc(HISTORY_BATCH, sizeof *w->hist_wait);
	w->cap_spare_csync = w->max_waiting + w->concurrency;
	w->spare_csync = calloc(w->cap_spare_csync, sizeof *w->spare_csync);
	w->ev_tick = event_new(w->base, -1, EV_PERSIST, tick, w);
	w->ev_int = evsignal_new(w->base, SIGINT, on_signal, w);
	w->ev_term = evsignal_new(w->base, SIGTERM, on_signal, w);
	w->ev_db = event_new(w->base, db_pool_fd(w->pool), EV_READ | EV_PERSIST,
			     db_wake, w);
	if (!w->unwritten || !w->hist_wait || !w->spare_csync || !w->ev_tick ||
	    !w->ev_int ||
	    !w->ev_term || !w->ev_db)
		return CDS_ENOMEM;
	event_add(w->ev_tick, &(struct timeval){0, 250000});
	w->limit = w->concurrency;
	if (w->adaptive) {
		cds_window_init(&w->wctl, WINDOW_MIN, (unsigned)w->concurrency);
		w->limit = w->wctl.limit;
		if (!(w->ev_window = event_new(w->base, -1, EV_PERSIST,
					       window_tick, w)))
			return CDS_ENOMEM;
		window_mark(w, now_us());
		event_add(w->ev_window,
			  &(struct timeval){0, WINDOW_TICK_MS * 1000});
	}
	event_add(w->ev_int, NULL);
	event_add(w->ev_term, NULL);
	event_add(w->ev_db, NULL);
	return 0;
}

/* End the database threads; the tasks still out come back and free what
   they hold. */
static void stop_pool(struct scan_worker *w)
{
	w->closing = true;
	db_pool_free(w->pool);
	w->pool = NULL;
}

static void teardown(struct scan_worker *w)
{
	stop_pool(w);
	for (size_t i = 0; i < w->n_unwritten; i++)
		job_release(w->unwritten[i]);
	free(w->unwritten);
	for (size_t i = 0; i < w->n_hist_wait; i++)
		job_release(w->hist_wait[i]);
	free(w->hist_wait);
	free(w->done);
	if (w->ev_tick)
		event_free(w->ev_tick);
	if (w->ev_window)
		event_free(w->ev_window);
	if (w->ev_int)
		event_free(w->ev_int);
	if (w->ev_term)
		event_free(w->ev_term);
	if (w->ev_db)
		event_free(w->ev_db);
	/* probes cut short never call back: their jobs go with the batch */
	cli_scan_parts_deinit(&w->parts);
	while (w->head)
		batch_free(w->head);
	db_close(w->db);
	for (size_t i = 0; i < w->n_domains; i++)
		free(w->domains[i]);
	free(w->domains);
}

static void print_worker_summary(struct scan_worker *w)
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
	win_account(w);
	if (w->win.last_us > 0 && secs > 0)
		printf("  window: %.0f of %zu in flight on average; full %.1f s, "
		       "waiting for a claim %.1f s, for the database %.1f s, "
		       "nothing left to start %.1f s\n",
		       w->win.inflight_us / (secs * 1e6), w->concurrency,
		       (double)w->win.full_us / 1e6,
		       (double)w->win.starved_us / 1e6,
		       (double)w->win.held_us / 1e6,
		       (double)w->win.rest_us / 1e6);
	{
		static const uint64_t none[CDS_RTT_BUCKETS];
		struct scan_engine_stats st;
		uint64_t n;
		double p50, p90;

		scan_engine_get_stats(w->parts.eng, &st);
		p50 = cds_rtt_percentile(st.rtt_hist, none, 0.5, &n);
		p90 = cds_rtt_percentile(st.rtt_hist, none, 0.9, &n);
		if (n)
			printf("  round trips of %" PRIu64 " first answers: "
			       "half within %.2f ms, nine in ten within "
			       "%.2f ms\n", n, p50, p90);
	}
	if (w->adaptive && w->win.last_us > 0) {
		printf("  in-flight limit: %u at the end, at most %u",
		       w->wctl.limit, w->wctl.high);
		if (w->wctl.shrunk)
			printf(", at least %u once lowered", w->wctl.low);
		printf(" (scan.concurrency %zu; grown %u times, lowered %u, "
		       "%u of those undone; least 10th percentile of an "
		       "interval's round trips %.2f ms)\n",
		       w->concurrency, w->wctl.grown, w->wctl.shrunk,
		       w->wctl.undone, w->wctl.base);
	}
	if (w->stale)
		printf("  %" PRIu64 " changes left alone: the DS set changed "
		       "during the scan\n", w->stale);
	if (w->lost)
		printf("  %" PRIu64 " results dropped: another worker took "
		       "over their claim\n", w->lost);
}

int cmd_scan(int argc, char **argv, const struct cli_global *g)
{
	struct conf *conf = cli_load_conf(g);
	int ret;

	if (!conf)
		return CLI_EXIT_FAIL;
	ret = cli_scan_conf(argc, argv, g, conf, NULL);
	conf_free(conf);
	return ret;
}

int cli_scan_conf(int argc, char **argv, const struct cli_global *g,
		  struct conf *conf, struct cli_scan_stats *stats)
{
	struct scan_worker *w = calloc(1, sizeof *w);
	struct db_run_spec spec;
	int ret = CLI_EXIT_FAIL, rc;
	int64_t freed;
	char gone[256];

	if (!w)
		goto out;
	w->g = g;
	w->stats = stats;
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
		.batch_size = w->batch_size,
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
	w->started_ms = w->last_flush_ms = w->last_renew_ms = now_ms();
	if (release_dead_claims(w, w->db, &freed, gone, sizeof gone) != 0) {
		fprintf(stderr, "cdscan scan: database: %s\n", db_errmsg(w->db));
		goto out;
	}
	log_released(w, freed, gone);
	/* From here to the end of the loop only the database threads talk
	   to PostgreSQL. */
	fill(w);
	if (!w->fatal)
		event_base_dispatch(w->base);
	stop_pool(w);
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
	if (!w->dry_run) {
		/* Hand over what this run queued, without holding the run:
		   events go to the hook in a detached `cdscan notify`; with
		   sink: epp the outbox is sent once now (what cannot be sent
		   stays queued for `cdscan epp send` or the next scan). */
		cli_notify_kick(g, conf);
		if (w->sink == DB_SINK_EPP)
			cli_epp_kick(conf);
	}
	if (w->finished) {
		if (db_report_run_summary(w->db, w->run.id, stdout) != 0)
			fprintf(stderr, "cdscan scan: database: %s\n",
				db_errmsg(w->db));
	} else if (w->stopping) {
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
	if (w && stats) {
		stats->run_id = w->run.id;
		stats->finished = w->finished;
		stats->scanned = w->scanned;
		stats->queries = w->queries;
		stats->changes = w->changes;
		stats->stale = w->stale;
	}
	if (w) {
		teardown(w);
		/* after the teardown: jobs it released came back here */
		while (w->n_spare_csync)
			free(w->spare_csync[--w->n_spare_csync]);
		free(w->spare_csync);
	}
	free(w);
	return ret;
}
