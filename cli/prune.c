/*
 * `cdscan prune`: delete scans older than --older-than (or scan.keep)
 * with their server rows. What stays whatever its age — each domain's
 * newest scans, the streaks status and policy count, scans of unfinished
 * runs, scans that changes and events name — is db/prune.c's.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/json.h"
#include "core/log.h"
#include "db/db.h"

static void prune_usage(FILE *f)
{
	fprintf(f, "usage: cdscan prune [--older-than DURATION] [--dry-run] "
		   "[--json] [--set KEY=VALUE]...\n");
}

/* The cutoff for scan.keep at `now`, as Unix time and as text. */
static int64_t prune_cutoff(const struct conf *conf, int64_t now, char *when,
			    size_t len)
{
	int64_t cutoff = now - conf_duration_ms(conf, "scan.keep") / 1000;
	time_t tc = (time_t)cutoff;
	struct tm tm;

	if (!gmtime_r(&tc, &tm) ||
	    !strftime(when, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(when, len, "%lld", (long long)cutoff);
	return cutoff;
}

static int prune_db(struct db *db, const struct conf *conf, int64_t cutoff,
		    bool dry_run, struct db_prune_stats *st)
{
	return db_prune_scans(db, cutoff,
			      (unsigned)conf_int(conf,
						 "policy.notify-rejected-after"),
			      dry_run, st);
}

int cli_prune_after_run(const struct conf *conf, int64_t now)
{
	struct db_prune_stats st;
	struct db *db;
	char when[32];
	int64_t cutoff;
	int ret = -1;

	if (conf_duration_ms(conf, "scan.keep") <= 0)
		return 0;
	cutoff = prune_cutoff(conf, now, when, sizeof when);
	if (!(db = cli_open_db(conf, "prune", false)))
		return -1;
	if (prune_db(db, conf, cutoff, false, &st) != 0) {
		log_err("prune: %s (what was deleted stays deleted; the next "
			"run goes on)", db_errmsg(db));
	} else {
		log_info("prune: deleted %" PRId64 " scans made before %s, "
			 "with %" PRId64 " server rows, and the work lists of "
			 "%" PRId64 " runs (scan.keep)",
			 st.deleted, when, st.servers, st.runs);
		ret = 0;
	}
	db_close(db);
	return ret;
}

int cmd_prune(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"older-than", required_argument, NULL, 'o'},
		{"dry-run", no_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct conf *conf = NULL;
	struct db *db = NULL;
	struct db_prune_stats st;
	bool dry_run = false, json = false;
	char kv[160], when[32];
	int64_t cutoff;
	int o, ret = CLI_EXIT_USAGE;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			/* the syntax and bounds of scan.keep, which it
			   stands in for */
			snprintf(kv, sizeof kv, "scan.keep=%s", optarg);
			if (cli_set_option(conf, kv, "prune") != 0)
				goto out;
			break;
		case 'n': dry_run = true; break;
		case 'j': json = true; break;
		case 's':
			if (cli_set_option(conf, optarg, "prune") != 0)
				goto out;
			break;
		case 'h':
			prune_usage(stdout);
			ret = CLI_EXIT_OK;
			goto out;
		default: prune_usage(stderr); goto out;
		}
	}
	if (optind != argc) {
		prune_usage(stderr);
		goto out;
	}
	if (conf_duration_ms(conf, "scan.keep") <= 0) {
		fprintf(stderr, "cdscan prune: how old must a scan be? give "
				"--older-than DURATION (e.g. 90d), or set "
				"scan.keep in the configuration\n");
		goto out;
	}
	ret = CLI_EXIT_FAIL;
	cutoff = prune_cutoff(conf, cli_now(g), when, sizeof when);
	if (!(db = cli_open_db(conf, "prune", false)))
		goto out;
	if (prune_db(db, conf, cutoff, dry_run, &st) != 0) {
		/* what was deleted before stays deleted: each statement is
		   its own transaction, and the next prune goes on */
		fprintf(stderr, "cdscan prune: %s\n", db_errmsg(db));
		goto out;
	}
	if (json) {
		struct json j;

		json_init(&j, stdout, true);
		json_object_begin(&j, NULL);
		json_str(&j, "before", when);
		json_bool(&j, "dry_run", dry_run);
		json_int(&j, "domains", st.domains);
		json_int(&j, "scans", st.scans);
		json_int(&j, "server_rows", st.servers);
		json_int(&j, "deleted", st.deleted);
		json_int(&j, "runs", st.runs);
		json_int(&j, "batches", st.batches);
		json_object_end(&j);
		json_finish(&j);
	} else {
		printf("%s %" PRId64 " scan%s made before %s, with %" PRId64
		       " server row%s (%" PRId64 " domain%s looked at),\n"
		       "and the work lists of %" PRId64 " run%s finished "
		       "before then (%" PRId64 " batch%s)\n",
		       dry_run ? "would delete" : "deleted",
		       dry_run ? st.scans : st.deleted,
		       (dry_run ? st.scans : st.deleted) == 1 ? "" : "s", when,
		       st.servers, st.servers == 1 ? "" : "s", st.domains,
		       st.domains == 1 ? "" : "s", st.runs,
		       st.runs == 1 ? "" : "s", st.batches,
		       st.batches == 1 ? "" : "es");
	}
	ret = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return ret;
}
