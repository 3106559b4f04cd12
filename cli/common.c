/* Helpers shared by the subcommands: --set, opening the database. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "db/db.h"
#include "scanner/probe.h"

int cli_set_option(struct conf *conf, const char *arg, const char *cmd)
{
	char key[128], err[512];
	const char *eq = strchr(arg, '=');

	if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof key) {
		fprintf(stderr, "cdscan %s: --set KEY=VALUE\n", cmd);
		return -1;
	}
	snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
	if (conf_set(conf, key, eq + 1, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan %s: --set: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

struct db *cli_open_db(const struct conf *conf, const char *cmd,
		       bool any_version)
{
	struct db *db = NULL;
	char err[1024];
	int version = 0;

	if (db_open(conf_str(conf, "database"), &db, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan %s: %s\n", cmd, err);
		return NULL;
	}
	if (any_version)
		return db;
	if (db_schema_version(db, &version) != 0) {
		fprintf(stderr, "cdscan %s: %s\n", cmd, db_errmsg(db));
		goto fail;
	}
	if (version == 0) {
		fprintf(stderr, "cdscan %s: the database has no cdscan schema; "
				"run 'cdscan init' first\n", cmd);
		goto fail;
	}
	if (version != db_schema_latest()) {
		fprintf(stderr, "cdscan %s: the database schema is version %d, "
				"this cdscan needs %d; run 'cdscan init'\n",
			cmd, version, db_schema_latest());
		goto fail;
	}
	return db;
fail:
	db_close(db);
	return NULL;
}

int cli_scan_parts_init(struct cli_scan_parts *p, const struct conf *conf,
			const char *cmd)
{
	struct scan_engine_opts eo;
	const char *const *servers;
	size_t n = conf_list(conf, "resolver.servers", &servers);
	int rc;

	memset(p, 0, sizeof *p);
	scan_engine_opts_from_conf(conf, &eo);
	if (!(p->base = event_base_new()))
		return CDS_ENOMEM;
	if ((rc = scan_engine_new(p->base, &eo, &p->eng)) != 0) {
		fprintf(stderr, "cdscan %s: query engine: %s\n", cmd,
			cds_strerror(rc));
		return rc;
	}
	rc = scan_resolver_new(p->base, servers, n,
			       conf_str(conf, "resolver.trust-anchors"),
			       (unsigned)conf_duration_ms(conf, "resolver.timeout"),
			       &p->res);
	if (rc != 0) {
		fprintf(stderr, "cdscan %s: resolver: %s (trust anchors %s)\n",
			cmd, cds_strerror(rc),
			conf_str(conf, "resolver.trust-anchors"));
		return rc;
	}
	if ((rc = scanner_new(p->base, p->eng, p->res, &p->sc)) != 0)
		fprintf(stderr, "cdscan %s: scanner: %s\n", cmd,
			cds_strerror(rc));
	return rc;
}

void cli_scan_parts_deinit(struct cli_scan_parts *p)
{
	scanner_free(p->sc);
	scan_resolver_free(p->res);
	scan_engine_free(p->eng);
	if (p->base)
		event_base_free(p->base);
	memset(p, 0, sizeof *p);
}

int cli_positive(const char *arg, const char *cmd, const char *opt,
		 long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || *end || end == arg || v <= 0) {
		fprintf(stderr, "cdscan %s: %s needs a positive number, not "
				"'%s'\n", cmd, opt, arg);
		return -1;
	}
	*out = v;
	return 0;
}
