/*
 * `cdscan outbox [--all] [--json]`: what the EPP outbox holds — changes
 * queued, in flight, pending a poll message, and refused with the
 * registry's code and message (with --all, done and superseded ones too).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "db/db.h"

#define USAGE "usage: cdscan outbox [--all] [--json] [--set KEY=VALUE]...\n"

int cmd_outbox(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct conf *conf = NULL;
	struct db *db = NULL;
	bool all = false, json = false;
	int c, rc = CLI_EXIT_FAIL;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'j': json = true; break;
		case 's':
			if (cli_set_option(conf, optarg, "outbox") != 0) {
				rc = CLI_EXIT_USAGE;
				goto out;
			}
			break;
		default:
			fprintf(c == 'h' ? stdout : stderr, USAGE
				"Changes waiting for, in flight to, or refused "
				"by the registry (sink: epp).\n");
			rc = c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, USAGE);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (!(db = cli_open_db(conf, "outbox", false)))
		goto out;
	if (db_outbox_report(db, all, json, stdout) != 0) {
		fprintf(stderr, "cdscan outbox: %s\n", db_errmsg(db));
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return rc;
}
