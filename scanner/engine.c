/*
 * The query engine: many thousands of single questions, each aimed at one
 * exact nameserver address, on the caller's libevent loop. A query waits
 * in its server's FIFO queue until the in-flight window has a slot and
 * both token buckets (the server's and the global one) have a token; a
 * round-robin list of servers that can send right now lets a server that
 * is out of tokens sleep on its own timer while queries to other servers
 * keep the window full. On the wire a UDP attempt takes a socket from a
 * pool at random: each pooled socket is bound to port 0 (a kernel-chosen
 * random source port) and is reopened, so on a new port, after a fixed
 * number of attempts or on an error. Attempts that start in one event
 * leave in batches of up to SEND_BATCH, each batch from one socket with
 * one sendmmsg(2), and answers are read with recvmmsg(2): a system call
 * per datagram was the engine's largest cost (with batches, 6.9 -> 3.9
 * us of CPU a query, docs/BENCH.md). Every attempt gets a fresh random
 * ID; an answer counts only from the exact address and port asked, on
 * the socket the attempt used, with that ID and that question (a table
 * keyed by socket, address and ID finds the attempt). Sockets and events
 * live long and finished queries are recycled, because opening a socket
 * and registering it with epoll for every query cost more CPU than the
 * query itself (docs/BENCH.md). TC=1 moves the query to TCP, one
 * connection per attempt. Finished queries go on a done list that a
 * deferred event drains, so callbacks never run inside
 * scan_engine_query() and may call it again. Per-server state lives in a
 * hash table and is dropped once idle long enough that its bucket would
 * be full again, so memory tracks the servers in use, not every server
 * ever asked.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/dnssec.h"
#include "core/errors.h"
#include "core/log.h"
#include "scanner/engine.h"

#define DNS_HDR_LEN 12
#define OPT_RR_LEN 11
/* Largest query we build: header, longest name, type+class, OPT RR. */
#define QUERY_MAX (DNS_HDR_LEN + LDNS_MAX_DOMAINLEN + 1 + 4 + OPT_RR_LEN)
#define RECV_MAX 65536
/* Datagrams sent with one sendmmsg(2), all from one pooled socket. A
   batch never takes more than the socket has left of its quota
   (udp_socket_uses, 64 by default: then the next attempts pick another
   socket at random), so the quota, not the batch, bounds how many
   queries share a source port. 64 rather than 16: against the bench's
   Knot, 16 filled nearly every call (~15 a call), and the larger calls
   cost the nameserver 13% less CPU (its workers woken once for more
   datagrams) and the scanner 7% less, +7% queries/s over 11 alternated
   pairs of rescans (docs/BENCH.md, "2026-11-25"). */
#define SEND_BATCH 64
/* Datagrams read with one recvmmsg(2), up to UDP_READS_PER_EVENT:
   at 16 a 100k rescan made 21k calls, nearly all full; at 64, 6.5k
   (the buffers are RECV_MAX each, but a datagram touches only the
   pages it fills). */
#define RECV_BATCH 64
#define RAND_POOL 64
#define TABLE_MIN 1024
#define TIMEOUT_CAP_MS 600000.0
/* Datagrams read per wakeup of one pooled socket: enough to drain what
   a busy window leaves there, few enough that junk cannot starve the
   loop. */
#define UDP_READS_PER_EVENT 64
/* Finished queries kept for reuse (each about 900 bytes). */
#define FREE_MAX 4096
#define RTT_KEEP_S 120.0 /* a server's learned round trip, kept idle */
/* The first attempt to a server not heard from yet (attempt_timeout_ms):
   PRIOR_FACTOR times the 99th percentile of the run's first answers,
   once PRIOR_MIN_SAMPLES are in, looked at again every PRIOR_EVERY. */
#define PRIOR_FACTOR 2.0
#define PRIOR_MIN_SAMPLES 256
#define PRIOR_EVERY 256
/* Buckets of the answer-matching table: 2 per query in flight, bounded. */
#define DEMUX_MIN 256
#define DEMUX_MAX (1u << 18)
/* File descriptors kept for everything that is not a query socket. */
#define NOFILE_SPARE 64

union scan_sa {
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct bucket {
	double tokens;
	double stamp; /* monotonic seconds of the last refill */
};

enum wire_state {
	W_UDP,
	W_TCP_CONNECT,
	W_TCP_WRITE,
	W_TCP_READ,
	W_DEAD, /* attempt failed early; waits for its timer to retry */
};

/* A pooled UDP socket, shared by the attempts that picked it. */
struct udp_sock {
	struct scan_engine *eng;
	struct udp_sock *prev, *next; /* retired list */
	struct event *ev;
	int fd;
	int fam;          /* 0: IPv4, 1: IPv6 */
	unsigned slot;    /* its place in the pool while not retired */
	unsigned uses;    /* attempts sent from it */
	unsigned waiting; /* attempts (and a running reader) still on it */
	bool retired;     /* takes no new attempts; closed when not waited on */
};

/* The current attempt of a query on the wire. */
struct scan_wire {
	struct scan_query *q;
	struct scan_wire *prev, *next; /* engine's in-flight list */
	struct scan_wire *hnext;       /* answer-matching chain (UDP) */
	struct udp_sock *us;           /* UDP: the pooled socket */
	struct event *io;              /* TCP: NULL when no socket */
	struct timespec sent;
	int fd; /* TCP */
	int err; /* what the attempt fails with when the timer fires */
	enum wire_state state;
	uint32_t hkey; /* UDP: hash of socket, server and ID */
	uint16_t id;
	uint16_t len;  /* query length, without the TCP length prefix */
	uint32_t off;  /* TCP: bytes written, then bytes read */
	uint32_t alen; /* TCP: announced answer length */
	uint8_t *tbuf; /* TCP: answer being reassembled */
	uint8_t lenbuf[2];
	uint8_t buf[2 + QUERY_MAX]; /* 2-byte TCP length prefix, then query */
};

/*
 * One question. Recycled through the engine's free list: everything up
 * to `timer` is reset for each new query, the timer event is kept.
 */
struct scan_query {
	struct scan_engine *eng;
	struct scan_server *srv; /* referenced until the query finishes */
	struct scan_query *next; /* server queue, done list, free list */
	struct scan_wire *w;     /* &wire while in flight, else NULL */
	ldns_pkt *ans;
	scan_answer_cb cb;
	void *arg;
	int status;
	unsigned rtt_ms;
	uint16_t qtype;
	uint8_t tcp;   /* in the TCP phase (tcp_only or after TC=1) */
	uint8_t tries; /* attempts in the current phase */
	uint16_t attempts;
	uint16_t qname_len;
	struct event *timer; /* the attempt's timeout; kept across reuse */
	/* an answer packet emptied for the next answer, kept across reuse:
	   ldns_pkt_new and ldns_pkt_free (a header, four lists and their
	   arrays) were 7% of a rescan's instructions (docs/BENCH.md) */
	ldns_pkt *spare;
	struct scan_wire wire;
	uint8_t qname[CDS_WIRE_NAME_MAX]; /* wire form, lower case */
};

struct scan_server {
	struct scan_engine *eng;
	struct scan_server *hnext;         /* hash chain */
	struct scan_server *rnext;         /* ready list */
	struct scan_server *iprev, *inext; /* idle list */
	struct scan_query *qhead, *qtail;  /* waiting queries, FIFO */
	struct event *wake;                /* out of tokens: refill timer */
	struct bucket bkt;
	/* smoothed round trip and its variation, in ms, of first-attempt
	   UDP answers (RFC 6298 §2); rtt_known once there is one */
	double srtt, rttvar;
	bool rtt_known;
	/* a UDP attempt to it timed out before it ever answered one: it
	   may be slower than the run's other servers (attempt_timeout_ms) */
	bool timed_out;
	double idle_since;
	unsigned refs; /* queued + in-flight queries */
	uint32_t hash;
	bool ready, blocked, idle;
	socklen_t alen;
	union scan_sa addr;
};

struct scan_engine {
	struct event_base *base;
	struct scan_engine_opts o;
	double burst, gburst;
	struct bucket global;
	struct event *kick;  /* drains the done list, then pumps */
	struct event *gwake; /* global bucket refill */
	struct scan_server **tab;
	size_t tabsize, nservers;
	struct scan_server *ready_head, *ready_tail;
	struct scan_server *idle_head, *idle_tail;
	struct scan_wire *inflight;
	struct scan_query *done_head, *done_tail;
	struct scan_query *free_q; /* recycled queries */
	unsigned n_free;
	struct udp_sock **pool[2]; /* per family: o.udp_sockets slots */
	struct udp_sock *retired;  /* retired sockets still waited on */
	struct scan_wire **demux;  /* UDP attempts by socket, server, ID */
	uint32_t demux_mask;
	struct scan_engine_stats st;
	/* the first attempt's timeout to a server not heard from yet, from
	   the run's round trips (0: timeout_ms), and the number of them it
	   was taken from */
	double prior_ms;
	uint64_t prior_n, n_rtt;
	uint16_t rnd[RAND_POOL];
	unsigned nrnd;
	/* UDP attempts waiting for the next sendmmsg, and the socket each
	   family's attempts take until then */
	struct scan_wire *sq[SEND_BATCH];
	unsigned nsq;
	struct udp_sock *cur[2];
	struct mmsghdr smsg[SEND_BATCH];
	struct iovec siov[SEND_BATCH];
	/* recvmmsg: RECV_BATCH buffers of RECV_MAX bytes */
	struct mmsghdr rmsg[RECV_BATCH];
	struct iovec riov[RECV_BATCH];
	union scan_sa rfrom[RECV_BATCH];
	uint8_t *rbuf;
};

static void pump(struct scan_engine *eng);
static void attempt_start(struct scan_query *q);
static void send_flush(struct scan_engine *eng);

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct timeval tv_from_s(double s)
{
	struct timeval tv;

	if (s < 0)
		s = 0;
	tv.tv_sec = (time_t)s;
	tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
	return tv;
}

/* ---- token buckets ---- */

static void bucket_refill(struct bucket *b, double rate, double burst,
                          double now)
{
	b->tokens += (now - b->stamp) * rate;
	if (b->tokens > burst)
		b->tokens = burst;
	b->stamp = now;
}

/* Seconds until the bucket holds one token (0 when it does, or no limit). */
static double bucket_wait(struct bucket *b, double rate, double burst,
                          double now)
{
	if (rate <= 0)
		return 0;
	bucket_refill(b, rate, burst, now);
	return b->tokens >= 1.0 ? 0 : (1.0 - b->tokens) / rate;
}

/*
 * Burst size: one second's worth of tokens, at least one. A server idle
 * for a second may get `rate` queries at once, never more in any second
 * than 2 * rate; a rate below 1 q/s still lets one query through.
 */
static double burst_for(double rate)
{
	return rate > 1.0 ? rate : 1.0;
}

/* ---- randomness: IDs and socket choice ---- */

static uint16_t random16(struct scan_engine *eng)
{
	/* arc4random: the kernel's CSPRNG via getrandom(2), not rand();
	   fetched 64 values at a time to save system calls. */
	if (eng->nrnd == 0) {
		arc4random_buf(eng->rnd, sizeof(eng->rnd));
		eng->nrnd = RAND_POOL;
	}
	return eng->rnd[--eng->nrnd];
}

/* ---- per-server table ---- */

static uint32_t sa_hash(const union scan_sa *a)
{
	const uint8_t *p;
	size_t n;
	uint32_t h = 2166136261u; /* FNV-1a */

	if (a->sa.sa_family == AF_INET6) {
		p = a->sin6.sin6_addr.s6_addr;
		n = 16;
		h = (h ^ 6) * 16777619u;
	} else {
		p = (const uint8_t *)&a->sin.sin_addr;
		n = 4;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	h = (h ^ (uint8_t)(a->sin.sin_port >> 8)) * 16777619u;
	h = (h ^ (uint8_t)a->sin.sin_port) * 16777619u;
	return h;
}

/*
 * Address and port equality. This is the anti-spoofing check for UDP
 * answers (RFC 5452 §9.1: accept a response only from the address and
 * port the query went to): family, port and every address byte.
 */
static bool sa_equal(const union scan_sa *a, const union scan_sa *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->sin.sin_port == b->sin.sin_port &&
		       a->sin.sin_addr.s_addr == b->sin.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->sin6.sin6_port == b->sin6.sin6_port &&
		       memcmp(&a->sin6.sin6_addr, &b->sin6.sin6_addr, 16) == 0;
	return false;
}

static int table_grow(struct scan_engine *eng)
{
	size_t nsize = eng->tabsize ? eng->tabsize * 2 : TABLE_MIN;
	struct scan_server **nt = calloc(nsize, sizeof(*nt));

	if (!nt)
		return CDS_ENOMEM;
	for (size_t i = 0; i < eng->tabsize; i++) {
		struct scan_server *s, *nx;

		for (s = eng->tab[i]; s; s = nx) {
			nx = s->hnext;
			s->hnext = nt[s->hash & (nsize - 1)];
			nt[s->hash & (nsize - 1)] = s;
		}
	}
	free(eng->tab);
	eng->tab = nt;
	eng->tabsize = nsize;
	return 0;
}

static struct scan_server *server_find(struct scan_engine *eng,
                                       const union scan_sa *a, uint32_t h)
{
	struct scan_server *s = eng->tab[h & (eng->tabsize - 1)];

	while (s && !(s->hash == h && sa_equal(&s->addr, a)))
		s = s->hnext;
	return s;
}

static struct scan_server *server_get(struct scan_engine *eng,
                                      const union scan_sa *a, socklen_t alen)
{
	uint32_t h = sa_hash(a);
	struct scan_server *s = server_find(eng, a, h);
	size_t b;

	if (s)
		return s;
	if (eng->nservers >= eng->tabsize && table_grow(eng) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->eng = eng;
	s->hash = h;
	s->addr = *a;
	s->alen = alen;
	s->bkt.tokens = eng->burst;
	s->bkt.stamp = now_s();
	b = h & (eng->tabsize - 1);
	s->hnext = eng->tab[b];
	eng->tab[b] = s;
	eng->nservers++;
	return s;
}

static void idle_unlink(struct scan_engine *eng, struct scan_server *s)
{
	if (!s->idle)
		return;
	if (s->iprev)
		s->iprev->inext = s->inext;
	else
		eng->idle_head = s->inext;
	if (s->inext)
		s->inext->iprev = s->iprev;
	else
		eng->idle_tail = s->iprev;
	s->iprev = s->inext = NULL;
	s->idle = false;
}

static void server_free(struct scan_engine *eng, struct scan_server *s)
{
	struct scan_server **pp = &eng->tab[s->hash & (eng->tabsize - 1)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	idle_unlink(eng, s);
	if (s->wake)
		event_free(s->wake);
	free(s);
	eng->nservers--;
}

static void server_ref(struct scan_server *s)
{
	idle_unlink(s->eng, s);
	s->refs++;
}

/* The idle list is ordered by idle_since, so expiry pops from its head. */
static void server_unref(struct scan_server *s)
{
	struct scan_engine *eng = s->eng;

	if (--s->refs > 0)
		return;
	s->idle = true;
	s->idle_since = now_s();
	s->inext = NULL;
	s->iprev = eng->idle_tail;
	if (eng->idle_tail)
		eng->idle_tail->inext = s;
	else
		eng->idle_head = s;
	eng->idle_tail = s;
}

/*
 * Forget servers idle long enough for their bucket to be full again and,
 * for one whose round trip was learned, for that to be stale
 * (RTT_KEEP_S): such an entry is as good as a new one, so dropping it
 * loses no state and keeps the table near the active set. An operator's
 * server comes back many times in a run, and its round trip with it. A
 * server kept for its round trip holds up the expiry of those idle after
 * it, by RTT_KEEP_S at most.
 */
static void expire_idle(struct scan_engine *eng, double now)
{
	double bucket = eng->o.rate_per_server > 0
	                        ? eng->burst / eng->o.rate_per_server
	                        : 0;
	struct scan_server *s;

	while ((s = eng->idle_head)) {
		double keep = bucket;

		if (eng->o.timeout_min_ms && s->rtt_known && keep < RTT_KEEP_S)
			keep = RTT_KEEP_S;
		if (now - s->idle_since < keep)
			break;
		server_free(eng, s);
	}
}

/* ---- scheduling ---- */

static void ready_push(struct scan_engine *eng, struct scan_server *s)
{
	s->ready = true;
	s->rnext = NULL;
	if (eng->ready_tail)
		eng->ready_tail->rnext = s;
	else
		eng->ready_head = s;
	eng->ready_tail = s;
}

static struct scan_server *ready_pop(struct scan_engine *eng)
{
	struct scan_server *s = eng->ready_head;

	eng->ready_head = s->rnext;
	if (!eng->ready_head)
		eng->ready_tail = NULL;
	s->rnext = NULL;
	s->ready = false;
	return s;
}

static void server_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_server *s = arg;

	s->blocked = false;
	if (s->qhead && !s->ready)
		ready_push(s->eng, s);
	pump(s->eng);
}

/* Out of tokens: sleep on its own timer, off the ready list. */
static void server_block(struct scan_server *s, double wait)
{
	struct timeval tv = tv_from_s(wait);

	if (!s->wake)
		s->wake = evtimer_new(s->eng->base, server_wake_cb, s);
	if (!s->wake) {
		/* No timer: stay ready and retry on the next pump. */
		ready_push(s->eng, s);
		return;
	}
	s->blocked = true;
	evtimer_add(s->wake, &tv);
}

static void global_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	pump(arg);
}

static void pump(struct scan_engine *eng)
{
	double now = now_s();

	expire_idle(eng, now);
	while (eng->st.inflight < eng->o.max_inflight && eng->ready_head) {
		struct scan_server *s;
		struct scan_query *q;
		double gw = bucket_wait(&eng->global, eng->o.rate_global,
		                        eng->gburst, now);
		double sw;

		if (gw > 0) {
			struct timeval tv = tv_from_s(gw);

			evtimer_add(eng->gwake, &tv);
			break;
		}
		s = ready_pop(eng);
		sw = bucket_wait(&s->bkt, eng->o.rate_per_server, eng->burst,
		                 now);
		if (sw > 0) {
			server_block(s, sw);
			if (!s->blocked)
				break; /* no timer memory: try again later */
			continue;
		}
		q = s->qhead;
		s->qhead = q->next;
		if (!s->qhead)
			s->qtail = NULL;
		q->next = NULL;
		if (eng->o.rate_per_server > 0)
			s->bkt.tokens -= 1.0;
		if (eng->o.rate_global > 0)
			eng->global.tokens -= 1.0;
		/* Round robin: consecutive queries go to different servers. */
		if (s->qhead)
			ready_push(eng, s);
		eng->st.queued--;
		attempt_start(q);
	}
	send_flush(eng);
}

/* ---- the UDP socket pool ---- */

static void udp_read_cb(evutil_socket_t fd, short what, void *arg);

static void sock_close(struct udp_sock *us)
{
	if (us->ev)
		event_free(us->ev);
	if (us->fd >= 0)
		close(us->fd);
	free(us);
}

static struct udp_sock *sock_open(struct scan_engine *eng, int fam,
                                  unsigned slot)
{
	struct udp_sock *us = calloc(1, sizeof(*us));
	union scan_sa any;
	socklen_t alen = fam ? sizeof(any.sin6) : sizeof(any.sin);

	if (!us)
		return NULL;
	us->eng = eng;
	us->fam = fam;
	us->slot = slot;
	us->fd = socket(fam ? AF_INET6 : AF_INET,
	                SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (us->fd < 0)
		goto fail;
	/* Port 0: the kernel picks a random ephemeral source port
	   (RFC 6056 §3.3; RFC 5452 §9.2 wants the port unpredictable). */
	memset(&any, 0, sizeof(any));
	any.sa.sa_family = fam ? AF_INET6 : AF_INET;
	if (bind(us->fd, &any.sa, alen) < 0)
		goto fail;
	us->ev = event_new(eng->base, us->fd, EV_READ | EV_PERSIST,
	                   udp_read_cb, us);
	if (!us->ev || event_add(us->ev, NULL) < 0)
		goto fail;
	eng->st.udp_sockets++;
	return us;
fail:
	sock_close(us);
	return NULL;
}

/*
 * No new attempts on this socket: after its quota of uses (so that the
 * source ports keep changing) or an error. It stays open, off the pool,
 * while attempts still wait for answers on it.
 */
static void sock_retire(struct udp_sock *us)
{
	struct scan_engine *eng = us->eng;

	if (us->retired)
		return;
	us->retired = true;
	if (eng->cur[us->fam] == us)
		eng->cur[us->fam] = NULL;
	if (eng->pool[us->fam][us->slot] == us)
		eng->pool[us->fam][us->slot] = NULL;
	if (us->waiting == 0) {
		sock_close(us);
		return;
	}
	us->prev = NULL;
	us->next = eng->retired;
	if (us->next)
		us->next->prev = us;
	eng->retired = us;
}

static void sock_release(struct udp_sock *us)
{
	struct scan_engine *eng = us->eng;

	if (--us->waiting > 0 || !us->retired)
		return;
	if (us->prev)
		us->prev->next = us->next;
	else
		eng->retired = us->next;
	if (us->next)
		us->next->prev = us->prev;
	sock_close(us);
}

/*
 * A socket of the pool for an attempt to `s`: chosen at random for each
 * batch of sends, so that one sendmmsg(2) carries the batch; within its
 * quota of uses like any other choice.
 */
static struct udp_sock *sock_pick(struct scan_engine *eng,
                                  const struct scan_server *s)
{
	int fam = s->addr.sa.sa_family == AF_INET6;
	unsigned slot;
	struct udp_sock *us = eng->cur[fam];

	if (us)
		return us;
	slot = random16(eng) % eng->o.udp_sockets;
	us = eng->pool[fam][slot];
	if (!us) {
		us = sock_open(eng, fam, slot);
		if (!us)
			return NULL;
		eng->pool[fam][slot] = us;
	}
	eng->cur[fam] = us;
	return us;
}

/* ---- matching answers to attempts ---- */

static uint32_t demux_key(const struct udp_sock *us, uint32_t srv_hash,
                          uint16_t id)
{
	uint32_t h = srv_hash ^ ((uint32_t)id * 2654435761u);

	return h ^ (uint32_t)((uintptr_t)us >> 4) * 40503u;
}

/*
 * The attempt that went out on `us` to `from` with `id`: the RFC 5452
 * §9.1 check of address, port and ID (the question is checked after).
 */
static struct scan_wire *demux_find(struct scan_engine *eng,
                                    const struct udp_sock *us,
                                    const union scan_sa *from,
                                    uint32_t from_hash, uint16_t id)
{
	uint32_t k = demux_key(us, from_hash, id);
	struct scan_wire *w = eng->demux[k & eng->demux_mask];

	for (; w; w = w->hnext)
		if (w->hkey == k && w->us == us && w->id == id &&
		    sa_equal(&w->q->srv->addr, from))
			return w;
	return NULL;
}

static void demux_add(struct scan_engine *eng, struct scan_wire *w)
{
	struct scan_wire **b;

	w->hkey = demux_key(w->us, w->q->srv->hash, w->id);
	b = &eng->demux[w->hkey & eng->demux_mask];
	w->hnext = *b;
	*b = w;
}

static void demux_del(struct scan_engine *eng, struct scan_wire *w)
{
	struct scan_wire **pp = &eng->demux[w->hkey & eng->demux_mask];

	while (*pp && *pp != w)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = w->hnext;
	w->hnext = NULL;
}

/* ---- wire state ---- */

static void wire_close_io(struct scan_wire *w)
{
	if (w->us) {
		demux_del(w->q->eng, w);
		sock_release(w->us);
		w->us = NULL;
	}
	if (w->io) {
		event_free(w->io);
		w->io = NULL;
	}
	if (w->fd >= 0) {
		close(w->fd);
		w->fd = -1;
	}
	free(w->tbuf);
	w->tbuf = NULL;
	w->off = w->alen = 0;
}

static void wire_leave(struct scan_engine *eng, struct scan_query *q)
{
	struct scan_wire *w = q->w;

	wire_close_io(w);
	evtimer_del(q->timer);
	if (w->prev)
		w->prev->next = w->next;
	else
		eng->inflight = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	q->w = NULL;
}

/*
 * An answer packet back to the state of ldns_pkt_new() as far as
 * answer_parse() reads or sets it: its records freed, the lists (and
 * their arrays) kept. answer_parse() sets every header field it reads.
 */
static ldns_pkt *pkt_empty(ldns_pkt *pkt)
{
	ldns_rr_list *sec[4] = {ldns_pkt_question(pkt), ldns_pkt_answer(pkt),
				ldns_pkt_authority(pkt),
				ldns_pkt_additional(pkt)};

	for (size_t i = 0; i < 4; i++) {
		for (size_t k = 0; sec[i] && k < ldns_rr_list_rr_count(sec[i]);
		     k++)
			ldns_rr_free(ldns_rr_list_rr(sec[i], k));
		if (sec[i])
			ldns_rr_list_set_rr_count(sec[i], 0);
	}
	ldns_pkt_set_qdcount(pkt, 0);
	ldns_pkt_set_ancount(pkt, 0);
	ldns_pkt_set_nscount(pkt, 0);
	ldns_pkt_set_arcount(pkt, 0);
	return pkt;
}

static void query_destroy(struct scan_query *q)
{
	if (q->ans)
		ldns_pkt_free(q->ans);
	if (q->spare)
		ldns_pkt_free(q->spare);
	if (q->timer)
		event_free(q->timer);
	free(q);
}

/* Done with a query: keep it for the next one, within FREE_MAX. */
static void query_free(struct scan_query *q)
{
	struct scan_engine *eng = q->eng;

	if (q->ans) {
		if (q->spare)
			ldns_pkt_free(q->ans);
		else
			q->spare = pkt_empty(q->ans);
		q->ans = NULL;
	}
	if (eng->n_free >= FREE_MAX) {
		query_destroy(q);
		return;
	}
	q->next = eng->free_q;
	eng->free_q = q;
	eng->n_free++;
}

static struct scan_query *query_alloc(struct scan_engine *eng)
{
	struct scan_query *q = eng->free_q;
	struct event *timer;

	if (!q)
		return calloc(1, sizeof(*q));
	eng->free_q = q->next;
	eng->n_free--;
	timer = q->timer;
	memset(q, 0, offsetof(struct scan_query, timer));
	q->timer = timer;
	return q;
}

/* Leave the wire and queue the callback; the kick event delivers it. */
static void query_finish(struct scan_query *q, int status)
{
	struct scan_engine *eng = q->eng;

	if (q->w) {
		wire_leave(eng, q);
		eng->st.inflight--;
	}
	q->status = status;
	if (status == CDS_OK)
		eng->st.answered++;
	else if (status == CDS_ETIMEOUT)
		eng->st.timeouts++;
	else
		eng->st.failed++;
	server_unref(q->srv);
	q->srv = NULL;
	if (eng->done_tail)
		eng->done_tail->next = q;
	else
		eng->done_head = q;
	eng->done_tail = q;
	event_active(eng->kick, EV_TIMEOUT, 0);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_engine *eng = arg;
	struct scan_query *q;

	while ((q = eng->done_head)) {
		struct scan_answer ans = {
		        .status = q->status,
		        .pkt = q->ans,
		        .transport =
		                q->tcp ? CDS_TRANSPORT_TCP : CDS_TRANSPORT_UDP,
		        .attempts = q->attempts,
		        .rtt_ms = q->rtt_ms,
		};

		eng->done_head = q->next;
		if (!eng->done_head)
			eng->done_tail = NULL;
		q->cb(&ans, q->arg);
		query_free(q);
	}
	pump(eng);
}

/* ---- building and checking packets ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The query, by hand (no allocation): RD=0 because we ask the server for
 * its own data, never for recursion; one question, class IN; an OPT RR
 * with our UDP size and DO=1 (RFC 6891 §6.1.2, RFC 3225 §3) so that
 * RRSIGs come along (STANDARDS.md Q2).
 */
static uint16_t build_query(struct scan_query *q, uint16_t id, uint16_t bufsize,
                            uint8_t *p)
{
	uint8_t *o;

	memset(p, 0, DNS_HDR_LEN);
	put16(p, id);
	put16(p + 4, 1);  /* QDCOUNT */
	put16(p + 10, 1); /* ARCOUNT: the OPT RR */
	memcpy(p + DNS_HDR_LEN, q->qname, q->qname_len);
	o = p + DNS_HDR_LEN + q->qname_len;
	put16(o, q->qtype);
	put16(o + 2, LDNS_RR_CLASS_IN);
	o += 4;
	o[0] = 0; /* owner: root */
	put16(o + 1, LDNS_RR_TYPE_OPT);
	put16(o + 3, bufsize);
	put16(o + 5, 0);      /* extended RCODE, version 0 */
	put16(o + 7, 0x8000); /* DO */
	put16(o + 9, 0);      /* RDLENGTH */
	return (uint16_t)(o + OPT_RR_LEN - p);
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/*
 * The answer must be a response (QR=1, opcode QUERY) with our ID and
 * exactly our one question; names compare case-insensitively (RFC 4343).
 * Checked on the wire, before anything is parsed or allocated. The
 * question name is the first name of the message, so it cannot be
 * compressed (there is nothing before it to point to): a pointer there
 * is a mismatch. *end gets the offset after the question.
 */
static int answer_check(const struct scan_query *q, uint16_t id,
                        const uint8_t *p, size_t n, size_t *end)
{
	size_t i = DNS_HDR_LEN, j = 0;

	if (n < DNS_HDR_LEN)
		return CDS_EMALFORMED;
	if (get16(p) != id || !(p[2] & 0x80) ||
	    ((p[2] >> 3) & 0x0f) != LDNS_PACKET_QUERY || get16(p + 4) != 1)
		return CDS_EMISMATCH;
	for (;;) {
		uint8_t len;

		if (i >= n)
			return CDS_EMALFORMED;
		len = p[i];
		if (len != q->qname[j])
			return CDS_EMISMATCH; /* other length, or a pointer */
		if (len == 0)
			break;
		if (i + 1 + len > n)
			return CDS_EMALFORMED;
		for (size_t k = 1; k <= len; k++)
			if (ascii_lower(p[i + k]) != q->qname[j + k])
				return CDS_EMISMATCH;
		i += 1u + len;
		j += 1u + len;
	}
	i++;
	if (i + 4 > n)
		return CDS_EMALFORMED;
	if (get16(p + i) != q->qtype || get16(p + i + 2) != LDNS_RR_CLASS_IN)
		return CDS_EMISMATCH;
	*end = i + 4;
	return 0;
}

/*
 * The answer as an ldns packet, parsing only what callers read: the
 * header and the answer section, from `pos`, the end of the question
 * (answer_check matched it to ours, byte for byte). The question is not
 * parsed again: nobody reads it from the packet, and it was three
 * allocations and a name parse for every answer, the only record a
 * NODATA answer parsed. The authority and additional sections are left
 * unparsed (their counts are kept): nobody reads them, and parsing their
 * NSEC/RRSIG/SOA records, one allocation per field, was most of the cost
 * of a NODATA answer.
 */
static int answer_parse(struct scan_query *q, const uint8_t *p, size_t n,
			size_t pos, ldns_pkt **out)
{
	ldns_pkt *pkt = q->spare ? q->spare : ldns_pkt_new();
	ldns_rr *rr = NULL;
	uint16_t an = get16(p + 6);
	unsigned total = an;
	int rc = CDS_ENOMEM;

	if (!pkt)
		goto fail;
	ldns_pkt_set_id(pkt, get16(p));
	ldns_pkt_set_qr(pkt, p[2] & 0x80);
	ldns_pkt_set_opcode(pkt, (ldns_pkt_opcode)((p[2] >> 3) & 0x0f));
	ldns_pkt_set_aa(pkt, p[2] & 0x04);
	ldns_pkt_set_tc(pkt, p[2] & 0x02);
	ldns_pkt_set_rd(pkt, p[2] & 0x01);
	ldns_pkt_set_ra(pkt, p[3] & 0x80);
	ldns_pkt_set_ad(pkt, p[3] & 0x20);
	ldns_pkt_set_cd(pkt, p[3] & 0x10);
	ldns_pkt_set_rcode(pkt, p[3] & 0x0f);
	rc = CDS_EMALFORMED;
	/* The data CSYNC names (NS, A, AAAA) may be absent only when the
	   NSEC/NSEC3 records in the authority section prove it (RFC 7477
	   §3.2, STANDARDS Y6, Y7): parse that section for their NODATA
	   answers, and only for those. */
	if (an == 0 && (q->qtype == LDNS_RR_TYPE_NS ||
			q->qtype == LDNS_RR_TYPE_A ||
			q->qtype == LDNS_RR_TYPE_AAAA))
		total = get16(p + 8);
	for (unsigned i = 0; i < total; i++) {
		ldns_pkt_section sec = i < an ? LDNS_SECTION_ANSWER
		                              : LDNS_SECTION_AUTHORITY;

		if (ldns_wire2rr(&rr, p, n, &pos, sec) != LDNS_STATUS_OK)
			goto fail;
		if (!ldns_pkt_push_rr(pkt, sec, rr)) {
			ldns_rr_free(rr);
			rc = CDS_ENOMEM;
			goto fail;
		}
	}
	ldns_pkt_set_nscount(pkt, get16(p + 8));
	ldns_pkt_set_arcount(pkt, get16(p + 10));
	q->spare = NULL;
	*out = pkt;
	return 0;
fail:
	if (pkt)
		q->spare = pkt_empty(pkt);
	return rc;
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec ts;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (double)(ts.tv_sec - since->tv_sec) * 1e3 +
	     (double)(ts.tv_nsec - since->tv_nsec) / 1e6;
	return ms < 0 ? 0 : ms;
}

static void rtt_sample(struct scan_query *q, double ms);

static void query_answered(struct scan_query *q, ldns_pkt *pkt)
{
	double ms = elapsed_ms(&q->w->sent);

	q->rtt_ms = (unsigned)ms;
	rtt_sample(q, ms);
	q->ans = pkt;
	query_finish(q, CDS_OK);
}

/* ---- attempts, timeouts, retries ---- */

/*
 * A first attempt waits what the server's own answers say it needs
 * (RFC 6298 §2: srtt + 4 rttvar), between timeout_min_ms and timeout_ms:
 * a fixed timeout long enough for far servers made every datagram lost
 * on the way to a near one cost it (docs/BENCH.md, 30 ms RTT). TCP
 * waits timeout_ms. Retries back off from there.
 *
 * A server not heard from yet waits what the run's other servers needed
 * (run_prior_ms): in a registry most servers are first met by a query,
 * and a datagram lost to one cost the whole timeout_ms — for the last
 * delegations of a run, the run's tail. One that then lets an attempt
 * time out waits timeout_ms until it answers a first attempt: the answer
 * to a retry is no round trip (Karn), so a server slower than the prior
 * would otherwise be asked twice every time (RFC 6298 §5.7 keeps the
 * backed-off timer for the same reason).
 */
static double run_prior_ms(struct scan_engine *eng)
{
	static const uint64_t none[CDS_RTT_BUCKETS];
	const struct scan_engine_opts *o = &eng->o;
	uint64_t n;

	if (eng->n_rtt < PRIOR_MIN_SAMPLES)
		return 0;
	if (eng->prior_ms == 0 || eng->n_rtt - eng->prior_n >= PRIOR_EVERY) {
		double ms = PRIOR_FACTOR * cds_rtt_percentile(eng->st.rtt_hist,
							      none, 0.99, &n);

		if (ms < o->timeout_min_ms)
			ms = o->timeout_min_ms;
		eng->prior_ms = ms;
		eng->prior_n = eng->n_rtt;
	}
	return eng->prior_ms;
}

static double attempt_timeout_ms(const struct scan_query *q)
{
	const struct scan_engine_opts *o = &q->eng->o;
	const struct scan_server *s = q->srv;
	double ms = o->timeout_ms;

	if (o->timeout_min_ms && s && !q->tcp) {
		double rto = 0;

		if (s->rtt_known) {
			rto = s->srtt + 4 * s->rttvar;
			if (rto < o->timeout_min_ms)
				rto = o->timeout_min_ms;
		} else if (!s->timed_out) {
			rto = run_prior_ms(q->eng);
		}
		if (rto > 0 && rto < ms)
			ms = rto;
	}
	ms *= pow(o->backoff, q->tries - 1);
	return ms > TIMEOUT_CAP_MS ? TIMEOUT_CAP_MS : ms;
}

/*
 * A round trip measured: only of a first attempt over UDP (Karn: the
 * answer to a retry could be the answer to any attempt), RFC 6298 §2.2
 * and §2.3 with alpha 1/8 and beta 1/4.
 */
static void rtt_sample(struct scan_query *q, double r)
{
	struct scan_server *s = q->srv;

	if (!s || q->tries != 1 || q->tcp)
		return;
	q->eng->st.rtt_hist[cds_rtt_bucket(r)]++;
	q->eng->n_rtt++;
	if (!s->rtt_known) {
		s->srtt = r;
		s->rttvar = r / 2;
		s->rtt_known = true;
		return;
	}
	s->rttvar = 0.75 * s->rttvar + 0.25 * fabs(s->srtt - r);
	s->srtt = 0.875 * s->srtt + 0.125 * r;
}

/*
 * The attempt is over (timer fired, possibly after an early network
 * error). Retry with a new ID (and socket) while tries remain.
 */
static void attempt_failed(struct scan_query *q, int err)
{
	wire_close_io(q->w);
	if (q->tries < 1 + q->eng->o.retries)
		attempt_start(q);
	else
		query_finish(q, err);
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_query *q = arg;
	struct scan_engine *eng = q->eng;

	if (q->srv && !q->tcp && !q->srv->rtt_known &&
	    q->w->err == CDS_ETIMEOUT)
		q->srv->timed_out = true;
	attempt_failed(q, q->w->err);
	send_flush(eng);
}

/*
 * A network error before the timeout (connection refused or reset, an
 * unreachable route): the socket goes, the timer stays, so the retry
 * still waits its back-off instead of hammering the server at once.
 */
static void attempt_net_error(struct scan_query *q)
{
	wire_close_io(q->w);
	q->w->err = CDS_ENET;
	q->w->state = W_DEAD;
}

static int io_watch(struct scan_query *q, short what, event_callback_fn cb)
{
	struct scan_wire *w = q->w;

	if (w->io)
		event_free(w->io);
	w->io = event_new(q->eng->base, w->fd, what | EV_PERSIST, cb, q);
	if (!w->io || event_add(w->io, NULL) < 0)
		return CDS_ENOMEM;
	return 0;
}

/* ---- UDP ---- */

/* One datagram on a pooled socket: find its attempt, check, deliver. */
static void udp_datagram(struct udp_sock *us, const uint8_t *p, size_t n,
                         const union scan_sa *from)
{
	struct scan_engine *eng = us->eng;
	struct scan_wire *w;
	struct scan_query *q;
	ldns_pkt *pkt = NULL;
	size_t end;

	/* Anti-spoofing: only the exact address, port and ID we sent from
	   this socket count, and only with our question. */
	if (n < DNS_HDR_LEN)
		goto drop;
	w = demux_find(eng, us, from, sa_hash(from), get16(p));
	if (!w)
		goto drop;
	q = w->q;
	if (answer_check(q, w->id, p, n, &end) < 0)
		goto drop;
	if (p[2] & 0x02) {
		/* RFC 7766 §5: a truncated answer is retried over TCP. */
		eng->st.truncated++;
		wire_close_io(w);
		q->tcp = 1;
		q->tries = 0;
		attempt_start(q);
		return;
	}
	if (answer_parse(q, p, n, end, &pkt) < 0)
		goto drop;
	query_answered(q, pkt);
	return;
drop:
	/* The query keeps waiting until its timeout. */
	eng->st.dropped++;
}

/* Datagrams read in batches of RECV_BATCH, up to UDP_READS_PER_EVENT. */
static void udp_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct udp_sock *us = arg;
	struct scan_engine *eng = us->eng;

	/* Hold the socket: an answer may release the last attempt on a
	   retired socket, which must not close under our feet. */
	us->waiting++;
	for (int got = 0; got < UDP_READS_PER_EVENT;) {
		int n;

		for (int i = 0; i < RECV_BATCH; i++) {
			eng->rmsg[i].msg_hdr.msg_name = &eng->rfrom[i];
			eng->rmsg[i].msg_hdr.msg_namelen = sizeof(eng->rfrom[i]);
			eng->rmsg[i].msg_hdr.msg_flags = 0;
		}
		n = recvmmsg(fd, eng->rmsg, RECV_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR)
				sock_retire(us);
			break;
		}
		for (int i = 0; i < n; i++) {
			union scan_sa *from = &eng->rfrom[i];

			if (eng->rmsg[i].msg_hdr.msg_namelen > sizeof(*from))
				from->sa.sa_family = AF_UNSPEC;
			udp_datagram(us, eng->rbuf + (size_t)i * RECV_MAX,
			             eng->rmsg[i].msg_len, from);
		}
		got += n;
		if (n < RECV_BATCH)
			break; /* drained: spare the call that says EAGAIN */
	}
	sock_release(us);
}

static int udp_start(struct scan_query *q, int old_id)
{
	struct scan_engine *eng = q->eng;
	struct scan_wire *w = q->w;
	struct udp_sock *us = sock_pick(eng, q->srv);

	if (!us)
		return CDS_ENET;
	/* A fresh random ID, unique among this socket's attempts to this
	   server, so that an answer names exactly one attempt; never the
	   previous attempt's, whose late answer must not count. */
	do
		w->id = random16(eng);
	while ((int)w->id == old_id ||
	       demux_find(eng, us, &q->srv->addr, q->srv->hash, w->id));
	w->len = build_query(q, w->id, eng->o.edns_bufsize, w->buf + 2);
	w->us = us;
	us->waiting++;
	demux_add(eng, w);
	if (++us->uses >= eng->o.udp_socket_uses)
		sock_retire(us);
	w->state = W_UDP;
	/* Sent with the batch: at the end of this pump or timer event. */
	eng->sq[eng->nsq++] = w;
	if (eng->nsq == SEND_BATCH)
		send_flush(eng);
	return 0;
}

/*
 * Send the waiting attempts, one sendmmsg(2) per run of attempts on the
 * same socket. A datagram the kernel refuses fails its attempt like a
 * refused sendto(2) did (the socket is retired, the attempt retries
 * after its timeout) and the rest of the run goes on.
 */
static void send_flush(struct scan_engine *eng)
{
	unsigned i = 0, n = eng->nsq;

	eng->nsq = 0;
	eng->cur[0] = eng->cur[1] = NULL;
	while (i < n) {
		struct udp_sock *us = eng->sq[i]->us;
		unsigned j = i;
		int sent;

		if (!us) {
			i++; /* left the wire since: nothing to send */
			continue;
		}
		for (; j < n && eng->sq[j]->us == us; j++) {
			struct scan_wire *w = eng->sq[j];
			struct msghdr *h = &eng->smsg[j - i].msg_hdr;

			eng->siov[j - i].iov_base = w->buf + 2;
			eng->siov[j - i].iov_len = w->len;
			memset(h, 0, sizeof(*h));
			h->msg_name = &w->q->srv->addr.sa;
			h->msg_namelen = w->q->srv->alen;
			h->msg_iov = &eng->siov[j - i];
			h->msg_iovlen = 1;
		}
		do
			sent = sendmmsg(us->fd, eng->smsg, j - i, 0);
		while (sent < 0 && errno == EINTR);
		if (sent < 0)
			sent = 0;
		eng->st.sent_udp += (unsigned)sent;
		i += (unsigned)sent;
		if (i < j) {
			struct scan_wire *w = eng->sq[i++];

			sock_retire(us);
			attempt_net_error(w->q);
		}
	}
}

/* ---- TCP ---- */

/*
 * Over TCP an off-path attacker cannot inject, so a bad answer is the
 * server's own: fail the query rather than wait for a better one.
 */
static void tcp_answer(struct scan_query *q)
{
	struct scan_wire *w = q->w;
	ldns_pkt *pkt = NULL;
	size_t end;
	int rc;

	rc = answer_check(q, w->id, w->tbuf, w->alen, &end);
	if (rc == 0)
		rc = answer_parse(q, w->tbuf, w->alen, end, &pkt);
	/* TC=1 says the answer is incomplete (RFC 2181 §9), and over TCP
	   there is no larger transport left: a failure of the server, never
	   an empty answer that could pass for NODATA. */
	if (rc == 0 && ldns_pkt_tc(pkt)) {
		ldns_pkt_free(pkt);
		rc = CDS_ETRUNC;
	}
	if (rc < 0) {
		query_finish(q, rc);
		return;
	}
	query_answered(q, pkt);
}

/* Read the 2-byte length, then the message, across as many reads. */
static void tcp_read(struct scan_query *q)
{
	struct scan_wire *w = q->w;
	ssize_t n;

	if (!w->tbuf) {
		n = recv(w->fd, w->lenbuf + w->off, 2 - w->off, 0);
		if (n > 0 && (w->off += (uint32_t)n) == 2) {
			w->alen = (uint32_t)w->lenbuf[0] << 8 | w->lenbuf[1];
			w->off = 0;
			if (w->alen > q->eng->o.max_answer || w->alen == 0) {
				query_finish(q, w->alen ? CDS_ELIMIT
				                        : CDS_EMALFORMED);
				return;
			}
			w->tbuf = malloc(w->alen);
			if (!w->tbuf)
				query_finish(q, CDS_ENOMEM);
			return;
		}
	} else {
		n = recv(w->fd, w->tbuf + w->off, w->alen - w->off, 0);
		if (n > 0 && (w->off += (uint32_t)n) == w->alen) {
			tcp_answer(q);
			return;
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		attempt_net_error(q); /* reset or closed early */
}

static void tcp_write(struct scan_query *q)
{
	struct scan_wire *w = q->w;
	uint32_t total = (uint32_t)w->len + 2;
	ssize_t n = send(w->fd, w->buf + w->off, total - w->off, MSG_NOSIGNAL);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			attempt_net_error(q);
		return;
	}
	w->off += (uint32_t)n;
	if (w->off < total)
		return;
	w->off = 0;
	w->state = W_TCP_READ;
}

static void tcp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct scan_query *q = arg;
	struct scan_wire *w = q->w;
	int err = 0;
	socklen_t elen = sizeof(err);

	switch (w->state) {
	case W_TCP_CONNECT:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 ||
		    err) {
			attempt_net_error(q);
			return;
		}
		w->state = W_TCP_WRITE;
		/* fall through */
	case W_TCP_WRITE:
		tcp_write(q);
		if (w->state == W_TCP_READ && io_watch(q, EV_READ, tcp_cb) < 0)
			query_finish(q, CDS_ENOMEM);
		return;
	case W_TCP_READ:
		tcp_read(q);
		return;
	default:
		return;
	}
}

/* A connection of its own per attempt: TCP is the rare fallback. */
static int tcp_start(struct scan_query *q)
{
	struct scan_engine *eng = q->eng;
	struct scan_wire *w = q->w;

	w->id = random16(eng);
	w->len = build_query(q, w->id, eng->o.edns_bufsize, w->buf + 2);
	w->fd = socket(q->srv->addr.sa.sa_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0)
		return CDS_ENET;
	eng->st.sent_tcp++;
	put16(w->buf, w->len);
	w->off = 0;
	w->state = W_TCP_CONNECT;
	if (connect(w->fd, &q->srv->addr.sa, q->srv->alen) < 0 &&
	    errno != EINPROGRESS) {
		attempt_net_error(q);
		return 0;
	}
	return io_watch(q, EV_WRITE, tcp_cb);
}

/* ---- starting ---- */

static int wire_new(struct scan_query *q)
{
	struct scan_engine *eng = q->eng;
	struct scan_wire *w = &q->wire;

	if (!q->timer && !(q->timer = evtimer_new(eng->base, timeout_cb, q)))
		return CDS_ENOMEM;
	w->q = q;
	w->us = NULL;
	w->io = NULL;
	w->hnext = NULL;
	w->fd = -1;
	w->tbuf = NULL;
	w->off = w->alen = 0;
	w->id = 0;
	w->prev = NULL;
	w->next = eng->inflight;
	if (w->next)
		w->next->prev = w;
	eng->inflight = w;
	q->w = w;
	eng->st.inflight++;
	return 0;
}

/*
 * One attempt: a new random ID every time, and over UDP a socket picked
 * at random from the pool (so a random source port), RFC 5452 §9.2, so
 * that a late or forged answer to an earlier attempt cannot match this
 * one.
 */
static void attempt_start(struct scan_query *q)
{
	struct scan_wire *w;
	struct timeval tv;
	int old_id, rc;

	if (!q->w && (rc = wire_new(q)) < 0) {
		query_finish(q, rc);
		return;
	}
	w = q->w;
	old_id = q->attempts ? (int)w->id : -1;
	q->tries++;
	q->attempts++;
	w->err = CDS_ETIMEOUT;
	clock_gettime(CLOCK_MONOTONIC, &w->sent);
	rc = q->tcp ? tcp_start(q) : udp_start(q, old_id);
	if (rc < 0) {
		/* Out of sockets or memory here: retrying at once won't help.
		 */
		query_finish(q, rc == CDS_ENOMEM ? CDS_ENOMEM : CDS_ENET);
		return;
	}
	tv = tv_from_s(attempt_timeout_ms(q) / 1000.0);
	evtimer_add(q->timer, &tv);
}

/* ---- public API ---- */

void scan_engine_opts_default(struct scan_engine_opts *opts)
{
	*opts = (struct scan_engine_opts){
	        .max_inflight = 2000,
	        .timeout_ms = 1500,
	        .timeout_min_ms = 200,
	        .retries = 2,
	        .backoff = 2.0,
	        .rate_per_server = 50,
	        .rate_global = 0,
	        .tcp_only = false,
	        .edns_bufsize = 1232,
	        .max_answer = 65535,
	        .udp_sockets = 256,
	        .udp_socket_uses = 64,
	};
}

static int opts_check(const struct scan_engine_opts *o)
{
	if (o->max_inflight == 0 || o->timeout_ms == 0 || o->retries > 100 ||
	    !(o->backoff >= 1.0) || !(o->rate_per_server >= 0) ||
	    !(o->rate_global >= 0) || o->edns_bufsize < 512 ||
	    o->max_answer < 12 || o->max_answer > 65535 ||
	    o->udp_sockets == 0 || o->udp_sockets > 65536 ||
	    o->udp_socket_uses == 0)
		return CDS_EINVAL;
	return 0;
}

/*
 * Make room for the sockets: the UDP pool (both families) and, at worst,
 * a TCP connection per query in flight.
 */
static void raise_nofile(unsigned max_inflight, unsigned udp_sockets)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_inflight + 2 * (rlim_t)udp_sockets +
	              NOFILE_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		log_warn("engine: open-file limit %llu is below %llu needed "
		         "for %u queries in flight; queries beyond it fail",
		         (unsigned long long)rl.rlim_cur,
		         (unsigned long long)need, max_inflight);
}

int scan_engine_new(struct event_base *base,
                    const struct scan_engine_opts *opts,
                    struct scan_engine **out)
{
	struct scan_engine *eng = NULL;
	unsigned long long nb;
	int rc = CDS_EINVAL;

	*out = NULL;
	if (!base || !opts || opts_check(opts) < 0)
		goto fail;
	rc = CDS_ENOMEM;
	eng = calloc(1, sizeof(*eng));
	if (!eng)
		goto fail;
	eng->base = base;
	eng->o = *opts;
	eng->burst = burst_for(opts->rate_per_server);
	eng->gburst = burst_for(opts->rate_global);
	eng->global.tokens = eng->gburst;
	eng->global.stamp = now_s();
	eng->rbuf = malloc((size_t)RECV_BATCH * RECV_MAX);
	for (int i = 0; eng->rbuf && i < RECV_BATCH; i++) {
		eng->riov[i].iov_base = eng->rbuf + (size_t)i * RECV_MAX;
		eng->riov[i].iov_len = RECV_MAX;
		eng->rmsg[i].msg_hdr.msg_iov = &eng->riov[i];
		eng->rmsg[i].msg_hdr.msg_iovlen = 1;
	}
	eng->kick = event_new(base, -1, 0, kick_cb, eng);
	eng->gwake = evtimer_new(base, global_wake_cb, eng);
	eng->pool[0] = calloc(opts->udp_sockets, sizeof(*eng->pool[0]));
	eng->pool[1] = calloc(opts->udp_sockets, sizeof(*eng->pool[1]));
	for (nb = DEMUX_MIN; nb < DEMUX_MAX && nb < 2ull * opts->max_inflight;)
		nb *= 2;
	eng->demux = calloc(nb, sizeof(*eng->demux));
	eng->demux_mask = (uint32_t)nb - 1;
	if (!eng->rbuf || !eng->kick || !eng->gwake || !eng->pool[0] ||
	    !eng->pool[1] || !eng->demux || table_grow(eng) < 0)
		goto fail;
	raise_nofile(opts->max_inflight, opts->udp_sockets);
	*out = eng;
	return 0;
fail:
	scan_engine_free(eng);
	return rc;
}

void scan_engine_free(struct scan_engine *eng)
{
	struct scan_query *q;

	if (!eng)
		return;
	while (eng->inflight) {
		q = eng->inflight->q;
		wire_leave(eng, q);
		query_destroy(q);
	}
	while ((q = eng->done_head)) {
		eng->done_head = q->next;
		query_destroy(q);
	}
	while ((q = eng->free_q)) {
		eng->free_q = q->next;
		query_destroy(q);
	}
	for (size_t i = 0; i < eng->tabsize; i++) {
		struct scan_server *s;

		while ((s = eng->tab[i])) {
			while ((q = s->qhead)) {
				s->qhead = q->next;
				query_destroy(q);
			}
			server_free(eng, s);
		}
	}
	if (eng->kick)
		event_free(eng->kick);
	if (eng->gwake)
		event_free(eng->gwake);
	for (int f = 0; f < 2; f++)
		for (unsigned i = 0; eng->pool[f] && i < eng->o.udp_sockets; i++)
			if (eng->pool[f][i])
				sock_close(eng->pool[f][i]);
	while (eng->retired) {
		struct udp_sock *us = eng->retired;

		eng->retired = us->next;
		sock_close(us);
	}
	free(eng->pool[0]);
	free(eng->pool[1]);
	free(eng->demux);
	free(eng->tab);
	free(eng->rbuf);
	free(eng);
}

static int addr_check(const struct sockaddr *addr, socklen_t addrlen,
                      union scan_sa *out, socklen_t *outlen)
{
	if (!addr)
		return CDS_EINVAL;
	memset(out, 0, sizeof(*out));
	if (addr->sa_family == AF_INET && addrlen >= sizeof(out->sin)) {
		memcpy(&out->sin, addr, sizeof(out->sin));
		*outlen = sizeof(out->sin);
	} else if (addr->sa_family == AF_INET6 &&
	           addrlen >= sizeof(out->sin6)) {
		memcpy(&out->sin6, addr, sizeof(out->sin6));
		*outlen = sizeof(out->sin6);
	} else {
		return CDS_EINVAL;
	}
	return 0;
}

int scan_engine_query(struct scan_engine *eng, const struct sockaddr *addr,
                      socklen_t addrlen, const char *qname, uint16_t qtype,
                      scan_answer_cb cb, void *arg)
{
	union scan_sa sa;
	socklen_t salen;
	struct scan_query *q = NULL;
	struct scan_server *s;
	size_t nlen;
	int rc = CDS_EINVAL;

	if (!eng || !qname || !cb || addr_check(addr, addrlen, &sa, &salen) < 0)
		goto fail;
	rc = CDS_ENOMEM;
	q = query_alloc(eng);
	if (!q)
		goto fail;
	q->eng = eng;
	if (cds_name_to_wire(qname, q->qname, &nlen) != CDS_OK) {
		rc = CDS_EINVAL;
		goto fail;
	}
	q->qname_len = (uint16_t)nlen;
	s = server_get(eng, &sa, salen);
	if (!s)
		goto fail;
	q->eng = eng;
	q->srv = s;
	q->qtype = qtype;
	q->cb = cb;
	q->arg = arg;
	q->tcp = eng->o.tcp_only;
	server_ref(s);
	if (s->qtail)
		s->qtail->next = q;
	else
		s->qhead = q;
	s->qtail = q;
	if (!s->ready && !s->blocked)
		ready_push(eng, s);
	eng->st.queries++;
	eng->st.queued++;
	/* Started from the loop, never here: callbacks stay asynchronous. */
	event_active(eng->kick, EV_TIMEOUT, 0);
	return 0;
fail:
	if (q)
		query_free(q);
	return rc;
}

void scan_engine_get_stats(const struct scan_engine *eng,
                           struct scan_engine_stats *st)
{
	*st = eng->st;
}

unsigned scan_engine_server_count(const struct scan_engine *eng)
{
	return (unsigned)eng->nservers;
}

/* ---- addresses ---- */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return CDS_EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return CDS_EINVAL;
	*port = (uint16_t)v;
	return 0;
}

/* Split "[v6]:port", "addr@port", "v4:port" or a bare address. */
static int split_addr(const char *text, char *host, size_t hlen,
                      const char **port)
{
	const char *end, *colon = strchr(text, ':');
	size_t n;

	*port = NULL;
	if (text[0] == '[') {
		text++;
		end = strchr(text, ']');
		if (!end || (end[1] && end[1] != ':'))
			return CDS_EINVAL;
		if (end[1] == ':')
			*port = end + 2;
	} else if ((end = strchr(text, '@'))) {
		*port = end + 1;
	} else if (colon && !strchr(colon + 1, ':')) {
		end = colon; /* IPv4 with ":port" */
		*port = colon + 1;
	} else {
		end = text + strlen(text);
	}
	n = (size_t)(end - text);
	if (n == 0 || n >= hlen)
		return CDS_EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	return 0;
}

int scan_parse_addr(const char *text, uint16_t port,
                    struct sockaddr_storage *out, socklen_t *outlen)
{
	char host[INET6_ADDRSTRLEN];
	const char *ptext;
	struct sockaddr_in *sin = (struct sockaddr_in *)out;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)out;
	int rc = CDS_EINVAL;

	if (!text || !out || !outlen)
		goto out;
	memset(out, 0, sizeof(*out));
	if (split_addr(text, host, sizeof(host), &ptext) < 0)
		goto out;
	if (ptext && parse_port(ptext, &port) < 0)
		goto out;
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1 && text[0] != '[') {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*outlen = sizeof(*sin);
		rc = 0;
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*outlen = sizeof(*sin6);
		rc = 0;
	}
out:
	return rc;
}

/* An IPv4 address in dotted decimal: what inet_ntop() writes, without
   the sprintf() per octet that made it ~1.8 k instructions, once for
   every server of every delegation scanned. NULL when len is short. */
static char *ipv4_str(const struct in_addr *a, char *buf, size_t len)
{
	const uint8_t *o = (const uint8_t *)&a->s_addr;
	char *p = buf;

	if (len < INET_ADDRSTRLEN)
		return NULL;
	for (int i = 0; i < 4; i++) {
		unsigned v = o[i];

		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
	return buf;
}

const char *scan_addr_str(const struct sockaddr *addr, char *buf, size_t len)
{
	const void *src = NULL;

	if (addr && addr->sa_family == AF_INET &&
	    ipv4_str(&((const struct sockaddr_in *)addr)->sin_addr, buf, len))
		return buf;
	if (addr && addr->sa_family == AF_INET)
		src = &((const struct sockaddr_in *)addr)->sin_addr;
	else if (addr && addr->sa_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)addr)->sin6_addr;
	if (!src || !inet_ntop(addr->sa_family, src, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}
