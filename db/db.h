/*
 * The database sink: cdscan's only door to PostgreSQL (libpq). It owns the
 * schema and its migrations (db/sql/), reads delegations through the SQL
 * interface (the cdscan.delegation and cdscan.glue views), shares the work
 * of a run between workers (FOR UPDATE SKIP LOCKED), records what every
 * server said and what was decided, and applies accepted DS changes one
 * transaction each, with the audit row (cdscan.apply_ds()).
 *
 * Nothing here decides anything: decisions come in as plain structs.
 * Errors: 0 or a negative CDS_E* code (CDS_EDB for anything the server or
 * the connection refused); db_errmsg() then says what, for people.
 */
#ifndef CDS_DB_DB_H
#define CDS_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/decision.h"
#include "core/dnssec.h"
#include "core/obs.h"

#define DB_NS_MAX 32        /* NS names kept per delegation */
#define DB_STATUS_MAX 16    /* status flags kept per delegation */
#define DB_STATUS_LEN 48
#define DB_WORKER_MAX 128   /* "host:pid" */
#define DB_REGISTRAR_LEN 64 /* registrar ids kept (longer are cut) */

struct db;

/* ---- connection ------------------------------------------------------- */

/*
 * Connect with a libpq conninfo string ("" uses the PG* environment).
 * On failure returns CDS_EDB and writes the reason into err.
 */
int db_open(const char *conninfo, struct db **out, char *err, size_t errlen);
void db_close(struct db *db);

/* The last error, for people ("connection to server lost", the server's
   message). Borrowed; valid until the next call on db. */
const char *db_errmsg(const struct db *db);

/* ---- schema (db/migrate.c) -------------------------------------------- */

/*
 * Bring the schema to the newest version, each migration in its own
 * transaction, under an advisory lock so that two `cdscan init` at once
 * are safe. *from and *to (may be NULL) get the versions before and after;
 * equal when there was nothing to do.
 */
int db_migrate(struct db *db, int *from, int *to);

/* The schema version (0 when cdscan's tables do not exist). */
int db_schema_version(struct db *db, int *version);

/* Newest version this binary knows. */
int db_schema_latest(void);

/* ---- delegations ------------------------------------------------------ */

/* One delegation as the registry holds it (read from cdscan.delegation
   and cdscan.glue). */
struct db_delegation {
	char name[CDS_NAME_MAX];
	size_t n_ns;
	/* n_ns entries (at most DB_NS_MAX), glue from cdscan.glue; owned.
	   Allocated to size: a fixed array of DB_NS_MAX (~32 KB) per
	   delegation was most of a claimed batch's memory. */
	struct cds_ns *ns;
	/* n_ds entries (at most CDS_DS_MAX), owned; NULL when none. Allocated
	   to size, as ns: a fixed array was 2.2 KB of a delegation's 5.9,
	   zeroed with every claimed batch and copied into every job, for
	   the one or two DS records a delegation has, if any. */
	size_t n_ds;
	struct cds_ds *ds;
	/* The ds column exactly as the view gave it (an array literal):
	   passed back as p_before to cdscan.apply_ds(). Owned. */
	char *ds_text;
	size_t n_statuses;
	char statuses[DB_STATUS_MAX][DB_STATUS_LEN];
	bool optout;
	/* The batch of the run it was claimed in (cdscan.run_batch):
	   recording checks that this worker still holds it. */
	int64_t batch;
	/* The registrar (cdscan.delegation.registrar, "" when none) and
	   whether it opted all its domains out (cdscan.registrar), read
	   with the claim. */
	char registrar[DB_REGISTRAR_LEN];
	bool registrar_optout;
	/* Earlier scans and changes (db/history.c): zero from the claim;
	   read after the probe, for a delegation whose decision they can
	   change (policy_history_matters). */
	struct cds_history hist;
	/* Set when the row could not be read into this struct (too many NS
	   names, a DS the parser refuses): the delegation is recorded with
	   this error instead of being scanned. */
	int load_error;
	char load_errtext[CDS_ERRTEXT_MAX];
};

void db_delegation_deinit(struct db_delegation *d);

/*
 * Fill d[i]->hist for n delegations from cdscan's own tables (audit,
 * scan, csync_change): one query for all of them, and one more for the
 * streaks of those whose newest scan was rejected or bootstrap-waiting.
 * A rejected streak is counted up to streak_cap (policy.notify-rejected-
 * after: whether it reaches that is all the policy asks; a longer one
 * reads as streak_cap) and not at all when streak_cap is 0.
 * Sorts d by name. A name may come twice; both get its history.
 */
int db_history_load(struct db *db, struct db_delegation **d, size_t n,
		    unsigned streak_cap);

/* ---- runs and work distribution (db/run.c) ---------------------------- */

struct db_run_spec {
	const char *const *domains; /* NULL/0: every delegation */
	size_t n_domains;
	bool dry_run;
	const char *worker;         /* "host:pid"; copied */
	int64_t lease_ms;           /* claims lapse after this unless renewed */
	size_t batch_size;          /* a new run is cut into batches of this
	                               many (0: DB_BATCH_DEFAULT) */
};

#define DB_BATCH_DEFAULT 1000

struct db_run_info {
	int64_t id;
	bool joined;                /* an unfinished run of the same selection
	                               existed: this worker joins or resumes it */
	int64_t total;              /* delegations in the run */
	int64_t done;               /* already recorded */
};

/*
 * Join the unfinished run of the same selection and mode, or start a new
 * one that lists every selected delegation. Serialised between workers so
 * that workers started together share one run. Domains named but not held
 * are not in the run (CDS_ENOTFOUND when none is).
 */
int db_run_begin(struct db *db, const struct db_run_spec *spec,
		 struct db_run_info *out);

/*
 * Claim the next batch of the run (cdscan.run_batch): one never claimed,
 * or one whose worker's lease lapsed (never this worker's own lapsed
 * claims, which it still holds), and read its delegations not yet
 * recorded in the run. *out is a new array of *n_out delegations (free
 * each with db_delegation_deinit, then free the array), each with its
 * batch; *n_out == 0 when there is nothing to claim right now.
 *
 * done[0..n_done): batches of this worker whose every delegation it has
 * recorded (committed): marked done first, in the same statement. A
 * batch is only marked done when the scans say so, whatever the list.
 */
int db_run_claim(struct db *db, int64_t run_id, const char *worker,
		 const int64_t *done, size_t n_done,
		 struct db_delegation **out, size_t *n_out);

/* Extend this worker's claims by the lease again; batches that another
   connection is recording into right now (row locked) are passed over. */
int db_run_renew(struct db *db, int64_t run_id, const char *worker,
		 int64_t lease_ms);

/* Give back the claims of `worker` (this worker at its end, or one on
   this host whose process is gone): a batch it recorded whole is done,
   any other todo again, for others to take at once. *n gets how many
   delegations went back. */
int db_run_release(struct db *db, int64_t run_id, const char *worker,
		   int64_t *n);

/* Workers holding claims in the run (for the caller to check which are
   alive). *out: array of *n strings, free with db_strv_free. */
int db_run_claimants(struct db *db, int64_t run_id, char ***out, size_t *n);
void db_strv_free(char **v, size_t n);

/* Progress of the run: delegations recorded, and those left in claimed
   batches (live or lapsed) and in batches never claimed or given back. */
int db_run_progress(struct db *db, int64_t run_id, int64_t *done,
		    int64_t *claimed, int64_t *todo);

/* Mark the run finished when nothing is left; *finished says whether it
   is (by this call or an earlier one). */
int db_run_finish(struct db *db, int64_t run_id, bool *finished);

/* ---- results ---------------------------------------------------------- */

/* What happened to an accepted change. */
enum db_outcome {
	DB_OUT_NONE = 0,  /* no change was asked, or dry run */
	DB_OUT_APPLIED,   /* DS set replaced (sink db) */
	DB_OUT_REQUESTED, /* change request written (sink requests), or
	                     the change queued in the EPP outbox (sink epp;
	                     the scan row says 'queued') */
	DB_OUT_STALE,     /* the DS set changed during the scan: left alone */
	DB_OUT_LOST,      /* this worker's claim was taken over: not recorded */
};

enum db_sink { DB_SINK_TABLES = 0, DB_SINK_REQUESTS, DB_SINK_EPP };

/* The sink named by the configuration's `sink` ("db", "requests",
   "epp"); anything else is DB_SINK_TABLES. */
enum db_sink db_sink_from_name(const char *name);

/* One scanned delegation, ready to record. Everything borrowed. */
struct db_result {
	const struct db_delegation *deleg;
	const struct cds_server_obs *obs;
	size_t n_obs;
	const struct cds_decision *dec;
	int64_t time;                /* unix seconds, the `now` of policy */
	unsigned queries;
	/* CSYNC (db/csync.c): the decision made beside the DS one (NULL:
	   CSYNC not asked), and for an UPDATE or a held change the
	   delegation it leaves (policy_csync_result). csync_outcome, when
	   not NULL, gets what db_record_change did with it. */
	const struct cds_csync_decision *csync;
	const struct cds_ns *csync_after;
	size_t n_csync_after;
	enum db_outcome *csync_outcome;
	/* what the sanity probe of the delegation a CSYNC change leaves saw
	   (issue 5 item 2), for the change's audit evidence; may be NULL */
	const struct cds_server_obs *csync_check;
	size_t n_csync_check;
};

/*
 * Record results whose decision changes nothing (or any results in a dry
 * run): the scan rows, the server rows, and the items marked done, all in
 * one transaction. Items whose claim this worker lost are skipped;
 * *n_recorded says how many were recorded.
 */
int db_record_batch(struct db *db, int64_t run_id, const char *worker,
		    bool dry_run, const struct db_result *r, size_t n,
		    size_t *n_recorded);

/*
 * Record one result whose decision is UPDATE or DELETE, or whose CSYNC
 * decision is UPDATE or held (db_csync_wants_change), and carry the
 * change out, in one transaction: the scan row and its server rows, the
 * item marked done, cdscan.apply_ds() (sink tables) or a change request
 * (sink requests), and the audit row with the evidence. *outcome says
 * which; DB_OUT_STALE records the scan with outcome 'stale' and no audit
 * row. On any error nothing of it is kept.
 */
int db_record_change(struct db *db, int64_t run_id, const char *worker,
		     enum db_sink sink, const struct db_result *r,
		     enum db_outcome *outcome);

/* ---- CSYNC: NS and glue changes (db/csync.c) ------------------------- */

/*
 * A CSYNC change (RFC 7477, STANDARDS §6) is recorded by
 * db_record_change in the transaction of its scan: with sink db,
 * cdscan.apply_ns() replaces the NS set and the in-bailiwick glue when
 * the registry still holds the `before` the scan read (else outcome
 * stale), with an audit row (kind 'ns-update', the NS and glue before
 * and after, the evidence); with sink requests a change request (kind
 * 'ns-update'); a held change (immediate flag unset, Y3) becomes a
 * 'held' row of cdscan.csync_change for `cdscan approve` / `reject`,
 * superseding any held before it. Glue is "NAME ADDRESS" of NS names
 * inside the domain only.
 */

/* Does r carry a CSYNC change to record (UPDATE, or PENDING csync-held
   with the resulting delegation)? */
bool db_csync_wants_change(const struct db_result *r);

/* A held CSYNC change with the delegation as the registry holds it now. */
struct db_csync_held {
	int64_t id;
	char domain[CDS_NAME_MAX];
	int64_t created;             /* unix seconds */
	uint32_t serial;
	uint16_t flags;
	/* the sets held (owned vectors: db_csync_held_deinit) */
	char **before_ns, **after_ns, **before_glue, **after_glue;
	size_t n_before_ns, n_after_ns, n_before_glue, n_after_glue;
	/* the registry now: NS set, in-bailiwick glue, DS set */
	char **cur_ns, **cur_glue;
	size_t n_cur_ns, n_cur_glue;
	size_t n_ds;
	struct cds_ds ds[CDS_DS_MAX];
	char *ds_text;               /* the view's DS column (owned) */
};

/* The held change of `domain`; *found false when there is none (or the
   domain is not held). */
int db_csync_held_get(struct db *db, const char *domain,
		      struct db_csync_held *h, bool *found);
void db_csync_held_deinit(struct db_csync_held *h);

/* Does the registry still hold the NS set and glue the change started
   from (as sets)? */
bool db_csync_held_current(const struct db_csync_held *h);

/*
 * Carry out held change h, approved by `actor` ("approve:NAME"), in one
 * transaction: cdscan.apply_ns() (sink db; *outcome APPLIED, or STALE
 * when the registry moved: the row is then superseded) or a change
 * request (sink requests; REQUESTED), the row's state, and an audit row
 * whose evidence is the held one plus `check` (a JSON object text: what
 * the new probe saw; may be NULL).
 */
int db_csync_approve(struct db *db, const struct db_csync_held *h,
		     enum db_sink sink, const char *actor, const char *check,
		     int64_t now, enum db_outcome *outcome);

/* Mark held change h rejected (or, with `superseded`, superseded) by
   `actor` with `why` (may be NULL), with an audit row (kind
   'ns-rejected'; nothing else changes). */
int db_csync_close(struct db *db, const struct db_csync_held *h,
		   bool superseded, const char *actor, const char *why,
		   int64_t now);

/* `cdscan status`: the held CSYNC change of `domain`, if any (text). */
int db_csync_status(struct db *db, const char *domain, FILE *out);

/*
 * What a probe of the delegation a CSYNC change leaves saw, as the
 * members of an open JSON array: per server its name, address, error,
 * SOA serial, whether it answered authoritatively, and whether it proved
 * the DNSKEY set with the current DS. The audit evidence of a change
 * (scan or approval) carries it under "check".
 */
struct json;
void db_csync_check_servers(struct json *j, const struct cds_server_obs *obs,
			    size_t n);

/* ---- off the caller's thread (db/async.c) ----------------------------- */

/*
 * A pool of threads, each with its own connection, that runs database
 * work for an event loop which must not block on it (`cdscan scan`). The
 * caller submits tasks; a thread runs task->run on its connection; the
 * finished task comes back through db_pool_reap, on the caller's thread,
 * which calls task->done. db_pool_fd becomes readable when tasks are
 * waiting to be reaped.
 *
 * Tasks run in the order submitted, but up to n at once: the caller
 * submits at once only work that may commit in any order (each task is
 * its own transaction). Nothing is shared between threads except the
 * task handed over: the caller must not touch what a task reads until
 * its done callback.
 */
struct db_pool;

struct db_task {
	/* On a pool thread, with that thread's connection: 0 or CDS_E*. */
	int (*run)(struct db *db, struct db_task *t);
	/* On the caller's thread, in db_pool_reap (or db_pool_free). */
	void (*done)(struct db_task *t);
	/* Set by the pool: what run returned (CDS_ECANCELED: never run, the
	   pool was stopped), and db_errmsg() when it failed. */
	int rc;
	char err[512];
	struct db_task *next; /* the pool's */
};

/*
 * Open n connections like `db` (same conninfo, same lease) and start a
 * thread for each. On failure returns CDS_EDB (or CDS_ENOMEM) with the
 * reason in err.
 */
int db_pool_new(const struct db *db, size_t n, struct db_pool **out,
		char *err, size_t errlen);

/* Queue t. `first`: ahead of everything queued (lease renewals, which
   must not wait behind a backlog of writes). */
void db_pool_submit(struct db_pool *p, struct db_task *t, bool first);

/* Readable while finished tasks wait for db_pool_reap. */
int db_pool_fd(const struct db_pool *p);

/* Call done() for every finished task, in the order they finished.
   Returns how many. */
size_t db_pool_reap(struct db_pool *p);

/* Run nothing more that is queued: those tasks come back with
   CDS_ECANCELED. Tasks already running finish. */
void db_pool_cancel(struct db_pool *p);

/* Cancel, wait for the running tasks, reap everything (done() is called
   for each), close the connections. */
void db_pool_free(struct db_pool *p);

/* ---- notifications (db/events.c) --------------------------------------- */

/* One event taken for delivery. */
struct db_event {
	int64_t id;
	char domain[CDS_NAME_MAX];
	char kind[16];       /* ds-update, ds-delete, bootstrap, rejected */
	int attempts;        /* made before this one */
	char *json;          /* what the hook gets on stdin, one line; owned */
};

/*
 * Take the oldest pending event due at `now` (unix seconds) that no
 * other notifier holds, and keep it locked: the caller runs the hook and
 * then must call db_event_finish (which ends the transaction this
 * opens). *found false (transaction ended) when none is due.
 */
int db_event_next(struct db *db, int64_t now, struct db_event *ev,
		  bool *found);

/*
 * Record the attempt: delivered, or failed with `error`, retried after
 * retry_ms doubled per earlier attempt (at most a day), marked failed
 * after `max_attempts`. *state (may be NULL) gets "delivered",
 * "pending" or "failed". Commits.
 */
int db_event_finish(struct db *db, const struct db_event *ev, bool delivered,
		    const char *error, int64_t now, int64_t retry_ms,
		    int max_attempts, const char **state);
void db_event_deinit(struct db_event *ev);

/* `cdscan events [DOMAIN]`: the newest `limit` events (of DOMAIN, or all)
   with their delivery state. Text, or a JSON array. */
int db_report_events(struct db *db, const char *domain, size_t limit,
		     bool json, FILE *out);

/* ---- import and export (db/zone.c) ------------------------------------ */

struct db_import_stats {
	size_t added, changed, removed, unchanged; /* delegations */
	size_t glue_added, glue_removed;           /* host addresses */
	char origin[CDS_NAME_MAX];                 /* the origin used */
};

/*
 * Make the delegations under `origin` in the registry tables equal to
 * the delegations of a parent zone file (NS, glue A/AAAA, DS), in one
 * transaction: nothing is changed when any line is refused. `origin` NULL
 * takes it from the file's SOA. DS changes get audit rows (actor
 * "import"). On a bad line returns CDS_EINVAL with "FILE:LINE: why" in
 * err.
 */
int db_import_zone(struct db *db, const char *path, const char *origin,
		   struct db_import_stats *st, char *err, size_t errlen);

/*
 * Print every delegation under `origin` (NULL: all) as zone-file text:
 * NS, DS, then glue A/AAAA of in-bailiwick NS names, sorted by owner,
 * with `ttl`.
 */
int db_export_zone(struct db *db, const char *origin, uint32_t ttl, FILE *out);

/* ---- reports (db/report.c) -------------------------------------------- */

struct json;

/* `cdscan status DOMAIN`: last scan per server, decision, reason, pending
   work, last change. Text for a terminal, or one JSON object. CDS_ENOTFOUND
   when the domain is not held. */
int db_report_status(struct db *db, const char *domain, bool json, FILE *out);

/* `cdscan history DOMAIN`: applied changes, newest first, with evidence. */
int db_report_history(struct db *db, const char *domain, bool json, FILE *out);

/* `cdscan runs`: the last `limit` runs with counts, duration and rates. */
int db_report_runs(struct db *db, size_t limit, bool json, FILE *out);

/* Counts per verdict and per reason of one run (the end-of-scan summary). */
int db_report_run_summary(struct db *db, int64_t run_id, FILE *out);

/* ---- pruning old scans (db/prune.c) ---------------------------------- */

struct db_prune_stats {
	int64_t domains; /* domains with scans, all looked at */
	int64_t scans;   /* scans older than the cutoff that may go */
	int64_t servers; /* their server rows */
	int64_t deleted; /* scans deleted: `scans`, or 0 for a dry run */
	/* finished runs whose batches and tallies went (or would) */
	int64_t runs;
	int64_t batches; /* their batches, with the names they listed */
};

/*
 * `cdscan prune`: delete the scans made before `cutoff` (Unix time) with
 * their server rows, except those still read (db/prune.c says which);
 * per domain at least the newest `keep_newest` scans that were not dry
 * runs stay (policy.notify-rejected-after; 0 counts as 1). Then the
 * work queue and tallies of the runs finished before `cutoff` (their
 * counts stay). With dry_run only counts. A statement per 2000 domains,
 * each its own transaction, and one for the runs.
 */
int db_prune_scans(struct db *db, int64_t cutoff, unsigned keep_newest,
		   bool dry_run, struct db_prune_stats *st);

/* ---- the EPP outbox (db/outbox.c) ------------------------------------ */

/* One change on its way to a registry (cdscan.epp_outbox). */
struct db_outbox_item {
	int64_t id;
	char domain[CDS_NAME_MAX];
	bool is_delete;
	/* an NS change (kind 'ns-update', from CSYNC): the NS sets before
	   and after, each name with its glue when it lies inside the
	   domain; the DS fields below are then unused */
	bool is_ns;
	/* host objects an NS change left behind (kind 'host-delete', row
	   of_id's change): the names still to delete are in before_ns */
	bool is_hosts;
	int64_t of_id;
	size_t n_before_ns, n_after_ns;
	struct cds_ns before_ns[CDS_CSYNC_NS_MAX], after_ns[CDS_CSYNC_NS_MAX];
	int attempts;                /* including this one */
	bool taken_over;             /* it was 'sending' under a dead sender */
	size_t n_before, n_after, n_keys;
	struct cds_ds before[CDS_DS_MAX], after[CDS_DS_MAX];
	struct cds_dnskey keys[CDS_DS_MAX];
	char cl_trid[72];
};

/*
 * Write the accepted change of r to the outbox (db_record_change does,
 * inside its transaction, with sink epp): after_ds from the decision,
 * after_keys from the CDNSKEYs the servers published for it. Every
 * queued change of the same domain (tried or not) is superseded by it;
 * one in flight or pending stays, and this one goes after it.
 */
int db_outbox_queue(struct db *db, int64_t run_id, int64_t scan_id,
		    const struct db_result *r);

/*
 * Take the oldest change that is due — queued and past next_attempt, or
 * 'sending' under a lapsed lease — and is the oldest open change of its
 * domain (changes of one domain go out in order), with id > after_id;
 * mark it 'sending' by `sender` ("host:pid") until lease_ms from now.
 * FOR UPDATE SKIP LOCKED: several senders never take the same row.
 * *found false when there is none.
 */
int db_outbox_take(struct db *db, const char *sender, int64_t after_id,
		   int64_t lease_ms, struct db_outbox_item *it, bool *found);

/*
 * The DS sets (after_ds) of the changes before `it` that were tried and
 * then superseded, since the domain's last confirmed change, newest
 * first: a registry holding one of them holds what one of our own
 * changes left, not a change made by other means. At most `max` sets
 * into sets[i] (lens[i] records each), their number in *n.
 */
int db_outbox_earlier_sets(struct db *db, const struct db_outbox_item *it,
			   struct cds_ds (*sets)[CDS_DS_MAX], size_t *lens,
			   size_t max, size_t *n);

/* The same for an NS change: the NS name sets (after_ns, names only)
   of the earlier tried and superseded NS changes of its domain, newest
   first. */
int db_outbox_earlier_ns(struct db *db, const struct db_outbox_item *it,
			 struct cds_ns (*sets)[CDS_CSYNC_NS_MAX], size_t *lens,
			 size_t max, size_t *n);

/* Senders holding rows in 'sending' (for the caller to see which are
   dead); *out: db_strv_free. */
int db_outbox_senders(struct db *db, char ***out, size_t *n);

/* Give the rows of a dead sender back ('queued', due now). */
int db_outbox_release(struct db *db, const char *sender, int64_t *n);

/* The registry holds after_ds: 'done', and the local tables follow
   (cdscan.apply_ds(before, after)) in the same transaction. */
int db_outbox_done(struct db *db, int64_t id, int code, const char *msg);

/*
 * The registry confirmed an NS change (kind ns-update): as
 * db_outbox_done, and when host_objects, in the same statement, a
 * 'host-delete' row for the host objects it left behind: the names of
 * before_ns and of `removed` (what the domain:update removed, which
 * may differ when an earlier change of ours had moved the registry;
 * borrowed, may be NULL) that lie inside the domain and are not in
 * after_ns. The row goes out after this one, like any change.
 */
int db_outbox_done_ns(struct db *db, int64_t id, int code, const char *msg,
		      bool host_objects, const char *const *removed,
		      size_t n_removed);

/* What became of one host object of a 'host-delete' row. */
enum db_host_fate {
	DB_HOST_DELETED,  /* 1000 (or 1001) */
	DB_HOST_GONE,     /* 2303: the registry had no such host */
	DB_HOST_LEFT,     /* kept: 2305 (still used), or another refusal */
};

/* Record it at once, so that a retry sends host:delete only for the
   hosts still open (the row must be 'sending'). */
int db_outbox_host_fate(struct db *db, int64_t id, const char *name,
			enum db_host_fate fate, int code);

/* Every host of row id has its fate: 'done', with what became of each
   in last_message, or 'refused' when one was kept for another reason
   than 2305 (*refused says which). */
int db_outbox_hosts_end(struct db *db, int64_t id, bool *refused);

/* 1001: 'pending' until the poll message for cl_trid. */
int db_outbox_pending(struct db *db, int64_t id, int code, const char *msg,
		      const char *cl_trid);

/* Try again after delay_ms ('queued'). */
int db_outbox_retry(struct db *db, int64_t id, int code, const char *msg,
		    int64_t delay_ms);

/* A final refusal, kept with the registry's code and message. */
int db_outbox_refuse(struct db *db, int64_t id, int code, const char *msg);

/*
 * A poll message settled a pending change: the 'pending' row of `domain`
 * with this cl_trid (or, when cl_trid is "", the domain's only pending
 * row) becomes 'done' (with the local tables) or 'refused'. *found false
 * when there is no such row.
 */
int db_outbox_settle(struct db *db, const char *domain, const char *cl_trid,
		     bool ok, const char *msg, bool *found);

/* Rows in 'pending' (to know whether to poll). */
int db_outbox_count(struct db *db, const char *state, int64_t *n);

/* `cdscan outbox`: open and refused changes (all with `all`), newest
   last; text or a JSON array. */
int db_outbox_report(struct db *db, bool all, bool json, FILE *out);

/* The outbox rows of one domain, for `cdscan status` (text). */
int db_outbox_status(struct db *db, const char *domain, FILE *out);

/* ---- the daemon's own questions (db/daemon.c) -------------------------- */

/*
 * The daemon's own connection (the NOTIFY loop's): like db_open, but the
 * connection and every statement below end within `timeout_ms` (the
 * server is told too: statement_timeout). CDS_ETIMEOUT when the time ran
 * out, CDS_EDB when refused; err names why.
 */
int db_daemon_open(const char *conninfo, int64_t timeout_ms, struct db **out,
		   char *err, size_t errlen);
/* Put a connection of db_open under the same limit. 0, CDS_EDB or
   CDS_ETIMEOUT. */
int db_daemon_limit(struct db *db, int64_t timeout_ms);

/* Whether `name` (lower case, trailing dot) is one of cdscan.delegation:
   the NOTIFY listener's check before it queues a scan. CDS_ETIMEOUT
   after `timeout_ms` (close the connection then), CDS_EDB on error. */
int db_delegation_held(struct db *db, const char *name, int64_t timeout_ms,
		       bool *held);

/* Gauges for the metrics endpoint, read in one statement. */
struct db_daemon_gauges {
	int64_t bootstrap_waiting; /* newest scan says bootstrap-waiting */
	int64_t outbox_open;       /* EPP outbox rows queued/sending/pending */
	int64_t outbox_oldest_s;   /* age of the oldest of those, seconds */
};
int db_daemon_gauges(struct db *db, int64_t timeout_ms,
		     struct db_daemon_gauges *out);

#endif
