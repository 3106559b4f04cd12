/*
 * Fuzz target: one DNS message as a nameserver of child.test. might send
 * it, taken through what the scanner does with an answer. The engine's
 * own wire checks and parse (answer_check: QR, opcode, ID, the question
 * compared label by label; answer_parse: header, question and answer
 * section) are reached by including scanner/engine.c, then the probe's
 * classification (RCODE, AA), the DNSKEY, CDS and CDNSKEY RRsets out of
 * the answer section (scan_rrset_from_pkt), the record reader of the
 * early stop (scan_read_records) and the whole validation path
 * (scan_validate_server) against the DS of a fixed key, at a fixed time
 * inside the seeds' signature windows, so that the fuzzer reaches real
 * signature checks instead of stopping at "unproven".
 */
#include "scanner/engine.c"

#include "core/dnssec.h"
#include "core/obs.h"
#include "scanner/validate.h"

#define ZONE "child.test."
#define NOW INT64_C(1800000000) /* 2027-01-15: inside the seeds' windows */

/* tests/fuzz/keys/child.test.ksk.key (ECDSA P-256, SEP): the seeds were
   signed with it (tests/fuzz/mkseeds). */
#include "tests/fuzz/keys/ksk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cds_ds ds[2];
static size_t n_ds;

static void init_ds(void)
{
	ldns_rr *key = NULL, *rr;
	const ldns_rdf *dig;

	if (ldns_rr_new_frm_str(&key, FUZZ_KSK_DNSKEY, 0, NULL, NULL) !=
	    LDNS_STATUS_OK)
		abort();
	if (!(rr = ldns_key_rr2ds(key, LDNS_SHA256)))
		abort();
	dig = ldns_rr_rdf(rr, 3);
	ds[0].keytag = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
	ds[0].alg = ldns_rdf2native_int8(ldns_rr_rdf(rr, 1));
	ds[0].digest_type = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
	ds[0].digest_len = (uint8_t)ldns_rdf_size(dig);
	memcpy(ds[0].digest, ldns_rdf_data(dig), ldns_rdf_size(dig));
	n_ds = 1;
	ldns_rr_free(rr);
	ldns_rr_free(key);
}

/*
 * The engine's acceptance of a message for a query of ours: the ID is
 * taken from the message (an off-path guess that hit), the type is any
 * the probe asks, or ANY, which stands for a message carrying all three
 * RRsets so that one input can reach the whole validation.
 */
static ldns_pkt *engine_accept(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {
		LDNS_RR_TYPE_SOA, LDNS_RR_TYPE_DNSKEY, LDNS_RR_TYPE_CDS,
		LDNS_RR_TYPE_CDNSKEY, LDNS_RR_TYPE_ANY,
	};
	struct scan_query q;
	ldns_pkt *pkt = NULL;
	size_t nlen, end;

	memset(&q, 0, sizeof q);
	if (size < 2 || cds_name_to_wire(ZONE, q.qname, &nlen) != CDS_OK)
		return NULL;
	q.qname_len = (uint16_t)nlen;
	for (size_t i = 0; i < sizeof types / sizeof types[0] && !pkt; i++) {
		q.qtype = types[i];
		if (answer_check(&q, get16(data), data, size, &end) != 0 ||
		    answer_parse(&q, data, size, end, &pkt) != 0)
			pkt = NULL;
	}
	/* a packet emptied by a failed parse waits there for the next */
	if (q.spare)
		ldns_pkt_free(q.spare);
	return pkt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_rrset dk = {0}, cds = {0}, cdk = {0};
	struct cds_server_obs obs, early;
	ldns_pkt *pkt = NULL;

	if (!n_ds)
		init_ds();
	if (!(pkt = engine_accept(data, size)))
		return 0;
	(void)ldns_pkt_get_rcode(pkt);
	(void)ldns_pkt_aa(pkt);
	if (scan_rrset_from_pkt(pkt, ZONE, LDNS_RR_TYPE_DNSKEY, &dk) != 0 ||
	    scan_rrset_from_pkt(pkt, ZONE, LDNS_RR_TYPE_CDS, &cds) != 0 ||
	    scan_rrset_from_pkt(pkt, ZONE, LDNS_RR_TYPE_CDNSKEY, &cdk) != 0)
		goto out;
	memset(&obs, 0, sizeof obs);
	(void)scan_validate_server(ZONE, ds, n_ds, &dk, &cds, &cdk, NOW, &obs);
	cds_server_obs_clear(&obs);
	memset(&early, 0, sizeof early);
	(void)scan_read_records(ZONE, &cds, &cdk, &early);
	cds_server_obs_clear(&early);
out:
	scan_rrset_free(&dk);
	scan_rrset_free(&cds);
	scan_rrset_free(&cdk);
	ldns_pkt_free(pkt);
	return 0;
}
