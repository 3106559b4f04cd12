/*
 * `cdscan init`: create the schema in the configured database, or bring
 * it to the version this binary carries. Safe to run twice, and twice at
 * once (db_migrate takes an advisory lock).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "db/db.h"

static void init_usage(FILE *f)
{
	fprintf(f, "usage: cdscan init [--set KEY=VALUE]...\n"
		   "Create the cdscan schema in the database named by the "
		   "'database' key,\nor upgrade it to version %d.\n",
		db_schema_latest());
}

int cmd_init(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct conf *conf = cli_load_conf(g);
	struct db *db = NULL;
	int o, from = 0, to = 0, ret = CLI_EXIT_FAIL;

	if (!conf)
		goto out;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			if (cli_set_option(conf, optarg, "init") != 0) {
				ret = CLI_EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			init_usage(stdout);
			ret = CLI_EXIT_OK;
			goto out;
		default:
			init_usage(stderr);
			ret = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		init_usage(stderr);
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (!(db = cli_open_db(conf, "init", true)))
		goto out;
	if (db_migrate(db, &from, &to) != 0) {
		fprintf(stderr, "cdscan init: %s\n", db_errmsg(db));
		goto out;
	}
	if (from == 0)
		printf("schema created at version %d\n", to);
	else if (from != to)
		printf("schema upgraded from %d to %d\n", from, to);
	else
		printf("schema is at version %d, nothing to do\n", to);
	ret = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return ret;
}
