/*
 * The query engine: asks one exact nameserver address one question at a
 * time, many thousands in flight on one libevent loop. Every query has
 * RD=0, DO=1, EDNS0 with a 1232-byte buffer and a random ID, and goes out
 * on a UDP socket picked at random from a pool of sockets bound to random
 * source ports, each reopened (on a new port) after a number of uses or
 * an error; queries that start together leave in batches of up to 16,
 * one socket and one sendmmsg(2) per batch. An answer counts only when it
 * arrives on that socket and its source address and port, ID and
 * question (name, type, class) all match;
 * anything else is dropped and counted, and the query keeps waiting. TC=1
 * over UDP retries the query over TCP; tcp_only skips UDP. Timeouts are
 * retried with exponential back-off. A token bucket per server address
 * and a global one keep the rates polite; queries over the in-flight cap
 * or without a token wait in a queue.
 */
#ifndef CDS_SCANNER_ENGINE_H
#define CDS_SCANNER_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <ldns/ldns.h>

#include "core/obs.h"
#include "core/window.h"

struct scan_engine_opts {
	unsigned max_inflight;  /* queries on the wire at once (default 2000) */
	unsigned timeout_ms;    /* first attempt's timeout to a server whose
	                           round trip is not known yet (before the
	                           run's own figure, below), and the most
	                           any first attempt waits (default 1500) */
	unsigned timeout_min_ms; /* once a server answered: its first
	                           attempts wait srtt + 4 rttvar of its UDP
	                           answers (RFC 6298 §2), no less than this
	                           and no more than timeout_ms; one not
	                           heard from yet, twice the 99th percentile
	                           of the run's first answers once there are
	                           256, until it lets an attempt time out;
	                           0: always timeout_ms (default 200) */
	unsigned retries;       /* further attempts after a timeout (default 2) */
	double backoff;         /* timeout multiplier per retry (default 2.0) */
	double rate_per_server; /* queries/s to one address, 0 = no limit
	                           (default 50) */
	double rate_global;     /* queries/s in all, 0 = no limit (default 0) */
	bool tcp_only;          /* never use UDP (default false) */
	uint16_t edns_bufsize;  /* advertised UDP size (default 1232) */
	uint32_t max_answer;    /* largest TCP answer accepted (default 65535) */
	unsigned udp_sockets;   /* UDP sockets in the pool, per address family
	                           (default 256) */
	unsigned udp_socket_uses; /* attempts sent from one UDP socket before
	                           it is replaced by one on a new random port
	                           (default 64) */
};

/* Fill `opts` with the defaults above. */
void scan_engine_opts_default(struct scan_engine_opts *opts);

/* Fill `opts` from the scanner.* keys of `conf`. */
struct conf;
void scan_engine_opts_from_conf(const struct conf *conf,
				struct scan_engine_opts *opts);

struct scan_answer {
	int status;             /* CDS_OK, or CDS_ETIMEOUT, CDS_ENET,
	                           CDS_EMALFORMED (TCP garbage), CDS_ELIMIT
	                           (answer too large), CDS_ETRUNC (TC=1
	                           over TCP), CDS_ECANCELED */
	ldns_pkt *pkt;          /* the matching answer when CDS_OK; borrowed,
	                           valid only during the callback, which may
	                           move records (or a whole section) out of
	                           it: the engine frees what is left. Header,
	                           question and answer section only: the
	                           authority and additional sections are not
	                           parsed (nscount/arcount still tell their
	                           sizes), except the authority section of an
	                           empty answer to NS, A or AAAA (its
	                           NSEC/NSEC3 prove CSYNC data absent) */
	enum cds_transport transport; /* transport of the final attempt */
	unsigned attempts;      /* attempts made (UDP tries + TCP tries) */
	unsigned rtt_ms;        /* of the answering attempt */
};

/* Called exactly once per query, never from inside scan_engine_query(). */
typedef void (*scan_answer_cb)(const struct scan_answer *ans, void *arg);

struct scan_engine_stats {
	uint64_t queries;       /* scan_engine_query calls */
	uint64_t sent_udp;      /* UDP datagrams sent (incl. retries) */
	uint64_t sent_tcp;      /* TCP queries sent */
	uint64_t answered;      /* queries completed with CDS_OK */
	uint64_t timeouts;      /* queries failed with CDS_ETIMEOUT */
	uint64_t failed;        /* queries failed otherwise */
	uint64_t truncated;     /* TC=1 answers that caused a TCP retry */
	uint64_t dropped;       /* datagrams dropped: wrong source, ID,
	                           question or unparseable */
	uint64_t udp_sockets;   /* UDP sockets opened (pool, incl. reopened) */
	/* Round trips of first UDP attempts answered (the samples of RFC
	   6298 §2), counted by size (cds_rtt_bucket, core/window.h). */
	uint64_t rtt_hist[CDS_RTT_BUCKETS];
	unsigned inflight;      /* on the wire now */
	unsigned queued;        /* waiting for a slot or a token */
};

struct scan_engine;

/*
 * New engine on `base` (borrowed; must outlive the engine). Raises the
 * process's open-file limit to its hard limit when max_inflight needs it.
 * Returns 0, CDS_ENOMEM or CDS_EINVAL.
 */
int scan_engine_new(struct event_base *base, const struct scan_engine_opts *opts,
		    struct scan_engine **out);

/*
 * Free the engine. Outstanding queries are dropped without calling their
 * callbacks. Must not be called from inside an answer callback.
 */
void scan_engine_free(struct scan_engine *eng);

/*
 * Ask `addr` (IPv4 or IPv6 with port; copied) for `qname` (presentation
 * form; copied) of type `qtype`, class IN. Returns 0 when queued (cb will
 * be called), CDS_EINVAL for a bad name or address, CDS_ENOMEM.
 */
int scan_engine_query(struct scan_engine *eng, const struct sockaddr *addr,
		      socklen_t addrlen, const char *qname, uint16_t qtype,
		      scan_answer_cb cb, void *arg);

void scan_engine_get_stats(const struct scan_engine *eng,
			   struct scan_engine_stats *st);

/*
 * Servers (address + port) the engine holds rate-limit state for. An
 * entry is forgotten once the server has no query left and has been idle
 * long enough for its bucket to refill (burst / rate_per_server seconds;
 * the burst is max(1, rate_per_server) tokens), so this follows the
 * servers in use, not every server ever asked. For tests and monitoring.
 */
unsigned scan_engine_server_count(const struct scan_engine *eng);

/*
 * Parse "192.0.2.1", "2001:db8::1", "[2001:db8::1]:5353" or
 * "192.0.2.1@5353" into a socket address; default port `port`.
 * Returns 0 or CDS_EINVAL.
 */
int scan_parse_addr(const char *text, uint16_t port,
		    struct sockaddr_storage *out, socklen_t *outlen);

/* Address without port, for output. buf has CDS_ADDR_STR_MAX bytes. */
const char *scan_addr_str(const struct sockaddr *addr, char *buf, size_t len);

#endif
