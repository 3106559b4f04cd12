/*
 * Unit tests of scanner/engine against an in-process fixture server on
 * loopback (same event loop) that misbehaves on purpose: wrong ID, wrong
 * source port, wrong question, garbage, TC=1, silence, delays. One test
 * runs the engine against a real NSD started on 127.0.9.1:53. Time is
 * only ever asserted as a lower bound.
 */
#include <arpa/inet.h>
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/errors.h"
#include "scanner/engine.h"

#define FX_LOG_MAX 20000
#define MAXQ 10000

/* ---- the fixture server ---- */

enum fx_mode {
	FX_OK,
	FX_WRONG_ID,    /* wrong ID first, then the right answer */
	FX_WRONG_PORT,  /* right answer from another port first */
	FX_WRONG_NAME,  /* another question name first */
	FX_WRONG_TYPE,  /* another question type first */
	FX_TWO_Q,       /* two questions first */
	FX_QR0,         /* QR=0 first */
	FX_GARBAGE,     /* unparseable bytes first */
	FX_UPPER,       /* the question name in upper case (must match) */
	FX_TC,          /* TC=1 over UDP, full answer over TCP */
	FX_SILENT,      /* never answers */
	FX_DELAY,       /* answers after delay_ms */
	FX_TCP_GARBAGE, /* TCP answer that does not parse */
	FX_TCP_WRONG_ID,
	FX_TCP_HUGE, /* TCP length prefix of 65535 */
	FX_CROSS,    /* holds the first query until a second comes, then
	                answers the first's question under the second's ID,
	                then both properly */
};

enum fx_mut {
	MUT_NONE,
	MUT_ID,
	MUT_NAME,
	MUT_TYPE,
	MUT_TWO_Q,
	MUT_QR0,
	MUT_UPPER,
	MUT_TC
};

struct fx_seen {
	double t;
	uint16_t id, sport;
	bool rd, do_bit, tcp;
	uint16_t edns;
};

struct fx {
	struct event_base *base;
	enum fx_mode mode;
	unsigned delay_ms;
	int udp, udp2, tcp;
	struct event *ev_udp, *ev_tcp;
	struct sockaddr_storage addr;
	socklen_t alen;
	unsigned nudp, ntcp, pending, max_pending;
	struct scan_engine *eng; /* sampled for stats.inflight */
	unsigned max_inflight;
	unsigned nseen;
	struct fx_seen *seen;
	ldns_pkt *held; /* FX_CROSS: the first query */
	struct sockaddr_storage held_from;
	socklen_t held_flen;
};

struct fx_conn {
	struct fx *fx;
	int fd;
	struct event *ev;
	size_t have;
	uint8_t buf[600];
};

struct fx_later {
	struct fx *fx;
	struct sockaddr_storage to;
	socklen_t tolen;
	size_t len;
	uint8_t *wire;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static ldns_rdf *upper_name(const ldns_rdf *name)
{
	char *s = ldns_rdf2str(name);
	ldns_rdf *r;

	for (char *p = s; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	r = ldns_dname_new_frm_str(s);
	free(s);
	return r;
}

/* Build an answer to `qp`, altered by `mut`. Returns malloc'd wire. */
static uint8_t *fx_answer(const ldns_pkt *qp, enum fx_mut mut, size_t *len)
{
	ldns_pkt *r = ldns_pkt_new();
	const ldns_rr *q0 = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
	ldns_rr *qrr = ldns_rr_clone(q0);
	uint8_t *wire = NULL;

	ldns_pkt_set_id(r, ldns_pkt_id(qp) ^ (mut == MUT_ID ? 0x5a5a : 0));
	ldns_pkt_set_qr(r, mut != MUT_QR0);
	ldns_pkt_set_aa(r, true);
	ldns_pkt_set_tc(r, mut == MUT_TC);
	if (mut == MUT_NAME || mut == MUT_UPPER) {
		ldns_rdf *n = mut == MUT_NAME
		                      ? ldns_dname_new_frm_str("wrong.example.")
		                      : upper_name(ldns_rr_owner(q0));
		ldns_rdf_deep_free(ldns_rr_owner(qrr));
		ldns_rr_set_owner(qrr, n);
	}
	if (mut == MUT_TYPE)
		ldns_rr_set_type(qrr, LDNS_RR_TYPE_AAAA);
	if (mut == MUT_TWO_Q)
		ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
	ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, qrr);
	if (mut != MUT_TC && ldns_rr_get_type(q0) == LDNS_RR_TYPE_A) {
		ldns_rr *a = ldns_rr_new_frm_type(LDNS_RR_TYPE_A);
		ldns_rdf *ip =
		        ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "192.0.2.1");

		ldns_rr_set_owner(a, ldns_rdf_clone(ldns_rr_owner(q0)));
		ldns_rr_set_ttl(a, 60);
		ldns_rr_set_rdf(a, ip, 0);
		ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, a);
	}
	ck_assert_int_eq(ldns_pkt2wire(&wire, r, len), LDNS_STATUS_OK);
	ldns_pkt_free(r);
	return wire;
}

static void fx_send(int fd, const uint8_t *w, size_t n,
                    const struct sockaddr_storage *to, socklen_t tolen)
{
	(void)sendto(fd, w, n, 0, (const struct sockaddr *)to, tolen);
}

static void fx_send_answer(struct fx *fx, int fd, const ldns_pkt *qp,
                           enum fx_mut mut, const struct sockaddr_storage *to,
                           socklen_t tolen)
{
	size_t n;
	uint8_t *w = fx_answer(qp, mut, &n);

	fx_send(fd, w, n, to, tolen);
	free(w);
}

static void fx_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fx_later *l = arg;

	fx_send(l->fx->udp, l->wire, l->len, &l->to, l->tolen);
	l->fx->pending--;
	free(l->wire);
	free(l);
}

static void fx_record(struct fx *fx, const ldns_pkt *qp, uint16_t sport,
                      bool tcp)
{
	struct scan_engine_stats st;

	if (fx->eng) {
		scan_engine_get_stats(fx->eng, &st);
		if (st.inflight > fx->max_inflight)
			fx->max_inflight = st.inflight;
	}
	if (fx->nseen >= FX_LOG_MAX)
		return;
	fx->seen[fx->nseen++] = (struct fx_seen){
	        .t = mono(),
	        .id = ldns_pkt_id(qp),
	        .sport = sport,
	        .rd = ldns_pkt_rd(qp),
	        .do_bit = ldns_pkt_edns_do(qp),
	        .edns = ldns_pkt_edns_udp_size(qp),
	        .tcp = tcp,
	};
}

static const enum fx_mut first_mut[] = {
        [FX_WRONG_ID] = MUT_ID,     [FX_WRONG_NAME] = MUT_NAME,
        [FX_WRONG_TYPE] = MUT_TYPE, [FX_TWO_Q] = MUT_TWO_Q,
        [FX_QR0] = MUT_QR0,
};

static void fx_udp_reply(struct fx *fx, const ldns_pkt *qp,
                         const struct sockaddr_storage *from, socklen_t flen)
{
	static const uint8_t garbage[] = {0x12, 0x34, 0xff};
	struct fx_later *l;
	uint16_t id1;

	switch (fx->mode) {
	case FX_SILENT:
		return;
	case FX_TC:
		fx_send_answer(fx, fx->udp, qp, MUT_TC, from, flen);
		return;
	case FX_UPPER:
		fx_send_answer(fx, fx->udp, qp, MUT_UPPER, from, flen);
		return;
	case FX_CROSS:
		if (!fx->held) {
			fx->held = ldns_pkt_clone(qp);
			fx->held_from = *from;
			fx->held_flen = flen;
			return;
		}
		/* The first query's question under the second's ID, sent
		   where the second came from; then the right answers. */
		id1 = ldns_pkt_id(fx->held);
		ldns_pkt_set_id(fx->held, ldns_pkt_id(qp));
		fx_send_answer(fx, fx->udp, fx->held, MUT_NONE, from, flen);
		ldns_pkt_set_id(fx->held, id1);
		fx_send_answer(fx, fx->udp, fx->held, MUT_NONE, &fx->held_from,
		               fx->held_flen);
		fx_send_answer(fx, fx->udp, qp, MUT_NONE, from, flen);
		ldns_pkt_free(fx->held);
		fx->held = NULL;
		return;
	case FX_DELAY:
		l = calloc(1, sizeof(*l));
		l->fx = fx;
		l->to = *from;
		l->tolen = flen;
		l->wire = fx_answer(qp, MUT_NONE, &l->len);
		fx->pending++;
		if (fx->pending > fx->max_pending)
			fx->max_pending = fx->pending;
		struct timeval tv = {0, (suseconds_t)fx->delay_ms * 1000};
		event_base_once(fx->base, -1, EV_TIMEOUT, fx_later_cb, l, &tv);
		return;
	case FX_WRONG_PORT:
		fx_send_answer(fx, fx->udp2, qp, MUT_NONE, from, flen);
		break;
	case FX_GARBAGE:
		fx_send(fx->udp, garbage, sizeof(garbage), from, flen);
		break;
	case FX_WRONG_ID:
	case FX_WRONG_NAME:
	case FX_WRONG_TYPE:
	case FX_TWO_Q:
	case FX_QR0:
		fx_send_answer(fx, fx->udp, qp, first_mut[fx->mode], from,
		               flen);
		break;
	default:
		break;
	}
	fx_send_answer(fx, fx->udp, qp, MUT_NONE, from, flen);
}

static uint16_t sa_port(const struct sockaddr_storage *ss)
{
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void fx_udp_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;
	uint8_t buf[1500];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ldns_pkt *qp = NULL;
	ssize_t n;

	while ((n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
	                     &flen)) > 0) {
		if (ldns_wire2pkt(&qp, buf, (size_t)n) == LDNS_STATUS_OK) {
			fx->nudp++;
			fx_record(fx, qp, sa_port(&from), false);
			fx_udp_reply(fx, qp, &from, flen);
			ldns_pkt_free(qp);
		}
		flen = sizeof(from);
	}
}

static void fx_conn_free(struct fx_conn *c)
{
	event_free(c->ev);
	close(c->fd);
	free(c);
}

/* Answer in two pieces 30 ms apart: the engine must reassemble. */
static void fx_tcp_rest_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fx_later *l = arg;

	size_t off = l->len < 5 ? l->len : 5;

	(void)send((int)l->tolen, l->wire + off, l->len - off, MSG_NOSIGNAL);
	close((int)l->tolen);
	free(l->wire);
	free(l);
}

static void fx_tcp_answer(struct fx_conn *c, const ldns_pkt *qp)
{
	static const uint8_t garbage[] = {0, 3, 0x12, 0x34, 0xff};
	static const uint8_t huge[] = {0xff, 0xff, 0, 0};
	struct fx_later *l = calloc(1, sizeof(*l));
	struct timeval tv = {0, 30000};
	size_t n;
	uint8_t *w = NULL;

	if (c->fx->mode == FX_TCP_GARBAGE || c->fx->mode == FX_TCP_HUGE) {
		const uint8_t *src =
		        c->fx->mode == FX_TCP_HUGE ? huge : garbage;

		n = c->fx->mode == FX_TCP_HUGE ? sizeof(huge) : sizeof(garbage);
		w = malloc(n);
		memcpy(w, src, n);
	} else {
		uint8_t *a = fx_answer(
		        qp, c->fx->mode == FX_TCP_WRONG_ID ? MUT_ID : MUT_NONE,
		        &n);

		w = malloc(n + 2);
		w[0] = (uint8_t)(n >> 8);
		w[1] = (uint8_t)n;
		memcpy(w + 2, a, n);
		free(a);
		n += 2;
	}
	(void)send(c->fd, w, n < 5 ? n : 5, MSG_NOSIGNAL);
	if (n <= 5) {
		free(w);
		free(l);
		return;
	}
	l->wire = w;
	l->len = n;
	l->tolen = (socklen_t)dup(c->fd); /* the fd for the second piece */
	event_base_once(c->fx->base, -1, EV_TIMEOUT, fx_tcp_rest_cb, l, &tv);
}

static void fx_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fx_conn *c = arg;
	ssize_t n = recv(fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
	size_t qlen;
	ldns_pkt *qp = NULL;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	if (n <= 0) {
		if (n == 0 || errno != EAGAIN)
			fx_conn_free(c);
		return;
	}
	c->have += (size_t)n;
	if (c->have < 2)
		return;
	qlen = (size_t)c->buf[0] << 8 | c->buf[1];
	if (c->have < qlen + 2)
		return;
	if (ldns_wire2pkt(&qp, c->buf + 2, qlen) == LDNS_STATUS_OK) {
		getpeername(fd, (struct sockaddr *)&peer, &plen);
		c->fx->ntcp++;
		fx_record(c->fx, qp, sa_port(&peer), true);
		fx_tcp_answer(c, qp);
		ldns_pkt_free(qp);
	}
	fx_conn_free(c);
}

static void fx_accept_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fx *fx = arg;
	struct fx_conn *c;
	int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (cfd < 0)
		return;
	c = calloc(1, sizeof(*c));
	c->fx = fx;
	c->fd = cfd;
	c->ev = event_new(fx->base, cfd, EV_READ | EV_PERSIST, fx_conn_cb, c);
	event_add(c->ev, NULL);
}

static int fx_socket(int family, int type, const struct sockaddr_storage *a,
                     socklen_t alen)
{
	int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, big = 8 << 20;

	ck_assert_int_ge(fd, 0);
	/* Not for UDP: two UDP sockets with SO_REUSEADDR may share a port
	   the kernel picks for port 0, so a fixture could receive another
	   test process's queries when test runs overlap. */
	if (type == SOCK_STREAM)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (bind(fd, (const struct sockaddr *)a, alen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* UDP and TCP on the same address and port, plus a second UDP socket. */
static void fx_start(struct fx *fx, struct event_base *base, const char *ip,
                     enum fx_mode mode, bool with_tcp)
{
	struct sockaddr_storage any;
	socklen_t l;

	memset(fx, 0, sizeof(*fx));
	fx->base = base;
	fx->mode = mode;
	fx->seen = calloc(FX_LOG_MAX, sizeof(*fx->seen));
	ck_assert_int_eq(scan_parse_addr(ip, 0, &fx->addr, &fx->alen), 0);
	int family = fx->addr.ss_family;
	for (int tries = 0; tries < 50; tries++) {
		((struct sockaddr_in *)&fx->addr)->sin_port = 0;
		fx->udp = fx_socket(family, SOCK_DGRAM, &fx->addr, fx->alen);
		ck_assert_int_ge(fx->udp, 0);
		l = fx->alen;
		getsockname(fx->udp, (struct sockaddr *)&fx->addr, &l);
		fx->tcp = fx_socket(family, SOCK_STREAM, &fx->addr, fx->alen);
		if (fx->tcp >= 0)
			break;
		close(fx->udp);
	}
	ck_assert_int_ge(fx->tcp, 0);
	ck_assert_int_eq(listen(fx->tcp, 128), 0);
	if (!with_tcp) {
		/* Bound but not listening would still refuse; close it. */
		close(fx->tcp);
		fx->tcp = -1;
	}
	any = fx->addr;
	((struct sockaddr_in *)&any)->sin_port = 0;
	fx->udp2 = fx_socket(family, SOCK_DGRAM, &any, fx->alen);
	ck_assert_int_ge(fx->udp2, 0);
	fx->ev_udp =
	        event_new(base, fx->udp, EV_READ | EV_PERSIST, fx_udp_cb, fx);
	event_add(fx->ev_udp, NULL);
	if (fx->tcp >= 0) {
		fx->ev_tcp = event_new(base, fx->tcp, EV_READ | EV_PERSIST,
		                       fx_accept_cb, fx);
		event_add(fx->ev_tcp, NULL);
	}
}

static void fx_stop(struct fx *fx)
{
	event_free(fx->ev_udp);
	if (fx->ev_tcp)
		event_free(fx->ev_tcp);
	close(fx->udp);
	close(fx->udp2);
	if (fx->tcp >= 0)
		close(fx->tcp);
	if (fx->held)
		ldns_pkt_free(fx->held);
	free(fx->seen);
}

/* ---- running the engine ---- */

struct result {
	bool called;
	int status;
	unsigned attempts;
	enum cds_transport transport;
	size_t ancount;
	bool has_a;
	double t;
	unsigned order;
};

struct run {
	struct event_base *base;
	struct scan_engine *eng;
	unsigned done, want, ncalls;
	struct result res[MAXQ];
	unsigned break_at; /* also stop the loop after this many answers */
	bool in_query;     /* set around scan_engine_query calls */
	bool sync_call;
	struct sockaddr_storage chain_addr;
	socklen_t chain_alen;
	unsigned chain_left;
};

struct qarg {
	struct run *run;
	unsigned i;
};

static struct qarg qargs[MAXQ];

static void on_answer(const struct scan_answer *ans, void *arg)
{
	struct qarg *qa = arg;
	struct run *r = qa->run;
	struct result *res = &r->res[qa->i];

	if (r->in_query)
		r->sync_call = true;
	r->ncalls++;
	ck_assert(!res->called);
	res->called = true;
	res->status = ans->status;
	res->attempts = ans->attempts;
	res->transport = ans->transport;
	res->t = mono();
	res->order = r->done;
	if (ans->pkt) {
		ldns_rr_list *an = ldns_pkt_answer(ans->pkt);

		res->ancount = ldns_rr_list_rr_count(an);
		res->has_a = res->ancount > 0 &&
		             ldns_rr_get_type(ldns_rr_list_rr(an, 0)) ==
		                     LDNS_RR_TYPE_A;
	}
	if (++r->done >= r->want || r->done == r->break_at)
		event_base_loopbreak(r->base);
}

static void ask_cb(struct run *r, unsigned i, const struct sockaddr_storage *a,
                   socklen_t alen, const char *name, uint16_t type,
                   scan_answer_cb cb)
{
	qargs[i] = (struct qarg){.run = r, .i = i};
	r->in_query = true;
	ck_assert_int_eq(scan_engine_query(r->eng, (const struct sockaddr *)a,
	                                   alen, name, type, cb, &qargs[i]),
	                 0);
	r->in_query = false;
	r->want++;
}

static void ask(struct run *r, unsigned i, const struct sockaddr_storage *a,
                socklen_t alen, const char *name, uint16_t type)
{
	ask_cb(r, i, a, alen, name, type, on_answer);
}

static void safety_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(arg);
}

/* Run the loop until every query asked so far is answered (or 20 s). */
static void run_all(struct run *r)
{
	struct timeval tv = {20, 0};
	struct event *safety = evtimer_new(r->base, safety_cb, r->base);

	evtimer_add(safety, &tv);
	while (r->done < r->want && evtimer_pending(safety, NULL))
		event_base_dispatch(r->base);
	event_free(safety);
	ck_assert_uint_eq(r->done, r->want);
}

static struct run *run_new(const struct scan_engine_opts *o)
{
	struct run *r = calloc(1, sizeof(*r));

	r->base = event_base_new();
	ck_assert_int_eq(scan_engine_new(r->base, o, &r->eng), 0);
	return r;
}

static void run_free(struct run *r)
{
	scan_engine_free(r->eng);
	event_base_free(r->base);
	free(r);
}

static void fast_opts(struct scan_engine_opts *o)
{
	scan_engine_opts_default(o);
	o->timeout_ms = 100;
	o->retries = 2;
	o->rate_per_server = 0;
}

/* One query to a fixture in `mode`; returns the run for inspection. */
static struct run *one_query(struct fx *fx, const struct scan_engine_opts *o,
                             const char *ip, enum fx_mode mode)
{
	struct run *r = run_new(o);

	fx_start(fx, r->base, ip, mode, true);
	fx->eng = r->eng;
	ask(r, 0, &fx->addr, fx->alen, "www.Example.", LDNS_RR_TYPE_A);
	run_all(r);
	return r;
}

/* ---- basics ---- */

START_TEST(test_udp_answer_has_rd0_do1_edns1232)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	r = one_query(&fx, &o, "127.0.0.1", FX_OK);
	ck_assert_int_eq(r->res[0].status, CDS_OK);
	ck_assert(r->res[0].has_a);
	ck_assert_int_eq(r->res[0].transport, CDS_TRANSPORT_UDP);
	ck_assert_uint_eq(r->res[0].attempts, 1);
	ck_assert_uint_eq(fx.nudp, 1);
	ck_assert(!fx.seen[0].rd);
	ck_assert(fx.seen[0].do_bit);
	ck_assert_uint_eq(fx.seen[0].edns, 1232);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(st.queries, 1);
	ck_assert_uint_eq(st.sent_udp, 1);
	ck_assert_uint_eq(st.answered, 1);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_uint_eq(st.inflight, 0);
	ck_assert_uint_eq(st.queued, 0);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* Distinct values among the first n source ports the fixture saw. */
static unsigned distinct_ports(const struct fx *fx, unsigned n)
{
	unsigned d = 0;

	for (unsigned i = 0; i < n; i++) {
		bool fresh = true;

		for (unsigned j = 0; j < i; j++)
			fresh &= fx->seen[j].sport != fx->seen[i].sport;
		d += fresh;
	}
	return d;
}

START_TEST(test_ids_random_and_source_ports_from_pool)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;
	unsigned n = 256, ids = 0, seq = 0, ports;

	fast_opts(&o);
	o.udp_sockets = 64;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_DELAY, true);
	fx.delay_ms = 50; /* all in flight at once */
	for (unsigned b = 0; b < n / 16; b++) {
		for (unsigned i = b * 16; i < (b + 1) * 16; i++)
			ask(r, i, &fx.addr, fx.alen, "ids.example.",
			    LDNS_RR_TYPE_A);
		/* one pump: this burst leaves before the next is asked */
		event_base_loop(r->base, EVLOOP_NONBLOCK);
	}
	run_all(r);
	ck_assert_uint_eq(fx.nudp, n);
	for (unsigned i = 0; i < n; i++) {
		bool id_new = true;

		for (unsigned j = 0; j < i; j++)
			id_new &= fx.seen[j].id != fx.seen[i].id;
		ids += id_new;
		if (i && fx.seen[i].id == (uint16_t)(fx.seen[i - 1].id + 1))
			seq++;
	}
	/* 256 random 16-bit IDs: ~0.5 collisions expected; allow eight. */
	ck_assert_uint_ge(ids, n - 8);
	ck_assert_uint_le(seq, 2);
	/* The queries leave in 16 bursts of 16 (one sendmmsg each), each
	   burst from one of the 64 pooled sockets picked at random: ~14
	   distinct sockets expected; fewer than 8 has a probability below
	   1e-6 (one socket for every burst, while its quota of 64 lasts,
	   would give 4). No socket exceeds its quota. */
	ports = distinct_ports(&fx, n);
	ck_assert_uint_ge(ports, 8);
	for (unsigned i = 0; i < n; i++) {
		unsigned same = 0;

		for (unsigned j = 0; j < n; j++)
			same += fx.seen[j].sport == fx.seen[i].sport;
		ck_assert_uint_le(same, o.udp_socket_uses);
	}
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(st.udp_sockets, ports);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* A burst goes out in batches of 64 datagrams, each batch from one
   socket (one sendmmsg) while its quota (64) lasts: 64 queries leave
   from one port, 65 from at most two, even with 64 sockets to pick
   from. */
START_TEST(test_pool_burst_sent_in_batches)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;
	unsigned n = (unsigned)_i;

	fast_opts(&o);
	o.udp_sockets = 64;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_DELAY, true);
	fx.delay_ms = 50;
	for (unsigned i = 0; i < n; i++)
		ask(r, i, &fx.addr, fx.alen, "batch.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_uint_eq(fx.nudp, n);
	ck_assert_uint_le(distinct_ports(&fx, n), (n + 63) / 64);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* ---- the UDP socket pool ---- */

/* One socket for 64 queries at once to one server: the IDs alone tell
   the answers apart, so the engine never hands out one twice there. */
START_TEST(test_pool_one_socket_ids_unique)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;
	unsigned n = 64;

	fast_opts(&o);
	o.udp_sockets = 1;
	o.udp_socket_uses = 1000;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_DELAY, true);
	fx.delay_ms = 50;
	for (unsigned i = 0; i < n; i++)
		ask(r, i, &fx.addr, fx.alen, "one.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_uint_eq(fx.nudp, n);
	ck_assert_uint_eq(distinct_ports(&fx, n), 1);
	for (unsigned i = 0; i < n; i++) {
		for (unsigned j = 0; j < i; j++)
			ck_assert_uint_ne(fx.seen[j].id, fx.seen[i].id);
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	}
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(st.udp_sockets, 1);
	ck_assert_uint_eq(st.dropped, 0);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* After udp_socket_uses attempts a socket takes no more and a new one
   (new port) takes its place; the old one still gets its answers. */
START_TEST(test_pool_socket_reopened_after_uses)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;
	unsigned n = 35;

	fast_opts(&o);
	o.udp_sockets = 1;
	o.udp_socket_uses = 10;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_DELAY, true);
	fx.delay_ms = 50; /* all four sockets open at once: ports differ */
	for (unsigned i = 0; i < n; i++)
		ask(r, i, &fx.addr, fx.alen, "reuse.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_uint_eq(fx.nudp, n);
	ck_assert_uint_eq(distinct_ports(&fx, n), 4);
	for (unsigned i = 0; i < n; i++) {
		unsigned same = 0;

		for (unsigned j = 0; j < n; j++)
			same += fx.seen[j].sport == fx.seen[i].sport;
		ck_assert_uint_le(same, 10);
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	}
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(st.udp_sockets, 4);
	ck_assert_uint_eq(st.answered, n);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* Two queries on one socket to one server: an answer carrying the
   second's ID but the first's question matches neither, and is
   dropped; both still get their own answers. */
START_TEST(test_pool_crossed_answer_dropped)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	o.timeout_ms = 1000;
	o.udp_sockets = 1;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_CROSS, true);
	ask(r, 0, &fx.addr, fx.alen, "first.example.", LDNS_RR_TYPE_A);
	ask(r, 1, &fx.addr, fx.alen, "second.example.", LDNS_RR_TYPE_A);
	run_all(r);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(fx.nudp, 2);
	ck_assert_uint_eq(distinct_ports(&fx, 2), 1);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_int_eq(r->res[i].status, CDS_OK);
		ck_assert(r->res[i].has_a);
		ck_assert_uint_eq(r->res[i].attempts, 1);
	}
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.answered, 2);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* A send that fails (broadcast without SO_BROADCAST: EACCES) retires
   the socket: each attempt then opens a new one. */
START_TEST(test_pool_socket_replaced_after_error)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct sockaddr_storage a;
	socklen_t al;
	struct run *r;

	fast_opts(&o);
	o.retries = 1;
	o.udp_sockets = 1;
	r = run_new(&o);
	ck_assert_int_eq(scan_parse_addr("255.255.255.255", 53, &a, &al), 0);
	ask(r, 0, &a, al, "bcast.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_int_eq(r->res[0].status, CDS_ENET);
	ck_assert_uint_eq(r->res[0].attempts, 2);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(st.sent_udp, 0);
	ck_assert_uint_eq(st.udp_sockets, 2);
	run_free(r);
}
END_TEST

static void chain_cb(const struct scan_answer *ans, void *arg)
{
	struct qarg *qa = arg;
	struct run *r = qa->run;

	on_answer(ans, arg);
	if (r->chain_left > 0) {
		r->chain_left--;
		/* The probe asks again from inside its callback; the answer
		   must still come later, from the loop. */
		ask_cb(r, qa->i + 1, &r->chain_addr, r->chain_alen,
		       "chain.example.", LDNS_RR_TYPE_A, chain_cb);
		ck_assert(!r->res[qa->i + 1].called);
	}
}

START_TEST(test_callback_deferred_and_reentrant)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_OK, true);
	r->chain_addr = fx.addr;
	r->chain_alen = fx.alen;
	r->chain_left = 3;
	qargs[0] = (struct qarg){.run = r, .i = 0};
	r->in_query = true;
	ck_assert_int_eq(scan_engine_query(r->eng, (struct sockaddr *)&fx.addr,
	                                   fx.alen, "chain.example.",
	                                   LDNS_RR_TYPE_A, chain_cb, &qargs[0]),
	                 0);
	r->in_query = false;
	r->want = 1;
	ck_assert_uint_eq(r->ncalls, 0);
	run_all(r);
	ck_assert(!r->sync_call);
	ck_assert_uint_eq(r->done, 4);
	for (unsigned i = 0; i < 4; i++)
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

START_TEST(test_query_rejects_bad_input)
{
	struct scan_engine_opts o;
	struct run *r;
	struct sockaddr_storage a;
	socklen_t al;
	struct sockaddr un = {.sa_family = AF_UNIX};
	struct scan_engine *e2;

	fast_opts(&o);
	r = run_new(&o);
	scan_parse_addr("127.0.0.1", 53, &a, &al);
	ck_assert_int_eq(scan_engine_query(r->eng, (struct sockaddr *)&a, al,
	                                   "a..b.", 1, on_answer, NULL),
	                 CDS_EINVAL);
	ck_assert_int_eq(scan_engine_query(r->eng, &un, sizeof(un), "a.b.", 1,
	                                   on_answer, NULL),
	                 CDS_EINVAL);
	ck_assert_int_eq(scan_engine_query(r->eng, (struct sockaddr *)&a, 4,
	                                   "a.b.", 1, on_answer, NULL),
	                 CDS_EINVAL);
	o.max_inflight = 0;
	ck_assert_int_eq(scan_engine_new(r->base, &o, &e2), CDS_EINVAL);
	fast_opts(&o);
	o.backoff = 0.5;
	ck_assert_int_eq(scan_engine_new(r->base, &o, &e2), CDS_EINVAL);
	run_free(r);
}
END_TEST

static int stopped_calls;

static void count_cb(const struct scan_answer *ans, void *arg)
{
	stopped_calls++;
}

START_TEST(test_free_drops_outstanding_without_callbacks)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;
	struct timeval tv = {0, 50000};

	fast_opts(&o);
	o.max_inflight = 2;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_SILENT, true);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(scan_engine_query(r->eng,
		                                   (struct sockaddr *)&fx.addr,
		                                   fx.alen, "x.example.", 1,
		                                   count_cb, NULL),
		                 0);
	event_base_loopexit(r->base, &tv);
	event_base_dispatch(r->base);
	ck_assert_uint_eq(fx.nudp, 2); /* two in flight, three queued */
	scan_engine_free(r->eng);
	r->eng = NULL;
	event_base_loop(r->base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(stopped_calls, 0);
	event_base_free(r->base);
	free(r);
	fx_stop(&fx);
}
END_TEST

/* ---- answers that do not match are dropped ---- */

static const enum fx_mode mismatch_modes[] = {
        FX_WRONG_ID, FX_WRONG_PORT, FX_WRONG_NAME, FX_WRONG_TYPE,
        FX_TWO_Q,    FX_QR0,        FX_GARBAGE,
};

START_TEST(test_mismatch_dropped_then_right_answer_accepted)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	o.timeout_ms = 1000;
	r = one_query(&fx, &o, "127.0.0.1", mismatch_modes[_i]);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_int_eq(r->res[0].status, CDS_OK);
	ck_assert(r->res[0].has_a);
	ck_assert_uint_eq(r->res[0].attempts, 1);
	ck_assert_uint_eq(fx.nudp, 1);
	ck_assert_uint_eq(st.dropped, 1);
	ck_assert_uint_eq(st.answered, 1);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

START_TEST(test_question_name_matches_case_insensitively)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	r = one_query(&fx, &o, "127.0.0.1", FX_UPPER);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_int_eq(r->res[0].status, CDS_OK);
	ck_assert_uint_eq(st.dropped, 0);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* ---- TCP ---- */

START_TEST(test_tc_falls_back_to_tcp)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	o.timeout_ms = 1000;
	r = one_query(&fx, &o, "127.0.0.1", FX_TC);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_int_eq(r->res[0].status, CDS_OK);
	ck_assert(r->res[0].has_a); /* the full answer, from two reads */
	ck_assert_int_eq(r->res[0].transport, CDS_TRANSPORT_TCP);
	ck_assert_uint_eq(r->res[0].attempts, 2);
	ck_assert_uint_eq(fx.nudp, 1);
	ck_assert_uint_eq(fx.ntcp, 1);
	ck_assert(fx.seen[1].tcp && fx.seen[1].do_bit && !fx.seen[1].rd);
	ck_assert_uint_eq(st.truncated, 1);
	ck_assert_uint_eq(st.sent_udp, 1);
	ck_assert_uint_eq(st.sent_tcp, 1);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

START_TEST(test_tcp_only_skips_udp)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	o.timeout_ms = 1000;
	o.tcp_only = true;
	r = one_query(&fx, &o, "127.0.0.1", FX_OK);
	ck_assert_int_eq(r->res[0].status, CDS_OK);
	ck_assert(r->res[0].has_a);
	ck_assert_int_eq(r->res[0].transport, CDS_TRANSPORT_TCP);
	ck_assert_uint_eq(fx.nudp, 0);
	ck_assert_uint_eq(fx.ntcp, 1);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

static const struct {
	enum fx_mode mode;
	uint32_t max_answer;
	int status;
} tcp_fail_cases[] = {
        {.mode = FX_TCP_GARBAGE, .max_answer = 65535, .status = CDS_EMALFORMED},
        {.mode = FX_TCP_WRONG_ID, .max_answer = 65535, .status = CDS_EMISMATCH},
        {.mode = FX_TCP_HUGE, .max_answer = 4096, .status = CDS_ELIMIT},
};

START_TEST(test_tcp_bad_answer_fails_at_once)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	o.timeout_ms = 1000;
	o.tcp_only = true;
	o.max_answer = tcp_fail_cases[_i].max_answer;
	r = one_query(&fx, &o, "127.0.0.1", tcp_fail_cases[_i].mode);
	ck_assert_int_eq(r->res[0].status, tcp_fail_cases[_i].status);
	ck_assert_uint_eq(r->res[0].attempts, 1);
	ck_assert_uint_eq(fx.ntcp, 1);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

START_TEST(test_tcp_refused_is_net_error_after_retries)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	o.tcp_only = true;
	o.retries = 1;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_OK, false);
	ask(r, 0, &fx.addr, fx.alen, "refused.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_int_eq(r->res[0].status, CDS_ENET);
	ck_assert_uint_eq(r->res[0].attempts, 2);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* ---- timeouts ---- */

START_TEST(test_timeout_after_retries_with_backoff)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;
	double t0;

	fast_opts(&o); /* 100 ms, 2 retries, back-off 2 */
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_SILENT, true);
	t0 = mono();
	ask(r, 0, &fx.addr, fx.alen, "silent.example.", LDNS_RR_TYPE_A);
	run_all(r);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_int_eq(r->res[0].status, CDS_ETIMEOUT);
	ck_assert_uint_eq(r->res[0].attempts, 3);
	ck_assert_uint_eq(fx.nudp, 3);
	ck_assert_uint_eq(st.timeouts, 1);
	ck_assert_uint_eq(st.sent_udp, 3);
	/* Each retry: a new ID, on a socket of the pool picked at random
	   (RFC 5452 §9.2): the same one, so the same port, one time in
	   256, so only the ID is certain to change. */
	ck_assert(fx.seen[0].sport != fx.seen[1].sport ||
	          fx.seen[0].id != fx.seen[1].id);
	ck_assert(fx.seen[1].sport != fx.seen[2].sport ||
	          fx.seen[1].id != fx.seen[2].id);
	/* Back-off: 100, 200, 400 ms (lower bounds, 5 ms slack). */
	ck_assert_double_ge(fx.seen[1].t - fx.seen[0].t, 0.095);
	ck_assert_double_ge(fx.seen[2].t - fx.seen[1].t, 0.195);
	ck_assert_double_ge(r->res[0].t - t0, 0.695);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

START_TEST(test_slow_answer_caught_by_retry)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.1", FX_DELAY, true);
	fx.delay_ms = 150; /* > first timeout 100, < second 200 */
	ask(r, 0, &fx.addr, fx.alen, "slow.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_int_eq(r->res[0].status, CDS_OK);
	ck_assert_uint_eq(r->res[0].attempts, 2);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/*
 * The gap between a lost query's first attempt and its retry, after
 * `answers` answers (timeout_ms 1 s): from the server that then falls
 * silent (`same`), or from another one while the lost query goes to a
 * silent server not heard from yet.
 */
static double retry_gap(unsigned timeout_min_ms, unsigned answers, bool same)
{
	struct scan_engine_opts o;
	struct fx near, lost, *to = same ? &near : &lost;
	struct run *r;
	double gap;

	fast_opts(&o);
	o.timeout_ms = 1000;
	o.timeout_min_ms = timeout_min_ms;
	o.retries = 1;
	r = run_new(&o);
	fx_start(&near, r->base, "127.0.0.1", FX_OK, true);
	if (!same)
		fx_start(&lost, r->base, "127.0.0.1", FX_SILENT, true);
	for (unsigned i = 0; i < answers; i++)
		ask(r, i, &near.addr, near.alen, "near.example.",
		    LDNS_RR_TYPE_A);
	run_all(r);
	for (unsigned i = 0; i < answers; i++)
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	near.mode = same ? FX_SILENT : FX_OK;
	ask(r, answers, &to->addr, to->alen, "lost.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_int_eq(r->res[answers].status, CDS_ETIMEOUT);
	ck_assert_uint_eq(r->res[answers].attempts, 2);
	ck_assert_uint_eq(to->nseen, (same ? answers : 0) + 2);
	gap = to->seen[to->nseen - 1].t - to->seen[to->nseen - 2].t;
	run_free(r);
	fx_stop(&near);
	if (!same)
		fx_stop(&lost);
	return gap;
}

/*
 * scanner.timeout-min: once a server has answered, a datagram lost on
 * the way to it costs the timeout its answers earned (RFC 6298 §2: on
 * loopback the floor, 50 ms here), not timeout_ms (1 s); with the floor
 * 0 (adaptation off) it costs the whole second.
 */
START_TEST(test_timeout_learned_from_answers)
{
	double gap = retry_gap(50, 4, true);

	/* the floor (5 ms slack below), far from the fixed second */
	ck_assert_double_ge(gap, 0.045);
	ck_assert_double_lt(gap, 0.5);
}
END_TEST

START_TEST(test_timeout_fixed_without_floor)
{
	ck_assert_double_ge(retry_gap(0, 4, true), 0.995);
}
END_TEST

/*
 * A server not heard from yet, as most are when a registry's run meets
 * them: once the run has 256 first answers, its first attempt waits
 * twice their 99th percentile, no less than scanner.timeout-min (50 ms
 * here), instead of timeout_ms (1 s).
 */
START_TEST(test_first_contact_waits_the_runs_round_trips)
{
	double gap = retry_gap(50, 300, false);

	ck_assert_double_ge(gap, 0.045);
	ck_assert_double_lt(gap, 0.5);
}
END_TEST

/* Too few answers to go by: a server first met waits timeout_ms. */
START_TEST(test_first_contact_fixed_before_enough_answers)
{
	ck_assert_double_ge(retry_gap(50, 100, false), 0.995);
}
END_TEST

/*
 * A server slower than that: its first query is asked again after the
 * run's figure and answered on a later try. The answer to a retry is no
 * round trip (Karn), so its next query waits timeout_ms, is answered on
 * its first try and teaches its round trip: asked twice once, not for
 * every query (RFC 6298 §5.7).
 */
START_TEST(test_first_contact_slow_server_asked_again_once)
{
	struct scan_engine_opts o;
	struct fx near, slow;
	struct run *r;
	unsigned n = 300;

	fast_opts(&o);
	o.timeout_ms = 1000;
	o.timeout_min_ms = 50;
	o.retries = 2;
	r = run_new(&o);
	fx_start(&near, r->base, "127.0.0.1", FX_OK, true);
	fx_start(&slow, r->base, "127.0.0.1", FX_DELAY, true);
	slow.delay_ms = 150;
	for (unsigned i = 0; i < n; i++)
		ask(r, i, &near.addr, near.alen, "near.example.",
		    LDNS_RR_TYPE_A);
	run_all(r);
	ask(r, n, &slow.addr, slow.alen, "slow.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_int_eq(r->res[n].status, CDS_OK);
	ck_assert_uint_ge(r->res[n].attempts, 2);
	ask(r, n + 1, &slow.addr, slow.alen, "slow.example.",
	    LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_int_eq(r->res[n + 1].status, CDS_OK);
	ck_assert_uint_eq(r->res[n + 1].attempts, 1);
	run_free(r);
	fx_stop(&near);
	fx_stop(&slow);
}
END_TEST

/* ---- IPv6 ---- */

START_TEST(test_ipv6_loopback_udp_and_tcp)
{
	struct scan_engine_opts o;
	struct fx fx;
	struct run *r;

	fast_opts(&o);
	o.timeout_ms = 1000;
	r = one_query(&fx, &o, "::1", FX_TC);
	ck_assert_int_eq(r->res[0].status, CDS_OK);
	ck_assert(r->res[0].has_a);
	ck_assert_uint_eq(fx.nudp, 1);
	ck_assert_uint_eq(fx.ntcp, 1);
	ck_assert_int_eq(fx.addr.ss_family, AF_INET6);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* ---- in-flight cap and rate limits ---- */

START_TEST(test_inflight_cap_respected)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;
	unsigned n = 200;

	fast_opts(&o);
	o.timeout_ms = 2000;
	o.max_inflight = 10;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.2", FX_DELAY, true);
	fx.delay_ms = 20;
	fx.eng = r->eng;
	for (unsigned i = 0; i < n; i++)
		ask(r, i, &fx.addr, fx.alen, "cap.example.", LDNS_RR_TYPE_A);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(st.queued, n);
	ck_assert_uint_eq(st.inflight, 0);
	run_all(r);
	for (unsigned i = 0; i < n; i++)
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	ck_assert_uint_le(fx.max_inflight, 10);
	ck_assert_uint_ge(fx.max_inflight, 2);
	ck_assert_uint_le(fx.max_pending, 10);
	scan_engine_get_stats(r->eng, &st);
	ck_assert_uint_eq(st.answered, n);
	ck_assert_uint_eq(st.inflight, 0);
	ck_assert_uint_eq(st.queued, 0);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

/* Most queries `fx` received within any window shorter than a second. */
static unsigned max_per_second(const struct fx *const *fxs, size_t nfx)
{
	unsigned best = 0;

	for (size_t a = 0; a < nfx; a++)
		for (unsigned i = 0; i < fxs[a]->nseen; i++) {
			double t0 = fxs[a]->seen[i].t;
			unsigned c = 0;

			for (size_t b = 0; b < nfx; b++)
				for (unsigned j = 0; j < fxs[b]->nseen; j++)
					c += fxs[b]->seen[j].t >= t0 &&
					     fxs[b]->seen[j].t < t0 + 0.99;
			if (c > best)
				best = c;
		}
	return best;
}

START_TEST(test_rate_per_server_does_not_hold_back_others)
{
	struct scan_engine_opts o;
	struct fx fa, fb;
	struct run *r;
	const struct fx *only_a[] = {&fa};
	unsigned na = 15, nb = 5, a_before_b = 0, b_last = 0;
	double t0, a_last = 0;

	fast_opts(&o);
	o.timeout_ms = 5000;
	o.rate_per_server = 5; /* burst 5 */
	o.max_inflight = 4;
	r = run_new(&o);
	fx_start(&fa, r->base, "127.0.0.3", FX_OK, true);
	fx_start(&fb, r->base, "127.0.0.4", FX_OK, true);
	t0 = mono();
	for (unsigned i = 0; i < na; i++)
		ask(r, i, &fa.addr, fa.alen, "a.example.", LDNS_RR_TYPE_A);
	/* Let A spend its burst: it is now out of tokens with 10 waiting. */
	r->break_at = 5;
	event_base_dispatch(r->base);
	ck_assert_uint_eq(r->done, 5);
	for (unsigned i = 0; i < nb; i++)
		ask(r, na + i, &fb.addr, fb.alen, "b.example.", LDNS_RR_TYPE_A);
	run_all(r);
	for (unsigned i = 0; i < na + nb; i++)
		ck_assert_int_eq(r->res[i].status, CDS_OK);
	for (unsigned i = 0; i < na; i++)
		if (r->res[i].t > a_last)
			a_last = r->res[i].t;
	/* 5 at once, then 10 more at 5/s: at least 2 s for server A. */
	ck_assert_double_ge(a_last - t0, 1.95);
	ck_assert_uint_le(max_per_second(only_a, 1), 10);
	/* B, queued behind A's waiting queries, is not held back by A's
	   empty bucket: all of B is done before A's 7th answer. */
	for (unsigned i = 0; i < nb; i++)
		if (r->res[na + i].order > b_last)
			b_last = r->res[na + i].order;
	for (unsigned i = 0; i < na; i++)
		a_before_b += r->res[i].order < b_last;
	ck_assert_uint_le(a_before_b, 6);
	ck_assert_uint_eq(fb.nudp, nb);
	run_free(r);
	fx_stop(&fa);
	fx_stop(&fb);
}
END_TEST

START_TEST(test_rate_global)
{
	struct scan_engine_opts o;
	struct fx f[3];
	struct run *r;
	const struct fx *all[] = {&f[0], &f[1], &f[2]};
	static const char *ips[] = {"127.0.0.5", "127.0.0.6", "::1"};
	double t0, last = 0;

	fast_opts(&o);
	o.timeout_ms = 5000;
	o.rate_global = 5;
	r = run_new(&o);
	for (int k = 0; k < 3; k++)
		fx_start(&f[k], r->base, ips[k], FX_OK, true);
	t0 = mono();
	for (unsigned i = 0; i < 15; i++)
		ask(r, i, &f[i % 3].addr, f[i % 3].alen, "g.example.",
		    LDNS_RR_TYPE_A);
	run_all(r);
	for (unsigned i = 0; i < 15; i++) {
		ck_assert_int_eq(r->res[i].status, CDS_OK);
		if (r->res[i].t > last)
			last = r->res[i].t;
	}
	ck_assert_double_ge(last - t0, 1.95);
	ck_assert_uint_le(max_per_second(all, 3), 10);
	run_free(r);
	for (int k = 0; k < 3; k++)
		fx_stop(&f[k]);
}
END_TEST

START_TEST(test_many_queries_complete)
{
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct fx fx;
	struct run *r;
	unsigned n = MAXQ;
	double t0;

	fast_opts(&o);
	o.timeout_ms = 2000;
	o.max_inflight = 500;
	r = run_new(&o);
	fx_start(&fx, r->base, "127.0.0.7", FX_OK, true);
	t0 = mono();
	for (unsigned i = 0; i < n; i++)
		ask(r, i, &fx.addr, fx.alen, "many.example.", LDNS_RR_TYPE_A);
	run_all(r);
	scan_engine_get_stats(r->eng, &st);
	fprintf(stderr,
	        "engine: %u queries in %.3f s (%u in flight, fixture "
	        "in the same process)\n",
	        n, mono() - t0, o.max_inflight);
	ck_assert_uint_eq(st.answered + st.timeouts + st.failed, n);
	ck_assert_uint_eq(st.answered, n);
	ck_assert_uint_eq(fx.nudp, st.sent_udp);
	ck_assert_uint_ge(fx.nudp, n);
	run_free(r);
	fx_stop(&fx);
}
END_TEST

static void idle_wait(struct event_base *base, unsigned ms)
{
	struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* Memory stays bounded: idle servers with a full bucket are forgotten. */
START_TEST(test_idle_servers_expire)
{
	struct scan_engine_opts o;
	struct run *r;
	struct sockaddr_storage a;
	socklen_t al;
	char ip[32];

	fast_opts(&o);
	o.timeout_ms = 50;
	o.retries = 0;
	o.rate_per_server = 50; /* burst 50: full again after 1 s idle */
	r = run_new(&o);
	for (unsigned i = 0; i < 100; i++) {
		/* Nothing listens there: each query simply times out. */
		snprintf(ip, sizeof(ip), "127.1.%u.%u", i / 200, 1 + i % 200);
		ck_assert_int_eq(scan_parse_addr(ip, 53, &a, &al), 0);
		ask(r, i, &a, al, "idle.example.", LDNS_RR_TYPE_A);
	}
	ck_assert_uint_eq(scan_engine_server_count(r->eng), 100);
	run_all(r);
	ck_assert_uint_eq(scan_engine_server_count(r->eng), 100);
	idle_wait(r->base, 1100);
	ck_assert_int_eq(scan_parse_addr("127.1.9.9", 53, &a, &al), 0);
	ask(r, 100, &a, al, "idle.example.", LDNS_RR_TYPE_A);
	run_all(r);
	ck_assert_uint_eq(scan_engine_server_count(r->eng), 1);
	run_free(r);
}
END_TEST

START_TEST(test_new_raises_open_file_limit)
{
	struct scan_engine_opts o;
	struct rlimit rl;
	struct event_base *base = event_base_new();
	struct scan_engine *eng;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY)
		ck_assert_uint_ge(rl.rlim_max, 1100);
	rl.rlim_cur = 256;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	fast_opts(&o);
	o.max_inflight = 1000;
	ck_assert_int_eq(scan_engine_new(base, &o, &eng), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	ck_assert_uint_eq(rl.rlim_cur, rl.rlim_max);
	scan_engine_free(eng);
	event_base_free(base);
}
END_TEST

/* ---- addresses and options ---- */

static const struct {
	const char *text;
	int rc;
	int family;
	uint16_t port;
	const char *str;
} addr_cases[] = {
        {.text = "192.0.2.1",
         .family = AF_INET,
         .port = 53,
         .str = "192.0.2.1"},
        {.text = "192.0.2.1@5353",
         .family = AF_INET,
         .port = 5353,
         .str = "192.0.2.1"},
        {.text = "192.0.2.1:5353",
         .family = AF_INET,
         .port = 5353,
         .str = "192.0.2.1"},
        {.text = "2001:db8::1",
         .family = AF_INET6,
         .port = 53,
         .str = "2001:db8::1"},
        {.text = "[2001:db8::1]:5353",
         .family = AF_INET6,
         .port = 5353,
         .str = "2001:db8::1"},
        {.text = "[2001:db8::1]",
         .family = AF_INET6,
         .port = 53,
         .str = "2001:db8::1"},
        {.text = "2001:db8::1@5353",
         .family = AF_INET6,
         .port = 5353,
         .str = "2001:db8::1"},
        {.text = "::1", .family = AF_INET6, .port = 53, .str = "::1"},
        {.text = "", .rc = CDS_EINVAL},
        {.text = "example.com", .rc = CDS_EINVAL},
        {.text = "192.0.2.256", .rc = CDS_EINVAL},
        {.text = "192.0.2.1@", .rc = CDS_EINVAL},
        {.text = "192.0.2.1@0", .rc = CDS_EINVAL},
        {.text = "192.0.2.1@65536", .rc = CDS_EINVAL},
        {.text = "192.0.2.1@53x", .rc = CDS_EINVAL},
        {.text = "[2001:db8::1]x", .rc = CDS_EINVAL},
        {.text = "[192.0.2.1]:53", .rc = CDS_EINVAL},
        {.text = "[2001:db8::1", .rc = CDS_EINVAL},
};

START_TEST(test_parse_addr_forms)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	char buf[CDS_ADDR_STR_MAX];
	int rc = scan_parse_addr(addr_cases[_i].text, 53, &ss, &len);

	ck_assert_msg(rc == addr_cases[_i].rc, "%s: rc %d", addr_cases[_i].text,
	              rc);
	if (rc < 0)
		return;
	ck_assert_int_eq(ss.ss_family, addr_cases[_i].family);
	ck_assert_uint_eq(len, addr_cases[_i].family == AF_INET
	                               ? sizeof(struct sockaddr_in)
	                               : sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(sa_port(&ss), addr_cases[_i].port);
	ck_assert_str_eq(
	        scan_addr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
	        addr_cases[_i].str);
}
END_TEST

/* IPv4 addresses as inet_ntop() writes them, every octet value in
   every position; a buffer too short for any gets "?" as before. */
START_TEST(test_addr_str_ipv4_as_inet_ntop)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	char buf[CDS_ADDR_STR_MAX], want[INET_ADDRSTRLEN], small[8];

	for (unsigned v = 0; v < 256; v++) {
		for (unsigned pos = 0; pos < 4; pos++) {
			uint8_t o[4] = {127, 1, 0, 2};

			o[pos] = (uint8_t)v;
			memcpy(&sin.sin_addr, o, 4);
			ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin.sin_addr,
							want, sizeof want));
			ck_assert_str_eq(scan_addr_str((struct sockaddr *)&sin,
						       buf, sizeof buf),
					 want);
		}
	}
	ck_assert_str_eq(scan_addr_str((struct sockaddr *)&sin, small,
				       sizeof small),
			 "?");
}
END_TEST

START_TEST(test_opts_defaults_and_conf)
{
	struct scan_engine_opts o;
	struct conf *conf = NULL;
	char err[256];

	scan_engine_opts_default(&o);
	ck_assert_uint_eq(o.max_inflight, 2000);
	ck_assert_uint_eq(o.timeout_ms, 1500);
	ck_assert_uint_eq(o.timeout_min_ms, 200);
	ck_assert_uint_eq(o.retries, 2);
	ck_assert_double_eq(o.backoff, 2.0);
	ck_assert_double_eq(o.rate_per_server, 50);
	ck_assert_double_eq(o.rate_global, 0);
	ck_assert(!o.tcp_only);
	ck_assert_uint_eq(o.edns_bufsize, 1232);
	ck_assert_uint_eq(o.max_answer, 65535);
	ck_assert_int_eq(conf_load_string("t.yaml",
	                                  "scanner:\n"
	                                  "  timeout: 250ms\n"
	                                  "  timeout-min: 80ms\n"
	                                  "  retries: 4\n"
	                                  "  backoff: 1.5\n"
	                                  "  max-inflight: 300\n"
	                                  "  rate-per-server: 2.5\n"
	                                  "  rate-global: 1000\n"
	                                  "  tcp-only: true\n"
	                                  "  edns-bufsize: 1400\n"
	                                  "  max-answer: 16384\n",
	                                  &conf, err, sizeof(err)),
	                 0);
	scan_engine_opts_from_conf(conf, &o);
	conf_free(conf);
	ck_assert_uint_eq(o.timeout_ms, 250);
	ck_assert_uint_eq(o.timeout_min_ms, 80);
	ck_assert_uint_eq(o.retries, 4);
	ck_assert_double_eq(o.backoff, 1.5);
	ck_assert_uint_eq(o.max_inflight, 300);
	ck_assert_double_eq(o.rate_per_server, 2.5);
	ck_assert_double_eq(o.rate_global, 1000);
	ck_assert(o.tcp_only);
	ck_assert_uint_eq(o.edns_bufsize, 1400);
	ck_assert_uint_eq(o.max_answer, 16384);
}
END_TEST

/* ---- a real authoritative server ---- */

#define NSD_IP "127.0.9.1"

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static pid_t nsd_start(const char *dir)
{
	char conf[2048], path[512], log[512];
	pid_t pid;

	write_file(dir, "example.zone",
	           "$ORIGIN example.\n$TTL 300\n"
	           "@ IN SOA ns1.example. hostmaster.example. 2024050701 "
	           "3600 900 604800 300\n"
	           "@ IN NS ns1.example.\n"
	           "ns1 IN A " NSD_IP "\n");
	snprintf(conf, sizeof(conf),
	         "server:\n  ip-address: " NSD_IP "\n  port: 53\n"
	         "  username: \"\"\n  chroot: \"\"\n  zonesdir: \"%s\"\n"
	         "  pidfile: \"%s/nsd.pid\"\n  xfrdfile: \"%s/xfrd.state\"\n"
	         "  database: \"\"\n  zonelistfile: \"%s/zone.list\"\n"
	         "  logfile: \"%s/nsd.log\"\n  server-count: 1\n"
	         "remote-control:\n  control-enable: no\n"
	         "zone:\n  name: \"example.\"\n  zonefile: \"example.zone\"\n",
	         dir, dir, dir, dir, dir);
	write_file(dir, "nsd.conf", conf);
	snprintf(path, sizeof(path), "%s/nsd.conf", dir);
	snprintf(log, sizeof(log), "%s/nsd.out", dir);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execlp("nsd", "nsd", "-d", "-c", path, (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct soa_seen {
	int status;
	bool aa, called;
	int rcode;
	size_t ancount;
	uint32_t serial;
	char owner[64];
};

static void soa_cb(const struct scan_answer *ans, void *arg)
{
	struct soa_seen *s = arg;
	const ldns_rr *rr;

	s->called = true;
	s->status = ans->status;
	if (ans->pkt) {
		s->aa = ldns_pkt_aa(ans->pkt);
		s->rcode = ldns_pkt_get_rcode(ans->pkt);
		s->ancount = ldns_rr_list_rr_count(ldns_pkt_answer(ans->pkt));
		rr = ldns_rr_list_rr(ldns_pkt_answer(ans->pkt), 0);
		if (rr && ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
			char *o = ldns_rdf2str(ldns_rr_owner(rr));

			snprintf(s->owner, sizeof(s->owner), "%s", o);
			free(o);
			s->serial = ldns_rdf2native_int32(ldns_rr_rdf(rr, 2));
		}
	}
}

/* Poll until the SOA answer arrives or 10 s pass. */
static void wait_soa(struct event_base *base, const struct soa_seen *s)
{
	struct timeval tv = {10, 0}, tick = {0, 20000};
	struct event *safety = evtimer_new(base, safety_cb, base);

	evtimer_add(safety, &tv);
	while (!s->called && evtimer_pending(safety, NULL)) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	event_free(safety);
}

START_TEST(test_real_nsd_soa)
{
	char dir[] = "/tmp/cdscan-engine-nsd.XXXXXX";
	struct scan_engine_opts o;
	struct sockaddr_storage a;
	socklen_t al;
	struct soa_seen got = {.status = -1};
	struct event_base *base = event_base_new();
	struct scan_engine *eng;
	pid_t pid;
	int wst = 0;
	bool alive;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	pid = nsd_start(dir);
	scan_engine_opts_default(&o);
	o.timeout_ms = 200;
	o.retries = 25; /* NSD takes a moment to bind */
	o.backoff = 1.0;
	ck_assert_int_eq(scan_engine_new(base, &o, &eng), 0);
	ck_assert_int_eq(scan_parse_addr(NSD_IP, 53, &a, &al), 0);
	ck_assert_int_eq(scan_engine_query(eng, (struct sockaddr *)&a, al,
	                                   "EXAMPLE.", LDNS_RR_TYPE_SOA, soa_cb,
	                                   &got),
	                 0);
	/* Collect the answer first: NSD must stop even if a check fails. */
	wait_soa(base, &got);
	alive = waitpid(pid, &wst, WNOHANG) == 0;
	kill(pid, SIGTERM);
	waitpid(pid, &wst, 0);
	scan_engine_free(eng);
	event_base_free(base);
	if (alive && got.status == CDS_OK)
		rm_rf(dir); /* kept for diagnosis otherwise */
	ck_assert_msg(alive, "nsd exited early; see %s/nsd.out", dir);
	ck_assert_msg(got.status == CDS_OK, "no answer from NSD: %s",
	              cds_strerror(got.status));
	ck_assert(got.aa);
	ck_assert_int_eq(got.rcode, LDNS_RCODE_NOERROR);
	ck_assert_uint_eq(got.ancount, 1); /* unsigned zone: the SOA only */
	ck_assert_int_eq(strcasecmp(got.owner, "example."), 0);
	ck_assert_uint_eq(got.serial, 2024050701);
}
END_TEST

static Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_udp_answer_has_rd0_do1_edns1232);
	tcase_add_test(tc, test_ids_random_and_source_ports_from_pool);
	tcase_add_test(tc, test_callback_deferred_and_reentrant);
	tcase_add_test(tc, test_query_rejects_bad_input);
	tcase_add_test(tc, test_free_drops_outstanding_without_callbacks);
	suite_add_tcase(s, tc);

	tc = tcase_create("pool");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pool_one_socket_ids_unique);
	tcase_add_test(tc, test_pool_socket_reopened_after_uses);
	tcase_add_test(tc, test_pool_crossed_answer_dropped);
	tcase_add_test(tc, test_pool_socket_replaced_after_error);
	tcase_add_loop_test(tc, test_pool_burst_sent_in_batches, 64, 66);
	suite_add_tcase(s, tc);

	tc = tcase_create("mismatch");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(
	        tc, test_mismatch_dropped_then_right_answer_accepted, 0,
	        (int)(sizeof(mismatch_modes) / sizeof(mismatch_modes[0])));
	tcase_add_test(tc, test_question_name_matches_case_insensitively);
	suite_add_tcase(s, tc);

	tc = tcase_create("tcp");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_tc_falls_back_to_tcp);
	tcase_add_test(tc, test_tcp_only_skips_udp);
	tcase_add_loop_test(
	        tc, test_tcp_bad_answer_fails_at_once, 0,
	        (int)(sizeof(tcp_fail_cases) / sizeof(tcp_fail_cases[0])));
	tcase_add_test(tc, test_tcp_refused_is_net_error_after_retries);
	suite_add_tcase(s, tc);

	tc = tcase_create("timeouts");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_timeout_after_retries_with_backoff);
	tcase_add_test(tc, test_slow_answer_caught_by_retry);
	tcase_add_test(tc, test_timeout_learned_from_answers);
	tcase_add_test(tc, test_timeout_fixed_without_floor);
	tcase_add_test(tc, test_first_contact_waits_the_runs_round_trips);
	tcase_add_test(tc, test_first_contact_fixed_before_enough_answers);
	tcase_add_test(tc, test_first_contact_slow_server_asked_again_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("ipv6");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_ipv6_loopback_udp_and_tcp);
	suite_add_tcase(s, tc);

	tc = tcase_create("limits");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_inflight_cap_respected);
	tcase_add_test(tc, test_rate_per_server_does_not_hold_back_others);
	tcase_add_test(tc, test_rate_global);
	tcase_add_test(tc, test_many_queries_complete);
	tcase_add_test(tc, test_idle_servers_expire);
	tcase_add_test(tc, test_new_raises_open_file_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("addr_opts");
	tcase_add_loop_test(tc, test_parse_addr_forms, 0,
	                    (int)(sizeof(addr_cases) / sizeof(addr_cases[0])));
	tcase_add_test(tc, test_addr_str_ipv4_as_inet_ntop);
	tcase_add_test(tc, test_opts_defaults_and_conf);
	suite_add_tcase(s, tc);

	tc = tcase_create("nsd");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_real_nsd_soa);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(engine_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
