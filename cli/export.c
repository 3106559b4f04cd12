/*
 * `cdscan export [--origin ORIGIN] [--ttl N] [--dsync FORM]`: print every
 * delegation the database holds (under ORIGIN) as zone-file text on
 * stdout — NS, DS and the glue of in-bailiwick NS names, in DNS canonical
 * order — for a zone generator to publish, and for `cdscan import` to
 * read back. With dsync.target configured, the parent's DSYNC records
 * (RFC 9859 §2) come first, advertising the daemon's NOTIFY listener.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/dnssec.h"
#include "core/errors.h"
#include "db/db.h"

#define EXPORT_TTL_DEFAULT 3600
#define DSYNC_SCHEME_NOTIFY 1 /* RFC 9859 §2.1 */

/* How DSYNC records are written: RFC 3597's generic form loads in every
   server (NSD 4.6 and Knot 3.2 do not know type 66), the mnemonic one
   only in those that know DSYNC. */
enum dsync_form { DSYNC_GENERIC, DSYNC_MNEMONIC, DSYNC_NONE };

static void export_usage(FILE *f)
{
	fprintf(f, "usage: cdscan export [--origin ORIGIN] [--ttl N] "
	           "[--dsync generic|mnemonic|none] [--set KEY=VALUE]...\n");
}

/* The daemon must listen where the records send NOTIFYs: warn when no
   daemon.listen entry ends in dsync.port (a listener may also run on
   another host behind the target name, so this is not an error). */
static void dsync_check_port(const struct conf *conf, int64_t port)
{
	const char *const *l;
	size_t n = conf_list(conf, "daemon.listen", &l);
	char want[16];

	snprintf(want, sizeof want, ":%lld", (long long)port);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(l[i]), wl = strlen(want);

		if (len > wl && strcmp(l[i] + len - wl, want) == 0)
			return;
	}
	if (n > 0)
		fprintf(stderr, "cdscan export: warning: dsync.port %lld is "
			"not a port of daemon.listen\n", (long long)port);
}

/*
 * The DSYNC records of the configuration, one per type with scheme
 * NOTIFY (N1: at most one per type and scheme; conf.c refuses a type
 * twice). RDATA (W4, RFC 9859 §2.1): RRtype(16) Scheme(8) Port(16)
 * Target as an uncompressed name — written out byte by byte in the
 * generic form. The owner is dsync.owner or *._dsync.ORIGIN (N1: not a
 * bare _dsync.ORIGIN). Returns 0 or CDS_EINVAL with a message printed.
 */
static int dsync_print(const struct conf *conf, const char *origin,
		       uint32_t ttl, enum dsync_form form, FILE *out)
{
	const char *target = conf_str(conf, "dsync.target");
	const char *owner_conf = conf_str(conf, "dsync.owner");
	int64_t port = conf_int(conf, "dsync.port");
	const char *const *types;
	size_t n = conf_list(conf, "dsync.types", &types), tl;
	char owner[CDS_NAME_MAX], host[CDS_NAME_MAX], buf[CDS_NAME_MAX + 16];
	uint8_t wire[CDS_WIRE_NAME_MAX];

	if (form == DSYNC_NONE || !target || !*target)
		return 0;
	if (owner_conf && *owner_conf) {
		snprintf(buf, sizeof buf, "%s", owner_conf);
	} else if (!origin) {
		fprintf(stderr, "cdscan export: dsync.target is set: the "
			"DSYNC owner *._dsync.ORIGIN needs --origin (or set "
			"dsync.owner, or --dsync none)\n");
		return CDS_EINVAL;
	} else {
		snprintf(buf, sizeof buf, "*._dsync.%s",
			 strcmp(origin, ".") == 0 ? "" : origin);
	}
	if (cds_name_normalize(buf, owner) != 0) {
		fprintf(stderr, "cdscan export: the DSYNC owner %s is not a "
			"name (origin too long?)\n", buf);
		return CDS_EINVAL;
	}
	if (cds_name_normalize(target, host) != 0 ||
	    cds_name_to_wire(host, wire, &tl) != 0)
		return CDS_EINVAL; /* conf.c checked it */
	dsync_check_port(conf, port);
	for (size_t i = 0; i < n; i++) {
		bool csync = strcmp(types[i], "csync") == 0;
		unsigned type = csync ? 62 : 59; /* CSYNC, CDS */

		if (form == DSYNC_MNEMONIC) {
			fprintf(out, "%s\t%u\tIN\tDSYNC\t%s NOTIFY %lld %s\n",
				owner, ttl, csync ? "CSYNC" : "CDS",
				(long long)port, host);
			continue;
		}
		/* RFC 3597 §5: TYPE66 \# LENGTH HEX */
		fprintf(out, "%s\t%u\tIN\tTYPE66\t\\# %zu %04x%02x%04x", owner,
			ttl, 5 + tl, type, DSYNC_SCHEME_NOTIFY,
			(unsigned)port);
		for (size_t k = 0; k < tl; k++)
			fprintf(out, "%02x", wire[k]);
		fputc('\n', out);
	}
	return 0;
}

int cmd_export(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
	        {"origin", required_argument, NULL, 'o'},
	        {"ttl", required_argument, NULL, 't'},
	        {"set", required_argument, NULL, 's'},
	        {"dsync", required_argument, NULL, 'y'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	struct conf *conf = NULL;
	struct db *db = NULL;
	const char *origin = NULL;
	char zone[CDS_NAME_MAX];
	enum dsync_form form = DSYNC_GENERIC;
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
		case 'y':
			if (strcmp(optarg, "generic") == 0) {
				form = DSYNC_GENERIC;
			} else if (strcmp(optarg, "mnemonic") == 0) {
				form = DSYNC_MNEMONIC;
			} else if (strcmp(optarg, "none") == 0) {
				form = DSYNC_NONE;
			} else {
				fprintf(stderr, "cdscan export: bad --dsync "
					"'%s' (generic, mnemonic, none)\n",
					optarg);
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
	if (origin && cds_name_normalize(origin, zone) != 0) {
		fprintf(stderr, "cdscan export: bad origin '%s'\n", origin);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	/* before the database is opened: a refusal then costs nothing */
	if (dsync_print(conf, origin ? zone : NULL, (uint32_t)ttl, form,
			stdout) != 0)
		goto out;
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
