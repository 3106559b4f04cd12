/*
 * `cdscan daemon`: cdscan as a service (issue 7, STANDARDS §9). One
 * libevent loop owns everything long-lived: the NOTIFY listeners (UDP
 * and TCP on every daemon.listen address), the metrics endpoint (evhttp
 * on daemon.metrics-listen), the schedule and outbox timers, and the
 * signals (a self-pipe, so that a forked child inherits no libevent
 * signal state). Every scan runs in a forked child (fork without exec):
 * the child closes the daemon's descriptors, runs cli_scan_conf() with
 * the configuration the daemon holds, writes its struct cli_scan_stats
 * to a pipe and exits; the parent reads the pipe when it reaps the child.
 * A child is cheap next to a scan and keeps the loop free: the parent
 * never waits on a scan, and a scan that crashes takes nothing with it.
 *
 * At most one scheduled scan, one NOTIFY scan and one outbox sender run
 * at a time. NOTIFYs that arrive while a NOTIFY scan runs wait in a
 * bounded queue (a zone queued once is not queued again) and go into the
 * next child together (RFC 9859 §5, N4: a NOTIFY for a zone whose scan
 * runs is not lost, the next child sees what the child publishes now).
 * A NOTIFY child that fails puts its zones back with a back-off, a
 * bounded number of times. A scheduled run and a NOTIFY scan may overlap:
 * their runs claim delegations in the database, and a change whose DS
 * moved under it is recorded stale, not applied twice.
 *
 * The parent's own database questions are bounded (daemon.db-timeout)
 * and their answers cached (daemon.held-cache-ttl): a hung database
 * costs a NOTIFY a SERVFAIL, never the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/decision.h"
#include "core/errors.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "db/db.h"
#include "scanner/notify.h"

#define LISTEN_MAX 16          /* daemon.listen addresses */
#define QUEUE_MAX 1024         /* zones waiting for the next NOTIFY scan */
#define TCP_CONN_MAX 64        /* NOTIFY connections at once */
#define TCP_IDLE_S 10          /* a connection silent this long is closed */
#define UDP_BURST 64           /* datagrams read per wake-up */
#define RL_KEYS 65536          /* keys per rate-limit table */
#define GAUGE_EVERY_MS 60000   /* database gauges at most this often */
#define DB_RETRY_MS 1000       /* reconnect to the database at most this often, */
#define DB_RETRY_MAX_MS 4000   /* doubling while it fails, up to this */
#define HELD_CACHE 4096        /* zones whose "held?" answer is remembered */

enum child_kind { CH_SCHEDULE, CH_NOTIFY, CH_OUTBOX, CH__N };
static const char *const child_name[CH__N] = {"schedule", "notify", "outbox"};

struct queued {
	char zone[CDS_NAME_MAX];
	int64_t at_ms;         /* when its first NOTIFY arrived */
	int64_t not_before_ms; /* a retry waits until then */
	int attempts;          /* scans of it that failed */
};

/* One slot of the direct-mapped "is it held?" cache: a new zone simply
   takes the slot of its hash, so the table never grows. */
struct held_entry {
	char zone[CDS_NAME_MAX];
	bool held;
	int64_t until_ms;
};

struct child {
	pid_t pid;     /* 0: none running */
	int fd;        /* read end of its stats pipe */
	int64_t started_ms;
	struct queued *batch; /* CH_NOTIFY: the zones it scans */
	size_t n_batch;
};

struct listener {
	char spec[64];
	int udp;
	struct event *ev_udp;
	struct evconnlistener *tcp;
};

struct daemon;
struct tcp_conn {
	struct daemon *d;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	struct tcp_conn *prev, *next;
};

struct daemon {
	const struct cli_global *g;
	struct conf *conf;
	struct event_base *base;
	struct listener lis[LISTEN_MAX];
	size_t n_lis;
	struct tcp_conn *conns;
	size_t n_conns;
	struct evhttp *http;
	struct cds_metrics *m;
	/* N6: per source, per zone; the refusal budget of a source */
	struct cds_ratelimit *rl_src, *rl_refuse, *rl_zone;
	struct db *db;
	int64_t db_failed_ms;
	int db_fails; /* connection attempts failed in a row */
	struct held_entry *held; /* HELD_CACHE slots */
	struct event *ev_sig, *ev_sched, *ev_outbox, *ev_retry;
	struct child ch[CH__N];
	struct queued queue[QUEUE_MAX];
	size_t n_queue;
	int64_t gauges_ms;
	int stop_signals; /* SIGTERM/SIGINT seen */
};

static int sig_pipe[2] = {-1, -1};

static void arm_ms(struct event *ev, int64_t ms);

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- systemd (Type=notify) ---------------------------------------------- */

/*
 * The sd_notify protocol without libsystemd: one datagram to
 * $NOTIFY_SOCKET. Nothing happens when it is not set (not under
 * systemd, or Type=simple).
 */
static void sd_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') ||
	    (n = strlen(path)) >= sizeof sa.sun_path)
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0'; /* abstract namespace */
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	(void)sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		     (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

/* ---- metrics -------------------------------------------------------------- */

static const struct {
	const char *name;
	enum cds_metric_type type;
	const char *labels;
	const char *help;
} metric_defs[] = {
	{"cdscan_scans_started_total", CDS_METRIC_COUNTER, "kind",
	 "scan children started, by what started them"},
	{"cdscan_scans_finished_total", CDS_METRIC_COUNTER, "kind,reason",
	 "scan children ended, by kind and outcome"},
	{"cdscan_delegations_scanned_total", CDS_METRIC_COUNTER, NULL,
	 "delegations probed and recorded"},
	{"cdscan_queries_sent_total", CDS_METRIC_COUNTER, NULL,
	 "DNS queries sent to child nameservers"},
	{"cdscan_server_failures_total", CDS_METRIC_COUNTER, "kind",
	 "server addresses that failed in a scan, by error"},
	{"cdscan_decisions_total", CDS_METRIC_COUNTER, "kind",
	 "decisions by verdict"},
	{"cdscan_decision_reasons_total", CDS_METRIC_COUNTER, "reason",
	 "decisions by reason"},
	{"cdscan_changes_applied_total", CDS_METRIC_COUNTER, NULL,
	 "DS changes applied or requested"},
	{"cdscan_changes_stale_total", CDS_METRIC_COUNTER, NULL,
	 "changes not applied because the DS moved during the scan"},
	{"cdscan_notify_received_total", CDS_METRIC_COUNTER, "kind",
	 "NOTIFY messages received, by transport"},
	{"cdscan_notify_acted_total", CDS_METRIC_COUNTER, NULL,
	 "NOTIFYs answered NOERROR and queued for a scan"},
	{"cdscan_notify_throttled_total", CDS_METRIC_COUNTER, "kind",
	 "NOTIFYs refused with EDE 15 by a rate limit (source or zone)"},
	{"cdscan_notify_refused_total", CDS_METRIC_COUNTER, "reason",
	 "NOTIFYs answered with an error rcode"},
	{"cdscan_notify_dropped_total", CDS_METRIC_COUNTER, "reason",
	 "NOTIFYs not answered"},
	{"cdscan_notify_held_lookups_total", CDS_METRIC_COUNTER, "kind",
	 "is a NOTIFY's zone held: answered from the cache or the database"},
	{"cdscan_notify_retries_total", CDS_METRIC_COUNTER, "kind",
	 "zones of a failed NOTIFY scan queued again (retry) or given up"},
	{"cdscan_notify_queue", CDS_METRIC_GAUGE, NULL,
	 "zones waiting for the next NOTIFY scan"},
	{"cdscan_bootstrap_waiting", CDS_METRIC_GAUGE, NULL,
	 "delegations without DS whose last scan is bootstrap-waiting"},
	{"cdscan_outbox_depth", CDS_METRIC_GAUGE, NULL,
	 "EPP outbox changes queued, sending or pending"},
	{"cdscan_outbox_oldest_seconds", CDS_METRIC_GAUGE, NULL,
	 "age of the oldest of them"},
	{"cdscan_last_scan_completion_timestamp_seconds", CDS_METRIC_GAUGE,
	 "kind", "when a scan child of this kind last ended (unix time)"},
};

static int metrics_setup(struct daemon *d)
{
	if (!(d->m = cds_metrics_new()))
		return CDS_ENOMEM;
	for (size_t i = 0; i < sizeof metric_defs / sizeof metric_defs[0]; i++) {
		int rc = cds_metrics_declare(d->m, metric_defs[i].name,
					     metric_defs[i].type,
					     metric_defs[i].help,
					     metric_defs[i].labels);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int64_t db_timeout(const struct daemon *d)
{
	return conf_duration_ms(d->conf, "daemon.db-timeout");
}

/*
 * The database, connecting again when the last attempt is old enough.
 * Each attempt may hold the loop for daemon.db-timeout, so while the
 * database stays away they come less often (1, 2, 4 s).
 */
static struct db *daemon_db(struct daemon *d)
{
	char err[512];
	int64_t now = mono_ms(), wait = DB_RETRY_MS;

	if (d->db)
		return d->db;
	for (int i = 1; i < d->db_fails && wait < DB_RETRY_MAX_MS; i++)
		wait *= 2;
	if (d->db_failed_ms && now - d->db_failed_ms < wait)
		return NULL;
	if (db_daemon_open(conf_str(d->conf, "database"), db_timeout(d),
			   &d->db, err, sizeof err) != 0) {
		log_err("daemon: database: %s", err);
		d->db = NULL;
		d->db_failed_ms = mono_ms();
		d->db_fails++;
		return NULL;
	}
	if (d->db_fails)
		log_info("daemon: database: connected again");
	d->db_fails = 0;
	return d->db;
}

static void db_lost(struct daemon *d)
{
	log_err("daemon: database: %s", db_errmsg(d->db));
	db_close(d->db);
	d->db = NULL;
	d->db_failed_ms = mono_ms();
	d->db_fails = 1;
}

static void refresh_gauges(struct daemon *d, bool force)
{
	struct db_daemon_gauges gg;
	int64_t now = mono_ms();

	if (!force && d->gauges_ms && now - d->gauges_ms < GAUGE_EVERY_MS)
		return;
	if (!daemon_db(d))
		return;
	if (db_daemon_gauges(d->db, db_timeout(d), &gg) != 0) {
		db_lost(d);
		return;
	}
	d->gauges_ms = now;
	cds_metrics_set(d->m, "cdscan_bootstrap_waiting", NULL,
			(double)gg.bootstrap_waiting);
	cds_metrics_set(d->m, "cdscan_outbox_depth", NULL,
			(double)gg.outbox_open);
	cds_metrics_set(d->m, "cdscan_outbox_oldest_seconds", NULL,
			(double)gg.outbox_oldest_s);
}

static void http_metrics(struct evhttp_request *req, void *arg)
{
	struct daemon *d = arg;
	struct evbuffer *body;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "only GET");
		return;
	}
	refresh_gauges(d, false);
	cds_metrics_set(d->m, "cdscan_notify_queue", NULL, (double)d->n_queue);
	if (!(f = open_memstream(&text, &len)) ||
	    cds_metrics_print(d->m, f) != 0 || fclose(f) != 0 ||
	    !(body = evbuffer_new())) {
		free(text);
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	evbuffer_add(body, text, len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
	free(text);
}

static void http_other(struct evhttp_request *req, void *arg)
{
	(void)arg;
	evhttp_send_error(req, 404, "only /metrics");
}

/* Bind the endpoint of `conf` into *out (NULL when off). */
static int http_open(struct daemon *d, const struct conf *conf,
		     struct evhttp **out)
{
	const char *spec = conf_str(conf, "daemon.metrics-listen");
	struct sockaddr_storage ss;
	int sl = sizeof ss, fd = -1;
	struct evhttp *h;

	*out = NULL;
	if (!spec || !*spec)
		return 0;
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sl) != 0)
		goto fail;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
			 SOCK_CLOEXEC, 0)) < 0 ||
	    evutil_make_listen_socket_reuseable(fd) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) != 0 ||
	    listen(fd, 16) != 0)
		goto fail;
	if (!(h = evhttp_new(d->base)))
		goto fail;
	evhttp_set_timeout(h, 10);
	evhttp_set_max_headers_size(h, 8192);
	evhttp_set_max_body_size(h, 0);
	evhttp_set_allowed_methods(h, EVHTTP_REQ_GET);
	evhttp_set_cb(h, "/metrics", http_metrics, d);
	evhttp_set_gencb(h, http_other, d);
	if (!evhttp_accept_socket_with_handle(h, fd)) {
		evhttp_free(h);
		goto fail;
	}
	*out = h;
	return 0;
fail:
	log_err("daemon: metrics endpoint %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	return CDS_ENET;
}

/* ---- children ------------------------------------------------------------- */

static void child_exit(int wfd, const struct cli_scan_stats *st, int rc)
{
	const char *p = (const char *)st;
	size_t left = sizeof *st;

	/* one write below PIPE_BUF: atomic, and the reader has it all
	   once the child is reaped */
	while (st && left > 0) {
		ssize_t w = write(wfd, p, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		left -= (size_t)w;
	}
	_exit(rc);
}

/*
 * In the child, before anything else: no handler of the parent's, no
 * descriptor of the parent's but stdin/stderr and the stats pipe (a
 * listener kept open here would hold the port past the daemon's exit;
 * the parent's database connection must never see our traffic),
 * stdout to /dev/null (the daemon logs each scan's summary itself).
 */
static void child_init(int wfd)
{
	struct sigaction sa = {.sa_handler = SIG_DFL};
	sigset_t none;
	int fd;

	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	if (wfd > 3)
		close_range(3, (unsigned)wfd - 1, 0);
	close_range((unsigned)wfd + 1, ~0U, 0);
}

static void child_main(struct daemon *d, enum child_kind k, int wfd,
		       int argc, char **argv)
{
	struct cli_scan_stats st;
	int rc;

	child_init(wfd);
	memset(&st, 0, sizeof st);
	if (k == CH_OUTBOX) {
		rc = cli_epp_kick(d->conf) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
		child_exit(wfd, NULL, rc);
	}
	optind = 0; /* the scan parses argv with getopt again */
	rc = cli_scan_conf(argc, argv, d->g, d->conf, &st);
	/* the nightly run keeps its history bounded (scan.keep); a failed
	   prune is logged and leaves the scan's outcome as it was */
	if (k == CH_SCHEDULE && rc == CLI_EXIT_OK)
		(void)cli_prune_after_run(d->conf, cli_now(d->g));
	fflush(NULL);
	child_exit(wfd, &st, rc);
}

static int spawn(struct daemon *d, enum child_kind k, int argc, char **argv)
{
	struct child *c = &d->ch[k];
	sigset_t all, old;
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		log_err("daemon: %s scan: pipe: %s", child_name[k],
			strerror(errno));
		return CDS_EIO;
	}
	fflush(NULL);
	/* no signal between fork and child_init may reach our handlers in
	   the child: they would write to the parent's signal pipe */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	if ((pid = fork()) == 0)
		child_main(d, k, fds[1], argc, argv); /* does not return */
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		log_err("daemon: %s scan: fork: %s", child_name[k],
			strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return CDS_EIO;
	}
	close(fds[1]);
	c->pid = pid;
	c->fd = fds[0];
	c->started_ms = mono_ms();
	cds_metrics_add(d->m, "cdscan_scans_started_total", child_name[k], 1);
	return 0;
}

/* Wake start_notify_scan when the earliest retry is due. */
static void retry_arm(struct daemon *d, int64_t now)
{
	int64_t first = -1;

	for (size_t i = 0; i < d->n_queue; i++)
		if (d->queue[i].not_before_ms > now &&
		    (first < 0 || d->queue[i].not_before_ms < first))
			first = d->queue[i].not_before_ms;
	event_del(d->ev_retry);
	if (first >= 0)
		arm_ms(d->ev_retry, first - now);
}

/* The next NOTIFY child: every queued zone that is not waiting for a
   retry's back-off. */
static void start_notify_scan(struct daemon *d)
{
	struct child *c = &d->ch[CH_NOTIFY];
	int64_t now = mono_ms();
	char **argv;
	size_t n = 0, left = 0;

	if (c->pid || d->n_queue == 0 || d->stop_signals)
		return;
	argv = calloc(d->n_queue + 2, sizeof *argv);
	c->batch = malloc(d->n_queue * sizeof *c->batch);
	if (!argv || !c->batch) {
		log_err("daemon: NOTIFY scan: out of memory");
		free(argv);
		free(c->batch);
		c->batch = NULL;
		return;
	}
	for (size_t i = 0; i < d->n_queue; i++) {
		if (d->queue[i].not_before_ms > now)
			d->queue[left++] = d->queue[i];
		else
			c->batch[n++] = d->queue[i];
	}
	d->n_queue = left;
	c->n_batch = n;
	argv[0] = "scan";
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = c->batch[i].zone;
	if (n == 0 || spawn(d, CH_NOTIFY, (int)n + 1, argv) != 0) {
		/* keep them queued for the next attempt */
		memcpy(d->queue + d->n_queue, c->batch, n * sizeof *c->batch);
		d->n_queue += n;
		free(c->batch);
		c->batch = NULL;
		c->n_batch = 0;
		retry_arm(d, now);
	} else {
		log_info("daemon: NOTIFY scan of %zu zone%s started (pid %d)",
			 n, n == 1 ? "" : "s", (int)c->pid);
		retry_arm(d, now);
	}
	free(argv);
}

static void start_scheduled_scan(struct daemon *d)
{
	char *argv[] = {"scan", "--all", NULL};

	if (d->stop_signals)
		return;
	if (d->ch[CH_SCHEDULE].pid) {
		log_warn("daemon: scheduled scan due while the last one (pid "
			 "%d) still runs; not starting another",
			 (int)d->ch[CH_SCHEDULE].pid);
		return;
	}
	if (spawn(d, CH_SCHEDULE, 2, argv) == 0)
		log_info("daemon: scheduled scan started (pid %d)",
			 (int)d->ch[CH_SCHEDULE].pid);
}

static void account(struct daemon *d, const struct cli_scan_stats *st)
{
	char lab[64];

	cds_metrics_add(d->m, "cdscan_delegations_scanned_total", NULL,
			(double)st->scanned);
	cds_metrics_add(d->m, "cdscan_queries_sent_total", NULL,
			(double)st->queries);
	cds_metrics_add(d->m, "cdscan_changes_applied_total", NULL,
			(double)st->changes);
	cds_metrics_add(d->m, "cdscan_changes_stale_total", NULL,
			(double)st->stale);
	for (int i = 0; i < CLI_SCAN_VERDICTS; i++)
		if (st->verdicts[i])
			cds_metrics_add(d->m, "cdscan_decisions_total",
					cds_verdict_name((enum cds_verdict)i),
					(double)st->verdicts[i]);
	for (int i = 0; i < CDS_R__COUNT && i < 64; i++)
		if (st->reasons[i])
			cds_metrics_add(d->m, "cdscan_decision_reasons_total",
					cds_reason_name((enum cds_reason)i),
					(double)st->reasons[i]);
	for (int i = 1; i < CLI_SCAN_ERRORS; i++) {
		if (!st->server_errors[i])
			continue;
		/* label values are split at commas: keep none in them */
		snprintf(lab, sizeof lab, "%s", cds_strerror(-i));
		for (char *p = lab; *p; p++)
			if (*p == ',')
				*p = ';';
		cds_metrics_add(d->m, "cdscan_server_failures_total", lab,
				(double)st->server_errors[i]);
	}
}

static bool enqueue(struct daemon *d, const char *zone);

/*
 * A zone whose NOTIFY child failed (a database that refused, a crash, a
 * kill): queued again after daemon.notify-retry-delay, doubling, at most
 * daemon.notify-retries times. A NOTIFY that queued it anew meanwhile
 * wins: that scan goes ahead at once, as any NOTIFY's would.
 */
static void retry_later(struct daemon *d, const struct queued *q, int status,
			int64_t now)
{
	int max = (int)conf_int(d->conf, "daemon.notify-retries");
	int64_t delay = conf_duration_ms(d->conf, "daemon.notify-retry-delay");
	int attempts = q->attempts + 1;

	if (d->stop_signals)
		return;
	if (attempts > max) {
		cds_metrics_add(d->m, "cdscan_notify_retries_total", "given-up", 1);
		log_err("daemon: NOTIFY %s: scan failed %d time%s (status %d); "
			"given up until the next NOTIFY or scheduled scan",
			q->zone, attempts, attempts == 1 ? "" : "s", status);
		return;
	}
	for (int i = 1; i < attempts && delay < 86400000; i++)
		delay *= 2;
	for (size_t i = 0; i < d->n_queue; i++)
		if (strcmp(d->queue[i].zone, q->zone) == 0)
			return; /* a new NOTIFY queued it meanwhile */
	if (!enqueue(d, q->zone)) {
		log_err("daemon: NOTIFY %s: queue full, no retry", q->zone);
		return;
	}
	/* enqueue put it last */
	d->queue[d->n_queue - 1].at_ms = q->at_ms;
	d->queue[d->n_queue - 1].attempts = attempts;
	d->queue[d->n_queue - 1].not_before_ms = now + delay;
	cds_metrics_add(d->m, "cdscan_notify_retries_total", "retry", 1);
	log_warn("daemon: NOTIFY %s: scan failed (status %d); retry %d of %d "
		 "in %" PRId64 " ms", q->zone, status, attempts, max, delay);
}

/* A child has ended: its figures, the log line, what comes next. */
static void child_done(struct daemon *d, enum child_kind k, int status)
{
	struct child *c = &d->ch[k];
	struct cli_scan_stats st;
	int64_t now = mono_ms();
	ssize_t got = read(c->fd, &st, sizeof st);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	char lab[64];

	close(c->fd);
	snprintf(lab, sizeof lab, "%s,%s", child_name[k],
		 ok ? "ok" : WIFSIGNALED(status) ? "killed" : "failed");
	cds_metrics_add(d->m, "cdscan_scans_finished_total", lab, 1);
	cds_metrics_set(d->m, "cdscan_last_scan_completion_timestamp_seconds",
			child_name[k], (double)time(NULL));
	if (k == CH_OUTBOX) {
		if (!ok)
			log_warn("daemon: outbox sender ended with status %d",
				 status);
	} else if (got == (ssize_t)sizeof st) {
		account(d, &st);
		log_info("daemon: %s scan: run %" PRId64 " %s, %" PRIu64
			 " delegations, %" PRIu64 " queries, %" PRIu64
			 " changes, %" PRIu64 " stale, %" PRId64 " ms",
			 child_name[k], st.run_id,
			 st.finished ? "complete" : "not complete", st.scanned,
			 st.queries, st.changes, st.stale, now - c->started_ms);
	} else {
		log_err("daemon: %s scan (pid %d) ended without figures "
			"(status %d)", child_name[k], (int)c->pid, status);
	}
	if (k == CH_NOTIFY) {
		for (size_t i = 0; i < c->n_batch; i++) {
			log_info("daemon: NOTIFY %s: %s %" PRId64 " ms after "
				 "it arrived", c->batch[i].zone,
				 ok ? "scanned and recorded" : "scan failed",
				 now - c->batch[i].at_ms);
			if (!ok)
				retry_later(d, &c->batch[i], status, now);
		}
		free(c->batch);
		c->batch = NULL;
		c->n_batch = 0;
	}
	c->pid = 0;
	c->fd = -1;
	if (!d->stop_signals)
		refresh_gauges(d, k == CH_SCHEDULE);
}

static void reap(struct daemon *d)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (int k = 0; k < CH__N; k++)
			if (d->ch[k].pid == pid)
				child_done(d, (enum child_kind)k, status);
	}
	if (d->stop_signals) {
		for (int k = 0; k < CH__N; k++)
			if (d->ch[k].pid)
				return;
		event_base_loopbreak(d->base);
		return;
	}
	start_notify_scan(d);
}

/* ---- NOTIFY ---------------------------------------------------------------- */

/* The rate-limit key of a source: an IPv4 address, or the /64 of an
   IPv6 address (one host usually holds a whole /64). */
static size_t source_key(const struct sockaddr *sa, uint8_t key[16],
			 char *text, size_t tlen)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, text, (socklen_t)tlen);
		memcpy(key, &s6->sin6_addr, 8);
		return 8;
	}
	const struct sockaddr_in *s4 = (const void *)sa;

	inet_ntop(AF_INET, &s4->sin_addr, text, (socklen_t)tlen);
	memcpy(key, &s4->sin_addr, 4);
	return 4;
}

static bool enqueue(struct daemon *d, const char *zone)
{
	for (size_t i = 0; i < d->n_queue; i++)
		if (strcmp(d->queue[i].zone, zone) == 0)
			return true;
	if (d->n_queue == QUEUE_MAX)
		return false;
	memset(&d->queue[d->n_queue], 0, sizeof d->queue[d->n_queue]);
	snprintf(d->queue[d->n_queue].zone, CDS_NAME_MAX, "%s", zone);
	d->queue[d->n_queue].at_ms = mono_ms();
	d->n_queue++;
	return true;
}

static struct held_entry *held_slot(struct daemon *d, const char *zone)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = zone; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return &d->held[h % HELD_CACHE];
}

/*
 * Is `zone` one of our delegations: from the cache while its answer is
 * younger than daemon.held-cache-ttl (so that a flood for one zone asks
 * the database once), else from the database within daemon.db-timeout.
 * 0, or CDS_EDB/CDS_ETIMEOUT (the connection is dropped then).
 */
static int zone_held(struct daemon *d, const char *zone, int64_t now,
		     bool *held)
{
	int64_t ttl = conf_duration_ms(d->conf, "daemon.held-cache-ttl");
	struct held_entry *e = d->held ? held_slot(d, zone) : NULL;
	int rc;

	if (e && ttl > 0 && now < e->until_ms && strcmp(e->zone, zone) == 0) {
		cds_metrics_add(d->m, "cdscan_notify_held_lookups_total",
				"cache", 1);
		*held = e->held;
		return 0;
	}
	if (!daemon_db(d))
		return CDS_EDB;
	cds_metrics_add(d->m, "cdscan_notify_held_lookups_total", "database",
			1);
	if ((rc = db_delegation_held(d->db, zone, db_timeout(d), held)) != 0) {
		db_lost(d);
		return rc;
	}
	if (e && ttl > 0) {
		snprintf(e->zone, sizeof e->zone, "%s", zone);
		e->held = *held;
		e->until_ms = mono_ms() + ttl;
	}
	return 0;
}

enum { RC_NOERROR = 0, RC_FORMERR = 1, RC_SERVFAIL = 2, RC_NOTIMP = 4,
       RC_REFUSED = 5 };

/*
 * One message from `peer`: what to answer (its length in `out`), or 0
 * for no answer. RFC 9859 §4–5, RFC 1996 §4.7, STANDARDS N3–N6.
 */
static size_t handle_notify(struct daemon *d, const uint8_t *pkt, size_t len,
			    const struct sockaddr *peer, const char *proto,
			    uint8_t *out, size_t cap)
{
	struct scan_notify n;
	char src[INET6_ADDRSTRLEN];
	uint8_t key[16];
	size_t klen = source_key(peer, key, src, sizeof src);
	int rcode = RC_NOERROR, ede = -1, ret;
	const char *why = NULL, *ede_text = NULL;
	int64_t now = mono_ms();
	bool held = false, passed = false;

	cds_metrics_add(d->m, "cdscan_notify_received_total", proto, 1);
	scan_notify_parse(pkt, len, &n);
	switch (n.kind) {
	case SCAN_NOTIFY_DROP:
		why = "malformed";
		goto drop;
	case SCAN_NOTIFY_FORMERR:
		if (n.qdcount > 1) {
			/* N3, RFC 9859 §4.3: several zones in one NOTIFY
			   are discarded, not answered */
			why = "several-zones";
			goto drop;
		}
		rcode = RC_FORMERR;
		why = "formerr";
		goto answer;
	case SCAN_NOTIFY_NOTIMP:
		rcode = RC_NOTIMP;
		why = "not-notify";
		goto answer;
	case SCAN_NOTIFY_WRONG_TYPE:
		rcode = RC_REFUSED;
		why = "not-cds-csync";
		goto answer;
	case SCAN_NOTIFY_OK:
		break;
	}
	/* Packets refused before or by the source's rate limit are logged
	   at debug level only (and counted in the metrics): a flood must
	   not become a log flood. N6: the source first, so that a flood never reaches the
	   database. A source over its limit gets REFUSED + EDE 15 from a
	   second bucket of the same size; beyond that (more than twice its
	   rate) nothing, so we never reflect more than 2x the rate. */
	if (!cds_ratelimit_take(d->rl_src, key, klen, now)) {
		if (!cds_ratelimit_take(d->rl_refuse, key, klen, now)) {
			why = "flood";
			goto drop;
		}
		cds_metrics_add(d->m, "cdscan_notify_throttled_total",
				"source", 1);
		log_debug("daemon: NOTIFY %s from %s (%s): throttled (source)",
			 n.zone, src, proto);
		rcode = RC_REFUSED;
		ede = SCAN_EDE_BLOCKED;
		ede_text = "rate limit (source)";
		goto encode;
	}
	passed = true;
	if (zone_held(d, n.zone, now, &held) != 0) {
		rcode = RC_SERVFAIL;
		why = "database";
		goto answer;
	}
	if (!held) {
		rcode = RC_REFUSED;
		ede = SCAN_EDE_NOT_AUTH;
		ede_text = "not a delegation of this registry";
		why = "unknown-zone";
		goto answer;
	}
	if (!cds_ratelimit_take(d->rl_zone, n.zone, strlen(n.zone), now)) {
		cds_metrics_add(d->m, "cdscan_notify_throttled_total", "zone",
				1);
		log_debug("daemon: NOTIFY %s from %s (%s): throttled (zone)",
			 n.zone, src, proto);
		rcode = RC_REFUSED;
		ede = SCAN_EDE_BLOCKED;
		ede_text = "rate limit (zone)";
		goto encode;
	}
	if (d->stop_signals || !enqueue(d, n.zone)) {
		rcode = RC_REFUSED;
		ede = SCAN_EDE_BLOCKED;
		ede_text = d->stop_signals ? "shutting down" : "queue full";
		why = "queue-full";
		goto answer;
	}
	/* N4: RFC 1996 §4.7 answer, and the scan a schedule would run */
	cds_metrics_add(d->m, "cdscan_notify_acted_total", NULL, 1);
	log_info("daemon: NOTIFY(%s) %s from %s (%s): scan queued",
		 n.qtype == 62 ? "CSYNC" : "CDS", n.zone, src, proto);
	start_notify_scan(d);
	goto encode;
answer:
	cds_metrics_add(d->m, "cdscan_notify_refused_total", why, 1);
	/* at info only what got past the source's rate limit */
	(passed ? log_info : log_debug)("daemon: NOTIFY %s from %s (%s): "
					"rcode %d (%s)",
					*n.zone ? n.zone : "?", src, proto,
					rcode, why);
encode:
	ret = scan_notify_answer(pkt, len, &n, rcode, ede, ede_text, out, cap);
	return ret > 0 ? (size_t)ret : 0;
drop:
	cds_metrics_add(d->m, "cdscan_notify_dropped_total", why, 1);
	log_debug("daemon: packet from %s (%s) dropped (%s)", src, proto, why);
	return 0;
}

static void on_udp(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	uint8_t pkt[SCAN_NOTIFY_MAX], ans[4096];

	(void)what;
	for (int i = 0; i < UDP_BURST; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof peer;
		ssize_t n = recvfrom(fd, pkt, sizeof pkt, 0,
				     (struct sockaddr *)&peer, &pl);
		size_t alen;

		if (n < 0)
			return; /* EAGAIN, or an ICMP error of an old send */
		alen = handle_notify(d, pkt, (size_t)n,
				     (struct sockaddr *)&peer, "udp", ans,
				     sizeof ans);
		if (alen)
			(void)sendto(fd, ans, alen, 0, (struct sockaddr *)&peer,
				     pl);
	}
}

static void tcp_close(struct tcp_conn *c)
{
	struct daemon *d = c->d;

	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	d->n_conns--;
	bufferevent_free(c->bev);
	free(c);
}

/* RFC 7766 §8: two-byte length, then the message; several per
   connection. */
static void tcp_read(struct bufferevent *bev, void *arg)
{
	struct tcp_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint8_t pkt[2 + SCAN_NOTIFY_MAX], ans[2 + 4096];

	for (;;) {
		uint8_t hdr[2];
		size_t mlen, alen;

		if (evbuffer_copyout(in, hdr, 2) < 2)
			return;
		mlen = (size_t)hdr[0] << 8 | hdr[1];
		if (mlen == 0) {
			tcp_close(c);
			return;
		}
		if (evbuffer_get_length(in) < 2 + mlen)
			return;
		evbuffer_remove(in, pkt, 2 + mlen);
		alen = handle_notify(c->d, pkt + 2, mlen,
				     (struct sockaddr *)&c->peer, "tcp",
				     ans + 2, sizeof ans - 2);
		if (!alen)
			continue;
		ans[0] = (uint8_t)(alen >> 8);
		ans[1] = (uint8_t)alen;
		bufferevent_write(bev, ans, alen + 2);
	}
}

static void tcp_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* EOF, error or the idle timeout: all end it */
	tcp_close(arg);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *sa, int salen, void *arg)
{
	struct daemon *d = arg;
	struct timeval idle = {TCP_IDLE_S, 0};
	struct tcp_conn *c;

	(void)l;
	if (d->n_conns >= TCP_CONN_MAX || d->stop_signals ||
	    !(c = calloc(1, sizeof *c))) {
		cds_metrics_add(d->m, "cdscan_notify_dropped_total",
				"tcp-connections", 1);
		evutil_closesocket(fd);
		return;
	}
	c->d = d;
	memcpy(&c->peer, sa, (size_t)salen < sizeof c->peer ? (size_t)salen
							      : sizeof c->peer);
	if (!(c->bev = bufferevent_socket_new(d->base, fd,
					      BEV_OPT_CLOSE_ON_FREE))) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, tcp_read, NULL, tcp_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	/* one message and its length at most in the input buffer */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 2 + SCAN_NOTIFY_MAX);
	bufferevent_enable(c->bev, EV_READ);
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->n_conns++;
}

static void listeners_close(struct listener *lis, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lis[i].ev_udp)
			event_free(lis[i].ev_udp);
		if (lis[i].udp >= 0)
			close(lis[i].udp);
		if (lis[i].tcp)
			evconnlistener_free(lis[i].tcp);
		memset(&lis[i], 0, sizeof lis[i]);
		lis[i].udp = -1;
	}
}

/* Bind UDP and TCP on every address of `conf` into lis; all or none. */
static int listeners_open(struct daemon *d, const struct conf *conf,
			  struct listener *lis, size_t *n_out)
{
	const char *const *specs;
	size_t n = conf_list(conf, "daemon.listen", &specs), i;

	*n_out = 0;
	if (n > LISTEN_MAX) {
		log_err("daemon: daemon.listen: at most %d addresses",
			LISTEN_MAX);
		return CDS_ECONFIG;
	}
	for (i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		int sl = sizeof ss, fd;
		struct listener *l = &lis[i];

		memset(l, 0, sizeof *l);
		l->udp = -1;
		snprintf(l->spec, sizeof l->spec, "%s", specs[i]);
		if (evutil_parse_sockaddr_port(specs[i], (struct sockaddr *)&ss,
					       &sl) != 0) {
			errno = EINVAL;
			goto fail;
		}
		if ((l->udp = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK |
				     SOCK_CLOEXEC, 0)) < 0 ||
		    evutil_make_listen_socket_reuseable(l->udp) != 0 ||
		    bind(l->udp, (struct sockaddr *)&ss, (socklen_t)sl) != 0)
			goto fail;
		l->ev_udp = event_new(d->base, l->udp, EV_READ | EV_PERSIST,
				      on_udp, d);
		if (!l->ev_udp || event_add(l->ev_udp, NULL) != 0)
			goto fail;
		if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
				 SOCK_CLOEXEC, 0)) < 0)
			goto fail;
		if (evutil_make_listen_socket_reuseable(fd) != 0 ||
		    bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) != 0 ||
		    !(l->tcp = evconnlistener_new(d->base, on_accept, d,
						  LEV_OPT_CLOSE_ON_FREE, 64,
						  fd))) {
			close(fd);
			goto fail;
		}
		log_info("daemon: listening for NOTIFY on %s (UDP, TCP)",
			 specs[i]);
	}
	*n_out = n;
	return 0;
fail:
	log_err("daemon: listen on %s: %s", specs[i], strerror(errno));
	listeners_close(lis, i + 1);
	return CDS_ENET;
}

/* ---- schedule, outbox, configuration ---------------------------------------- */

/* Milliseconds from now to the next scheduled scan; -1 when off. */
static int64_t schedule_next_ms(const struct conf *conf, bool at_start)
{
	const char *s = conf_str(conf, "daemon.schedule");
	unsigned h, m;
	time_t now = time(NULL), t;
	struct tm tm;
	char *end;
	unsigned long long v;

	if (strcmp(s, "off") == 0)
		return -1;
	if (sscanf(s, "%2u:%2u", &h, &m) == 2 && strchr(s, ':')) {
		gmtime_r(&now, &tm);
		tm.tm_hour = (int)h;
		tm.tm_min = (int)m;
		tm.tm_sec = 0;
		if ((t = timegm(&tm)) <= now)
			t += 86400;
		return (int64_t)(t - now) * 1000;
	}
	/* an interval: at start, then that long after each start (the
	   syntax is checked by the configuration) */
	if (at_start)
		return 0;
	v = strtoull(s, &end, 10);
	switch (*end) {
	case 'm': return *(end + 1) == 's' ? (int64_t)v : (int64_t)v * 60000;
	case 'h': return (int64_t)v * 3600000;
	case 'd': return (int64_t)v * 86400000;
	case 's': return (int64_t)v * 1000;
	default: return (int64_t)v * 1000;
	}
}

static void arm_ms(struct event *ev, int64_t ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};

	event_add(ev, &tv);
}

static void schedule_arm(struct daemon *d, bool at_start)
{
	int64_t ms = schedule_next_ms(d->conf, at_start);

	event_del(d->ev_sched);
	if (ms < 0)
		return;
	arm_ms(d->ev_sched, ms);
	log_info("daemon: next scheduled scan in %" PRId64 " s", ms / 1000);
}

static void on_schedule(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;

	(void)fd;
	(void)what;
	start_scheduled_scan(d);
	schedule_arm(d, false);
}

static void outbox_arm(struct daemon *d)
{
	event_del(d->ev_outbox);
	if (strcmp(conf_enum(d->conf, "sink"), "epp") == 0)
		arm_ms(d->ev_outbox,
		       conf_duration_ms(d->conf, "daemon.outbox-interval"));
}

static void on_outbox(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	char *argv[] = {"outbox", NULL};

	(void)fd;
	(void)what;
	/* retries between scans; a sender still busy is left alone */
	if (!d->ch[CH_OUTBOX].pid && !d->stop_signals)
		spawn(d, CH_OUTBOX, 1, argv);
	outbox_arm(d);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	start_notify_scan(arg);
}

static int rate_tables(struct daemon *d, const struct conf *conf)
{
	double rs = conf_rate(conf, "daemon.notify-rate-source");
	double bs = (double)conf_int(conf, "daemon.notify-rate-source-burst");
	struct cds_ratelimit *src = cds_ratelimit_new(rs, bs, RL_KEYS);
	struct cds_ratelimit *ref = cds_ratelimit_new(rs, bs, RL_KEYS);
	struct cds_ratelimit *zone = cds_ratelimit_new(
		conf_rate(conf, "daemon.notify-rate-zone"),
		(double)conf_int(conf, "daemon.notify-rate-zone-burst"),
		RL_KEYS);

	if (!src || !ref || !zone) {
		cds_ratelimit_free(src);
		cds_ratelimit_free(ref);
		cds_ratelimit_free(zone);
		return CDS_ENOMEM;
	}
	cds_ratelimit_free(d->rl_src);
	cds_ratelimit_free(d->rl_refuse);
	cds_ratelimit_free(d->rl_zone);
	d->rl_src = src;
	d->rl_refuse = ref;
	d->rl_zone = zone;
	return 0;
}

static void apply_log_level(const struct cli_global *g, const struct conf *conf)
{
	const char *l = conf_enum(conf, "log.level");

	/* -v on the command line wins over log.level, as in every command */
	if (g->verbose)
		return;
	log_set_level(strcmp(l, "error") == 0     ? LOG_LVL_ERR
		      : strcmp(l, "info") == 0    ? LOG_LVL_INFO
		      : strcmp(l, "debug") == 0   ? LOG_LVL_DEBUG
						  : LOG_LVL_WARN);
}

static bool same_list(const struct conf *a, const struct conf *b,
		      const char *key)
{
	const char *const *x, *const *y;
	size_t n = conf_list(a, key, &x);

	if (conf_list(b, key, &y) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(x[i], y[i]) != 0)
			return false;
	return true;
}

/* SIGHUP: the file again. A bad file, or addresses that cannot be
   bound, leave everything as it was. */
static void reload(struct daemon *d)
{
	struct listener lis[LISTEN_MAX];
	struct conf *nc = NULL;
	struct evhttp *http = NULL;
	const char *path = d->g->config_path;
	size_t n_lis = 0;
	bool new_lis, new_http;
	char err[512];
	struct stat st;

	sd_send("RELOADING=1");
	if (!path && !(stat(CONF_DEFAULT_PATH, &st) != 0 && errno == ENOENT))
		path = CONF_DEFAULT_PATH;
	if (conf_load(path, &nc, err, sizeof err) != 0) {
		log_err("daemon: reload refused, configuration kept: %s", err);
		goto out;
	}
	new_lis = !same_list(d->conf, nc, "daemon.listen");
	new_http = strcmp(conf_str(d->conf, "daemon.metrics-listen"),
			  conf_str(nc, "daemon.metrics-listen")) != 0;
	/* our own addresses are still bound: let go of those first when
	   they change, and take them back when the new ones fail */
	if (new_lis)
		listeners_close(d->lis, d->n_lis);
	if (new_lis && listeners_open(d, nc, lis, &n_lis) != 0) {
		if (listeners_open(d, d->conf, d->lis, &d->n_lis) != 0)
			log_err("daemon: old listeners lost too");
		log_err("daemon: reload refused, configuration kept");
		goto out;
	}
	if (new_http && http_open(d, nc, &http) == 0) {
		if (d->http)
			evhttp_free(d->http);
		d->http = http;
	} else if (new_http) {
		log_err("daemon: metrics endpoint not moved");
	}
	if (rate_tables(d, nc) != 0) {
		log_err("daemon: reload: out of memory; old rate limits kept");
	}
	if (new_lis) {
		memcpy(d->lis, lis, sizeof lis);
		d->n_lis = n_lis;
	}
	if (strcmp(conf_str(d->conf, "database"), conf_str(nc, "database"))) {
		db_close(d->db);
		d->db = NULL;
		d->db_failed_ms = 0;
	}
	if (strcmp(conf_enum(d->conf, "daemon.log"),
		   conf_enum(nc, "daemon.log")) != 0) {
		const char *to = conf_enum(nc, "daemon.log");

		/* the last line where the old target still sees it */
		log_info("daemon: logging to %s from now on", to);
		if (strcmp(to, "syslog") == 0)
			log_use_syslog("cdscan");
		else
			log_use_stderr();
		log_info("daemon: logging to %s", to);
	}
	/* answers remembered under another database or TTL: forget them */
	if (d->held && (strcmp(conf_str(d->conf, "database"),
			       conf_str(nc, "database")) != 0 ||
			conf_duration_ms(d->conf, "daemon.held-cache-ttl") !=
				conf_duration_ms(nc, "daemon.held-cache-ttl")))
		memset(d->held, 0, HELD_CACHE * sizeof *d->held);
	conf_free(d->conf);
	d->conf = nc;
	nc = NULL;
	apply_log_level(d->g, d->conf);
	schedule_arm(d, false);
	outbox_arm(d);
	log_info("daemon: configuration %s reloaded", conf_path(d->conf));
out:
	conf_free(nc);
	sd_send("READY=1");
}

/* ---- signals and the loop -------------------------------------------------- */

static void sig_handler(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	(void)!write(sig_pipe[1], &b, 1);
	errno = saved;
}

static void stop(struct daemon *d, int sig)
{
	d->stop_signals++;
	if (d->stop_signals == 1) {
		log_info("daemon: %s: stopping; waiting for the scans in flight",
			 strsignal(sig));
		sd_send("STOPPING=1");
		listeners_close(d->lis, d->n_lis);
		d->n_lis = 0;
		while (d->conns)
			tcp_close(d->conns);
		if (d->http)
			evhttp_free(d->http);
		d->http = NULL;
		event_del(d->ev_sched);
		event_del(d->ev_outbox);
		event_del(d->ev_retry);
	}
	/* The scan's own handler: the first SIGTERM finishes what is in
	   flight and commits, a second one leaves at once (claims lapse). */
	for (int k = 0; k < CH__N; k++)
		if (d->ch[k].pid)
			kill(d->ch[k].pid, SIGTERM);
	reap(d);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	struct daemon *d = arg;
	unsigned char sigs[64];
	ssize_t n = read(fd, sigs, sizeof sigs);

	(void)what;
	for (ssize_t i = 0; i < n; i++) {
		switch (sigs[i]) {
		case SIGCHLD: reap(d); break;
		case SIGHUP:
			if (!d->stop_signals)
				reload(d);
			break;
		default: stop(d, sigs[i]); break;
		}
	}
}

static int signals_setup(struct daemon *d)
{
	struct sigaction sa = {.sa_handler = sig_handler};
	const int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGCHLD};

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return CDS_EIO;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->ev_sig = event_new(d->base, sig_pipe[0], EV_READ | EV_PERSIST,
			      on_signal, d);
	return d->ev_sig && event_add(d->ev_sig, NULL) == 0 ? 0 : CDS_ENOMEM;
}

static void daemon_free(struct daemon *d)
{
	listeners_close(d->lis, d->n_lis);
	while (d->conns)
		tcp_close(d->conns);
	if (d->http)
		evhttp_free(d->http);
	if (d->ev_sig)
		event_free(d->ev_sig);
	if (d->ev_sched)
		event_free(d->ev_sched);
	if (d->ev_outbox)
		event_free(d->ev_outbox);
	if (d->ev_retry)
		event_free(d->ev_retry);
	if (d->base)
		event_base_free(d->base);
	cds_ratelimit_free(d->rl_src);
	cds_ratelimit_free(d->rl_refuse);
	cds_ratelimit_free(d->rl_zone);
	cds_metrics_free(d->m);
	db_close(d->db);
	conf_free(d->conf);
	free(d->ch[CH_NOTIFY].batch);
	free(d->held);
}

static void daemon_usage(FILE *f)
{
	fprintf(f, "usage: cdscan [-c FILE] [-v] daemon [--foreground]\n"
		   "  runs in the foreground always (systemd starts it)\n");
}

int cmd_daemon(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"foreground", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct daemon d = {.g = g};
	int c, ret = CLI_EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f': break;
		case 'h': daemon_usage(stdout); return CLI_EXIT_OK;
		default: daemon_usage(stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		daemon_usage(stderr);
		return CLI_EXIT_USAGE;
	}
	for (int k = 0; k < CH__N; k++)
		d.ch[k].fd = -1;
	if (!(d.conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	if (strcmp(conf_enum(d.conf, "daemon.log"), "syslog") == 0)
		log_use_syslog("cdscan");
	/* the schema must be ours before we answer for any zone */
	if (!(d.db = cli_open_db(d.conf, "daemon", false)))
		goto out;
	if (db_daemon_limit(d.db, db_timeout(&d)) != 0) {
		log_err("daemon: database: %s", db_errmsg(d.db));
		goto out;
	}
	if (!(d.held = calloc(HELD_CACHE, sizeof *d.held)) ||
	    !(d.base = event_base_new()) || metrics_setup(&d) != 0 ||
	    rate_tables(&d, d.conf) != 0 || signals_setup(&d) != 0 ||
	    !(d.ev_sched = evtimer_new(d.base, on_schedule, &d)) ||
	    !(d.ev_outbox = evtimer_new(d.base, on_outbox, &d)) ||
	    !(d.ev_retry = evtimer_new(d.base, on_retry, &d))) {
		log_err("daemon: out of memory");
		goto out;
	}
	if (listeners_open(&d, d.conf, d.lis, &d.n_lis) != 0 ||
	    http_open(&d, d.conf, &d.http) != 0)
		goto out;
	refresh_gauges(&d, true);
	schedule_arm(&d, true);
	outbox_arm(&d);
	log_info("daemon: started (pid %d)", (int)getpid());
	sd_send("READY=1");
	event_base_dispatch(d.base);
	log_info("daemon: stopped");
	ret = CLI_EXIT_OK;
out:
	daemon_free(&d);
	return ret;
}
