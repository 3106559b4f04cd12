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

int cmd_outbox(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct conf *conf = NULL;
	struct db *db = NULL;
	bool all = false, json = false;
	int c, rc = CLI_EXIT_FAIL;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'j': json = true; break;
		default:
			fprintf(c == 'h' ? stdout : stderr,
				"usage: cdscan outbox [--all] [--json]\n"
				"Changes waiting for, in flight to, or refused "
				"by the registry (sink: epp).\n");
			return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: cdscan outbox [--all] [--json]\n");
		return CLI_EXIT_USAGE;
	}
	if (!(conf = cli_load_conf(g)) ||
	    !(db = cli_open_db(conf, "outbox", false)))
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
