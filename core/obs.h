/*
 * Observations: what one nameserver address said about a child zone, after
 * the scanner asked it and checked the DNSSEC signatures. Plain structs:
 * the scanner fills them, policy reads them, tests build them by hand.
 *
 * Ownership: the record arrays (dnskey, cds, cdnskey) are owned by the
 * observation when filled by the scanner and released by
 * cds_server_obs_clear(); tests may point them at their own arrays and
 * must then not call it.
 */
#ifndef CDS_CORE_OBS_H
#define CDS_CORE_OBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decision.h"
#include "core/dnssec.h"

#define CDS_RRSET_MAX 32     /* records per RRset we accept from a server */
#define CDS_ERRTEXT_MAX 160

enum cds_transport { CDS_TRANSPORT_UDP = 0, CDS_TRANSPORT_TCP };

/* What the server said for one query type. */
enum cds_rrstate {
	CDS_RR_NOT_QUERIED = 0, /* not asked (stopped early or not needed) */
	CDS_RR_PRESENT,         /* an RRset of that type at the apex */
	CDS_RR_NODATA,          /* NOERROR, no RRset of that type */
	CDS_RR_FAILED,          /* no usable answer; see error */
};

/*
 * Outcome of the signature checks on one RRset (filled by
 * scanner/validate). Ordered by how much the data can be trusted.
 */
enum cds_sigstate {
	CDS_SIG_NA = 0,        /* nothing to check (not present) */
	CDS_SIG_VALID_DS_KEY,  /* valid RRSIG by a key in both DS and DNSKEY
	                          (RFC 7344 §4.1) */
	CDS_SIG_VALID_OTHER,   /* valid only by a key of the proven DNSKEY
	                          set that no current DS refers to */
	CDS_SIG_UNPROVEN,      /* the server's DNSKEY set is not proven by the
	                          current DS, so nothing it signs is trusted */
	CDS_SIG_UNSIGNED,      /* no RRSIG covering the RRset */
	CDS_SIG_EXPIRED,       /* a signature verifies but now is outside its
	                          inception..expiration window */
	CDS_SIG_BOGUS,         /* RRSIGs present, none verifies */
};

struct cds_rrset_obs {
	enum cds_rrstate state;
	enum cds_sigstate sig;
	int error;            /* CDS_E* when state is CDS_RR_FAILED */
	uint32_t ttl;
	uint32_t sig_inception;  /* newest inception among valid RRSIGs, 0 none */
	uint32_t sig_expiration; /* its expiration */
	uint16_t sig_keytag;     /* key tag of the key that made it */
	unsigned count;       /* records received; > stored when truncated */
	bool overflow;        /* more than CDS_RRSET_MAX records: not stored */
};

/*
 * What a validating resolver concluded about a lookup (RFC 4035 §4.3).
 * CDS_SEC_NONE: no lookup was made.
 */
enum cds_secstate {
	CDS_SEC_NONE = 0,
	CDS_SEC_SECURE,
	CDS_SEC_INSECURE,
	CDS_SEC_BOGUS,
	CDS_SEC_INDETERMINATE, /* no trust anchor configured */
};

/* One RRset type of an RFC 9615 signal lookup. */
struct cds_signal_rr {
	enum cds_rrstate state; /* PRESENT; NODATA (also NXDOMAIN); FAILED
	                           (no answer: see error); NOT_QUERIED */
	enum cds_secstate sec;  /* what the validator said about it */
	int error;              /* CDS_E* when FAILED */
};

/*
 * RFC 9615 §4.2 step 3: the CDS and CDNSKEY RRsets at
 * _dsboot.<child>._signal.<nsname> for the NS name of a server
 * observation, looked up through the validating resolver. Filled by the
 * probe only when the parent holds no DS, policy.bootstrap has rfc9615
 * and the NS name lies outside the child; then every observation of that
 * NS name carries the same copy. Otherwise `looked_up` is false. Arrays
 * owned like the other record arrays (cds_server_obs_clear).
 */
struct cds_signal_obs {
	bool looked_up;
	struct cds_signal_rr cds_rr, cdnskey_rr;
	size_t n_cds;
	struct cds_ds *cds;
	size_t n_cdnskey;
	struct cds_dnskey *cdnskey;
};

/*
 * CSYNC (RFC 7477, STANDARDS §6) at one server, filled when the probe
 * was asked for it (scan_request.csync). The probe asks every server, in
 * this order (RFC 7477 §3.1, Y5): SOA, CSYNC, then — only when CSYNC is
 * present and its record could be read — the data the bit map names
 * (NS when the NS bit is set; A and/or AAAA of every in-bailiwick NS
 * name: of the server's own NS RRset when the NS bit is set, else of the
 * parent's current NS set), then SOA again. Every RRset is validated
 * like the CDS RRset (against the current DS; sig says how it went), and
 * a NODATA answer's denial is checked too (sig VALID_* when the
 * NSEC/NSEC3 proof verifies, UNSIGNED/BOGUS otherwise).
 *
 * Ownership: hosts is owned like the other record arrays
 * (cds_server_obs_clear).
 */
#define CDS_CSYNC_TYPES_MAX 64 /* types kept from one bit map */

#define CDS_CSYNC_IMMEDIATE 0x0001 /* RFC 7477 §2.1.1.2 */
#define CDS_CSYNC_SOAMINIMUM 0x0002

/* The addresses of one in-bailiwick NS name at one server. */
struct cds_csync_host {
	char name[CDS_NAME_MAX];
	struct cds_rrset_obs a_rr, aaaa_rr; /* state NOT_QUERIED when the bit
	                                       map does not name the type */
	size_t n_a, n_aaaa;
	char a[CDS_GLUE_MAX][CDS_ADDR_STR_MAX];    /* sorted, text form */
	char aaaa[CDS_GLUE_MAX][CDS_ADDR_STR_MAX]; /* sorted, canonical text */
};

struct cds_csync_obs {
	bool asked;                  /* the probe asked for CSYNC */
	struct cds_rrset_obs rr;     /* the CSYNC RRset; count > 1 = several
	                                records (Y2: ignored) */
	bool malformed;              /* the record could not be read (W3: bad
	                                bit map window, short rdata) */
	uint32_t serial;
	uint16_t flags;
	size_t n_types;
	uint16_t types[CDS_CSYNC_TYPES_MAX]; /* from the bit map, ascending */
	bool types_overflow;         /* more types than kept */

	/* SOA serial asked again after the data (Y5); soa_after.state
	   NOT_QUERIED when CSYNC was absent. */
	struct cds_rrset_obs soa_after;
	uint32_t soa_serial_after;

	/* NS RRset (NS bit): names in presentation form, lower case, with
	   the trailing dot, sorted, duplicates dropped. */
	struct cds_rrset_obs ns_rr;
	size_t n_ns;
	char (*ns)[CDS_NAME_MAX];
	bool ns_overflow;            /* more than CDS_CSYNC_NS_MAX */

	/* A/AAAA of the in-bailiwick NS names (A or AAAA bit), sorted by
	   name. */
	size_t n_hosts;
	struct cds_csync_host *hosts;
};

/* One nameserver address of the child, with everything it said. */
struct cds_server_obs {
	char name[CDS_NAME_MAX];      /* NS name, presentation form */
	char addr[CDS_ADDR_STR_MAX];  /* address it was asked at */
	enum cds_transport transport; /* transport of the last answer */

	/* CDS_OK when every query got an authoritative answer; else why not
	   (CDS_ETIMEOUT, CDS_ERCODE, CDS_ELAME, CDS_EMALFORMED, ...) and a
	   line for people, naming the query ("CDS: timeout after 3 tries"). */
	int error;
	char error_text[CDS_ERRTEXT_MAX];
	/* From history: when this address was first seen not answering in
	   the current streak (unix time), 0 when unknown or answering. */
	int64_t unreachable_since;

	struct cds_rrset_obs soa;
	uint32_t soa_serial;

	struct cds_rrset_obs dnskey_rr;
	size_t n_dnskey;
	struct cds_dnskey *dnskey;
	/* dnskey_signs[i]: dnskey[i] made an RRSIG over the DNSKEY RRset that
	   verifies at the time of the check. Same length as dnskey. */
	bool *dnskey_signs;
	/* A key matching a current DS validly signs the DNSKEY RRset. */
	bool dnskey_proven;

	struct cds_rrset_obs cds_rr;
	size_t n_cds;
	struct cds_ds *cds;

	struct cds_rrset_obs cdnskey_rr;
	size_t n_cdnskey;
	struct cds_dnskey *cdnskey;

	/* Bootstrapping (no current DS, STANDARDS §5): the DNSKEY RRset and
	   the CDS/CDNSKEY signatures above were checked against the DS set
	   this server's own CDS/CDNSKEY propose (built by
	   policy_bootstrap_ds), not against the (empty) current DS set. So
	   VALID_DS_KEY and dnskey_proven mean "by the proposed DS". */
	bool checked_proposed;
	/* RFC 9615 signal for this server's NS name (see above). */
	struct cds_signal_obs signal;

	/* CSYNC and the data it names (see struct cds_csync_obs). */
	struct cds_csync_obs csync;
};


/* One NS name of a delegation as the parent holds it, with its glue (or,
   for an NS name outside the parent, no addresses: they are looked up). */
struct cds_ns {
	char name[CDS_NAME_MAX];
	size_t n_glue;
	char glue[CDS_GLUE_MAX][CDS_ADDR_STR_MAX]; /* "192.0.2.1", "::1" */
};

/* The delegation as the parent holds it today. */
struct cds_delegation {
	char name[CDS_NAME_MAX];
	size_t n_ds;
	const struct cds_ds *ds;  /* borrowed */
};

/*
 * What the registry remembers about a delegation from earlier scans and
 * changes: read with the delegation (db/history.c), passed to policy with
 * it, so that rules over time stay pure. Times are unix seconds, 0 =
 * never or unknown. Owned by the registry side; policy only reads.
 */
struct cds_history {
	/* Newest DS change cdscan applied (audit actor 'scan'): hold-down
	   and replay protection (STANDARDS §14, RFC 9615 §5). */
	int64_t last_change;
	/* The oldest RRSIG inception over the CDS/CDNSKEY RRsets (at every
	   server) that drove that change, from its audit evidence; 0 when
	   unknown. Replay protection compares with this, not with the
	   change's time: signers back-date inception (Knot by 90 minutes),
	   so a fresh RRset can carry an inception before the change. */
	int64_t last_change_inception;
	/* Newest change of the delegation made by other means (import,
	   the registry's own tools, EPP): resets bootstrap progress. */
	int64_t last_change_other;
	/* Consecutive recorded scans (not dry runs) whose verdict was
	   rejected, newest first, before this one: notifications
	   (policy.notify-rejected-after) send one event per streak.
	   Counted up to notify-rejected-after (db_history_load). */
	unsigned rejected_streak;
	/* Accept-after-delay bootstrapping (RFC 8078 §3, STANDARDS §14):
	   the consecutive recorded scans (not dry runs), newest first,
	   before this one that were pending with reason bootstrap-waiting
	   and proposed the same DS set as the newest of them; when the
	   first of them was made; and that DS set (canonical order,
	   n_boot_ds entries, at most CDS_DS_MAX; NULL when none). The set
	   belongs to whoever filled the history (db_history_load: the
	   delegation's, freed with it); it is allocated to size because
	   a fixed array was 2.2 KB of every claimed delegation, for the
	   few on a bootstrap streak. Streak 0: none. */
	unsigned boot_streak;
	int64_t boot_since;
	size_t n_boot_ds;
	struct cds_ds *boot_ds;
	/* CSYNC (STANDARDS Y5 with stored state): the serial of the newest
	   CSYNC change applied (or approved) for this delegation. */
	bool has_csync_serial;
	uint32_t csync_serial;
};

/* Release the record arrays of an observation the scanner filled. */
void cds_server_obs_clear(struct cds_server_obs *obs);

const char *cds_rrstate_name(enum cds_rrstate s);
const char *cds_sigstate_name(enum cds_sigstate s);
const char *cds_transport_name(enum cds_transport t);
const char *cds_secstate_name(enum cds_secstate s);

#endif
