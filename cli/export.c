/*
 * `cdscan export [--origin ORIGIN] [--ttl N]`: print every delegation the
 * database holds (under ORIGIN) as zone-file text on stdout — NS, DS and
 * the glue of in-bailiwick NS names, in DNS canonical order — for a zone
 * generator to publish, and for `cdscan import` to read back.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "db/db.h"

#define EXPORT_TTL_DEFAULT 3600

static void export_usage(FILE *f)
{
	fprintf(f, "usage: cdscan export [--origin ORIGIN] [--ttl N] "
	           "[--set KEY=VALUE]...\n");
}

int cmd_export(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
	        {"origin", required_argument, NULL, 'o'},
	        {"ttl", required_argument, NULL, 't'},
	        {"set", required_argument, NULL, 's'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct conf *conf = NULL;
	struct db *db = NULL;
	const char *origin = NULL;
	unsigned long ttl = EXPORT_TTL_DEFAULT;
	char *end;
	int o, rc = CLI_EXIT_FAIL;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'o':
			origin = optarg;
			break;
		case 't':
			errno = 0;
			ttl = strtoul(optarg, &end, 10);
			/* RFC 2181 §8: a TTL is 0 .. 2^31 - 1 */
			if (errno || *end || !*optarg || optarg[0] == '-' ||
			    ttl > 2147483647UL) {
				fprintf(stderr,
				        "cdscan export: bad --ttl '%s'\n",
				        optarg);
				rc = CLI_EXIT_USAGE;
				goto out;
			}
			break;
		case 's':
			if (cli_set_option(conf, optarg, "export") != 0) {
				rc = CLI_EXIT_USAGE;
				goto out;
			}
			break;
		case 'h':
			export_usage(stdout);
			rc = CLI_EXIT_OK;
			goto out;
		default:
			export_usage(stderr);
			rc = CLI_EXIT_USAGE;
			goto out;
		}
	}
	if (optind != argc) {
		export_usage(stderr);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (!(db = cli_open_db(conf, "export", false)))
		goto out;
	if (db_export_zone(db, origin, (uint32_t)ttl, stdout) != 0) {
		fprintf(stderr, "cdscan export: %s\n", db_errmsg(db));
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return rc;
}
