/*
 * Validated recursive lookups through getdns on the scanner's libevent
 * loop: addresses of NS names that have no glue, and any RRset that must
 * be proven (the delegation's DS for `cdscan check`, later RFC 9615
 * signals). Stub mode towards the configured resolvers; getdns validates
 * itself against the configured trust anchors.
 */
#ifndef CDS_SCANNER_RESOLVE_H
#define CDS_SCANNER_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <ldns/ldns.h>

enum scan_dnssec {
	SCAN_DNSSEC_SECURE = 0,
	SCAN_DNSSEC_INSECURE,
	SCAN_DNSSEC_BOGUS,
	SCAN_DNSSEC_INDETERMINATE, /* no trust anchor configured */
};

struct scan_resolver;

/*
 * `servers`: resolver addresses ("127.0.0.1", "::1", "127.0.0.1@5353");
 * none means the system's resolv.conf. `trust_anchors`: a file of DS or
 * DNSKEY records in zone-file format; NULL means no validation (every
 * answer INDETERMINATE). `timeout_ms`: per lookup.
 * Returns 0, CDS_EINVAL (bad address), CDS_EIO (anchor file unreadable or
 * holding no anchor) or CDS_ENOMEM.
 */
int scan_resolver_new(struct event_base *base, const char *const *servers,
		      size_t n_servers, const char *trust_anchors,
		      unsigned timeout_ms, struct scan_resolver **out);

/* Free; pending lookups are canceled without callbacks. Never call it from
   inside a resolver callback. */
void scan_resolver_free(struct scan_resolver *res);

/*
 * A and AAAA of `name`. status: CDS_OK (n may still be 0 when the name
 * has no address), CDS_ERESOLVE, CDS_ETIMEOUT, CDS_EBOGUS (validation
 * failed: no address is returned then). addrs: borrowed for the callback,
 * port 53 set.
 */
typedef void (*scan_addrs_cb)(int status, const char *name,
			      const struct sockaddr_storage *addrs, size_t n,
			      enum scan_dnssec dnssec, void *arg);
int scan_resolve_addrs(struct scan_resolver *res, const char *name,
		       scan_addrs_cb cb, void *arg);

/*
 * The RRset of `type` at `name`. status: CDS_OK (rrs may be empty for
 * NODATA/NXDOMAIN), CDS_ERESOLVE, CDS_ETIMEOUT. rrs: the answer records
 * of that type at that name, borrowed for the callback. dnssec: what the
 * validator concluded; a caller needing proof checks SECURE.
 */
typedef void (*scan_lookup_cb)(int status, const ldns_rr_list *rrs,
			       enum scan_dnssec dnssec, void *arg);
int scan_resolve_lookup(struct scan_resolver *res, const char *name,
			uint16_t type, scan_lookup_cb cb, void *arg);

const char *scan_dnssec_name(enum scan_dnssec d);

#endif
