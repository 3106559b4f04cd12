/*
 * The probe: everything the scanner does for one delegation. It finds the
 * address of every NS name (glue, else a validated lookup), asks every
 * address for SOA, DNSKEY, CDS and CDNSKEY through the engine, checks the
 * DNSSEC signatures of each server's answers against the current DS, and
 * hands back one observation per server address. It decides nothing:
 * that is policy's job.
 */
#ifndef CDS_SCANNER_PROBE_H
#define CDS_SCANNER_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "core/obs.h"
#include "scanner/engine.h"
#include "scanner/resolve.h"

struct scan_request {
	const char *zone;           /* copied */
	const struct cds_ns *ns;    /* copied */
	size_t n_ns;
	const struct cds_ds *ds;    /* current DS set; copied */
	size_t n_ds;
	int64_t now;                /* validation time, unix seconds */
	uint16_t port;              /* server port; 0 means 53 */
};

/* What a probe hands back. Owned by the callback's receiver: free with
   scan_result_free(). */
struct scan_result {
	char zone[CDS_NAME_MAX];
	size_t n_obs;
	struct cds_server_obs *obs; /* one per (NS name, address); an NS name
	                               without any address gets one entry with
	                               an empty addr and error set */
	unsigned queries;           /* queries sent for this delegation */
};

typedef void (*scan_probe_cb)(struct scan_result *res, void *arg);

/* The scanner: engine and resolver on one loop, shared by all probes. */
struct scanner;

/*
 * New scanner on `base` (borrowed). `eng` and `res` are borrowed and must
 * outlive it; `res` may be NULL when every NS has glue.
 */
int scanner_new(struct event_base *base, struct scan_engine *eng,
		struct scan_resolver *res, struct scanner **out);
void scanner_free(struct scanner *sc);

/*
 * Start probing one delegation. Returns 0 when started (cb is called
 * exactly once, later, from the loop), CDS_EINVAL or CDS_ENOMEM.
 */
int scan_probe_start(struct scanner *sc, const struct scan_request *req,
		     scan_probe_cb cb, void *arg);

void scan_result_free(struct scan_result *res);

#endif
