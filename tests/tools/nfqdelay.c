/*
 * nfqdelay: holds every packet of one netfilter queue DELAY ms and then
 * lets it go on: the benchmark's "30 ms RTT" on kernels without netem.
 * The packets stay in the kernel (NFQUEUE, nfnetlink_queue); this
 * process sees only their queue IDs, DELAY ms later tells the kernel to
 * accept everything up to the newest ID now due (one batch verdict,
 * linux/netfilter/nfnetlink_queue.h), and never copies, rewrites or
 * re-sends a packet. Loss is the kernel's too (the bench's iptables rule,
 * `-m statistic`). So the server sees the client's own packets and
 * addresses, as behind netem, and the delay costs a netlink message per
 * packet rather than a relay's four socket calls (docs/BENCH.md).
 *
 * It runs on a clock, as a qdisc's timer would: while it holds packets
 * it wakes every TICK (0.5 ms), reads every notification queued since,
 * and releases what falls due by the middle of the next tick. Woken by
 * every notification instead, it sent 5700-7500 verdicts in a 100k
 * rescan at 30 ms, on the clock ~2200, and took 1.1-1.2 s of CPU
 * against 1.0 s (most of either is the kernel delivering the released
 * packets to Knot, which it does in this process). A packet's arrival
 * is the kernel's receive timestamp (NFQA_TIMESTAMP: a UDP socket with
 * SO_TIMESTAMPNS, held open here, makes the kernel stamp every packet
 * it receives); a packet without one is taken to have come in the
 * middle of the interval in which it was read. So each waits DELAY ms
 * give or take a quarter of a millisecond when this process gets a core
 * on time; on two busy cores it lets them go 1.2-1.9 ms late on average,
 * and says so on exit (late_us_mean, late_us_max). With nothing held it
 * sleeps until the next notification.
 *
 * Every packet waits the same time, so the queue is in due order and a
 * batch verdict ("accept all IDs up to N") releases exactly those due.
 * A notification lost to a full socket buffer loses nothing: its packet
 * is released by the next batch that passes its ID.
 *
 * usage: nfqdelay -q QUEUE -d MS
 * Prints "ready" on stdout once bound; SIGTERM/SIGINT release what is
 * held, unbind, and print what it held on stderr.
 */
/* glibc's in.h before the kernel's, which then leaves it alone */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING (1u << 20) /* IDs held at once, at most */
#define TICK_NS 500000u /* how often it looks while it holds packets */

struct held {
	uint32_t id;
	uint64_t due; /* monotonic ns */
};

static struct {
	int fd;
	uint16_t queue;
	uint64_t delay_ns;
	uint32_t seq;
	struct held *ring;
	size_t head, n, max_n;
	unsigned long seen, stamped, batches, lost_notes, ticks, wakes;
	int64_t late_sum, late_max; /* release after due, ns, all packets */
} Q;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* A message being built: header, nfgenmsg, attributes. */
struct msg {
	union {
		struct nlmsghdr h;
		char buf[256];
	} u;
};

static void msg_init(struct msg *m, uint16_t type, uint16_t flags)
{
	struct nfgenmsg *g;

	memset(m, 0, sizeof *m);
	m->u.h.nlmsg_len = NLMSG_LENGTH(sizeof *g);
	m->u.h.nlmsg_type = (uint16_t)(NFNL_SUBSYS_QUEUE << 8 | type);
	m->u.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	m->u.h.nlmsg_seq = ++Q.seq;
	g = NLMSG_DATA(&m->u.h);
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(Q.queue);
}

static void msg_attr(struct msg *m, uint16_t type, const void *v, size_t len)
{
	struct nlattr *a =
		(struct nlattr *)(m->u.buf + NLMSG_ALIGN(m->u.h.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, v, len);
	m->u.h.nlmsg_len = NLMSG_ALIGN(m->u.h.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

static int msg_send(const struct msg *m)
{
	struct sockaddr_nl k = {.nl_family = AF_NETLINK};

	return sendto(Q.fd, m->u.buf, m->u.h.nlmsg_len, 0,
		      (struct sockaddr *)&k, sizeof k) < 0
		       ? -1
		       : 0;
}

/* A configuration message, and the kernel's acknowledgement of it. */
static int configure(uint16_t attr, const void *v, size_t len,
		     const char *what)
{
	char buf[8192];
	struct msg m;
	ssize_t n;

	msg_init(&m, NFQNL_MSG_CONFIG, NLM_F_ACK);
	msg_attr(&m, attr, v, len);
	if (msg_send(&m) != 0) {
		fprintf(stderr, "nfqdelay: %s: %s\n", what, strerror(errno));
		return -1;
	}
	for (;;) {
		if ((n = recv(Q.fd, buf, sizeof buf, 0)) < 0) {
			fprintf(stderr, "nfqdelay: %s: %s\n", what,
				strerror(errno));
			return -1;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
		     NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_type != NLMSG_ERROR ||
			    h->nlmsg_seq != Q.seq)
				continue;
			if (e->error == 0)
				return 0;
			fprintf(stderr, "nfqdelay: %s: %s\n", what,
				strerror(-e->error));
			return -1;
		}
	}
}

/* Accept every queued packet up to and including `id`. */
static void release(uint32_t id)
{
	struct nfqnl_msg_verdict_hdr v = {.verdict = htonl(NF_ACCEPT),
					   .id = htonl(id)};
	struct msg m;

	msg_init(&m, NFQNL_MSG_VERDICT_BATCH, 0);
	msg_attr(&m, NFQA_VERDICT_HDR, &v, sizeof v);
	if (msg_send(&m) != 0)
		fprintf(stderr, "nfqdelay: verdict: %s\n", strerror(errno));
	Q.batches++;
}

/* A packet's arrival: the kernel's receive timestamp (realtime), on
   the monotonic clock; 0 if the message carries none. */
static uint64_t arrival(const struct nlattr *a, int64_t real_minus_mono)
{
	struct nfqnl_msg_packet_timestamp ts;
	int64_t real;

	if (a->nla_len < NLA_HDRLEN + sizeof ts)
		return 0;
	memcpy(&ts, (const char *)a + NLA_HDRLEN, sizeof ts);
	real = (int64_t)be64toh(ts.sec) * 1000000000 +
	       (int64_t)be64toh(ts.usec) * 1000;
	return real > real_minus_mono ? (uint64_t)(real - real_minus_mono) : 0;
}

/*
 * Note the ID of every packet the kernel queued since the last call, and
 * when it is due: DELAY after its arrival, or, for a packet the kernel
 * did not stamp, after `guess`. Whether anything was read.
 */
static bool read_queue(uint64_t guess)
{
	static char buf[1 << 18];
	int64_t real_minus_mono = (int64_t)real_ns() - (int64_t)now_ns();
	bool any = false;
	ssize_t n;

	while ((n = recv(Q.fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf;
		     NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			size_t off = NLMSG_LENGTH(sizeof(struct nfgenmsg));
			uint64_t at = 0;
			bool have = false;
			uint32_t id = 0;

			if (h->nlmsg_type !=
			    (NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET))
				continue;
			while (off + NLA_HDRLEN <= h->nlmsg_len) {
				const struct nlattr *a =
					(const struct nlattr *)((char *)h + off);
				struct nfqnl_msg_packet_hdr ph;

				if (a->nla_len < NLA_HDRLEN ||
				    off + a->nla_len > h->nlmsg_len)
					break;
				switch (a->nla_type & NLA_TYPE_MASK) {
				case NFQA_PACKET_HDR:
					if (a->nla_len < NLA_HDRLEN + sizeof ph)
						break;
					memcpy(&ph, (const char *)a + NLA_HDRLEN,
					       sizeof ph);
					id = ntohl(ph.packet_id);
					have = true;
					break;
				case NFQA_TIMESTAMP:
					at = arrival(a, real_minus_mono);
					break;
				}
				off += NLA_ALIGN(a->nla_len);
			}
			if (!have)
				continue;
			if (Q.n == RING) {
				/* never at these rates: the oldest goes now */
				release(Q.ring[Q.head].id);
				Q.head = (Q.head + 1) % RING;
				Q.n--;
			}
			if (at)
				Q.stamped++;
			/* never before one already held: the queue stays in
			   due order whatever a clock did */
			at = (at ? at : guess) + Q.delay_ns;
			if (Q.n && at < Q.ring[(Q.head + Q.n - 1) % RING].due)
				at = Q.ring[(Q.head + Q.n - 1) % RING].due;
			Q.ring[(Q.head + Q.n) % RING] = (struct held){id, at};
			Q.n++;
			Q.seen++;
			any = true;
			if (Q.n > Q.max_n)
				Q.max_n = Q.n;
		}
	}
	if (n < 0 && errno == ENOBUFS)
		Q.lost_notes++; /* released by a later batch all the same */
	return any;
}

/* Release what is due by `by`: one verdict for the newest such ID. */
static void release_due(uint64_t by)
{
	uint64_t now = now_ns();
	size_t k = 0;

	while (k < Q.n && Q.ring[(Q.head + k) % RING].due <= by) {
		int64_t late = (int64_t)(now - Q.ring[(Q.head + k) % RING].due);

		Q.late_sum += late;
		if (late > Q.late_max)
			Q.late_max = late;
		k++;
	}
	if (k == 0)
		return;
	release(Q.ring[(Q.head + k - 1) % RING].id);
	Q.head = (Q.head + k) % RING;
	Q.n -= k;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	struct nfqnl_msg_config_cmd cmd_bind = {.command = NFQNL_CFG_CMD_BIND};
	struct nfqnl_msg_config_params params = {.copy_range = htonl(0),
						 .copy_mode = NFQNL_COPY_META};
	uint32_t maxlen = htonl(1u << 18);
	struct sigaction sa = {.sa_handler = on_signal};
	int c, one = 1, rcvbuf = 32 << 20, stamp;
	long delay_ms = 15;
	uint64_t last;

	while ((c = getopt(argc, argv, "q:d:")) != -1) {
		switch (c) {
		case 'q':
			Q.queue = (uint16_t)atoi(optarg);
			break;
		case 'd':
			delay_ms = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: nfqdelay -q QUEUE -d MS\n");
			return 2;
		}
	}
	if (delay_ms < 0 || delay_ms > 10000) {
		fprintf(stderr, "nfqdelay: -d: 0 to 10000 ms\n");
		return 2;
	}
	Q.delay_ns = (uint64_t)delay_ms * 1000000u;
	if (!(Q.ring = calloc(RING, sizeof *Q.ring))) {
		fprintf(stderr, "nfqdelay: out of memory\n");
		return 1;
	}
	Q.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (Q.fd < 0 || bind(Q.fd, (struct sockaddr *)&local, sizeof local) != 0) {
		fprintf(stderr, "nfqdelay: netlink: %s\n", strerror(errno));
		return 1;
	}
	/* Room for a burst of notifications; an overflow is counted, and
	   its packets still leave with a later batch. */
	if (setsockopt(Q.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof rcvbuf) != 0)
		setsockopt(Q.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	setsockopt(Q.fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
	if (configure(NFQA_CFG_CMD, &cmd_bind, sizeof cmd_bind, "bind") != 0 ||
	    configure(NFQA_CFG_PARAMS, &params, sizeof params, "params") != 0 ||
	    configure(NFQA_CFG_QUEUE_MAXLEN, &maxlen, sizeof maxlen,
		      "queue length") != 0)
		return 1;
	/* The kernel stamps what it receives while any socket asks for
	   timestamps: this one, never read, asks (closed on exit). */
	stamp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (stamp < 0 || setsockopt(stamp, SOL_SOCKET, SO_TIMESTAMPNS, &one,
				    sizeof one) != 0)
		fprintf(stderr, "nfqdelay: no receive timestamps (%s): "
				"arrivals to the half tick\n",
			strerror(errno));
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);

	last = now_ns();
	while (!stop) {
		struct pollfd p = {.fd = Q.fd, .events = POLLIN};
		uint64_t now;

		if (Q.n == 0) {
			/* nothing held: sleep until something comes */
			if (poll(&p, 1, 1000) < 0 && errno != EINTR)
				break;
			now = now_ns();
			if (read_queue(now))
				Q.wakes++;
		} else {
			uint64_t next = last + TICK_NS;
			struct timespec t = {
				.tv_sec = (time_t)(next / 1000000000u),
				.tv_nsec = (long)(next % 1000000000u)};
			int e;

			e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t,
					    NULL);
			if (e != 0 && e != EINTR)
				break;
			now = now_ns();
			read_queue(last + (now - last) / 2);
			Q.ticks++;
		}
		last = now;
		release_due(now + TICK_NS / 2);
	}
	if (Q.n)
		release(Q.ring[(Q.head + Q.n - 1) % RING].id);
	fprintf(stderr,
		"held=%lu stamped=%lu batches=%lu ticks=%lu wakes=%lu "
		"max_held=%zu lost_notes=%lu delay_ms=%ld late_us_mean=%.0f "
		"late_us_max=%.0f\n",
		Q.seen, Q.stamped, Q.batches, Q.ticks, Q.wakes, Q.max_n,
		Q.lost_notes, delay_ms,
		Q.seen ? (double)Q.late_sum / 1e3 / (double)Q.seen : 0.0,
		(double)Q.late_max / 1e3);
	{
		struct nfqnl_msg_config_cmd unbind = {
			.command = NFQNL_CFG_CMD_UNBIND};

		configure(NFQA_CFG_CMD, &unbind, sizeof unbind, "unbind");
	}
	close(Q.fd);
	return 0;
}
