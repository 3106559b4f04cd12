/*
 * Subcommands of the cdscan binary. Each parses its own options, wires the
 * modules together and prints. Exit codes: 0 ran, 1 could not run, 2
 * usage error.
 */
#ifndef CDS_CLI_CLI_H
#define CDS_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1
#define CLI_EXIT_USAGE 2

/* Options shared by every subcommand, parsed by main(). */
struct cli_global {
	const char *config_path; /* -c FILE, or NULL for the default */
	int verbose;             /* -v count */
	/* --now UNIX or CDSCAN_NOW: the time policy and validation use
	   (time is an input: tests move it). 0: the clock. */
	int64_t now;
};

/* The time of this command: --now/CDSCAN_NOW when given, else the clock. */
int64_t cli_now(const struct cli_global *g);

/*
 * Decide one delegation a scan has probed: policy_decide_ds() on what the
 * servers said, then the registry's own rules (policy_apply_registry())
 * with what the registry holds about the domain and its history. The one
 * place `scan` (and later the daemon) turn observations into a decision.
 */
struct db_delegation;
struct policy_config;
struct cds_server_obs;
struct cds_decision;
void cli_decide(const struct db_delegation *d, const struct cds_server_obs *obs,
		size_t n_obs, const struct policy_config *pol, int64_t now,
		struct cds_decision *dec);

/*
 * The CSYNC decision (RFC 7477, STANDARDS §6) beside the DS one:
 * policy_decide_csync() on what the servers said, against the
 * delegation's NS set and glue as the registry holds them, with its
 * flags and history (locks, opt-out, the last CSYNC serial acted on).
 */
struct cds_csync_decision;
void cli_decide_csync(const struct db_delegation *d,
		      const struct cds_server_obs *obs, size_t n_obs,
		      const struct policy_config *pol,
		      struct cds_csync_decision *out);

/*
 * `cdscan scan` with a configuration already loaded (borrowed; --set
 * options in argv still change it): for the daemon, which runs scans in
 * a forked child with the configuration it holds (after SIGHUP, the one
 * it accepted). When `stats` is not NULL it is filled (zero it first)
 * with this worker's figures, for metrics. Returns a CLI_EXIT_* code.
 */
#define CLI_SCAN_VERDICTS 5 /* enum cds_verdict values */
#define CLI_SCAN_ERRORS 32  /* -CDS_E* codes counted */
struct cli_scan_stats {
	int64_t run_id;
	bool finished;          /* the run is complete */
	uint64_t scanned, queries, changes, stale;
	uint64_t verdicts[CLI_SCAN_VERDICTS];
	uint64_t reasons[64];   /* by enum cds_reason (< CDS_R__COUNT) */
	uint64_t server_errors[CLI_SCAN_ERRORS]; /* servers failing, by -CDS_E* */
};
struct conf;
int cli_scan_conf(int argc, char **argv, const struct cli_global *g,
		  struct conf *conf, struct cli_scan_stats *stats);

/* argv[0] is the subcommand name. */
int cmd_check(int argc, char **argv, const struct cli_global *g);
int cmd_config(int argc, char **argv, const struct cli_global *g);
int cmd_init(int argc, char **argv, const struct cli_global *g);
int cmd_import(int argc, char **argv, const struct cli_global *g);
int cmd_export(int argc, char **argv, const struct cli_global *g);
int cmd_scan(int argc, char **argv, const struct cli_global *g);
int cmd_status(int argc, char **argv, const struct cli_global *g);
int cmd_history(int argc, char **argv, const struct cli_global *g);
int cmd_runs(int argc, char **argv, const struct cli_global *g);
int cmd_prune(int argc, char **argv, const struct cli_global *g);
/* After a scheduled run (the daemon): prune as scan.keep says, logging
   what was deleted; 0 when scan.keep is 0. */
struct conf;
int cli_prune_after_run(const struct conf *conf, int64_t now);
int cmd_epp(int argc, char **argv, const struct cli_global *g);
int cmd_outbox(int argc, char **argv, const struct cli_global *g);
int cmd_approve(int argc, char **argv, const struct cli_global *g);
int cmd_reject(int argc, char **argv, const struct cli_global *g);

/*
 * Send what the EPP outbox holds that is due (sink: epp), once, like
 * `cdscan epp send`: for a scan or the daemon to call after recording
 * its changes. Blocks while it talks to the registry (epp.timeout per
 * command). 0, CDS_ECONFIG (EPP settings or password file refused;
 * printed) or CDS_EDB.
 */
struct conf;
int cli_epp_kick(const struct conf *conf);
int cmd_notify(int argc, char **argv, const struct cli_global *g);
/* `cdscan daemon` (cli/daemon.c): schedule, NOTIFY listener, metrics. */
int cmd_daemon(int argc, char **argv, const struct cli_global *g);
int cmd_events(int argc, char **argv, const struct cli_global *g);

/*
 * Start delivering events without waiting (cli/notify.c): when
 * notify.hook is set, deliver due events in a detached process, as
 * `cdscan notify` would, with this configuration as it is (--set
 * overrides included) and the caller's time, and return at once. For the
 * end of a scan. 0, or -1 when fork failed (the events wait for the next
 * notify).
 */
struct conf;
int cli_notify_kick(const struct cli_global *g, const struct conf *conf);

/* Split a notify.hook command line into words, without a shell: blanks
   separate, '...' and "..." quote, backslash escapes. `buf` as long as
   `line`; argv (max entries, NULL-terminated) points into it. Returns
   the number of words, or -1 with why in err. */
int cli_hook_split(const char *line, char *buf, char **argv, size_t max,
		   char *err, size_t errlen);

/*
 * Load the configuration named by -c (or the default path; a missing
 * default file means built-in defaults). Prints the error and returns
 * NULL on failure.
 */
struct conf;
struct conf *cli_load_conf(const struct cli_global *g);

/* A positive number for option `opt` of `cmd` (--limit, --run): 0, or
   -1 with the error printed. */
int cli_positive(const char *arg, const char *cmd, const char *opt,
		 long long *out);

/* --set KEY=VALUE: override one configuration value. Prints the error
   (naming `cmd`) and returns -1 when refused. */
int cli_set_option(struct conf *conf, const char *arg, const char *cmd);

/*
 * Connect to the configured `database` and check that the schema is the
 * one this binary knows (unless `any_version`, for `cdscan init`). Prints
 * the error, naming `cmd`, and returns NULL on failure.
 */
struct db;
struct db *cli_open_db(const struct conf *conf, const char *cmd,
		       bool any_version);

/*
 * The scanning parts every scanning subcommand wires the same way: one
 * event loop, the query engine (scanner.*), the validated resolver
 * (resolver.*) and the scanner over them. Prints what failed, naming
 * `cmd`. Teardown accepts a half-built set.
 */
struct cli_scan_parts {
	struct event_base *base;
	struct scan_engine *eng;
	struct scan_resolver *res;
	struct scanner *sc;
};
int cli_scan_parts_init(struct cli_scan_parts *p, const struct conf *conf,
			const char *cmd);
void cli_scan_parts_deinit(struct cli_scan_parts *p);

#endif
