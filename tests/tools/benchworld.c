/*
 * benchworld: the benchmark's DNS world in one program. It writes N child
 * zones with a registry-like mix (most without CDS, some in steady state,
 * some rolling their KSK, a few deleting their DS, a few broken), the zone
 * list for one Knot serving them all, the parent zone that `cdscan import`
 * loads, and a query file for dnsperf. Every signed zone shares one key
 * set (KSK, next KSK, ZSK): only owner names differ, so the DS differs per
 * zone while key generation happens once. Several zones share each pair
 * of nameserver addresses (~10 by default), like real operators; with
 * Knot on 0.0.0.0 every 127.x address answers, so N/10*2 distinct
 * addresses stand behind one server. Signing dominates the build, so the
 * zones are split over -j processes.
 *
 * usage: benchworld [-n N] [-o ORIGIN] [-a BASEADDR] [-z ZONES_PER_OP]
 *                   [-j JOBS] DIR
 * Writes into DIR:
 *   zones/NAME.zone   one file per served child zone (Knot's default
 *                     "%s.zone" under the template's storage)
 *   knot-zones.conf   "zone:" section listing the served zones, for
 *                     Knot's include:
 *   parent.zone       the parent: NS, glue A and DS of every delegation
 *   queries.txt       dnsperf input: SOA, CDS and CDNSKEY of served zones
 *   kinds.tsv         NAME<TAB>KIND, for checks after a scan
 *   summary.txt       count per kind
 * Zones of kind "refused" are delegated but not served (Knot answers
 * REFUSED); "bogus" zones ask for a new key with a broken CDS/CDNSKEY
 * signature, which cdscan must refuse.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

enum kind {
	K_UNSIGNED,
	K_SIGNED,   /* signed, no CDS/CDNSKEY */
	K_STEADY,   /* CDS/CDNSKEY = the current DS */
	K_ROLLOVER, /* CDS/CDNSKEY = the next KSK, signed by the current */
	K_DELETE,   /* CDS 0 0 0 00 / CDNSKEY 0 3 0 AA== (RFC 8078 §4) */
	K_BOGUS,    /* like a rollover, CDS/CDNSKEY signatures broken */
	K_REFUSED,  /* delegated, not served */
	K_COUNT
};

static const char *const kind_names[K_COUNT] = {
	"unsigned", "signed", "steady", "rollover", "delete", "bogus", "refused"};

/* Share of each kind, per mille, in enum order. */
static const unsigned kind_permille[K_COUNT] = {500, 300, 120, 50, 10, 10, 10};

#define TTL 3600

struct keys {
	ldns_key *ksk, *ksk2, *zsk;
	ldns_rr *ksk_rr, *ksk2_rr, *zsk_rr; /* DNSKEY records, owner set per zone */
};

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "benchworld: %s%s%s\n", what, arg ? ": " : "",
		arg ? arg : "");
	exit(1);
}

/* Spread kinds over the index space with a multiplicative hash, so that
   an operator's ten zones hold a mix rather than one kind each. */
static enum kind kind_of(uint32_t i)
{
	uint32_t h = (uint32_t)(i * 2654435761u) >> 7;
	unsigned p = h % 1000, acc = 0;

	for (int k = 0; k < K_COUNT; k++) {
		acc += kind_permille[k];
		if (p < acc)
			return (enum kind)k;
	}
	return K_UNSIGNED;
}

/* The k-th server address from `base`, skipping last octets 0 and 255. */
static void addr_of(uint32_t base, uint32_t k, char *out, size_t len)
{
	struct in_addr a;
	uint32_t v = base + (k / 254) * 256 + 1 + (k % 254);

	a.s_addr = htonl(v);
	inet_ntop(AF_INET, &a, out, (socklen_t)len);
}

static ldns_key *new_key(uint16_t flags, uint32_t inception,
			 uint32_t expiration, ldns_rr **rr)
{
	ldns_key *k = ldns_key_new_frm_algorithm(LDNS_SIGN_ECDSAP256SHA256, 256);

	if (!k)
		die("cannot generate a key", NULL);
	ldns_key_set_flags(k, flags);
	ldns_key_set_inception(k, inception);
	ldns_key_set_expiration(k, expiration);
	ldns_key_set_use(k, true);
	ldns_key_set_pubkey_owner(k, ldns_dname_new_frm_str("."));
	*rr = ldns_key2rr(k);
	if (!*rr)
		die("cannot make a DNSKEY", NULL);
	ldns_rr_set_ttl(*rr, TTL);
	ldns_key_set_keytag(k, ldns_calc_keytag(*rr));
	return k;
}

static void set_owner(ldns_key *k, ldns_rr *rr, const ldns_rdf *owner)
{
	ldns_rdf_deep_free(ldns_key_pubkey_owner(k));
	ldns_key_set_pubkey_owner(k, ldns_rdf_clone(owner));
	ldns_rdf_deep_free(ldns_rr_owner(rr));
	ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
}

static ldns_rr *rr_str(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static ldns_rr *rr_str(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	ldns_rr *rr = NULL;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, buf, TTL, NULL, NULL) != LDNS_STATUS_OK)
		die("cannot parse record", buf);
	return rr;
}

/* A copy of `rr` with another type (CDS from DS, CDNSKEY from DNSKEY). */
static ldns_rr *retype(const ldns_rr *rr, ldns_rr_type t)
{
	ldns_rr *c = ldns_rr_clone(rr);

	ldns_rr_set_type(c, t);
	return c;
}

/* Print `set` and its signatures by `signers` to `fp`; free the set. With
   `corrupt`, flip a bit in each signature so that it cannot verify. */
static void sign_print(FILE *fp, ldns_rr_list *set, ldns_key_list *signers,
		       bool corrupt)
{
	ldns_rr_list *sigs = NULL;

	if (signers) {
		sigs = ldns_sign_public(set, signers);
		if (!sigs)
			die("signing failed", NULL);
	}
	ldns_rr_list_print(fp, set);
	for (size_t i = 0; sigs && i < ldns_rr_list_rr_count(sigs); i++) {
		ldns_rr *sig = ldns_rr_list_rr(sigs, i);
		ldns_rdf *s = ldns_rr_rrsig_sig(sig);

		if (corrupt && s && ldns_rdf_size(s) > 4)
			ldns_rdf_data(s)[4] ^= 0x01;
		ldns_rr_print(fp, sig);
	}
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(sigs);
}

static ldns_rr_list *set1(ldns_rr *a)
{
	ldns_rr_list *l = ldns_rr_list_new();

	ldns_rr_list_push_rr(l, a);
	return l;
}

static ldns_rr_list *set2(ldns_rr *a, ldns_rr *b)
{
	ldns_rr_list *l = set1(a);

	ldns_rr_list_push_rr(l, b);
	return l;
}

/*
 * One child zone. The apex carries SOA, NS, and for signed kinds DNSKEY,
 * CDS/CDNSKEY and an NSEC chain over apex, ns1 and ns2 (a complete
 * zone, so that NODATA answers carry their proof as on the Internet).
 */
static void write_zone(const char *dir, const char *zone, enum kind k,
		       const char *a1, const char *a2, struct keys *ks)
{
	char path[4096];
	FILE *fp;
	ldns_rdf *owner = ldns_dname_new_frm_str(zone);
	ldns_key_list *zsk = NULL, *ksk = NULL;
	bool signed_ = k != K_UNSIGNED;
	bool cds = k == K_STEADY || k == K_ROLLOVER || k == K_DELETE ||
		   k == K_BOGUS;
	bool two_ksk = k == K_ROLLOVER || k == K_BOGUS;
	const char *apex_types;

	snprintf(path, sizeof(path), "%s/zones/%.*s.zone", dir,
		 (int)strlen(zone) - 1, zone);
	fp = fopen(path, "w");
	if (!fp)
		die(strerror(errno), path);
	fprintf(fp, "$ORIGIN %s\n$TTL %d\n", zone, TTL);
	if (signed_) {
		set_owner(ks->ksk, ks->ksk_rr, owner);
		set_owner(ks->ksk2, ks->ksk2_rr, owner);
		set_owner(ks->zsk, ks->zsk_rr, owner);
		zsk = ldns_key_list_new();
		ksk = ldns_key_list_new();
		ldns_key_list_push_key(zsk, ks->zsk);
		ldns_key_list_push_key(ksk, ks->ksk);
		if (two_ksk)
			ldns_key_list_push_key(ksk, ks->ksk2);
	}
	sign_print(fp, set1(rr_str("%s SOA ns1.%s hostmaster.%s 1 3600 600 "
				   "864000 3600", zone, zone, zone)),
		   zsk, false);
	sign_print(fp, set2(rr_str("%s NS ns1.%s", zone, zone),
			    rr_str("%s NS ns2.%s", zone, zone)), zsk, false);
	if (signed_) {
		ldns_rr_list *dk = set2(ldns_rr_clone(ks->ksk_rr),
					ldns_rr_clone(ks->zsk_rr));
		if (two_ksk)
			ldns_rr_list_push_rr(dk, ldns_rr_clone(ks->ksk2_rr));
		sign_print(fp, dk, ksk, false);
	}
	if (cds) {
		ldns_rr *ds = NULL, *cdnskey = NULL;
		/* RFC 7344 §4.1: signed by a key the current DS points at
		   (the current KSK, first in `ksk`). */
		ldns_key_list *by = ldns_key_list_new();

		ldns_key_list_push_key(by, ks->ksk);
		if (k == K_DELETE) {
			ds = rr_str("%s CDS 0 0 0 00", zone);
			cdnskey = rr_str("%s CDNSKEY 0 3 0 AA==", zone);
		} else {
			const ldns_rr *want = k == K_STEADY ? ks->ksk_rr : ks->ksk2_rr;
			ldns_rr *d = ldns_key_rr2ds(want, LDNS_SHA256);

			if (!d)
				die("cannot make a DS", zone);
			ds = retype(d, LDNS_RR_TYPE_CDS);
			ldns_rr_free(d);
			cdnskey = retype(want, LDNS_RR_TYPE_CDNSKEY);
		}
		ldns_rr_set_ttl(ds, TTL);
		ldns_rr_set_ttl(cdnskey, TTL);
		sign_print(fp, set1(ds), by, k == K_BOGUS);
		sign_print(fp, set1(cdnskey), by, k == K_BOGUS);
		ldns_key_list_set_key_count(by, 0);
		ldns_key_list_free(by);
	}
	sign_print(fp, set1(rr_str("ns1.%s A %s", zone, a1)), zsk, false);
	sign_print(fp, set1(rr_str("ns2.%s A %s", zone, a2)), zsk, false);
	if (signed_) {
		apex_types = cds ? "NS SOA RRSIG NSEC DNSKEY CDS CDNSKEY"
				 : "NS SOA RRSIG NSEC DNSKEY";
		sign_print(fp, set1(rr_str("%s NSEC ns1.%s %s", zone, zone,
					   apex_types)), zsk, false);
		sign_print(fp, set1(rr_str("ns1.%s NSEC ns2.%s A RRSIG NSEC",
					   zone, zone)), zsk, false);
		sign_print(fp, set1(rr_str("ns2.%s NSEC %s A RRSIG NSEC", zone,
					   zone)), zsk, false);
	}
	if (fclose(fp) != 0)
		die(strerror(errno), path);
	/* The lists borrow the keys: free the lists only. */
	if (zsk) {
		ldns_key_list_set_key_count(zsk, 0);
		ldns_key_list_free(zsk);
	}
	if (ksk) {
		ldns_key_list_set_key_count(ksk, 0);
		ldns_key_list_free(ksk);
	}
	ldns_rdf_deep_free(owner);
}

static void zone_name(uint32_t i, const char *origin, char *out, size_t len)
{
	snprintf(out, len, "z%07u.%s", (unsigned)i, origin);
}

/* Worker `w` of `jobs`: the served child zones with i % jobs == w. */
static void write_children(const char *dir, const char *origin, uint32_t n,
			   uint32_t base, uint32_t per_op, int w, int jobs,
			   struct keys *ks)
{
	char zone[256], a1[32], a2[32];

	for (uint32_t i = (uint32_t)w; i < n; i += (uint32_t)jobs) {
		enum kind k = kind_of(i);
		uint32_t op = i / per_op;

		if (k == K_REFUSED)
			continue;
		zone_name(i, origin, zone, sizeof(zone));
		addr_of(base, 2 * op, a1, sizeof(a1));
		addr_of(base, 2 * op + 1, a2, sizeof(a2));
		write_zone(dir, zone, k, a1, a2, ks);
	}
}

static FILE *open_out(const char *dir, const char *name)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (!fp)
		die(strerror(errno), path);
	return fp;
}

/* Parent zone, Knot's zone list, dnsperf queries, kinds and summary. */
static void write_parent(const char *dir, const char *origin, uint32_t n,
			 uint32_t base, uint32_t per_op, struct keys *ks)
{
	FILE *pz = open_out(dir, "parent.zone");
	FILE *kz = open_out(dir, "knot-zones.conf");
	FILE *qf = open_out(dir, "queries.txt");
	FILE *kf = open_out(dir, "kinds.tsv");
	FILE *sf = open_out(dir, "summary.txt");
	char zone[256], a1[32], a2[32];
	uint32_t count[K_COUNT] = {0};

	fprintf(pz, "$ORIGIN %s\n$TTL %d\n", origin, TTL);
	fprintf(pz, "@ SOA ns.%s hostmaster.%s 1 3600 600 864000 3600\n",
		origin, origin);
	fprintf(pz, "@ NS ns.%s\nns A 127.0.0.1\n", origin);
	fprintf(kz, "zone:\n");
	for (uint32_t i = 0; i < n; i++) {
		enum kind k = kind_of(i);
		uint32_t op = i / per_op;

		count[k]++;
		zone_name(i, origin, zone, sizeof(zone));
		addr_of(base, 2 * op, a1, sizeof(a1));
		addr_of(base, 2 * op + 1, a2, sizeof(a2));
		fprintf(pz, "%s NS ns1.%s\n%s NS ns2.%s\n", zone, zone, zone,
			zone);
		fprintf(pz, "ns1.%s A %s\nns2.%s A %s\n", zone, a1, zone, a2);
		if (k != K_UNSIGNED && k != K_REFUSED) {
			char *s;
			ldns_rr *ds;

			set_owner(ks->ksk, ks->ksk_rr, ldns_dname_new_frm_str(zone));
			ds = ldns_key_rr2ds(ks->ksk_rr, LDNS_SHA256);
			if (!ds)
				die("cannot make a DS", zone);
			ldns_rr_set_ttl(ds, TTL);
			s = ldns_rr2str(ds);
			fputs(s, pz);
			free(s);
			ldns_rr_free(ds);
		}
		fprintf(kf, "%s\t%s\n", zone, kind_names[k]);
		if (k == K_REFUSED)
			continue;
		fprintf(kz, "  - domain: \"%s\"\n", zone);
		fprintf(qf, "%s SOA\n%s CDS\n%s CDNSKEY\n", zone, zone, zone);
	}
	fprintf(sf, "delegations\t%u\n", (unsigned)n);
	fprintf(sf, "addresses\t%u\n", (unsigned)(2 * ((n + per_op - 1) / per_op)));
	for (int k = 0; k < K_COUNT; k++)
		fprintf(sf, "%s\t%u\n", kind_names[k], (unsigned)count[k]);
	if (fclose(pz) || fclose(kz) || fclose(qf) || fclose(kf) || fclose(sf))
		die("write error", dir);
}

int main(int argc, char **argv)
{
	uint32_t n = 100000, per_op = 10;
	const char *origin = "bench.", *base_s = "127.1.0.0";
	int jobs = 2, c;
	struct in_addr ba;
	struct keys ks;
	char path[4096];
	time_t now = time(NULL);

	while ((c = getopt(argc, argv, "n:o:a:z:j:")) != -1) {
		switch (c) {
		case 'n': n = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'o': origin = optarg; break;
		case 'a': base_s = optarg; break;
		case 'z': per_op = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'j': jobs = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: benchworld [-n N] [-o ORIGIN] "
				"[-a BASEADDR] [-z ZONES_PER_OP] [-j JOBS] DIR\n");
			return 2;
		}
	}
	if (optind != argc - 1 || n == 0 || per_op == 0 || jobs < 1)
		die("usage: benchworld [-n N] [-o ORIGIN] [-a BASEADDR] "
		    "[-z ZONES_PER_OP] [-j JOBS] DIR", NULL);
	if (origin[strlen(origin) - 1] != '.')
		die("the origin must end with a dot", origin);
	if (inet_pton(AF_INET, base_s, &ba) != 1)
		die("not an IPv4 address", base_s);
	snprintf(path, sizeof(path), "%s/zones", argv[optind]);
	if (mkdir(argv[optind], 0755) && errno != EEXIST)
		die(strerror(errno), argv[optind]);
	if (mkdir(path, 0755) && errno != EEXIST)
		die(strerror(errno), path);

	ks.ksk = new_key(257, (uint32_t)(now - 3600), (uint32_t)(now + 14 * 86400),
			 &ks.ksk_rr);
	ks.ksk2 = new_key(257, (uint32_t)(now - 3600), (uint32_t)(now + 14 * 86400),
			  &ks.ksk2_rr);
	ks.zsk = new_key(256, (uint32_t)(now - 3600), (uint32_t)(now + 14 * 86400),
			 &ks.zsk_rr);

	fflush(NULL);
	for (int w = 0; w < jobs; w++) {
		pid_t p = fork();

		if (p < 0)
			die(strerror(errno), "fork");
		if (p == 0) {
			write_children(argv[optind], origin, n,
				       ntohl(ba.s_addr), per_op, w, jobs, &ks);
			_exit(0);
		}
	}
	write_parent(argv[optind], origin, n, ntohl(ba.s_addr), per_op, &ks);
	for (int w = 0; w < jobs; w++) {
		int st;

		if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("a signing process failed", NULL);
	}
	return 0;
}
