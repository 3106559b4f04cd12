/*
 * Notifications out: `cdscan notify` hands every due event (cdscan.event)
 * to the configured hook, one process per event, the event as one JSON
 * object on its standard input; exit status 0 means delivered. A hook
 * that fails is tried again later with back-off, one that hangs is killed
 * after notify.timeout, and after notify.max-attempts the event is marked
 * failed. Scans never wait for any of this: they write the events, and
 * cli_notify_kick() starts a detached `cdscan notify` that delivers them.
 * `cdscan events [DOMAIN]` shows the events and their delivery state.
 *
 * The hook runs without a shell (notify.hook is split into words here),
 * so nothing of an event's text is ever interpreted as a command.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "db/db.h"

#define HOOK_ARGS_MAX 64
#define NOTIFY_DEFAULT_LIMIT 1000
#define EVENTS_DEFAULT_LIMIT 50

/* ---- the hook command ----------------------------------------------------- */

/*
 * Split `line` into words in `buf` (as long as line): blanks separate,
 * '...' and "..." quote, a backslash outside single quotes takes the next
 * character as it is. argv gets NULL after the last word. Returns the
 * number of words, or -1 with why in err.
 */
int cli_hook_split(const char *line, char *buf, char **argv, size_t max,
		   char *err, size_t errlen)
{
	size_t n = 0;
	char *o = buf;
	const char *s = line;

	while (*s) {
		char q = 0;

		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (n + 1 >= max) {
			snprintf(err, errlen, "more than %zu words", max - 1);
			return -1;
		}
		argv[n++] = o;
		for (; *s && (q || (*s != ' ' && *s != '\t')); s++) {
			if (q && *s == q) {
				q = 0;
			} else if (!q && (*s == '\'' || *s == '"')) {
				q = *s;
			} else if (*s == '\\' && q != '\'' && s[1]) {
				*o++ = *++s;
			} else {
				*o++ = *s;
			}
		}
		if (q) {
			snprintf(err, errlen, "unterminated %c quote", q);
			return -1;
		}
		*o++ = '\0';
	}
	argv[n] = NULL;
	if (n == 0) {
		snprintf(err, errlen, "empty command");
		return -1;
	}
	return (int)n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child's side: stdin from the pipe, stdout onto our stderr (our
   stdout is the report), its own process group so a timeout kills
   whatever it started too. Reports a failed exec through `errfd`. */
static void hook_child(char **argv, int in, int errfd)
{
	int e;

	setpgid(0, 0);
	if (dup2(in, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		_exit(127);
	close(in);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	e = errno;
	if (write(errfd, &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

/* Feed what is left of the event to the hook without blocking: a hook
   that does not read must still be stopped by the timeout. */
static void feed(int *fd, const char *data, size_t len, size_t *off)
{
	ssize_t w;

	if (*fd < 0)
		return;
	while (*off < len) {
		w = write(*fd, data + *off, len - *off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN)
			return;
		if (w < 0) /* EPIPE: it closed its stdin; its exit decides */
			break;
		*off += (size_t)w;
	}
	close(*fd);
	*fd = -1;
}

/*
 * Run the hook with `data` on its stdin. Returns 0 when it exited 0;
 * otherwise -1 with why in err ("exit 3", "killed after 30000 ms",
 * "cannot run ...: No such file or directory").
 */
static int run_hook(char **argv, const char *data, int64_t timeout_ms,
		    char *err, size_t errlen)
{
	int in[2] = {-1, -1}, ex[2] = {-1, -1}, st = 0, e = 0, ret = -1;
	int64_t deadline = mono_ms() + timeout_ms;
	size_t len = strlen(data), off = 0;
	pid_t pid = -1, w;
	bool killed = false;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(ex, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		hook_child(argv, in[0], ex[1]);
	close(in[0]);
	close(ex[1]);
	in[0] = ex[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	for (;;) {
		struct pollfd p = {.fd = in[1], .events = POLLOUT};

		feed(&in[1], data, len, &off);
		if ((w = waitpid(pid, &st, WNOHANG)) == pid)
			break;
		if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			goto out;
		}
		if (mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			killed = true;
			break;
		}
		/* wake on room in the pipe, else every 10 ms to reap */
		poll(in[1] >= 0 ? &p : NULL, in[1] >= 0 ? 1 : 0, 10);
	}
	pid = -1;
	if (read(ex[0], &e, sizeof e) == (ssize_t)sizeof e)
		snprintf(err, errlen, "cannot run %s: %s", argv[0],
			 strerror(e));
	else if (killed)
		snprintf(err, errlen, "killed after %lld ms (notify.timeout)",
			 (long long)timeout_ms);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		ret = 0;
	else if (WIFEXITED(st))
		snprintf(err, errlen, "exit %d", WEXITSTATUS(st));
	else
		snprintf(err, errlen, "killed by signal %d",
			 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (ex[i] >= 0)
			close(ex[i]);
	}
	return ret;
}

/* ---- cdscan notify ------------------------------------------------------------ */

static void notify_usage(FILE *f)
{
	fprintf(f, "usage: cdscan notify [--limit N] [--set KEY=VALUE]...\n");
}

struct notify_counts {
	size_t delivered, retry, failed;
};

/* Deliver due events until none is left or `limit` were tried. */
static int deliver(struct db *db, const struct conf *conf, char **argv,
		   int64_t now, long long limit, struct notify_counts *c)
{
	int64_t timeout = conf_duration_ms(conf, "notify.timeout");
	int64_t retry = conf_duration_ms(conf, "notify.retry");
	int max = (int)conf_int(conf, "notify.max-attempts");
	struct db_event ev;
	const char *state;
	char why[256];
	bool found;
	int ret;

	for (long long i = 0; i < limit; i++) {
		if ((ret = db_event_next(db, now, &ev, &found)) != 0)
			return ret;
		if (!found)
			break;
		why[0] = '\0';
		ret = run_hook(argv, ev.json, timeout, why, sizeof why);
		ret = db_event_finish(db, &ev, ret == 0, ret ? why : NULL, now,
				      retry, max, &state);
		if (ret == 0)
			printf("event %lld %s %s: %s%s%s\n", (long long)ev.id,
			       ev.kind, ev.domain, state, why[0] ? ": " : "",
			       why);
		db_event_deinit(&ev);
		if (ret != 0)
			return ret;
		if (strcmp(state, "delivered") == 0)
			c->delivered++;
		else if (strcmp(state, "failed") == 0)
			c->failed++;
		else
			c->retry++;
	}
	return CDS_OK;
}

int cmd_notify(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, 'n'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct notify_counts c = {0, 0, 0};
	long long limit = NOTIFY_DEFAULT_LIMIT;
	char *hargv[HOOK_ARGS_MAX], *buf = NULL, err[128];
	struct conf *conf = NULL;
	struct db *db = NULL;
	const char *hook;
	int o, ret = CLI_EXIT_USAGE;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (cli_positive(optarg, "notify", "--limit",
					 &limit) != 0)
				goto out;
			break;
		case 's':
			if (cli_set_option(conf, optarg, "notify") != 0)
				goto out;
			break;
		case 'h':
			notify_usage(stdout);
			ret = CLI_EXIT_OK;
			goto out;
		default: notify_usage(stderr); goto out;
		}
	}
	if (optind != argc) {
		notify_usage(stderr);
		goto out;
	}
	ret = CLI_EXIT_FAIL;
	hook = conf_str(conf, "notify.hook");
	if (!hook || !*hook) {
		fprintf(stderr, "cdscan notify: notify.hook is empty in %s: no "
				"command to deliver events to\n",
			conf_path(conf));
		goto out;
	}
	if (!(buf = malloc(strlen(hook) + 1)))
		goto out;
	if (cli_hook_split(hook, buf, hargv, HOOK_ARGS_MAX, err,
			   sizeof err) < 0) {
		fprintf(stderr, "cdscan notify: %s: notify.hook: %s\n",
			conf_path(conf), err);
		goto out;
	}
	if (!(db = cli_open_db(conf, "notify", false)))
		goto out;
	/* a hook that exits without reading must not kill us */
	signal(SIGPIPE, SIG_IGN);
	if (deliver(db, conf, hargv, cli_now(g), limit, &c) != 0) {
		fprintf(stderr, "cdscan notify: %s\n", db_errmsg(db));
		goto out;
	}
	printf("notify: %zu delivered, %zu to retry, %zu failed\n",
	       c.delivered, c.retry, c.failed);
	ret = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	free(buf);
	return ret;
}

/* ---- starting delivery from a scan ------------------------------------------ */

/* The detached notifier: what `cdscan notify` does, with the caller's
   configuration as it is in memory (its --set overrides included) and
   a connection of its own. Never returns. */
static void notify_detached(const struct conf *conf, int64_t now)
{
	const char *hook = conf_str(conf, "notify.hook");
	char *hargv[HOOK_ARGS_MAX], *buf = malloc(strlen(hook) + 1), err[128];
	struct notify_counts c = {0, 0, 0};
	struct db *db;

	if (!buf ||
	    cli_hook_split(hook, buf, hargv, HOOK_ARGS_MAX, err, sizeof err) < 0 ||
	    !(db = cli_open_db(conf, "notify", false)))
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	(void)deliver(db, conf, hargv, now, NOTIFY_DEFAULT_LIMIT, &c);
	db_close(db);
	_exit(0);
}

int cli_notify_kick(const struct cli_global *g, const struct conf *conf)
{
	const char *hook = conf_str(conf, "notify.hook");
	int64_t now = cli_now(g);
	pid_t pid;
	int st;

	if (!hook || !*hook)
		return 0;
	fflush(NULL);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		/* Double fork and a new session: the notifier is nobody's
		   child, so the scan neither waits for it nor reaps it. It
		   inherits the scan's descriptors but uses none of them (its
		   own database connection; _exit, so nothing of the parent's
		   is flushed or closed on the way out). */
		int fd;

		if (setsid() < 0 || fork() != 0)
			_exit(0);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			if (fd > STDERR_FILENO)
				close(fd);
		}
		notify_detached(conf, now);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return 0;
}

/* ---- cdscan events ---------------------------------------------------------- */

static void events_usage(FILE *f)
{
	fprintf(f, "usage: cdscan events [DOMAIN] [--limit N] [--json] "
		   "[--set KEY=VALUE]...\n");
}

int cmd_events(int argc, char **argv, const struct cli_global *g)
{
	static const struct option opts[] = {
		{"limit", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},
		{"set", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long long limit = EVENTS_DEFAULT_LIMIT;
	char domain[CDS_NAME_MAX];
	struct conf *conf = NULL;
	struct db *db = NULL;
	bool json = false;
	int o, ret = CLI_EXIT_USAGE;

	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	while ((o = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (o) {
		case 'n':
			if (cli_positive(optarg, "events", "--limit",
					 &limit) != 0)
				goto out;
			break;
		case 'j': json = true; break;
		case 's':
			if (cli_set_option(conf, optarg, "events") != 0)
				goto out;
			break;
		case 'h':
			events_usage(stdout);
			ret = CLI_EXIT_OK;
			goto out;
		default: events_usage(stderr); goto out;
		}
	}
	if (optind + 1 < argc) {
		events_usage(stderr);
		goto out;
	}
	if (optind < argc && cds_name_normalize(argv[optind], domain) != 0) {
		fprintf(stderr, "cdscan events: '%s' is not a domain name\n",
			argv[optind]);
		goto out;
	}
	ret = CLI_EXIT_FAIL;
	if (!(db = cli_open_db(conf, "events", false)))
		goto out;
	if (db_report_events(db, optind < argc ? domain : NULL, (size_t)limit,
			     json, stdout) != 0) {
		fprintf(stderr, "cdscan events: %s\n", db_errmsg(db));
		goto out;
	}
	ret = CLI_EXIT_OK;
out:
	db_close(db);
	conf_free(conf);
	return ret;
}
