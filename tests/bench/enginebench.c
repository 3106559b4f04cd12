/*
 * The query engine alone against a DNS server, as dnsperf runs against
 * it: the ceiling of cdscan's scanner without probes, policy or the
 * database, so that the bench can tell how much of the distance to
 * dnsperf is the engine's and how much the pipeline's (docs/BENCH.md).
 * Reads dnsperf's query file ("NAME TYPE" lines), keeps up to WINDOW
 * queries in flight against one address, and prints what it did and the
 * CPU it took (getrusage: user+sys of this process).
 *
 *   enginebench -s ADDR[@PORT] -d FILE [-n QUERIES] [-w WINDOW]
 *               [-t TIMEOUT_MS]
 *
 * Built by tests/bench/bench.sh against the library of the build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/errors.h"
#include "scanner/engine.h"

struct qline {
	char *name;
	uint16_t type;
};

struct bench {
	struct event_base *base;
	struct scan_engine *eng;
	struct sockaddr_storage addr;
	socklen_t alen;
	struct qline *q;
	size_t nq, next, total, done, ok, failed;
};

static void ask_next(struct bench *b);

static void on_answer(const struct scan_answer *ans, void *arg)
{
	struct bench *b = arg;

	b->done++;
	if (ans->status == CDS_OK)
		b->ok++;
	else
		b->failed++;
	if (b->done == b->total)
		event_base_loopbreak(b->base); /* the pool's sockets stay */
	else
		ask_next(b);
}

static void ask_next(struct bench *b)
{
	struct qline *l;

	if (b->next >= b->total)
		return;
	l = &b->q[b->next++ % b->nq];
	if (scan_engine_query(b->eng, (struct sockaddr *)&b->addr, b->alen,
			      l->name, l->type, on_answer, b) < 0) {
		fprintf(stderr, "enginebench: cannot ask %s\n", l->name);
		exit(1);
	}
}

static int load(struct bench *b, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512], name[300], type[16];
	size_t cap = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		ldns_rr_type t;

		if (sscanf(line, "%299s %15s", name, type) != 2)
			continue;
		t = ldns_get_rr_type_by_name(type);
		if (!t)
			continue;
		if (b->nq == cap) {
			cap = cap ? cap * 2 : 1024;
			b->q = realloc(b->q, cap * sizeof *b->q);
			if (!b->q)
				exit(1);
		}
		b->q[b->nq].name = strdup(name);
		b->q[b->nq++].type = (uint16_t)t;
	}
	fclose(f);
	return b->nq ? 0 : -1;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	struct bench b = {0};
	struct scan_engine_opts o;
	struct scan_engine_stats st;
	struct event_base *base;
	const char *server = NULL, *file = NULL;
	unsigned window = 2000, timeout_ms = 400;
	double t0, c0, wall, cpu;
	int c;

	b.total = 200000;
	while ((c = getopt(argc, argv, "s:d:n:w:t:")) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'd': file = optarg; break;
		case 'n': b.total = strtoul(optarg, NULL, 10); break;
		case 'w': window = (unsigned)strtoul(optarg, NULL, 10); break;
		case 't': timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		default: goto usage;
		}
	}
	if (!server || !file || !b.total || !window)
		goto usage;
	if (scan_parse_addr(server, 53, &b.addr, &b.alen) < 0) {
		fprintf(stderr, "enginebench: bad address %s\n", server);
		return 2;
	}
	if (load(&b, file) < 0) {
		fprintf(stderr, "enginebench: no queries in %s\n", file);
		return 2;
	}
	scan_engine_opts_default(&o);
	o.max_inflight = window;
	o.timeout_ms = timeout_ms;
	o.rate_per_server = 0;
	base = b.base = event_base_new();
	if (!base || scan_engine_new(base, &o, &b.eng) < 0)
		return 1;
	t0 = mono();
	c0 = cpu_s();
	for (unsigned i = 0; i < window && b.next < b.total; i++)
		ask_next(&b);
	event_base_dispatch(base);
	wall = mono() - t0;
	cpu = cpu_s() - c0;
	scan_engine_get_stats(b.eng, &st);
	printf("queries %zu answered %zu failed %zu sent_udp %llu "
	       "timeouts %llu wall_s %.3f cpu_s %.3f qps %.0f "
	       "cpu_us_per_query %.2f\n",
	       b.done, b.ok, b.failed, (unsigned long long)st.sent_udp,
	       (unsigned long long)st.timeouts, wall, cpu,
	       (double)b.done / wall, cpu * 1e6 / (double)b.done);
	scan_engine_free(b.eng);
	event_base_free(base);
	return b.done == b.total ? 0 : 1;
usage:
	fprintf(stderr, "usage: enginebench -s ADDR[@PORT] -d FILE "
			"[-n QUERIES] [-w WINDOW] [-t TIMEOUT_MS]\n");
	return 2;
}
