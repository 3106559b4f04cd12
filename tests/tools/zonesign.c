/*
 * zonesign: the test world's zone signer. It signs one zone file with
 * ldns the way Knot and BIND do (DNSKEY, CDS and CDNSKEY by the KSKs,
 * everything else by the ZSKs, RFC 7344 §4.1 wants the CDS signed by a key
 * in the DS set) and adds what ldns-signzone cannot: CDS/CDNSKEY signed by
 * the ZSKs only, a separate validity window for CDS/CDNSKEY (an expired
 * signature on an otherwise valid zone), and DNSKEY records that are
 * published but do not sign (another operator's ZSK, standby keys).
 *
 * usage: zonesign [options] -o ORIGIN -f OUT ZONEFILE KEY...
 *   KEY          base path of ldns-keygen files (KEY.key, KEY.private);
 *                SEP flag set = KSK, else ZSK. A zone with no ZSK is
 *                signed entirely by its KSKs (CSK).
 *   -p KEY       publish KEY.key in the DNSKEY set, do not sign with it
 *   -z           sign CDS/CDNSKEY with the ZSKs instead of the KSKs
 *   -i T -e T    signature inception/expiration (default -1h, +14d)
 *   -I T -E T    inception/expiration for CDS/CDNSKEY signatures only
 *   -t TTL       default TTL (60)
 * T is YYYYMMDDHHMMSS, unix seconds, or +N/-N relative to now with an
 * optional unit s, m, h or d.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#define MAX_KEYS 32

struct opts {
	const char *origin;
	const char *out;
	const char *zonefile;
	const char *publish[MAX_KEYS];
	size_t n_publish;
	bool cds_by_zsk;
	uint32_t ttl;
	uint32_t inception, expiration;         /* every other RRset */
	uint32_t cds_inception, cds_expiration; /* CDS and CDNSKEY */
};

struct signer {
	ldns_key_list *ksks;
	ldns_key_list *zsks;
	ldns_rr_list *dnskeys; /* every DNSKEY to publish, signing or not */
};

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "zonesign: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

/* Parse T (see the usage above) relative to `now`. */
static uint32_t parse_time(const char *s, time_t now)
{
	char *end;
	long long v;
	struct tm tm;

	if (s[0] == '+' || s[0] == '-') {
		v = strtoll(s, &end, 10);
		switch (*end) {
		case 'd': v *= 86400; end++; break;
		case 'h': v *= 3600; end++; break;
		case 'm': v *= 60; end++; break;
		case 's': end++; break;
		default: break;
		}
		if (*end != '\0')
			die("bad relative time '%s'", s);
		return (uint32_t)(now + v);
	}
	if (strlen(s) == 14) {
		memset(&tm, 0, sizeof(tm));
		if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
			die("bad time '%s'", s);
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		return (uint32_t)timegm(&tm);
	}
	v = strtoll(s, &end, 10);
	if (*end != '\0' || end == s)
		die("bad time '%s'", s);
	return (uint32_t)v;
}

/* Read the DNSKEY record of BASE.key. Owned by caller. */
static ldns_rr *read_dnskey(const char *base)
{
	char path[4096];
	FILE *fp;
	ldns_rr *rr = NULL;
	ldns_status st;
	int line = 0;

	snprintf(path, sizeof(path), "%s.key", base);
	fp = fopen(path, "r");
	if (!fp)
		die("cannot open %s", path);
	while (!feof(fp)) {
		st = ldns_rr_new_frm_fp_l(&rr, fp, NULL, NULL, NULL, &line);
		if (st == LDNS_STATUS_OK &&
		    ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNSKEY)
			break;
		if (st == LDNS_STATUS_OK)
			ldns_rr_free(rr);
		rr = NULL;
		if (st != LDNS_STATUS_OK && st != LDNS_STATUS_SYNTAX_EMPTY &&
		    st != LDNS_STATUS_SYNTAX_TTL &&
		    st != LDNS_STATUS_SYNTAX_ORIGIN)
			die("no DNSKEY in %s", path);
	}
	fclose(fp);
	if (!rr)
		die("no DNSKEY in %s", path);
	return rr;
}

/* Load the private key of BASE and give it the flags of BASE.key. */
static ldns_key *read_key(const char *base, const ldns_rr *dnskey)
{
	char path[4096];
	FILE *fp;
	ldns_key *key = NULL;

	snprintf(path, sizeof(path), "%s.private", base);
	fp = fopen(path, "r");
	if (!fp)
		die("cannot open %s", path);
	if (ldns_key_new_frm_fp(&key, fp) != LDNS_STATUS_OK)
		die("cannot read key %s", path);
	fclose(fp);
	ldns_key_set_flags(key, ldns_rdf2native_int16(ldns_rr_dnskey_flags(dnskey)));
	ldns_key_set_pubkey_owner(key, ldns_rdf_clone(ldns_rr_owner(dnskey)));
	ldns_key_set_keytag(key, ldns_calc_keytag(dnskey));
	ldns_key_set_use(key, true);
	return key;
}

static void add_dnskey(struct signer *s, ldns_rr *dnskey, uint32_t ttl)
{
	ldns_rr_set_ttl(dnskey, ttl);
	ldns_rr_list_push_rr(s->dnskeys, dnskey);
}

static void load_keys(struct signer *s, const struct opts *o, char **keys,
		      int n_keys)
{
	ldns_rr *rr;
	ldns_key *key;

	s->ksks = ldns_key_list_new();
	s->zsks = ldns_key_list_new();
	s->dnskeys = ldns_rr_list_new();
	for (int i = 0; i < n_keys; i++) {
		rr = read_dnskey(keys[i]);
		key = read_key(keys[i], rr);
		if (ldns_key_flags(key) & LDNS_KEY_SEP_KEY)
			ldns_key_list_push_key(s->ksks, key);
		else
			ldns_key_list_push_key(s->zsks, key);
		add_dnskey(s, rr, o->ttl);
	}
	for (size_t i = 0; i < o->n_publish; i++)
		add_dnskey(s, read_dnskey(o->publish[i]), o->ttl);
	if (ldns_key_list_key_count(s->ksks) == 0)
		die("%s", "no KSK (a key with the SEP flag) given");
	/* A single-key zone (CSK): its KSKs sign everything. */
	if (ldns_key_list_key_count(s->zsks) == 0)
		for (size_t i = 0; i < ldns_key_list_key_count(s->ksks); i++)
			ldns_key_list_push_key(s->zsks, ldns_key_list_key(s->ksks, i));
}

/* Read ZONEFILE plus the DNSKEYs into a dnssec zone with its NSEC chain. */
static ldns_dnssec_zone *load_zone(const struct opts *o, struct signer *s)
{
	FILE *fp;
	ldns_zone *z = NULL;
	ldns_rdf *origin = ldns_dname_new_frm_str(o->origin);
	ldns_dnssec_zone *dz = ldns_dnssec_zone_new();
	ldns_rr_list *nsecs = ldns_rr_list_new();
	int line = 0;

	fp = fopen(o->zonefile, "r");
	if (!fp)
		die("cannot open %s", o->zonefile);
	if (ldns_zone_new_frm_fp_l(&z, fp, origin, o->ttl, LDNS_RR_CLASS_IN,
				   &line) != LDNS_STATUS_OK)
		die("cannot parse zone %s", o->zonefile);
	fclose(fp);
	if (!ldns_zone_soa(z))
		die("no SOA in %s", o->zonefile);
	ldns_dnssec_zone_add_rr(dz, ldns_rr_clone(ldns_zone_soa(z)));
	for (size_t i = 0; i < ldns_zone_rr_count(z); i++)
		ldns_dnssec_zone_add_rr(dz, ldns_rr_clone(ldns_rr_list_rr(ldns_zone_rrs(z), i)));
	for (size_t i = 0; i < ldns_rr_list_rr_count(s->dnskeys); i++)
		ldns_dnssec_zone_add_rr(dz, ldns_rr_clone(ldns_rr_list_rr(s->dnskeys, i)));
	ldns_dnssec_zone_mark_glue(dz);
	if (ldns_dnssec_zone_create_nsecs(dz, nsecs) != LDNS_STATUS_OK)
		die("%s", "cannot create the NSEC chain");
	ldns_rr_list_free(nsecs);
	ldns_zone_deep_free(z);
	ldns_rdf_deep_free(origin);
	return dz;
}

static void set_window(ldns_key_list *keys, uint32_t inc, uint32_t exp)
{
	for (size_t i = 0; i < ldns_key_list_key_count(keys); i++) {
		ldns_key_set_inception(ldns_key_list_key(keys, i), inc);
		ldns_key_set_expiration(ldns_key_list_key(keys, i), exp);
	}
}

/* Sign one RRset (a linked list of rrs) with the keys its type calls for,
   appending the signatures to `sigs`. */
static void sign_rrset(const struct opts *o, const struct signer *s,
		       ldns_rr_type type, ldns_dnssec_rrs *rrs,
		       ldns_rr_list *sigs)
{
	bool cds = type == LDNS_RR_TYPE_CDS || type == LDNS_RR_TYPE_CDNSKEY;
	ldns_key_list *keys = s->zsks;
	ldns_rr_list *set = ldns_rr_list_new();
	ldns_rr_list *made;

	/* RFC 7344 §4.1: CDS/CDNSKEY signed by a key in the DS set (KSK). */
	if (type == LDNS_RR_TYPE_DNSKEY || (cds && !o->cds_by_zsk))
		keys = s->ksks;
	if (cds)
		set_window(keys, o->cds_inception, o->cds_expiration);
	else
		set_window(keys, o->inception, o->expiration);
	for (; rrs; rrs = rrs->next)
		ldns_rr_list_push_rr(set, rrs->rr);
	made = ldns_sign_public(set, keys);
	if (!made)
		die("%s", "signing failed");
	ldns_rr_list_cat(sigs, made);
	ldns_rr_list_free(made);
	ldns_rr_list_free(set);
}

/* Signatures for every authoritative RRset and NSEC of the zone. */
static ldns_rr_list *sign_zone(const struct opts *o, const struct signer *s,
			       ldns_dnssec_zone *dz)
{
	ldns_rr_list *sigs = ldns_rr_list_new();
	ldns_rbnode_t *node;
	ldns_dnssec_name *name;
	ldns_dnssec_rrsets *set;
	bool apex, cut;

	for (node = ldns_rbtree_first(dz->names); node != LDNS_RBTREE_NULL;
	     node = ldns_rbtree_next(node)) {
		name = (ldns_dnssec_name *)node->data;
		if (name->is_glue)
			continue;
		apex = ldns_dname_compare(name->name, ldns_rr_owner(dz->soa->rrsets->rrs->rr)) == 0;
		cut = !apex && ldns_dnssec_name_find_rrset(name, LDNS_RR_TYPE_NS);
		for (set = name->rrsets; set; set = set->next) {
			/* RFC 4035 §2.2: at a cut only DS (and NSEC) are signed */
			if (cut && set->type != LDNS_RR_TYPE_DS)
				continue;
			sign_rrset(o, s, set->type, set->rrs, sigs);
		}
		if (name->nsec) {
			ldns_dnssec_rrs one = {.rr = name->nsec, .next = NULL};
			sign_rrset(o, s, LDNS_RR_TYPE_NSEC, &one, sigs);
		}
	}
	return sigs;
}

static void usage(void)
{
	fprintf(stderr, "usage: zonesign [-z] [-p KEY]... [-i T] [-e T] [-I T] [-E T]"
			" [-t TTL] -o ORIGIN -f OUT ZONEFILE KEY...\n");
	exit(2);
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	time_t now = time(NULL);
	const char *inc = "-1h", *exp = "+14d", *cinc = NULL, *cexp = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	o->ttl = 60;
	while ((c = getopt(argc, argv, "o:f:p:zi:e:I:E:t:")) != -1) {
		switch (c) {
		case 'o': o->origin = optarg; break;
		case 'f': o->out = optarg; break;
		case 'p':
			if (o->n_publish == MAX_KEYS)
				die("%s", "too many -p");
			o->publish[o->n_publish++] = optarg;
			break;
		case 'z': o->cds_by_zsk = true; break;
		case 'i': inc = optarg; break;
		case 'e': exp = optarg; break;
		case 'I': cinc = optarg; break;
		case 'E': cexp = optarg; break;
		case 't': o->ttl = (uint32_t)atoi(optarg); break;
		default: usage();
		}
	}
	if (!o->origin || !o->out || argc - optind < 2)
		usage();
	o->zonefile = argv[optind];
	o->inception = parse_time(inc, now);
	o->expiration = parse_time(exp, now);
	o->cds_inception = parse_time(cinc ? cinc : inc, now);
	o->cds_expiration = parse_time(cexp ? cexp : exp, now);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct signer s;
	ldns_dnssec_zone *dz;
	ldns_rr_list *sigs;
	FILE *out;

	parse_opts(argc, argv, &o);
	load_keys(&s, &o, argv + optind + 1, argc - optind - 1);
	dz = load_zone(&o, &s);
	sigs = sign_zone(&o, &s, dz);
	for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++)
		ldns_dnssec_zone_add_rr(dz, ldns_rr_list_rr(sigs, i));
	out = fopen(o.out, "w");
	if (!out)
		die("cannot write %s", o.out);
	ldns_dnssec_zone_print(out, dz);
	if (fclose(out) != 0)
		die("cannot write %s", o.out);
	ldns_rr_list_free(sigs);
	ldns_dnssec_zone_deep_free(dz);
	ldns_rr_list_deep_free(s.dnskeys);
	/* With a CSK the ZSK list borrows the KSK list's keys: free each once. */
	if (ldns_key_list_key_count(s.zsks) > 0 &&
	    ldns_key_list_key(s.zsks, 0) == ldns_key_list_key(s.ksks, 0))
		ldns_key_list_set_key_count(s.zsks, 0);
	ldns_key_list_free(s.zsks);
	ldns_key_list_free(s.ksks);
	return 0;
}
