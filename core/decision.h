/*
 * Decisions: what the parent's DS set should become and why. Made by
 * policy/, printed by cli/, recorded by db/. Plain structs.
 */
#ifndef CDS_CORE_DECISION_H
#define CDS_CORE_DECISION_H

#include <stddef.h>

#include "core/dnssec.h"

#define CDS_DS_MAX 32         /* DS records a decision can propose */
#define CDS_DETAIL_MAX 1024   /* reason text for people */
#define CDS_ADDR_STR_MAX 46   /* INET6_ADDRSTRLEN */
#define CDS_GLUE_MAX 16       /* addresses kept per NS name */
#define CDS_CSYNC_NS_MAX 16   /* NS names in a CSYNC NS set */

enum cds_verdict {
	CDS_DEC_UNCHANGED = 0, /* DS set stays as it is */
	CDS_DEC_UPDATE,        /* replace the DS set by `proposed` */
	CDS_DEC_DELETE,        /* remove the whole DS set (RFC 8078 §4) */
	CDS_DEC_REJECTED,      /* the child asked for something we refuse */
	CDS_DEC_PENDING,       /* could not decide now; ask again later */
};

/*
 * Why. Stable names (cds_reason_name) go to JSON, the database and the
 * run summary; add new ones at the end.
 */
enum cds_reason {
	CDS_R_NONE = 0,
	CDS_R_NO_CDS,            /* no CDS/CDNSKEY anywhere (RFC 7344 §6.1.1) */
	CDS_R_SAME_AS_CURRENT,   /* requested set equals current DS */
	CDS_R_APPLY_UPDATE,      /* accepted update */
	CDS_R_APPLY_DELETE,      /* accepted delete (RFC 8078 §4) */
	CDS_R_ALREADY_INSECURE,  /* delete requested, no DS at the parent */
	CDS_R_SERVER_UNREACHABLE,/* a server did not answer (RFC 9975 Q4) */
	CDS_R_SERVER_ERROR,      /* a server answered with an error/lame/garbage */
	CDS_R_SERVERS_DISAGREE,  /* CDS or CDNSKEY differ between servers */
	CDS_R_CDS_CDNSKEY_MISMATCH, /* key sets of CDS and CDNSKEY differ */
	CDS_R_DELETE_PARTIAL,    /* delete at some servers only (9975 §3.1) */
	CDS_R_DELETE_MALFORMED,  /* delete record next to other records */
	CDS_R_DNSKEY_UNPROVEN,   /* a server's DNSKEY set not proven by the DS */
	CDS_R_SIG_INVALID,       /* CDS/CDNSKEY unsigned, bogus or expired */
	CDS_R_SIG_NOT_DS_KEY,    /* signed only by keys outside the DS set */
	CDS_R_MALFORMED_RECORD,  /* digest length, protocol, zone key bit */
	CDS_R_NO_ELIGIBLE_DIGEST,/* only digest types we do not accept */
	CDS_R_ALGORITHM_REFUSED, /* a key with an algorithm we refuse */
	CDS_R_TOO_MANY_DS,       /* more DS records than policy allows */
	CDS_R_BREAKS_DELEGATION, /* new DS would not validate the DNSKEY set */
	CDS_R_BOOTSTRAP_DISABLED,/* no DS at parent, no enabled bootstrap */
	CDS_R_INPUT_MISSING,     /* policy requires both types, one absent */
	CDS_R_TOO_MANY_RECORDS,  /* an RRset larger than we accept */
	CDS_R_LOCKED,            /* a status flag blocks automation */
	CDS_R_OPTED_OUT,         /* the domain opted out of automation */
	CDS_R_DS_CHANGED,        /* the registry's DS changed during the scan */
	CDS_R_HOLD_DOWN,         /* too soon after the last applied change */
	CDS_R_REPLAYED,          /* RRSIG inception not newer than the last
	                            applied change (C6, STANDARDS §14 .se) */
	CDS_R_DELETE_REFUSED,    /* delete asked, policy.allow-delete off */
	/* Bootstrapping (no DS at the parent, STANDARDS §5) */
	CDS_R_BOOTSTRAP_RFC9615, /* accepted: RFC 9615 signals agree (B3) */
	CDS_R_BOOTSTRAP_DELAY,   /* accepted: same request for K scans over
	                            D (RFC 8078 §3 accept after delay) */
	CDS_R_BOOTSTRAP_WAITING, /* consistent request, delay not yet over */
	CDS_R_BOOTSTRAP_UNPROVEN,/* proposed DS does not prove a server's
	                            DNSKEY RRset or CDS/CDNSKEY signatures */
	CDS_R_BOOTSTRAP_NS_IN_CHILD, /* RFC 9615: every NS inside the child */
	CDS_R_BOOTSTRAP_SERVER_UNREACHABLE, /* a server silent: no Q4
	                            exclusion while bootstrapping (B3) */
	CDS_R_BOOTSTRAP_SIGNAL_MISSING,  /* no signal RRsets at an NS name */
	CDS_R_BOOTSTRAP_SIGNAL_MISMATCH, /* signal differs from the apex */
	CDS_R_BOOTSTRAP_SIGNAL_INSECURE, /* signal not provably secure */
	CDS_R_BOOTSTRAP_SIGNAL_BOGUS,    /* signal fails validation */
	CDS_R_BOOTSTRAP_SIGNAL_FAILED,   /* signal lookup got no answer */
	/* CSYNC (RFC 7477, STANDARDS §6): the csync_* fields of a scan */
	CDS_R_CSYNC_NONE,          /* no CSYNC at any server */
	CDS_R_CSYNC_NO_CHANGE,     /* the named data equals the delegation */
	CDS_R_CSYNC_APPLY,         /* accepted: immediate flag, checks pass */
	CDS_R_CSYNC_HELD,          /* immediate unset: waits for approval (Y3) */
	CDS_R_CSYNC_INSECURE,      /* CSYNC or its data not proven secure (Y1) */
	CDS_R_CSYNC_UNSUPPORTED,   /* unknown flag or type bit, DS/DNSKEY/CDS/
	                              CDNSKEY/CSYNC in the bit map, several
	                              CSYNC records, or no bit we act on (Y2) */
	CDS_R_CSYNC_DISAGREE,      /* CSYNC absent at some servers, or flags,
	                              bit map or data differ (Y8) */
	CDS_R_CSYNC_SOAMINIMUM,    /* a server's SOA serial below the CSYNC
	                              serial (Y4) */
	CDS_R_CSYNC_SERIAL_MOVED,  /* SOA changed while we asked (Y5) */
	CDS_R_CSYNC_SERIAL_REGRESSED, /* serial older than one already acted
	                              on (Y5, stored state) */
	CDS_R_CSYNC_NO_NS,         /* the child proves it has no NS (Y6) */
	CDS_R_CSYNC_NS_COUNT,      /* new NS set outside policy min/max (Y6) */
	CDS_R_CSYNC_GLUE_EMPTY,    /* an in-bailiwick NS would have no address
	                              (Y7) */
	CDS_R_CSYNC_NEW_NS_BROKEN, /* a new NS is lame, silent, or does not
	                              serve the DNSKEY set the DS proves */
	CDS_R_CSYNC_SERVER_UNREACHABLE, /* a server did not answer */
	CDS_R_CSYNC_DISABLED,      /* policy.csync off, or a lock/opt-out */
	CDS_R__COUNT
};

struct cds_decision {
	enum cds_verdict verdict;
	enum cds_reason reason;
	char detail[CDS_DETAIL_MAX]; /* names the servers and what they said */
	size_t n_proposed;
	struct cds_ds proposed[CDS_DS_MAX]; /* for UPDATE; canonical order */
	/* Set by the registry rules when this REJECTED verdict makes the
	   domain's streak of rejected scans reach
	   policy.notify-rejected-after: the streak length. The recorder
	   then writes one event; 0 (every other scan) writes none. */
	unsigned rejected_event;
	/* Accept-after-delay progress (RFC 8078 §3), set by
	   policy_bootstrap_progress with the "scan N of K" detail: this
	   scan's place in the streak (1 = the first), the scans policy
	   needs, and when the delay is over (Unix time). 0 on every
	   decision that counts no streak. The recorder stores them so
	   that status need not parse the detail. */
	unsigned boot_scan, boot_needed;
	int64_t boot_eligible;
};

/*
 * What CSYNC asks of the delegation's NS set and glue (RFC 7477), decided
 * beside the DS decision (policy_decide_csync) and recorded with it. The
 * verdict reuses enum cds_verdict: UNCHANGED (nothing to do, including
 * no CSYNC), UPDATE (apply now), PENDING (held for approval, reason
 * csync-held; or retry later), REJECTED. DELETE is not used.
 */
#define CDS_CSYNC_GLUE_MAX 16 /* in-bailiwick names with glue */
struct cds_csync_glue {
	char name[CDS_NAME_MAX];
	bool set_a, set_aaaa;     /* the type is replaced by what follows */
	size_t n_a, n_aaaa;
	char a[CDS_GLUE_MAX][CDS_ADDR_STR_MAX];
	char aaaa[CDS_GLUE_MAX][CDS_ADDR_STR_MAX];
};

struct cds_csync_decision {
	enum cds_verdict verdict;
	enum cds_reason reason;
	char detail[CDS_DETAIL_MAX];
	uint32_t serial;          /* the CSYNC serial acted on */
	uint16_t flags;
	/* For UPDATE and a held PENDING: the new NS set (set_ns: the NS bit
	   was set; else the parent's NS set stays), sorted, and the glue of
	   every in-bailiwick name of the resulting NS set whose A or AAAA
	   the bit map names. */
	bool set_ns;
	size_t n_ns, n_glue; /* the counts before the arrays: a decision
	                        without a change writes only its first page */
	char ns[CDS_CSYNC_NS_MAX][CDS_NAME_MAX];
	struct cds_csync_glue glue[CDS_CSYNC_GLUE_MAX];
};

const char *cds_verdict_name(enum cds_verdict v);
const char *cds_reason_name(enum cds_reason r);

#endif
