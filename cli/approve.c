/*
 * `cdscan approve DOMAIN` and `cdscan reject DOMAIN`: the operator's
 * answer to a CSYNC change held for approval (RFC 7477 §3: without the
 * immediate flag a parent waits for out-of-band approval; STANDARDS Y3).
 *
 * Approval checks again before it changes anything, because the held
 * change may be days old: the registry must still hold the NS set and
 * glue the change started from (else it is stale: the held row is
 * superseded and nothing is applied), and a new probe of the delegation
 * the change leaves must pass the same sanity check as a scan's
 * (policy_csync_sanity: every new server answers for the child, and
 * proves the DNSKEY set with the current DS). Then the change is applied
 * (sink db), requested (sink requests) or queued in the EPP outbox and
 * sent at once (sink epp) in one transaction with an audit row naming
 * the operator. Rejection marks the row, audited. Both audit rows are
 * events for the registrar's hook (db/sql/006_outbox_ns.sql).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "core/json.h"
#include "db/db.h"
#include "policy/policy.h"
#include "scanner/probe.h"

struct approve {
	const char *cmd;
	bool reject;
	char domain[CDS_NAME_MAX];
	char actor[96];
	const char *reason;
	struct conf *conf;
	struct db *db;
	struct db_csync_held held;
	int64_t now;
	/* the probe of the new delegation */
	struct cli_scan_parts parts;
	struct scan_result *res;
	bool done;
};

static void approve_usage(FILE *f, const char *cmd)
{
	fprintf(f, "usage: cdscan %s DOMAIN [--by NAME]%s [--set KEY=VALUE]...\n",
		cmd, strcmp(cmd, "reject") == 0 ? " [--reason TEXT]" : "");
}

static int parse(struct approve *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{"by", required_argument, NULL, 'b'},
		{"reason", required_argument, NULL, 'r'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *by = NULL;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'b': by = optarg; break;
		case 'r':
			if (!a->reject) {
				approve_usage(stderr, a->cmd);
				return -1;
			}
			a->reason = optarg;
			break;
		case 's':
			if (cli_set_option(a->conf, optarg, a->cmd) != 0)
				return -1;
			break;
		case 'h': approve_usage(stdout, a->cmd); exit(0);
		default: approve_usage(stderr, a->cmd); return -1;
		}
	}
	if (optind + 1 != argc) {
		approve_usage(stderr, a->cmd);
		return -1;
	}
	if (cds_name_normalize(argv[optind], a->domain) != 0) {
		fprintf(stderr, "cdscan %s: '%s' is not a domain name\n",
			a->cmd, argv[optind]);
		return -1;
	}
	if (!by || !by[0])
		by = getenv("USER");
	/* the audit names who decided: --by, else the login name */
	snprintf(a->actor, sizeof a->actor, "%s:%s", a->cmd,
		 by && by[0] ? by : "unknown");
	return 0;
}

static void print_set(char **v, size_t n)
{
	if (n == 0)
		fputs("(none)", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? " " : "", v[i]);
}

static void print_change(const struct db_csync_held *h)
{
	bool same = h->n_before_glue == h->n_after_glue;

	fputs("NS ", stdout);
	print_set(h->before_ns, h->n_before_ns);
	fputs(" -> ", stdout);
	print_set(h->after_ns, h->n_after_ns);
	for (size_t i = 0; same && i < h->n_before_glue; i++)
		same = strcmp(h->before_glue[i], h->after_glue[i]) == 0;
	if (!same) {
		fputs("; glue ", stdout);
		print_set(h->before_glue, h->n_before_glue);
		fputs(" -> ", stdout);
		print_set(h->after_glue, h->n_after_glue);
	}
	fputc('\n', stdout);
}

/* ---- the new probe -------------------------------------------------- */

static void probed(struct scan_result *res, void *arg)
{
	struct approve *a = arg;

	a->res = res;
	a->done = true;
}

/* Is `name` inside the domain (so the held glue applies to it)? */
static bool inside(const char *domain, const char *name)
{
	size_t dl = strlen(domain), nl = strlen(name);

	return nl == dl ? strcmp(name, domain) == 0
			: nl > dl && name[nl - dl - 1] == '.' &&
				  strcmp(name + nl - dl, domain) == 0;
}

/* The delegation the held change leaves, as a probe wants it: the held
   NS names with the held glue for names inside the domain (others are
   looked up). */
static int after_delegation(const struct db_csync_held *h, struct cds_ns *ns,
			    size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < h->n_after_ns; i++) {
		struct cds_ns *x;
		size_t nl = strlen(h->after_ns[i]);

		if (*n == CDS_CSYNC_NS_MAX || nl >= CDS_NAME_MAX)
			return CDS_ELIMIT;
		x = &ns[(*n)++];
		memset(x, 0, sizeof *x);
		memcpy(x->name, h->after_ns[i], nl + 1);
		if (!inside(h->domain, x->name))
			continue;
		for (size_t g = 0; g < h->n_after_glue; g++) {
			const char *s = h->after_glue[g];

			if (strncmp(s, x->name, nl) != 0 || s[nl] != ' ')
				continue;
			if (x->n_glue == CDS_GLUE_MAX ||
			    strlen(s + nl + 1) >= CDS_ADDR_STR_MAX)
				return CDS_ELIMIT;
			snprintf(x->glue[x->n_glue++], CDS_ADDR_STR_MAX, "%s",
				 s + nl + 1);
		}
	}
	return CDS_OK;
}

/* The probe's result in a few words, for the audit (a JSON object). */
static char *check_json(const struct scan_result *res,
			const struct cds_csync_decision *dec)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;

	if (!f)
		return NULL;
	json_init(&j, f, false);
	json_object_begin(&j, NULL);
	json_str(&j, "verdict", cds_verdict_name(dec->verdict));
	json_str(&j, "detail", dec->detail);
	json_array_begin(&j, "servers");
	if (res)
		db_csync_check_servers(&j, res->obs, res->n_obs);
	json_array_end(&j);
	json_object_end(&j);
	json_finish(&j);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Probe the held delegation and run the sanity check of a scan on it.
 * Returns 0 with *ok set, and *check the audit's account of it (free),
 * or -1 when the probe could not run (printed).
 */
static int recheck(struct approve *a, bool *ok, char **check)
{
	struct cds_ns *ns = calloc(CDS_CSYNC_NS_MAX, sizeof *ns);
	struct cds_csync_decision *dec = calloc(1, sizeof *dec);
	struct cds_delegation deleg;
	struct scan_request req;
	size_t n = 0;
	int ret = -1;

	*ok = false;
	*check = NULL;
	if (!ns || !dec) {
		fprintf(stderr, "cdscan %s: out of memory\n", a->cmd);
		goto out;
	}
	if (after_delegation(&a->held, ns, &n) != 0) {
		fprintf(stderr, "cdscan %s: %s: the held NS set or glue is "
			"too large to probe\n", a->cmd, a->domain);
		goto out;
	}
	if (cli_scan_parts_init(&a->parts, a->conf, a->cmd) != 0)
		goto out;
	req = (struct scan_request){
		.zone = a->domain,
		.ns = ns,
		.n_ns = n,
		.ds = a->held.ds,
		.n_ds = a->held.n_ds,
		.now = a->now,
		.port = (uint16_t)conf_int(a->conf, "scanner.port"),
	};
	if (scan_probe_start(a->parts.sc, &req, probed, a) != 0) {
		fprintf(stderr, "cdscan %s: the probe could not start\n",
			a->cmd);
		goto out;
	}
	while (!a->done && event_base_loop(a->parts.base, EVLOOP_ONCE) == 0)
		;
	if (!a->res) {
		fprintf(stderr, "cdscan %s: out of memory\n", a->cmd);
		goto out;
	}
	/* the held change as a decision, for the same check a scan runs */
	dec->verdict = CDS_DEC_UPDATE;
	dec->reason = CDS_R_CSYNC_APPLY;
	snprintf(deleg.name, sizeof deleg.name, "%s", a->domain);
	deleg.ds = a->held.ds;
	deleg.n_ds = a->held.n_ds;
	policy_csync_sanity(&deleg, a->res->obs, a->res->n_obs, dec);
	*ok = dec->verdict == CDS_DEC_UPDATE;
	if (!*ok)
		fprintf(stderr, "cdscan %s: %s: refused: the new delegation "
			"fails its check (%s): %s\n", a->cmd, a->domain,
			cds_reason_name(dec->reason), dec->detail);
	if (!(*check = check_json(a->res, dec))) {
		fprintf(stderr, "cdscan %s: out of memory\n", a->cmd);
		goto out;
	}
	ret = 0;
out:
	free(ns);
	free(dec);
	return ret;
}

/* ---- the commands -------------------------------------------------- */

static int do_approve(struct approve *a)
{
	enum db_sink sink = db_sink_from_name(conf_enum(a->conf, "sink"));
	enum db_outcome out = DB_OUT_NONE;
	char *check = NULL;
	bool ok = false;
	int ret = CLI_EXIT_FAIL;

	/* stale before anything else: a probe of an obsolete change is
	   wasted, and the row must say why it went */
	if (!db_csync_held_current(&a->held)) {
		if (db_csync_close(a->db, &a->held, true, a->actor,
				   "stale: the registry's NS set or glue "
				   "changed since it was held", a->now) != 0)
			goto dberr;
		fprintf(stderr, "cdscan approve: %s: refused: stale, the "
			"registry's NS set or glue is no longer what the held "
			"change started from; the held change is superseded\n",
			a->domain);
		return CLI_EXIT_FAIL;
	}
	if (recheck(a, &ok, &check) != 0 || !ok)
		goto out;
	if (db_csync_approve(a->db, &a->held, sink, a->actor, check, a->now,
			     &out) != 0)
		goto dberr;
	if (out == DB_OUT_STALE) {
		fprintf(stderr, "cdscan approve: %s: refused: stale, the "
			"registry's NS set or glue changed meanwhile; the held "
			"change is superseded\n", a->domain);
		goto out;
	}
	printf("%s: CSYNC change %s by %s: ", a->domain,
	       out == DB_OUT_APPLIED ? "applied"
	       : sink == DB_SINK_EPP ? "queued in the EPP outbox"
				     : "requested",
	       a->actor);
	print_change(&a->held);
	fflush(stdout);
	/* sink epp: one pass over the outbox now, as a scan does; what the
	   registry cannot take now waits there (`cdscan epp send`) */
	if (sink == DB_SINK_EPP)
		cli_epp_kick(a->conf);
	ret = CLI_EXIT_OK;
	goto out;
dberr:
	fprintf(stderr, "cdscan %s: %s\n", a->cmd, db_errmsg(a->db));
out:
	free(check);
	return ret;
}

static int do_reject(struct approve *a)
{
	if (db_csync_close(a->db, &a->held, false, a->actor, a->reason,
			   a->now) != 0) {
		fprintf(stderr, "cdscan reject: %s\n", db_errmsg(a->db));
		return CLI_EXIT_FAIL;
	}
	printf("%s: CSYNC change rejected by %s%s%s: ", a->domain, a->actor,
	       a->reason ? ": " : "", a->reason ? a->reason : "");
	print_change(&a->held);
	return CLI_EXIT_OK;
}

static int approve_main(int argc, char **argv, const struct cli_global *g,
			bool reject)
{
	struct approve *a = calloc(1, sizeof *a);
	bool found = false;
	int ret = CLI_EXIT_USAGE;

	if (!a) {
		fprintf(stderr, "cdscan: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	a->reject = reject;
	a->cmd = reject ? "reject" : "approve";
	a->now = cli_now(g);
	if (!(a->conf = cli_load_conf(g))) {
		ret = CLI_EXIT_FAIL;
		goto out;
	}
	if (parse(a, argc, argv) != 0)
		goto out;
	ret = CLI_EXIT_FAIL;
	if (!(a->db = cli_open_db(a->conf, a->cmd, false)))
		goto out;
	if (db_csync_held_get(a->db, a->domain, &a->held, &found) != 0) {
		fprintf(stderr, "cdscan %s: %s\n", a->cmd, db_errmsg(a->db));
		goto out;
	}
	if (!found) {
		fprintf(stderr, "cdscan %s: %s: no CSYNC change is held for "
			"approval\n", a->cmd, a->domain);
		goto out;
	}
	ret = reject ? do_reject(a) : do_approve(a);
out:
	scan_result_free(a->res);
	cli_scan_parts_deinit(&a->parts);
	db_csync_held_deinit(&a->held);
	db_close(a->db);
	conf_free(a->conf);
	free(a);
	return ret;
}

int cmd_approve(int argc, char **argv, const struct cli_global *g)
{
	return approve_main(argc, argv, g, false);
}

int cmd_reject(int argc, char **argv, const struct cli_global *g)
{
	return approve_main(argc, argv, g, true);
}
