/*
 * The two per-domain reports, `cdscan status DOMAIN` and `cdscan history
 * DOMAIN`: the same options (--json, --set), the same checks of the name,
 * one database call each. The reports themselves are db/report.c's.
 *
 * status: one delegation as the registry holds it now, what its last scan
 * saw at every server and decided, anything pending (a verdict that keeps
 * coming back, a change request, a run about to scan it, a change left
 * alone as stale) and the last change made.
 *
 * history: every change made to the delegation's DS set, newest first:
 * when, by whom (a scan or an import), in which run, the set before and
 * after, and the evidence it was made on.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "db/db.h"

typedef int (*domain_report_fn)(struct db *db, const char *domain, bool json,
				FILE *out);

static void report_usage(FILE *f, const char *cmd)
{
	fprintf(f, "usage: cdscan %s DOMAIN [--json] [--set KEY=VALUE]...\n",
		cmd);
}

static int domain_report(int argc, char **argv, const struct cli_global *g,
			 const char *cmd, domain_report_fn report)
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
			if (cli_set_option(conf, optarg, cmd) != 0)
				goto out;
			break;
		case 'h':
			report_usage(stdout, cmd);
			ret = CLI_EXIT_OK;
			goto out;
		default: report_usage(stderr, cmd); goto out;
		}
	}
	if (optind + 1 != argc) {
		report_usage(stderr, cmd);
		goto out;
	}
	if (cds_name_normalize(argv[optind], domain) != 0) {
		fprintf(stderr, "cdscan %s: '%s' is not a domain name\n", cmd,
			argv[optind]);
		goto out;
	}
	ret = CLI_EXIT_FAIL;
	if (!(db = cli_open_db(conf, cmd, false)))
		goto out;
	if (report(db, domain, json, stdout) != 0) {
		fprintf(stderr, "cdscan %s: %s\n", cmd, db_errmsg(db));
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return ret;
}

int cmd_status(int argc, char **argv, const struct cli_global *g)
{
	return domain_report(argc, argv, g, "status", db_report_status);
}

int cmd_history(int argc, char **argv, const struct cli_global *g)
{
	return domain_report(argc, argv, g, "history", db_report_history);
}
