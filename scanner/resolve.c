/*
 * Validated recursive lookups through getdns, on the scanner's libevent
 * loop. getdns runs in stub mode towards the configured resolvers and
 * validates the answers itself against our trust anchors, so a resolver
 * that strips or forges signatures cannot make an address or a signal
 * look secure. Used for NS names without glue (RFC 9975 §3, STANDARDS Q1)
 * and for anything else that must be proven.
 *
 * getdns pitfalls (ARCHITECTURE.md): the libevent extension is linked
 * statically; a context must never be destroyed inside its own callback,
 * so scan_resolver_free() is documented as not callable from one.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>
#include <getdns/getdns_ext_libevent.h>

#include "core/errors.h"
#include "core/log.h"
#include "scanner/engine.h"
#include "scanner/resolve.h"

struct scan_resolver {
	getdns_context *ctx;
	getdns_dict *ext;   /* request extensions: DNSSEC status wanted */
	bool validating;    /* trust anchors configured */
};

/* One lookup of one type. */
struct lookup {
	struct scan_resolver *res;
	char name[256];
	uint16_t type;
	scan_lookup_cb cb;
	void *arg;
};

/* An address lookup: an A and an AAAA lookup joined. */
struct addr_lookup {
	char name[256];
	scan_addrs_cb cb;
	void *arg;
	int pending;
	int status;
	enum scan_dnssec dnssec;
	size_t n;
	struct sockaddr_storage addrs[32];
};

const char *scan_dnssec_name(enum scan_dnssec d)
{
	switch (d) {
	case SCAN_DNSSEC_SECURE: return "secure";
	case SCAN_DNSSEC_INSECURE: return "insecure";
	case SCAN_DNSSEC_BOGUS: return "bogus";
	case SCAN_DNSSEC_INDETERMINATE: return "indeterminate";
	}
	return "?";
}

static int add_upstream(getdns_list *list, size_t idx, const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	getdns_dict *d;
	getdns_bindata type, data;
	uint16_t port;
	int rc = CDS_ENOMEM;

	if (scan_parse_addr(text, 53, &ss, &len) != 0)
		return CDS_EINVAL;
	d = getdns_dict_create();
	if (!d)
		return CDS_ENOMEM;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		type = (getdns_bindata){4, (uint8_t *)"IPv4"};
		data = (getdns_bindata){4, (uint8_t *)&sin->sin_addr};
		port = ntohs(sin->sin_port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		type = (getdns_bindata){4, (uint8_t *)"IPv6"};
		data = (getdns_bindata){16, (uint8_t *)&sin6->sin6_addr};
		port = ntohs(sin6->sin6_port);
	}
	if (getdns_dict_set_bindata(d, "address_type", &type) ||
	    getdns_dict_set_bindata(d, "address_data", &data) ||
	    getdns_dict_set_int(d, "port", port) ||
	    getdns_list_set_dict(list, idx, d))
		goto out;
	rc = CDS_OK;
out:
	getdns_dict_destroy(d);
	return rc;
}

static int set_upstreams(getdns_context *ctx, const char *const *servers,
			 size_t n)
{
	getdns_list *list = getdns_list_create();
	int rc = CDS_OK;

	if (!list)
		return CDS_ENOMEM;
	for (size_t i = 0; i < n && rc == CDS_OK; i++)
		rc = add_upstream(list, i, servers[i]);
	if (rc == CDS_OK &&
	    getdns_context_set_upstream_recursive_servers(ctx, list))
		rc = CDS_EINVAL;
	getdns_list_destroy(list);
	return rc;
}

static int set_anchors(getdns_context *ctx, const char *path)
{
	getdns_list *anchors = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "r");
	int rc = CDS_EIO;

	if (!f)
		return CDS_EIO;
	if (getdns_fp2rr_list(f, &anchors, NULL, 3600) ||
	    getdns_list_get_length(anchors, &n) || n == 0)
		goto out;
	if (getdns_context_set_dnssec_trust_anchors(ctx, anchors) == 0)
		rc = CDS_OK;
out:
	fclose(f);
	getdns_list_destroy(anchors);
	return rc;
}

int scan_resolver_new(struct event_base *base, const char *const *servers,
		      size_t n_servers, const char *trust_anchors,
		      unsigned timeout_ms, struct scan_resolver **out)
{
	struct scan_resolver *res = calloc(1, sizeof *res);
	int rc = CDS_ENOMEM;

	if (!res)
		return CDS_ENOMEM;
	if (getdns_context_create(&res->ctx, 1) || !res->ctx)
		goto fail;
	if (getdns_context_set_resolution_type(res->ctx,
					       GETDNS_RESOLUTION_STUB) ||
	    getdns_context_set_timeout(res->ctx, timeout_ms ? timeout_ms : 5000) ||
	    getdns_context_set_dns_transport(res->ctx, GETDNS_TRANSPORT_TCP_ONLY))
		goto fail;
	if (n_servers &&
	    (rc = set_upstreams(res->ctx, servers, n_servers)) != CDS_OK)
		goto fail;
	if (trust_anchors && *trust_anchors) {
		if ((rc = set_anchors(res->ctx, trust_anchors)) != CDS_OK)
			goto fail;
		res->validating = true;
	}
	rc = CDS_ENOMEM;
	res->ext = getdns_dict_create();
	if (!res->ext)
		goto fail;
	if (res->validating &&
	    (getdns_dict_set_int(res->ext, "dnssec_return_status",
				 GETDNS_EXTENSION_TRUE) ||
	     getdns_dict_set_int(res->ext, "dnssec_return_all_statuses",
				 GETDNS_EXTENSION_TRUE)))
		goto fail;
	if (getdns_extension_set_libevent_base(res->ctx, base))
		goto fail;
	*out = res;
	return CDS_OK;
fail:
	scan_resolver_free(res);
	return rc;
}

void scan_resolver_free(struct scan_resolver *res)
{
	if (!res)
		return;
	/* Destroying the context cancels what is pending; the callbacks see
	   GETDNS_CALLBACK_CANCEL and only free their state. */
	if (res->ctx)
		getdns_context_destroy(res->ctx);
	getdns_dict_destroy(res->ext);
	free(res);
}

static enum scan_dnssec map_dnssec(const struct scan_resolver *res,
				   getdns_dict *reply)
{
	uint32_t st = 0;

	if (!res->validating)
		return SCAN_DNSSEC_INDETERMINATE;
	if (getdns_dict_get_int(reply, "dnssec_status", &st))
		return SCAN_DNSSEC_INDETERMINATE;
	switch (st) {
	case GETDNS_DNSSEC_SECURE: return SCAN_DNSSEC_SECURE;
	case GETDNS_DNSSEC_INSECURE: return SCAN_DNSSEC_INSECURE;
	case GETDNS_DNSSEC_BOGUS: return SCAN_DNSSEC_BOGUS;
	default: return SCAN_DNSSEC_INDETERMINATE;
	}
}

/*
 * Records of `type` owned by `name` in the answer section of the wire
 * reply, as an ldns list (owned by the caller).
 */
static ldns_rr_list *answer_rrs(getdns_bindata *wire, const char *name,
				uint16_t type)
{
	ldns_pkt *pkt = NULL;
	ldns_rdf *owner = NULL;
	ldns_rr_list *out = ldns_rr_list_new();
	ldns_rr_list *ans;

	if (!out || ldns_wire2pkt(&pkt, wire->data, wire->size) != LDNS_STATUS_OK ||
	    ldns_str2rdf_dname(&owner, name) != LDNS_STATUS_OK)
		goto out;
	ans = ldns_pkt_answer(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) == type &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			ldns_rr_list_push_rr(out, ldns_rr_clone(rr));
	}
out:
	ldns_rdf_deep_free(owner);
	ldns_pkt_free(pkt);
	return out;
}

/* Status and the first reply of a getdns response. */
static int response_reply(getdns_dict *resp, getdns_dict **reply,
			  getdns_bindata **wire)
{
	uint32_t status = 0;
	getdns_list *tree = NULL, *full = NULL;

	*reply = NULL;
	*wire = NULL;
	if (getdns_dict_get_int(resp, "status", &status))
		return CDS_ERESOLVE;
	if (status == GETDNS_RESPSTATUS_ALL_TIMEOUT)
		return CDS_ETIMEOUT;
	if (getdns_dict_get_list(resp, "replies_tree", &tree) ||
	    getdns_dict_get_list(resp, "replies_full", &full) ||
	    getdns_list_get_dict(tree, 0, reply) ||
	    getdns_list_get_bindata(full, 0, wire))
		return status == GETDNS_RESPSTATUS_NO_NAME ? CDS_OK : CDS_ERESOLVE;
	return CDS_OK;
}

static void lookup_done(getdns_context *ctx, getdns_callback_type_t type,
			getdns_dict *resp, void *userarg, getdns_transaction_t t)
{
	struct lookup *lk = userarg;
	getdns_dict *reply;
	getdns_bindata *wire;
	ldns_rr_list *rrs = NULL;
	enum scan_dnssec dnssec = SCAN_DNSSEC_INDETERMINATE;
	int status;

	(void)ctx;
	(void)t;
	if (type == GETDNS_CALLBACK_CANCEL)
		goto out;
	if (type == GETDNS_CALLBACK_TIMEOUT) {
		status = CDS_ETIMEOUT;
	} else if (type != GETDNS_CALLBACK_COMPLETE) {
		status = CDS_ERESOLVE;
	} else {
		status = response_reply(resp, &reply, &wire);
		if (status == CDS_OK && reply) {
			dnssec = map_dnssec(lk->res, reply);
			rrs = answer_rrs(wire, lk->name, lk->type);
			if (!rrs)
				status = CDS_ENOMEM;
		}
	}
	if (!rrs)
		rrs = ldns_rr_list_new();
	log_debug("lookup %s type %u: %s, %s, %zu records", lk->name, lk->type,
		  cds_strerror(status), scan_dnssec_name(dnssec),
		  rrs ? ldns_rr_list_rr_count(rrs) : 0);
	lk->cb(status, rrs, dnssec, lk->arg);
	ldns_rr_list_deep_free(rrs);
out:
	getdns_dict_destroy(resp);
	free(lk);
}

int scan_resolve_lookup(struct scan_resolver *res, const char *name,
			uint16_t type, scan_lookup_cb cb, void *arg)
{
	struct lookup *lk;
	getdns_transaction_t tid;

	if (strlen(name) >= sizeof lk->name)
		return CDS_EINVAL;
	lk = calloc(1, sizeof *lk);
	if (!lk)
		return CDS_ENOMEM;
	lk->res = res;
	snprintf(lk->name, sizeof lk->name, "%s", name);
	lk->type = type;
	lk->cb = cb;
	lk->arg = arg;
	if (getdns_general(res->ctx, name, type, res->ext, lk, &tid,
			   lookup_done)) {
		free(lk);
		return CDS_EINVAL;
	}
	return CDS_OK;
}

/* Worst of two validation outcomes: bogus beats insecure beats secure. */
static enum scan_dnssec dnssec_worst(enum scan_dnssec a, enum scan_dnssec b)
{
	static const int rank[] = {
		[SCAN_DNSSEC_SECURE] = 0, [SCAN_DNSSEC_INDETERMINATE] = 1,
		[SCAN_DNSSEC_INSECURE] = 2, [SCAN_DNSSEC_BOGUS] = 3};

	return rank[a] >= rank[b] ? a : b;
}

static void addr_part_done(int status, const ldns_rr_list *rrs,
			   enum scan_dnssec dnssec, void *arg)
{
	struct addr_lookup *al = arg;

	if (status != CDS_OK && al->status == CDS_OK)
		al->status = status;
	al->dnssec = dnssec_worst(al->dnssec, dnssec);
	for (size_t i = 0; status == CDS_OK && i < ldns_rr_list_rr_count(rrs) &&
			   al->n < sizeof al->addrs / sizeof al->addrs[0];
	     i++) {
		ldns_rdf *rd = ldns_rr_rdf(ldns_rr_list_rr(rrs, i), 0);
		struct sockaddr_storage *ss = &al->addrs[al->n];

		memset(ss, 0, sizeof *ss);
		if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_A &&
		    ldns_rdf_size(rd) == 4) {
			struct sockaddr_in *sin = (struct sockaddr_in *)ss;

			sin->sin_family = AF_INET;
			sin->sin_port = htons(53);
			memcpy(&sin->sin_addr, ldns_rdf_data(rd), 4);
			al->n++;
		} else if (ldns_rdf_get_type(rd) == LDNS_RDF_TYPE_AAAA &&
			   ldns_rdf_size(rd) == 16) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(53);
			memcpy(&sin6->sin6_addr, ldns_rdf_data(rd), 16);
			al->n++;
		}
	}
	if (--al->pending > 0)
		return;
	/* A validation failure means the addresses may be forged: give none
	   rather than send our queries where an attacker points them. */
	if (al->dnssec == SCAN_DNSSEC_BOGUS) {
		al->n = 0;
		if (al->status == CDS_OK)
			al->status = CDS_EBOGUS;
	}
	al->cb(al->status, al->name, al->addrs, al->n, al->dnssec, al->arg);
	free(al);
}

int scan_resolve_addrs(struct scan_resolver *res, const char *name,
		       scan_addrs_cb cb, void *arg)
{
	struct addr_lookup *al;
	int rc;

	if (strlen(name) >= sizeof al->name)
		return CDS_EINVAL;
	al = calloc(1, sizeof *al);
	if (!al)
		return CDS_ENOMEM;
	snprintf(al->name, sizeof al->name, "%s", name);
	al->cb = cb;
	al->arg = arg;
	al->dnssec = SCAN_DNSSEC_SECURE;
	al->pending = 2;
	rc = scan_resolve_lookup(res, name, LDNS_RR_TYPE_A, addr_part_done, al);
	if (rc != CDS_OK) {
		free(al);
		return rc;
	}
	rc = scan_resolve_lookup(res, name, LDNS_RR_TYPE_AAAA, addr_part_done,
				 al);
	if (rc != CDS_OK) {
		/* The A lookup is under way and will free `al` when both
		   parts have reported; count the failed part as done. */
		addr_part_done(rc, NULL, SCAN_DNSSEC_INDETERMINATE, al);
	}
	return CDS_OK;
}
