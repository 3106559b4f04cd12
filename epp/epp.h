/*
 * The EPP client: how cdscan talks to a registry when it acts as a
 * registrar (`sink: epp`). RFC 5734 transport (TLS with client
 * certificates, 4-octet length framing), RFC 5730 sessions (greeting,
 * login, hello, logout, poll), RFC 5731 domain:info/update, RFC 5732
 * host objects and RFC 5910 secDNS-1.1. XML is built and parsed with
 * libxml2 only (STANDARDS §10, E1-E8).
 *
 * Three layers, each usable alone (the unit tests use the first two):
 *   framing  epp_frame_read/epp_frame_write over read/write callbacks;
 *   XML      epp_xml_* build a command document / parse a response into
 *            plain structs, no I/O;
 *   session  struct epp_session: TCP + TLS + greeting + login, one
 *            command at a time, blocking with timeouts (the sender is its
 *            own process, not on the scanner's event loop).
 *
 * Names cross this interface in cdscan's form (lower case, trailing dot)
 * and go on the wire without the trailing dot (RFC 5731 §2.1).
 * Errors: 0 or a negative CDS_E*; a registry's refusal is not an error of
 * the call: it comes back as the result code in struct epp_response.
 */
#ifndef CDS_EPP_EPP_H
#define CDS_EPP_EPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decision.h"
#include "core/dnssec.h"

#define EPP_FRAME_MAX (1024 * 1024) /* largest frame accepted by default */
#define EPP_MSG_MAX 512
#define EPP_NS_MAX 13
#define EPP_ADDR_MAX 8
#define EPP_ADDR_LEN 46               /* INET6_ADDRSTRLEN */
#define EPP_STATUS_MAX 16
#define EPP_STATUS_LEN 48
#define EPP_TRID_MAX 65               /* clTRID/svTRID: 3-64 chars */
#define EPP_POLL_MAX 16

/* Namespaces (STANDARDS E3). */
#define EPP_NS_EPP "urn:ietf:params:xml:ns:epp-1.0"
#define EPP_NS_DOMAIN "urn:ietf:params:xml:ns:domain-1.0"
#define EPP_NS_HOST "urn:ietf:params:xml:ns:host-1.0"
#define EPP_NS_SECDNS "urn:ietf:params:xml:ns:secDNS-1.1"
#define EPP_NS_SECDNS10 "urn:ietf:params:xml:ns:secDNS-1.0"

/* Result codes we act on (RFC 5730 §3, STANDARDS E4). */
enum {
	EPP_OK = 1000,
	EPP_OK_PENDING = 1001,
	EPP_OK_NOMSG = 1300,
	EPP_OK_ACK = 1301,
	EPP_OK_BYE = 1500,
	EPP_NOT_EXIST = 2303,
	EPP_PROHIBITED = 2304,
	EPP_ASSOCIATED = 2305,   /* object association prohibits operation */
	EPP_POLICY = 2306,
	EPP_FAILED = 2400,
	EPP_FAILED_CLOSE = 2500,
	EPP_AUTH_CLOSE = 2501,
	EPP_LIMIT_CLOSE = 2502,
};

/* ---- framing (epp/frame.c), RFC 5734 §4 ------------------------------- */

/* Read up to len octets; *got 0 means the peer closed. 0 or CDS_E*. */
typedef int (*epp_read_fn)(void *ctx, uint8_t *buf, size_t len, size_t *got);
/* Write all len octets. 0 or CDS_E*. */
typedef int (*epp_write_fn)(void *ctx, const uint8_t *buf, size_t len);

/*
 * Read one frame: the 4-octet big-endian total length (counting itself),
 * then the XML, reassembled from as many reads as it takes. A length
 * below 5 or above `max` is CDS_EPROTO (nothing more is read: the session
 * is unusable); a close before the end is CDS_ENET. *out is a new
 * NUL-terminated buffer (free()) of *len octets.
 */
int epp_frame_read(epp_read_fn rd, void *ctx, size_t max, char **out,
		   size_t *len);

/* Write one frame (header and data). */
int epp_frame_write(epp_write_fn wr, void *ctx, const char *xml, size_t len);

/* ---- values ----------------------------------------------------------- */

/* What the greeting offers (RFC 5730 §2.4). */
struct epp_greeting {
	char sv_id[128];
	char version[16];  /* the first <version>: login must repeat it */
	char lang[16];     /* "en" when offered, else the first <lang> */
	bool domain;       /* domain-1.0 */
	bool host;         /* host-1.0: NS as hostObj, glue as host objects */
	bool secdns11;     /* secDNS-1.1 */
	bool secdns10;
};

/* A name server of a domain: hostObj (no addresses) or hostAttr. */
struct epp_ns {
	char name[CDS_NAME_MAX];
	size_t n_addr;
	char addr[EPP_ADDR_MAX][EPP_ADDR_LEN];
};

/* domain:info with its secDNS:infData (RFC 5731 §3.1.2, RFC 5910 §5.1.2). */
struct epp_domain {
	char name[CDS_NAME_MAX];
	bool key_data;     /* the server answered with keyData */
	size_t n_ds;
	struct cds_ds ds[CDS_DS_MAX];
	size_t n_keys;
	struct cds_dnskey keys[CDS_DS_MAX];
	size_t n_ns;
	struct epp_ns ns[EPP_NS_MAX];
	size_t n_status;
	char status[EPP_STATUS_MAX][EPP_STATUS_LEN];
};

/* A pending-action notice from <poll> (RFC 5731 §3.3, panData). */
struct epp_pan {
	char name[CDS_NAME_MAX];
	bool result;       /* paResult: true when the action was carried out */
	char cl_trid[EPP_TRID_MAX];
};

/* Everything a response can carry that cdscan reads. */
struct epp_response {
	int code;                     /* <result code> (the first) */
	char msg[EPP_MSG_MAX];        /* its <msg> and any <reason> */
	char cl_trid[EPP_TRID_MAX];
	char sv_trid[EPP_TRID_MAX];
	bool has_info;
	struct epp_domain info;       /* domain:infData */
	int host_avail;               /* host:chkData: 1 free, 0 taken, -1 none */
	/* <msgQ>: count, the message id and text, panData if any */
	int msgq_count;
	char msgq_id[EPP_TRID_MAX];
	char msgq_text[EPP_MSG_MAX];
	bool has_pan;
	struct epp_pan pan;
};

/* A DS change in secDNS-1.1 terms: rem (all, or exact records) before add
   (RFC 5910 §5.2.5), as dsData or keyData. */
struct epp_ds_update {
	bool key_data;
	bool rem_all;
	size_t n_rem, n_add;
	struct cds_ds rem_ds[CDS_DS_MAX], add_ds[CDS_DS_MAX];
	struct cds_dnskey rem_key[CDS_DS_MAX], add_key[CDS_DS_MAX];
};

/* An NS change: hostObj when the greeting offered host-1.0, else hostAttr
   with the addresses (STANDARDS E5). */
struct epp_ns_update {
	bool host_attr;
	size_t n_add, n_rem;
	struct epp_ns add[EPP_NS_MAX], rem[EPP_NS_MAX];
};

/*
 * E8: the smallest secDNS change that turns what domain:info shows into
 * `after` (DS records; `keys`, the DNSKEYs behind them, for a keyData
 * server — every DS must have its key there, else CDS_ENOTFOUND). An empty
 * `after` is a delete: rem all. *nothing is true when the registry already
 * holds `after`. Pure.
 */
int epp_ds_diff(const struct epp_domain *cur, const struct cds_ds *after,
		size_t n_after, const struct cds_dnskey *keys, size_t n_keys,
		struct epp_ds_update *out, bool *nothing);

/* Whether the registry's set (DS, or keys turned into DS with the digest
   types of `like`) equals `set`. For the stale check. */
bool epp_domain_ds_equal(const struct epp_domain *cur, const struct cds_ds *set,
			 size_t n);

/* ---- XML (epp/xml.c) -------------------------------------------------- */

/*
 * Builders: a new XML document in *out (free()) of *len octets. User data
 * goes in as text nodes, escaped by libxml2. cl_trid: 3-64 characters.
 */
int epp_xml_hello(char **out, size_t *len);
int epp_xml_login(const struct epp_greeting *g, const char *user,
		  const char *password, const char *cl_trid, char **out,
		  size_t *len);
int epp_xml_logout(const char *cl_trid, char **out, size_t *len);
int epp_xml_domain_info(const char *name, const char *cl_trid, char **out,
			size_t *len);
/* ds and ns may be NULL (not both). */
int epp_xml_domain_update(const char *name, const struct epp_ds_update *ds,
			  const struct epp_ns_update *ns, const char *cl_trid,
			  char **out, size_t *len);
int epp_xml_host_check(const char *name, const char *cl_trid, char **out,
		       size_t *len);
int epp_xml_host_create(const struct epp_ns *host, const char *cl_trid,
			char **out, size_t *len);
/* add/rem: addresses to add and remove (either may be NULL). */
int epp_xml_host_update(const char *name, const struct epp_ns *add,
			const struct epp_ns *rem, const char *cl_trid,
			char **out, size_t *len);
/* RFC 5732 §3.2.2: delete the host object `name`. */
int epp_xml_host_delete(const char *name, const char *cl_trid, char **out,
			size_t *len);
int epp_xml_poll(const char *ack_id, const char *cl_trid, char **out,
		 size_t *len);

/* Parse a greeting. CDS_EPROTO when it is not one (with why in err). */
int epp_xml_parse_greeting(const char *xml, size_t len,
			   struct epp_greeting *g, char *err, size_t errlen);
/* Parse a response. CDS_EPROTO when it is not an EPP response. */
int epp_xml_parse_response(const char *xml, size_t len,
			   struct epp_response *r, char *err, size_t errlen);

/* ---- session (epp/session.c) ------------------------------------------ */

struct epp_config {
	const char *server;      /* host name or address; also the name the
	                            server certificate must carry */
	int port;                /* 700 (RFC 5734 §2) */
	const char *ca_file;     /* CAs that may sign the server certificate */
	const char *cert, *key;  /* client certificate (chain) and key */
	const char *user;
	const char *password;    /* borrowed; never logged */
	int64_t timeout_ms;      /* connect, and each read and write */
	size_t frame_max;        /* 0: EPP_FRAME_MAX */
};

struct epp_session;

/*
 * Connect, check the server certificate against ca_file and `server`
 * (RFC 5734 §8; TLS 1.2 or newer), read the greeting and log in with its
 * version and language and the objURIs/extURIs cdscan uses that it
 * offers (E2). On failure returns CDS_E* with why in err (never the
 * password); a refused login is CDS_EPROTO with the registry's code and
 * message.
 */
int epp_session_open(const struct epp_config *cf, struct epp_session **out,
		     char *err, size_t errlen);

/* <logout> when the session is still up, then close and free. NULL ok. */
void epp_session_close(struct epp_session *s);

/* The greeting of this session. Borrowed. */
const struct epp_greeting *epp_session_greeting(const struct epp_session *s);

/* Whether the session can carry another command (no transport error, no
   2500-2502 seen). */
bool epp_session_alive(const struct epp_session *s);

/* Why the last call failed, for people. Borrowed. */
const char *epp_session_err(const struct epp_session *s);

/* <hello> when nothing was sent for idle_ms or more (0: always). */
int epp_keepalive(struct epp_session *s, int64_t idle_ms);

/*
 * Commands: send one, wait for its response, parse it into *r. 0 means a
 * response arrived (look at r->code); CDS_ENET/CDS_ETIMEOUT mean the
 * connection failed (whether the command was carried out is unknown) and
 * CDS_EPROTO that the response was not EPP: the session is dead.
 * A 2500-2502 answer also ends the session (the server closes it).
 * cl_trid (may be NULL) gets the transaction id used.
 */
int epp_domain_info(struct epp_session *s, const char *name,
		    struct epp_response *r);
int epp_domain_update(struct epp_session *s, const char *name,
		      const struct epp_ds_update *ds,
		      const struct epp_ns_update *ns, char *cl_trid,
		      struct epp_response *r);
int epp_host_check(struct epp_session *s, const char *name,
		   struct epp_response *r);
int epp_host_create(struct epp_session *s, const struct epp_ns *host,
		    struct epp_response *r);
int epp_host_update(struct epp_session *s, const char *name,
		    const struct epp_ns *add, const struct epp_ns *rem,
		    struct epp_response *r);
/* host:delete: 2305 when a domain still uses the host, 2303 when the
   registry has no such host (RFC 5732 §3.2.2). */
int epp_host_delete(struct epp_session *s, const char *name,
		    struct epp_response *r);
/* <poll op="req"/>, or op="ack" when ack_id is given. */
int epp_poll(struct epp_session *s, const char *ack_id,
	     struct epp_response *r);

/* Strip the trailing dot for the wire / add it back. Return buf. */
char *epp_name_wire(const char *name, char *buf, size_t size);
char *epp_name_cds(const char *wire, char *buf, size_t size);

#endif
