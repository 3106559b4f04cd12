/*
 * `cdscan import ZONEFILE [--origin ORIGIN]`: load or refresh the
 * registry's delegations from a parent zone file (db_import_zone), and
 * say how many were added, changed, removed and left as they were. A
 * refused file changes nothing and names the file and line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "db/db.h"

static void import_usage(FILE *f)
{
	fprintf(f, "usage: cdscan import ZONEFILE [--origin ORIGIN] "
	           "[--set KEY=VALUE]...\n");
}

int cmd_import(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
	        {"origin", required_argument, NULL, 'o'},
	        {"set", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct db_import_stats st;
	struct conf *conf = NULL;
	struct db *db = NULL;
	const char *origin = NULL, *path;
	char err[1024];
	int o, rc = CLI_EXIT_FAIL;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			origin = optarg;
			break;
		case 's':
			if (cli_set_option(conf, optarg, "import") != 0) {
				rc = CLI_EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			import_usage(stdout);
			rc = CLI_EXIT_OK;
			goto out;
		default:
			import_usage(stderr);
			rc = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc - 1) {
		import_usage(stderr);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	path = argv[optind];
	if (!(db = cli_open_db(conf, "import", false)))
		goto out;
	if (db_import_zone(db, path, origin, &st, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan import: %s\n", err);
		goto out;
	}
	printf("imported %s from %s: %zu added, %zu changed, %zu removed, "
	       "%zu unchanged\n",
	       st.origin, path, st.added, st.changed, st.removed, st.unchanged);
	if (st.glue_added || st.glue_removed)
		printf("glue addresses: %zu added, %zu removed\n",
		       st.glue_added, st.glue_removed);
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
	db_close(db);
	conf_free(conf);
	return rc;
}
