/*
 * `cdscan status DOMAIN`: one delegation as the registry holds it now,
 * what its last scan saw at every server and decided, anything pending
 * (a verdict that keeps coming back, a change request, a run about to
 * scan it, a change left alone as stale) and the last change made. For
 * people, or one JSON object with --json. The report is db/report.c's.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "db/db.h"

static void status_usage(FILE *f)
{
	fprintf(f, "usage: cdscan status DOMAIN [--json] [--set KEY=VALUE]...\n");
}

int cmd_status(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char domain[CDS_NAME_MAX];
	struct conf *conf = NULL;
	struct db *db = NULL;
	bool json = false;
	int o, ret = CLI_EXIT_USAGE;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'j': json = true; break;
		case 's':
			if (cli_set_option(conf, optarg, "status") != 0)
				goto out;
			break;
		case 'h':
			status_usage(stdout);
			ret = CLI_EXIT_OK;
			goto out;
		default: status_usage(stderr); goto out;
		}
	}
	if (optind + 1 != argc) {
		status_usage(stderr);
		goto out;
	}
	if (cds_name_normalize(argv[optind], domain) != 0) {
		fprintf(stderr, "cdscan status: '%s' is not a domain name\n",
			argv[optind]);
		goto out;
	}
	ret = CLI_EXIT_FAIL;
	if (!(db = cli_open_db(conf, "status", false)))
		goto out;
	if (db_report_status(db, domain, json, stdout) != 0) {
		fprintf(stderr, "cdscan status: %s\n", db_errmsg(db));
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return ret;
}
