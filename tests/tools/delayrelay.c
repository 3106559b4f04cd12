/*
 * delayrelay: a DNS relay that adds latency and loss, for the benchmark's
 * "30 ms RTT, 1% loss" variant on kernels without netem. It listens on
 * 0.0.0.0:PORT (UDP and TCP) inside a network namespace where a whole
 * prefix is local, holds every packet DELAY ms in each direction, drops
 * LOSS per mille of UDP packets in each direction, and passes the rest to
 * one upstream server (Knot on loopback). UDP answers leave from the
 * address the query was sent to (IP_PKTINFO), as a real server's would,
 * so the scanner's spoofing checks accept them. Query IDs are rewritten
 * on the way up so that answers from the single upstream socket find
 * their client; they are restored on the way down. Queries go up over
 * 16 sockets so that a server with several SO_REUSEPORT sockets (Knot's
 * UDP workers) spreads them over all its receive buffers.
 *
 * TCP is delayed chunk by chunk, never dropped: TCP loss costs a
 * retransmission, not an answer, and cutting bytes would only corrupt
 * the stream.
 *
 * usage: delayrelay -l PORT -u ADDR:PORT [-d MS] [-p PERMILLE] [-s SEED]
 * Prints "ready" on stdout once listening; SIGTERM/SIGINT end it and it
 * prints what it relayed and dropped on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

/* Upstream sockets, the query's relay ID picks one. Knot spreads its UDP
   workers' sockets over senders by SO_REUSEPORT's hash of the source: 16
   sources left some of its 16 sockets without traffic and others
   overflowing (781 drops in a 100k rescan without any loss configured,
   each a 400 ms retry the bench did not ask for); with 128, none. */
#define NUP 128

enum dir { TO_UPSTREAM, TO_CLIENT, TCP_DATA, TCP_CLOSE };

struct conn {
	struct bufferevent *side[2]; /* 0: client, 1: upstream */
	unsigned refs;               /* queued entries pointing here */
	bool closed;
};

struct entry {
	struct entry *next;
	uint64_t due; /* monotonic ms */
	enum dir dir;
	struct sockaddr_in client;
	struct in_addr local;
	struct conn *conn;
	int to; /* TCP: side written to */
	size_t len;
	uint8_t data[];
};

struct slot {
	bool used;
	uint16_t id;
	uint64_t since;
	struct sockaddr_in client;
	struct in_addr local;
};

static struct {
	struct event_base *base;
	struct event *timer;
	int lfd, ufd[NUP];
	struct sockaddr_in upstream;
	uint64_t delay;
	unsigned loss;
	uint64_t rng;
	struct entry *head, *tail;
	struct slot slots[65536];
	uint16_t next_id;
	unsigned long relayed, dropped, full;
} R;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* xorshift64*: the loss draw needs no quality beyond being uniform. */
static bool lose(void)
{
	R.rng ^= R.rng >> 12;
	R.rng ^= R.rng << 25;
	R.rng ^= R.rng >> 27;
	if ((R.rng * 2685821657736338717ULL) % 1000 < R.loss) {
		R.dropped++;
		return true;
	}
	return false;
}

static void arm(void)
{
	uint64_t now = now_ms(), wait;
	struct timeval tv;

	if (!R.head)
		return;
	wait = R.head->due > now ? R.head->due - now : 0;
	tv.tv_sec = (time_t)(wait / 1000);
	tv.tv_usec = (suseconds_t)((wait % 1000) * 1000);
	evtimer_add(R.timer, &tv);
}

/* Every entry waits the same time, so the queue stays in due order. */
static struct entry *enqueue(enum dir d, const void *data, size_t len)
{
	struct entry *e = malloc(sizeof(*e) + len);

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->due = now_ms() + R.delay;
	e->dir = d;
	e->len = len;
	memcpy(e->data, data, len);
	if (R.tail)
		R.tail->next = e;
	else
		R.head = e;
	R.tail = e;
	if (R.head == e)
		arm();
	return e;
}

static void conn_release(struct conn *c)
{
	if (--c->refs == 0 && c->closed)
		free(c);
}

static void conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	for (int i = 0; i < 2; i++)
		if (c->side[i])
			bufferevent_free(c->side[i]);
	c->side[0] = c->side[1] = NULL;
	if (c->refs == 0)
		free(c);
}

static void send_to_client(const struct entry *e)
{
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct iovec iov = {.iov_base = (void *)e->data, .iov_len = e->len};
	struct msghdr m = {.msg_name = (void *)&e->client,
			   .msg_namelen = sizeof(e->client),
			   .msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	struct in_pktinfo *pi;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(*pi));
	pi = (struct in_pktinfo *)CMSG_DATA(cm);
	pi->ipi_spec_dst = e->local; /* answer from the address asked */
	if (sendmsg(R.lfd, &m, 0) >= 0)
		R.relayed++;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	uint64_t now = now_ms();
	struct entry *e;

	while ((e = R.head) && e->due <= now) {
		R.head = e->next;
		if (!R.head)
			R.tail = NULL;
		switch (e->dir) {
		case TO_UPSTREAM:
			if (send(R.ufd[((e->data[0] << 8) | e->data[1]) % NUP],
				 e->data, e->len, 0) >= 0)
				R.relayed++;
			break;
		case TO_CLIENT:
			send_to_client(e);
			break;
		case TCP_DATA:
			if (!e->conn->closed)
				bufferevent_write(e->conn->side[e->to], e->data,
						  e->len);
			conn_release(e->conn);
			break;
		case TCP_CLOSE:
			conn_close(e->conn);
			conn_release(e->conn);
			break;
		}
		free(e);
	}
	arm();
}

/* A query from a client: note who asked which address, new ID, hold. */
static void on_client_udp(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[65536];
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sockaddr_in from;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr m = {.msg_name = &from,
			   .msg_namelen = sizeof(from),
			   .msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = cbuf,
			   .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm;
	ssize_t n;

	while ((n = recvmsg(fd, &m, MSG_DONTWAIT)) >= 12) {
		struct in_addr local = {0};
		uint64_t now = now_ms();
		struct slot *s = NULL;

		for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
			if (cm->cmsg_level == IPPROTO_IP &&
			    cm->cmsg_type == IP_PKTINFO)
				local = ((struct in_pktinfo *)CMSG_DATA(cm))
						->ipi_addr;
		if (!lose()) {
			/* A slot whose answer never came is reused after 10 s. */
			for (unsigned t = 0; t < 65536; t++) {
				struct slot *c = &R.slots[R.next_id];

				if (!c->used || now - c->since > 10000) {
					s = c;
					break;
				}
				R.next_id++;
			}
			if (!s) {
				R.full++;
			} else {
				s->used = true;
				s->since = now;
				s->client = from;
				s->local = local;
				s->id = (uint16_t)(buf[0] << 8 | buf[1]);
				buf[0] = (uint8_t)(R.next_id >> 8);
				buf[1] = (uint8_t)R.next_id;
				R.next_id++;
				enqueue(TO_UPSTREAM, buf, (size_t)n);
			}
		}
		m.msg_namelen = sizeof(from);
		m.msg_controllen = sizeof(cbuf);
	}
}

/* An answer from upstream: restore the ID, hold, send from `local`. */
static void on_upstream_udp(evutil_socket_t fd, short what, void *arg)
{
	uint8_t buf[65536];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) >= 12) {
		struct slot *s = &R.slots[buf[0] << 8 | buf[1]];
		struct entry *e;

		if (!s->used)
			continue;
		s->used = false;
		if (lose())
			continue;
		buf[0] = (uint8_t)(s->id >> 8);
		buf[1] = (uint8_t)s->id;
		e = enqueue(TO_CLIENT, buf, (size_t)n);
		if (e) {
			e->client = s->client;
			e->local = s->local;
		}
	}
}

static void on_tcp_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	int from = bev == c->side[0] ? 0 : 1;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	struct entry *e;

	e = enqueue(TCP_DATA, evbuffer_pullup(in, (ssize_t)len), len);
	evbuffer_drain(in, len);
	if (e) {
		e->conn = c;
		e->to = 1 - from;
		c->refs++;
	}
}

/* Either side closing closes both, after the data queued before it. */
static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct entry *e;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	bufferevent_disable(bev, EV_READ);
	e = enqueue(TCP_CLOSE, "", 0);
	if (e) {
		e->conn = c;
		c->refs++;
	} else {
		conn_close(c);
	}
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int len, void *arg)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return;
	}
	c->side[0] = bufferevent_socket_new(R.base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->side[1] = bufferevent_socket_new(R.base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!c->side[0] || !c->side[1] ||
	    bufferevent_socket_connect(c->side[1],
				       (struct sockaddr *)&R.upstream,
				       sizeof(R.upstream)) < 0) {
		conn_close(c);
		return;
	}
	for (int i = 0; i < 2; i++) {
		bufferevent_setcb(c->side[i], on_tcp_read, NULL, on_tcp_event, c);
		bufferevent_enable(c->side[i], EV_READ | EV_WRITE);
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(R.base);
}

static void set_bufs(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: delayrelay -l PORT -u ADDR:PORT [-d MS] "
			"[-p PERMILLE] [-s SEED]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_in la = {.sin_family = AF_INET};
	struct evconnlistener *tl;
	struct event *ev_l, *ev_u[NUP], *ev_int, *ev_term;
	int c, one = 1, port = 0, bufsz = 8 << 20;
	bool have_up = false;

	R.delay = 15;
	R.loss = 5;
	R.rng = 0x9E3779B97F4A7C15ULL;
	while ((c = getopt(argc, argv, "l:u:d:p:s:")) != -1) {
		switch (c) {
		case 'l': port = atoi(optarg); break;
		case 'u':
			if (parse_addr(optarg, &R.upstream) < 0)
				usage();
			have_up = true;
			break;
		case 'd': R.delay = strtoull(optarg, NULL, 10); break;
		case 'p': R.loss = (unsigned)atoi(optarg); break;
		case 's': R.rng = strtoull(optarg, NULL, 10) | 1; break;
		default: usage();
		}
	}
	if (port <= 0 || port > 65535 || !have_up)
		usage();
	la.sin_port = htons((uint16_t)port);

	R.lfd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	for (int i = 0; i < NUP; i++) {
		R.ufd[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (R.ufd[i] < 0 ||
		    connect(R.ufd[i], (struct sockaddr *)&R.upstream,
			    sizeof(R.upstream)) < 0) {
			perror("delayrelay: upstream socket");
			return 1;
		}
		set_bufs(R.ufd[i], bufsz);
	}
	if (R.lfd < 0 ||
	    setsockopt(R.lfd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(R.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(R.lfd, (struct sockaddr *)&la, sizeof(la)) < 0) {
		perror("delayrelay: socket");
		return 1;
	}
	/* Bursts of thousands of queries, while the relay waits for a core,
	   must not overflow the kernel's queues: losses are ours to choose.
	   SO_RCVBUF is capped by net.core.rmem_max (208 KiB by default);
	   root may go past it with the FORCE variants. */
	set_bufs(R.lfd, bufsz);

	R.base = event_base_new();
	R.timer = evtimer_new(R.base, on_timer, NULL);
	ev_l = event_new(R.base, R.lfd, EV_READ | EV_PERSIST, on_client_udp, NULL);
	for (int i = 0; i < NUP; i++) {
		ev_u[i] = event_new(R.base, R.ufd[i], EV_READ | EV_PERSIST,
				    on_upstream_udp, NULL);
		if (!ev_u[i] || event_add(ev_u[i], NULL) < 0)
			return 1;
	}
	ev_int = evsignal_new(R.base, SIGINT, on_signal, NULL);
	ev_term = evsignal_new(R.base, SIGTERM, on_signal, NULL);
	tl = evconnlistener_new_bind(R.base, on_accept, NULL,
				     LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
				     1024, (struct sockaddr *)&la, sizeof(la));
	if (!R.base || !R.timer || !ev_l || !tl) {
		fprintf(stderr, "delayrelay: cannot set up the event loop\n");
		return 1;
	}
	event_add(ev_l, NULL);
	event_add(ev_int, NULL);
	event_add(ev_term, NULL);
	printf("ready\n");
	fflush(stdout);
	event_base_dispatch(R.base);
	fprintf(stderr,
		"delayrelay: %lu packets relayed, %lu dropped, %lu refused "
		"(no free ID)\n", R.relayed, R.dropped, R.full);
	return 0;
}
