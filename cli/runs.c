/*
 * `cdscan runs`: the last runs, newest first, with their progress, counts
 * per verdict, changes applied, duration and rate, and how many workers
 * shared them. For people, or a JSON array with --json. `--run ID` prints
 * one run's summary instead: counts per verdict and per reason, the one
 * `cdscan scan` prints at its end. The reports are db/report.c's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "db/db.h"

#define RUNS_DEFAULT_LIMIT 10

static void runs_usage(FILE *f)
{
	fprintf(f, "usage: cdscan runs [--limit N] [--json] [--set KEY=VALUE]...\n"
		   "       cdscan runs --run ID [--set KEY=VALUE]...\n");
}

int cmd_runs(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, 'n'},
		{"run", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct conf *conf = NULL;
	struct db *db = NULL;
	long long limit = RUNS_DEFAULT_LIMIT, run = 0;
	bool json = false;
	char *end;
	int o, ret = CLI_EXIT_USAGE;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (cli_positive(optarg, "runs", "--limit",
					 &limit) != 0)
				goto out;
			break;
		case 'r':
			run = strtoll(optarg, &end, 10);
			if (*end || end == optarg || run <= 0) {
				fprintf(stderr, "cdscan runs: --run needs a run "
						"id, not '%s'\n", optarg);
				goto out;
			}
			break;
		case 'j': json = true; break;
		case 's':
			if (cli_set_option(conf, optarg, "runs") != 0)
				goto out;
			break;
		case 'h':
			runs_usage(stdout);
			ret = CLI_EXIT_OK;
			goto out;
		default: runs_usage(stderr); goto out;
		}
	}
	if (optind != argc || (run && json)) {
		runs_usage(stderr);
		goto out;
	}
	ret = CLI_EXIT_FAIL;
	if (!(db = cli_open_db(conf, "runs", false)))
		goto out;
	if ((run ? db_report_run_summary(db, run, stdout)
		 : db_report_runs(db, (size_t)limit, json, stdout)) != 0) {
		fprintf(stderr, "cdscan runs: %s\n", db_errmsg(db));
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return ret;
}
