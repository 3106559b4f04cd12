/*
 * `cdscan check DOMAIN`: what would the parent do with this zone, and why?
 * Asks every address of every NS name for SOA, DNSKEY, CDS and CDNSKEY,
 * validates each server's answers from the current DS, and prints what
 * each server said and the decision with its reason — for people, or as
 * one JSON object with --json.
 *
 * The NS set and the current DS come from --ns/--ds or, without them,
 * from the configured resolver (the DS must then validate).
 *
 * check asks every server, since it is for diagnosis; --early-stop shows
 * what a scan with early stop does instead (STANDARDS Q6): one server
 * first, and no more when it confirms the status quo.
 *
 * With policy.csync (the default) every server is also asked for CSYNC
 * and the data it names (RFC 7477), and the CSYNC decision is printed
 * beside the DS one. When CSYNC would change the delegation (or holds a
 * change for approval), the delegation it would leave is probed too —
 * SOA and DNSKEY at every new server, against the same DS — and must
 * work (STANDARDS Y8 [S]). The exit status is about the DS decision
 * only: 0 whenever the check ran.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "core/json.h"
#include "core/log.h"
#include "policy/policy.h"
#include "scanner/probe.h"
#include "scanner/validate.h"

#define CHECK_NS_MAX 32

struct check {
	char zone[CDS_NAME_MAX];
	struct cds_ns ns[CHECK_NS_MAX];
	size_t n_ns;
	bool ns_given;
	struct cds_ds ds[CDS_DS_MAX];
	size_t n_ds;
	bool ds_given;
	bool json;
	bool early_stop;
	int64_t now;

	struct cli_scan_parts parts;
	struct policy_config pol;

	/* phase results */
	bool done;
	int lookup_status;
	enum scan_dnssec ds_dnssec;
	struct scan_result *result;
	/* CSYNC: the decision, and the probe of the delegation it leaves */
	struct cds_csync_decision csync;
	struct cds_ns new_ns[CDS_CSYNC_NS_MAX];
	size_t n_new_ns;
	struct scan_result *sanity;
	bool result_slot_sanity; /* the running probe is the sanity probe */
};

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: cdscan check DOMAIN [--ns NAME[=ADDR[,ADDR...]]]... "
		"[--ds \"TAG ALG DT HEX\" | --ds none]...\n"
		"                    [--json] [--early-stop] [--time UNIXTIME] "
		"[--set KEY=VALUE]...\n");
}

/* --ns NAME[=ADDR[,ADDR...]] */
static int parse_ns(struct check *c, const char *arg)
{
	struct cds_ns *ns;
	char buf[1024], *eq, *tok, *save = NULL;

	if (c->n_ns == CHECK_NS_MAX || strlen(arg) >= sizeof buf)
		return CDS_ELIMIT;
	snprintf(buf, sizeof buf, "%s", arg);
	ns = &c->ns[c->n_ns];
	memset(ns, 0, sizeof *ns);
	eq = strchr(buf, '=');
	if (eq)
		*eq++ = '\0';
	if (cds_name_normalize(buf, ns->name) != 0)
		return CDS_EINVAL;
	for (tok = eq ? strtok_r(eq, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		struct sockaddr_storage ss;
		socklen_t len;

		if (ns->n_glue == CDS_GLUE_MAX)
			return CDS_ELIMIT;
		if (scan_parse_addr(tok, 53, &ss, &len) != 0)
			return CDS_EINVAL;
		snprintf(ns->glue[ns->n_glue++], CDS_ADDR_STR_MAX, "%s", tok);
	}
	c->n_ns++;
	return CDS_OK;
}

static int parse_args(struct check *c, struct conf *conf, int argc,
		      char **argv)
{
	static const struct option opts[] = {
		{"ns", required_argument, NULL, 'n'},
		{"ds", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"early-stop", no_argument, NULL, 'e'},
		{"time", required_argument, NULL, 't'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char err[512], *end;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (parse_ns(c, optarg) != 0) {
				fprintf(stderr, "cdscan check: bad --ns '%s'\n",
					optarg);
				return -1;
			}
			c->ns_given = true;
			break;
		case 'd':
			c->ds_given = true;
			if (strcmp(optarg, "none") == 0)
				break;
			if (c->n_ds == CDS_DS_MAX ||
			    cds_ds_parse(optarg, &c->ds[c->n_ds]) != 0) {
				fprintf(stderr, "cdscan check: bad --ds '%s'\n",
					optarg);
				return -1;
			}
			c->n_ds++;
			break;
		case 'j': c->json = true; break;
		case 'e': c->early_stop = true; break;
		case 't':
			c->now = strtoll(optarg, &end, 10);
			if (*end || c->now <= 0) {
				fprintf(stderr, "cdscan check: bad --time\n");
				return -1;
			}
			break;
		case 's': {
			char key[128], *eq = strchr(optarg, '=');

			if (!eq || (size_t)(eq - optarg) >= sizeof key) {
				fprintf(stderr, "cdscan check: --set KEY=VALUE\n");
				return -1;
			}
			snprintf(key, sizeof key, "%.*s", (int)(eq - optarg),
				 optarg);
			if (conf_set(conf, key, eq + 1, err, sizeof err) != 0) {
				fprintf(stderr, "cdscan check: --set: %s\n", err);
				return -1;
			}
			break;
		}
		case 'h': check_usage(stdout); exit(0);
		default: return -1;
		}
	}
	if (optind + 1 != argc || cds_name_normalize(argv[optind], c->zone)) {
		check_usage(stderr);
		return -1;
	}
	return 0;
}

static void run_until_done(struct check *c)
{
	c->done = false;
	while (!c->done && event_base_loop(c->parts.base, EVLOOP_ONCE) == 0)
		;
}

static void ns_looked_up(int status, const ldns_rr_list *rrs,
			 enum scan_dnssec dnssec, void *arg)
{
	struct check *c = arg;

	c->lookup_status = status;
	for (size_t i = 0; status == CDS_OK && i < ldns_rr_list_rr_count(rrs) &&
			   c->n_ns < CHECK_NS_MAX;
	     i++) {
		char *name = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0));

		if (name && cds_name_normalize(name, c->ns[c->n_ns].name) == 0)
			c->ns[c->n_ns++].n_glue = 0;
		free(name);
	}
	(void)dnssec;
	c->done = true;
}

static void ds_looked_up(int status, const ldns_rr_list *rrs,
			 enum scan_dnssec dnssec, void *arg)
{
	struct check *c = arg;

	c->lookup_status = status;
	c->ds_dnssec = dnssec;
	for (size_t i = 0; status == CDS_OK && i < ldns_rr_list_rr_count(rrs);
	     i++) {
		/* A parent DS we cannot hold would make every later rule
		   judge against an incomplete set: stop instead. */
		if (c->n_ds == CDS_DS_MAX)
			c->lookup_status = CDS_ELIMIT;
		else
			c->lookup_status = scan_ds_from_rr(
				ldns_rr_list_rr(rrs, i), &c->ds[c->n_ds++]);
		if (c->lookup_status != CDS_OK)
			break;
	}
	c->done = true;
}

#define CHECK_NS_LOOKUPS 3 /* tries of the NS lookup */

/* NS set and current DS from the resolver, where not given. */
static int find_delegation(struct check *c)
{
	if (!c->ns_given) {
		/* The NS RRset is answered by the child's own servers: a
		   resolver that happened to ask a silent one can fail the
		   lookup once (SERVFAIL while it times out). Ask again
		   before giving up. */
		for (int tries = 0; tries < CHECK_NS_LOOKUPS; tries++) {
			c->n_ns = 0;
			if (scan_resolve_lookup(c->parts.res, c->zone,
						LDNS_RR_TYPE_NS, ns_looked_up,
						c) != 0)
				return -1;
			run_until_done(c);
			if (c->lookup_status == CDS_OK && c->n_ns > 0)
				break;
			log_info("%s: NS lookup failed (%s)%s", c->zone,
				 cds_strerror(c->lookup_status),
				 tries + 1 < CHECK_NS_LOOKUPS ? ", asking again"
							      : "");
		}
		if (c->lookup_status != CDS_OK || c->n_ns == 0) {
			fprintf(stderr, "cdscan check: %s: no NS set found (%s)\n",
				c->zone, cds_strerror(c->lookup_status));
			return -1;
		}
	}
	if (c->ds_given)
		return 0;
	if (scan_resolve_lookup(c->parts.res, c->zone, LDNS_RR_TYPE_DS,
				ds_looked_up, c) != 0)
		return -1;
	run_until_done(c);
	if (c->lookup_status != CDS_OK) {
		fprintf(stderr, "cdscan check: %s: DS lookup failed: %s\n",
			c->zone, cds_strerror(c->lookup_status));
		return -1;
	}
	if (c->ds_dnssec == SCAN_DNSSEC_BOGUS) {
		fprintf(stderr, "cdscan check: %s: the parent's DS RRset is "
				"bogus; give it with --ds\n", c->zone);
		return -1;
	}
	if (c->ds_dnssec == SCAN_DNSSEC_INDETERMINATE)
		log_warn("%s: current DS not validated (no trust anchor)",
			 c->zone);
	return 0;
}

static void probed(struct scan_result *res, void *arg)
{
	struct check *c = arg;

	if (c->result_slot_sanity)
		c->sanity = res;
	else
		c->result = res;
	c->done = true;
}

static void teardown(struct check *c)
{
	scan_result_free(c->result);
	scan_result_free(c->sanity);
	cli_scan_parts_deinit(&c->parts);
}

/* ---- output ---- */

static void print_ds_list(FILE *f, const char *label, const struct cds_ds *ds,
			  size_t n)
{
	char buf[CDS_DS_STR_MAX];

	fprintf(f, "  %-12s%s\n", label, n ? "" : "(none)");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "    %s\n", cds_ds_format(&ds[i], buf, sizeof buf));
}

static const char *rr_summary(const struct cds_rrset_obs *ro, char *buf,
			      size_t len)
{
	if (ro->state != CDS_RR_PRESENT)
		return cds_rrstate_name(ro->state);
	if (ro->overflow)
		snprintf(buf, len, "%u records (too many, not kept)", ro->count);
	else if (ro->sig_keytag && ro->sig != CDS_SIG_BOGUS &&
		 ro->sig != CDS_SIG_UNSIGNED)
		snprintf(buf, len, "%u record%s, signature %s (key %u)",
			 ro->count, ro->count == 1 ? "" : "s",
			 cds_sigstate_name(ro->sig), ro->sig_keytag);
	else
		snprintf(buf, len, "%u record%s, signature %s", ro->count,
			 ro->count == 1 ? "" : "s", cds_sigstate_name(ro->sig));
	return buf;
}

static void print_server(FILE *f, const struct cds_server_obs *o)
{
	char sum[128], buf[CDS_DS_STR_MAX];

	fprintf(f, "  %s %s (%s)\n", o->name, o->addr[0] ? o->addr : "-",
		cds_transport_name(o->transport));
	if (o->error)
		fprintf(f, "    error    %s\n", o->error_text);
	if (o->soa.state == CDS_RR_PRESENT)
		fprintf(f, "    SOA      serial %u\n", o->soa_serial);
	if (o->dnskey_rr.state != CDS_RR_NOT_QUERIED)
		fprintf(f, "    DNSKEY   %s, %s\n",
			rr_summary(&o->dnskey_rr, sum, sizeof sum),
			o->dnskey_proven ? "proven by the current DS"
					 : "NOT proven by the current DS");
	if (o->cds_rr.state != CDS_RR_NOT_QUERIED)
		fprintf(f, "    CDS      %s\n",
			rr_summary(&o->cds_rr, sum, sizeof sum));
	for (size_t i = 0; i < o->n_cds; i++)
		fprintf(f, "             %s\n",
			cds_ds_format(&o->cds[i], buf, sizeof buf));
	if (o->cdnskey_rr.state != CDS_RR_NOT_QUERIED)
		fprintf(f, "    CDNSKEY  %s\n",
			rr_summary(&o->cdnskey_rr, sum, sizeof sum));
	for (size_t i = 0; i < o->n_cdnskey; i++) {
		const struct cds_dnskey *k = &o->cdnskey[i];

		fprintf(f, "             %u %u %u (key tag %u, %s)\n", k->flags,
			k->protocol, k->alg, cds_keytag(k),
			cds_alg_name(k->alg) ? cds_alg_name(k->alg) : "?");
	}
}

static const char *type_word(uint16_t t, char *buf, size_t len)
{
	ldns_rr_descriptor const *d = ldns_rr_descript(t);

	if (d && d->_name)
		snprintf(buf, len, "%s", d->_name);
	else
		snprintf(buf, len, "TYPE%u", t);
	return buf;
}

/* CSYNC as one server gave it: record, then the data it names. */
static void print_csync_server(FILE *f, const struct cds_server_obs *o)
{
	const struct cds_csync_obs *cs = &o->csync;
	char sum[128], tb[24];

	fprintf(f, "  %s %s\n", o->name, o->addr[0] ? o->addr : "-");
	if (cs->rr.state != CDS_RR_PRESENT) {
		fprintf(f, "    CSYNC    %s\n", cds_rrstate_name(cs->rr.state));
		return;
	}
	fprintf(f, "    CSYNC    %s\n", rr_summary(&cs->rr, sum, sizeof sum));
	if (cs->malformed) {
		fprintf(f, "             (malformed record)\n");
	} else {
		fprintf(f, "             serial %u flags 0x%04x%s%s types", cs->serial,
			cs->flags,
			cs->flags & CDS_CSYNC_IMMEDIATE ? " immediate" : "",
			cs->flags & CDS_CSYNC_SOAMINIMUM ? " soaminimum" : "");
		for (size_t i = 0; i < cs->n_types; i++)
			fprintf(f, " %s", type_word(cs->types[i], tb, sizeof tb));
		fprintf(f, "%s\n", cs->n_types ? "" : " (none)");
	}
	if (cs->ns_rr.state != CDS_RR_NOT_QUERIED)
		fprintf(f, "    NS       %s\n",
			rr_summary(&cs->ns_rr, sum, sizeof sum));
	for (size_t i = 0; i < cs->n_ns; i++)
		fprintf(f, "             %s\n", cs->ns[i]);
	for (size_t h = 0; h < cs->n_hosts; h++) {
		const struct cds_csync_host *ho = &cs->hosts[h];

		if (ho->a_rr.state != CDS_RR_NOT_QUERIED)
			fprintf(f, "    A        %s: %s\n", ho->name,
				rr_summary(&ho->a_rr, sum, sizeof sum));
		for (size_t i = 0; i < ho->n_a; i++)
			fprintf(f, "             %s\n", ho->a[i]);
		if (ho->aaaa_rr.state != CDS_RR_NOT_QUERIED)
			fprintf(f, "    AAAA     %s: %s\n", ho->name,
				rr_summary(&ho->aaaa_rr, sum, sizeof sum));
		for (size_t i = 0; i < ho->n_aaaa; i++)
			fprintf(f, "             %s\n", ho->aaaa[i]);
	}
	if (cs->soa_after.state == CDS_RR_PRESENT)
		fprintf(f, "    SOA      serial %u after the CSYNC queries\n",
			cs->soa_serial_after);
}

static void print_csync(const struct check *c)
{
	const struct cds_csync_decision *d = &c->csync;
	FILE *f = stdout;

	fprintf(f, "csync\n");
	for (size_t i = 0; i < c->result->n_obs; i++)
		print_csync_server(f, &c->result->obs[i]);
	fprintf(f, "csync decision %s (%s)\n", cds_verdict_name(d->verdict),
		cds_reason_name(d->reason));
	if (d->detail[0])
		fprintf(f, "  %s\n", d->detail);
	if (!c->sanity && d->verdict != CDS_DEC_UPDATE &&
	    d->reason != CDS_R_CSYNC_HELD)
		return;
	fprintf(f, "  new delegation\n");
	for (size_t i = 0; i < c->n_new_ns; i++) {
		fprintf(f, "    %s", c->new_ns[i].name);
		for (size_t k = 0; k < c->new_ns[i].n_glue; k++)
			fprintf(f, "%s%s", k ? "," : " ", c->new_ns[i].glue[k]);
		fprintf(f, "\n");
	}
	for (size_t i = 0; c->sanity && i < c->sanity->n_obs; i++) {
		const struct cds_server_obs *o = &c->sanity->obs[i];

		fprintf(f, "    asked %s %s: %s\n", o->name,
			o->addr[0] ? o->addr : "-",
			o->error ? o->error_text
			: o->soa.state != CDS_RR_PRESENT ? "no SOA"
			: o->dnskey_proven || c->n_ds == 0
				? "answers, DNSKEY proven"
				: "answers, DNSKEY NOT proven");
	}
}

static void print_text(const struct check *c, const struct cds_decision *d)
{
	FILE *f = stdout;

	fprintf(f, "%s\n", c->zone);
	print_ds_list(f, "current DS", c->ds, c->n_ds);
	fprintf(f, "servers\n");
	for (size_t i = 0; i < c->result->n_obs; i++)
		print_server(f, &c->result->obs[i]);
	if (c->result->stopped_early)
		fprintf(f, "early stop   after one server, %u queries; the "
			"others were not asked\n", c->result->queries);
	fprintf(f, "decision     %s (%s)\n", cds_verdict_name(d->verdict),
		cds_reason_name(d->reason));
	if (d->detail[0])
		fprintf(f, "  %s\n", d->detail);
	if (d->verdict == CDS_DEC_UPDATE)
		print_ds_list(f, "new DS", d->proposed, d->n_proposed);
	if (c->pol.csync)
		print_csync(c);
}

static void json_ds_list(struct json *j, const char *key,
			 const struct cds_ds *ds, size_t n)
{
	char buf[CDS_DS_STR_MAX];

	json_array_begin(j, key);
	for (size_t i = 0; i < n; i++)
		json_str(j, NULL, cds_ds_format(&ds[i], buf, sizeof buf));
	json_array_end(j);
}

static void json_rrset(struct json *j, const char *key,
		       const struct cds_rrset_obs *ro)
{
	json_object_begin(j, key);
	json_str(j, "state", cds_rrstate_name(ro->state));
	json_str(j, "signature", cds_sigstate_name(ro->sig));
	json_int(j, "count", ro->count);
	if (ro->sig_keytag)
		json_int(j, "signed_by", ro->sig_keytag);
	if (ro->sig_inception)
		json_int(j, "sig_inception", ro->sig_inception);
	json_object_end(j);
}

static void json_server(struct json *j, const struct cds_server_obs *o)
{
	json_object_begin(j, NULL);
	json_str(j, "name", o->name);
	json_str(j, "address", o->addr[0] ? o->addr : NULL);
	json_str(j, "transport", cds_transport_name(o->transport));
	json_str(j, "error", o->error ? o->error_text : NULL);
	if (o->soa.state == CDS_RR_PRESENT)
		json_int(j, "soa_serial", o->soa_serial);
	json_bool(j, "dnskey_proven", o->dnskey_proven);
	json_rrset(j, "dnskey_rrset", &o->dnskey_rr);
	json_rrset(j, "cds_rrset", &o->cds_rr);
	json_rrset(j, "cdnskey_rrset", &o->cdnskey_rr);
	json_ds_list(j, "cds", o->cds, o->n_cds);
	json_array_begin(j, "cdnskey");
	for (size_t i = 0; i < o->n_cdnskey; i++) {
		size_t len = cds_dnskey_str_size(&o->cdnskey[i]);
		char *buf = malloc(len);

		if (buf)
			json_str(j, NULL, cds_dnskey_format(&o->cdnskey[i], buf,
							    len));
		free(buf);
	}
	json_array_end(j);
	json_object_end(j);
}

static void json_addrs(struct json *j, const char *key, size_t n,
		       const char (*a)[CDS_ADDR_STR_MAX])
{
	json_array_begin(j, key);
	for (size_t i = 0; i < n; i++)
		json_str(j, NULL, a[i]);
	json_array_end(j);
}

static void json_csync_server(struct json *j, const struct cds_server_obs *o)
{
	const struct cds_csync_obs *cs = &o->csync;
	char tb[24];

	json_object_begin(j, NULL);
	json_str(j, "name", o->name);
	json_str(j, "address", o->addr[0] ? o->addr : NULL);
	json_rrset(j, "csync_rrset", &cs->rr);
	json_bool(j, "malformed", cs->malformed);
	if (cs->rr.state == CDS_RR_PRESENT && !cs->malformed) {
		json_int(j, "serial", cs->serial);
		json_int(j, "flags", cs->flags);
		json_array_begin(j, "types");
		for (size_t i = 0; i < cs->n_types; i++)
			json_str(j, NULL, type_word(cs->types[i], tb, sizeof tb));
		json_array_end(j);
	}
	if (o->soa.state == CDS_RR_PRESENT)
		json_int(j, "soa_serial", o->soa_serial);
	if (cs->soa_after.state == CDS_RR_PRESENT)
		json_int(j, "soa_serial_after", cs->soa_serial_after);
	json_rrset(j, "ns_rrset", &cs->ns_rr);
	json_array_begin(j, "ns");
	for (size_t i = 0; i < cs->n_ns; i++)
		json_str(j, NULL, cs->ns[i]);
	json_array_end(j);
	json_array_begin(j, "hosts");
	for (size_t h = 0; h < cs->n_hosts; h++) {
		const struct cds_csync_host *ho = &cs->hosts[h];

		json_object_begin(j, NULL);
		json_str(j, "name", ho->name);
		json_rrset(j, "a_rrset", &ho->a_rr);
		json_addrs(j, "a", ho->n_a, ho->a);
		json_rrset(j, "aaaa_rrset", &ho->aaaa_rr);
		json_addrs(j, "aaaa", ho->n_aaaa, ho->aaaa);
		json_object_end(j);
	}
	json_array_end(j);
	json_object_end(j);
}

static void json_csync(struct json *j, const struct check *c)
{
	const struct cds_csync_decision *d = &c->csync;

	json_object_begin(j, "csync");
	json_str(j, "decision", cds_verdict_name(d->verdict));
	json_str(j, "reason", cds_reason_name(d->reason));
	json_str(j, "detail", d->detail);
	json_int(j, "serial", d->serial);
	json_int(j, "flags", d->flags);
	json_bool(j, "set_ns", d->set_ns);
	json_array_begin(j, "delegation");
	for (size_t i = 0; i < c->n_new_ns; i++) {
		json_object_begin(j, NULL);
		json_str(j, "name", c->new_ns[i].name);
		json_addrs(j, "glue", c->new_ns[i].n_glue,
			   (const char(*)[CDS_ADDR_STR_MAX])c->new_ns[i].glue);
		json_object_end(j);
	}
	json_array_end(j);
	json_array_begin(j, "sanity");
	for (size_t i = 0; c->sanity && i < c->sanity->n_obs; i++) {
		const struct cds_server_obs *o = &c->sanity->obs[i];

		json_object_begin(j, NULL);
		json_str(j, "name", o->name);
		json_str(j, "address", o->addr[0] ? o->addr : NULL);
		json_str(j, "error", o->error ? o->error_text : NULL);
		json_bool(j, "soa", o->soa.state == CDS_RR_PRESENT);
		json_bool(j, "dnskey_proven", o->dnskey_proven);
		json_object_end(j);
	}
	json_array_end(j);
	json_array_begin(j, "servers");
	for (size_t i = 0; i < c->result->n_obs; i++)
		json_csync_server(j, &c->result->obs[i]);
	json_array_end(j);
	json_object_end(j);
}

static void print_json(const struct check *c, const struct cds_decision *d)
{
	struct json j;

	json_init(&j, stdout, true);
	json_object_begin(&j, NULL);
	json_str(&j, "domain", c->zone);
	json_int(&j, "time", c->now);
	json_int(&j, "queries", c->result->queries);
	json_bool(&j, "stopped_early", c->result->stopped_early);
	json_object_begin(&j, "ds");
	json_str(&j, "decision", cds_verdict_name(d->verdict));
	json_str(&j, "reason", cds_reason_name(d->reason));
	json_str(&j, "detail", d->detail);
	json_ds_list(&j, "current", c->ds, c->n_ds);
	json_ds_list(&j, "proposed", d->proposed, d->n_proposed);
	json_object_end(&j);
	json_array_begin(&j, "servers");
	for (size_t i = 0; i < c->result->n_obs; i++)
		json_server(&j, &c->result->obs[i]);
	json_array_end(&j);
	if (c->pol.csync)
		json_csync(&j, c);
	json_object_end(&j);
	json_finish(&j);
}

/*
 * The CSYNC decision, and for a change (applied or held) a probe of the
 * delegation it leaves: every new server must answer with the child's
 * SOA and, when the parent holds DS, a DNSKEY set it proves (Y8 [S]).
 * The second probe asks plainly (no CSYNC, no early stop, no
 * bootstrapping) with the same DS. Returns 0, or -1 when it could not
 * run.
 */
static int check_csync(struct check *c, const struct cds_delegation *deleg,
		       const struct scan_request *first)
{
	struct scan_request req;

	policy_decide_csync(deleg, c->ns, c->n_ns, c->result->obs,
			    c->result->n_obs, &c->pol, NULL, &c->csync);
	if (c->csync.verdict != CDS_DEC_UPDATE &&
	    c->csync.reason != CDS_R_CSYNC_HELD)
		return 0;
	if (policy_csync_result(&c->csync, c->ns, c->n_ns, c->new_ns,
				&c->n_new_ns) != CDS_OK) {
		fprintf(stderr, "cdscan check: %s: the new delegation is too "
			"large\n", c->zone);
		return -1;
	}
	req = *first;
	req.ns = c->new_ns;
	req.n_ns = c->n_new_ns;
	req.early_stop = false;
	req.csync = false;
	req.policy = NULL;
	c->result_slot_sanity = true;
	if (scan_probe_start(c->parts.sc, &req, probed, c) != 0)
		return -1;
	run_until_done(c);
	c->result_slot_sanity = false;
	if (!c->sanity) {
		fprintf(stderr, "cdscan check: out of memory\n");
		return -1;
	}
	policy_csync_sanity(deleg, c->sanity->obs, c->sanity->n_obs, &c->csync);
	return 0;
}

int cmd_check(int argc, char **argv, const struct cli_global *g)
{
	struct check *c = calloc(1, sizeof *c);
	struct conf *conf = cli_load_conf(g);
	struct cds_delegation deleg;
	struct cds_decision dec;
	struct scan_request req = {0};
	char err[512];
	int ret = CLI_EXIT_FAIL;

	if (!c || !conf)
		goto out;
	if (parse_args(c, conf, argc, argv) != 0) {
		ret = CLI_EXIT_USAGE;
		goto out;
	}
	if (policy_config_from_conf(conf, &c->pol, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan check: %s\n", err);
		goto out;
	}
	if (!c->now)
		c->now = cli_now(g);
	if (cli_scan_parts_init(&c->parts, conf, "check") != 0 ||
	    find_delegation(c) != 0)
		goto out;
	req = (struct scan_request){.zone = c->zone, .ns = c->ns,
				    .n_ns = c->n_ns, .ds = c->ds,
				    .n_ds = c->n_ds, .now = c->now,
				    .port = (uint16_t)conf_int(conf, "scanner.port"),
				    .early_stop = c->early_stop,
				    .csync = c->pol.csync,
				    .policy = &c->pol};
	if (scan_probe_start(c->parts.sc, &req, probed, c) != 0)
		goto out;
	run_until_done(c);
	if (!c->result) {
		fprintf(stderr, "cdscan check: out of memory\n");
		goto out;
	}
	snprintf(deleg.name, sizeof deleg.name, "%s", c->zone);
	deleg.ds = c->ds;
	deleg.n_ds = c->n_ds;
	policy_decide_ds(&deleg, c->result->obs, c->result->n_obs, &c->pol,
			 c->now, &dec);
	/* no history here: a bootstrap waiting for the delay is scan 1 */
	policy_bootstrap_progress(NULL, &c->pol, c->now, &dec);
	if (c->pol.csync && check_csync(c, &deleg, &req) != 0)
		goto out;
	if (c->json)
		print_json(c, &dec);
	else
		print_text(c, &dec);
	ret = CLI_EXIT_OK;
out:
	if (c)
		teardown(c);
	free(c);
	conf_free(conf);
	return ret;
}
