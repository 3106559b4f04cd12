/*
 * Configuration. libyaml loads the file as a document of nested mappings;
 * the loader walks it and checks every leaf against the one const schema
 * table below (Knot's knot/conf/schema.c, Redis 6's configs[]). Each row
 * says the key, its type, its default written as a user would write it,
 * its range, its enum words and an optional check callback for rules a
 * range cannot say (refused digest types and algorithms). Defaults,
 * file values and conf_set overrides all go through the same parser and
 * the same checks, so a default cannot be something a user may not write.
 * Adding an option is one row here and one entry in docs/cdscan.yaml.5.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/conf.h"
#include "core/dnssec.h"
#include "core/errors.h"

/* A file larger than this is not a configuration file. */
#define CONF_MAX_FILE (1024 * 1024)
/* Longest dotted key. */
#define CONF_MAX_KEY 128

union conf_val {
	char *str;     /* CONF_STR */
	int64_t i;     /* CONF_INT, CONF_DURATION (ms), CONF_ENUM (index) */
	bool b;        /* CONF_BOOL */
	double rate;   /* CONF_RATE */
	struct {
		size_t n;
		char **v;
	} list;        /* CONF_LIST */
	struct {
		size_t n;
		int64_t *v;
	} ilist;       /* CONF_INT_LIST */
};

/*
 * A check callback sees a parsed, range-checked value. On refusal it
 * writes why into `why`, sets *bad to the offending list item (or leaves
 * it at SIZE_MAX for the whole value) and returns CDS_ECONFIG.
 */
typedef int (*conf_check_fn)(const union conf_val *v, size_t *bad, char *why,
			     size_t whylen);

struct conf_row {
	const char *key;
	enum conf_type type;
	const char *def; /* default as text: same syntax as conf_set */
	int64_t min, max;             /* INT, INT_LIST items, DURATION ms, RATE */
	const char *const *choices;   /* ENUM, NULL-terminated */
	conf_check_fn check;          /* NULL or extra rule */
	const char *doc;
};

#define SEC(n) ((int64_t)(n) * 1000)
#define DAY SEC(86400)

static const char *const log_levels[] = {"error", "warning", "info", "debug",
					 NULL};
static const char *const policy_inputs[] = {"both", "cds", "cdnskey", NULL};
static const char *const sinks[] = {"db", "requests", "epp", NULL};
static const char *const secdns_modes[] = {"auto", "dsData", "keyData", NULL};
static const char *const log_targets[] = {"stderr", "syslog", NULL};

static int check_servers(const union conf_val *v, size_t *bad, char *why,
			 size_t whylen);
static int check_digest_types(const union conf_val *v, size_t *bad, char *why,
			      size_t whylen);
static int check_cdnskey_digest(const union conf_val *v, size_t *bad,
				char *why, size_t whylen);
static int check_algorithms(const union conf_val *v, size_t *bad, char *why,
			    size_t whylen);
static int check_bootstrap(const union conf_val *v, size_t *bad, char *why,
			   size_t whylen);
static int check_schedule(const union conf_val *v, size_t *bad, char *why,
			  size_t whylen);
static int check_listen(const union conf_val *v, size_t *bad, char *why,
			size_t whylen);
static int check_listen_one(const union conf_val *v, size_t *bad, char *why,
			    size_t whylen);
static int check_positive(const union conf_val *v, size_t *bad, char *why,
			  size_t whylen);
static int check_dsync_target(const union conf_val *v, size_t *bad,
			      char *why, size_t whylen);
static int check_dsync_types(const union conf_val *v, size_t *bad, char *why,
			     size_t whylen);
static int check_dsync_owner(const union conf_val *v, size_t *bad, char *why,
			     size_t whylen);
static int parse_duration(const char *s, int64_t *ms);

/*
 * The schema. Rows of one section stay together (conf_print relies on
 * it, and the unit tests check it).
 */
static const struct conf_row schema[] = {
	{.key = "log.level", .type = CONF_ENUM, .def = "warning",
	 .choices = log_levels, .doc = "log threshold"},

	{.key = "database", .type = CONF_STR, .def = "",
	 .doc = "libpq conninfo; \"\" uses the PG* environment"},
	{.key = "sink", .type = CONF_ENUM, .def = "db", .choices = sinks,
	 .doc = "db: apply to the registry tables; requests: change "
		"requests; epp: send to a registry over EPP"},

	{.key = "epp.server", .type = CONF_STR, .def = "",
	 .doc = "the registry's EPP server; its certificate must name it"},
	{.key = "epp.port", .type = CONF_INT, .def = "700", .min = 1,
	 .max = 65535, .doc = "EPP port (RFC 5734: 700)"},
	{.key = "epp.ca-file", .type = CONF_STR, .def = "",
	 .doc = "CA certificates that may sign the server's certificate"},
	{.key = "epp.cert", .type = CONF_STR, .def = "",
	 .doc = "our client certificate (PEM, chain)"},
	{.key = "epp.key", .type = CONF_STR, .def = "",
	 .doc = "its private key (PEM)"},
	{.key = "epp.user", .type = CONF_STR, .def = "",
	 .doc = "EPP client id (clID)"},
	{.key = "epp.password-file", .type = CONF_STR, .def = "",
	 .doc = "file holding the EPP password; refused if group/other "
		"can read it"},
	{.key = "epp.timeout", .type = CONF_DURATION, .def = "30s",
	 .min = 100, .max = SEC(600), .doc = "connect, and wait for a response"},
	{.key = "epp.max-commands-per-minute", .type = CONF_INT, .def = "60",
	 .min = 0, .max = 100000, .doc = "commands sent per minute; 0 unlimited"},
	{.key = "epp.keepalive", .type = CONF_DURATION, .def = "5m",
	 .min = SEC(1), .max = DAY, .doc = "send <hello> after this long idle"},
	{.key = "epp.retry", .type = CONF_DURATION, .def = "1m", .min = 0,
	 .max = DAY, .doc = "wait before retrying a 2400 or a lost connection; "
	 "doubles per attempt"},
	{.key = "epp.retry-max", .type = CONF_DURATION, .def = "6h", .min = 0,
	 .max = 7 * DAY, .doc = "longest wait between retries"},
	{.key = "epp.poll-interval", .type = CONF_DURATION, .def = "30s",
	 .min = 10, .max = DAY, .doc = "epp send --loop: look for work this "
	 "often"},
	{.key = "epp.secdns", .type = CONF_ENUM, .def = "auto",
	 .choices = secdns_modes, .doc = "dsData or keyData; auto: as "
	 "domain:info shows (dsData when it shows neither)"},

	{.key = "resolver.servers", .type = CONF_LIST, .def = "[]",
	 .check = check_servers,
	 .doc = "recursive resolvers (ADDR or ADDR@PORT); empty: resolv.conf"},
	{.key = "resolver.trust-anchors", .type = CONF_STR,
	 .def = "/usr/share/dns/root.key",
	 .doc = "file of root DS/DNSKEY records; \"\" disables validation"},
	{.key = "resolver.timeout", .type = CONF_DURATION, .def = "5s",
	 .min = 10, .max = SEC(300), .doc = "timeout of one validated lookup"},

	{.key = "scanner.timeout", .type = CONF_DURATION, .def = "1500ms",
	 .min = 10, .max = SEC(60), .doc = "timeout of the first attempt"},
	{.key = "scanner.timeout-min", .type = CONF_DURATION, .def = "200ms",
	 .min = 0, .max = SEC(60),
	 .doc = "least first-attempt timeout learned from a server's answers; "
		"0: always scanner.timeout"},
	{.key = "scanner.retries", .type = CONF_INT, .def = "2", .min = 0,
	 .max = 10, .doc = "retries after the first attempt"},
	{.key = "scanner.backoff", .type = CONF_RATE, .def = "2", .min = 1,
	 .max = 10, .doc = "timeout multiplier per retry"},
	{.key = "scanner.max-inflight", .type = CONF_INT, .def = "2000",
	 .min = 1, .max = 100000, .doc = "queries in flight at once"},
	{.key = "scanner.rate-per-server", .type = CONF_RATE, .def = "50",
	 .min = 0, .max = 1000000, .doc = "queries/s per address, 0 unlimited"},
	{.key = "scanner.rate-global", .type = CONF_RATE, .def = "0", .min = 0,
	 .max = 10000000, .doc = "queries/s in total, 0 unlimited"},
	{.key = "scanner.port", .type = CONF_INT, .def = "53", .min = 1,
	 .max = 65535, .doc = "port of the child's nameservers (tests, bench)"},
	{.key = "scanner.tcp-only", .type = CONF_BOOL, .def = "false",
	 .doc = "query over TCP only"},
	{.key = "scanner.edns-bufsize", .type = CONF_INT, .def = "1232",
	 .min = 512, .max = 4096, .doc = "EDNS UDP payload size"},
	{.key = "scanner.max-answer", .type = CONF_INT, .def = "65535",
	 .min = 512, .max = 65535, .doc = "largest answer accepted"},

	{.key = "scan.batch-size", .type = CONF_INT, .def = "500", .min = 1,
	 .max = 100000, .doc = "delegations claimed and written per batch"},
	{.key = "scan.concurrency", .type = CONF_INT, .def = "1000", .min = 1,
	 .max = 100000, .doc = "delegations probed at once, at most"},
	{.key = "scan.adaptive-window", .type = CONF_BOOL, .def = "true",
	 .doc = "keep fewer in flight while more would only queue"},
	{.key = "scan.lease", .type = CONF_DURATION, .def = "5m",
	 .min = SEC(1), .max = DAY, .doc = "a worker's claim lasts this long "
	 "unless renewed"},
	{.key = "scan.early-stop", .type = CONF_BOOL, .def = "true",
	 .doc = "stop at the first answer that confirms the status quo (Q6)"},
	{.key = "scan.keep", .type = CONF_DURATION, .def = "0", .min = 0,
	 .max = 36500 * DAY, .doc = "`cdscan prune` (and the daemon after "
	 "each run) deletes scans older than this; 0 keeps them"},

	{.key = "policy.digest-types", .type = CONF_INT_LIST, .def = "[2, 4]",
	 .min = 0, .max = 255, .check = check_digest_types,
	 .doc = "accepted DS digest types"},
	{.key = "policy.cdnskey-digest", .type = CONF_INT, .def = "2", .min = 0,
	 .max = 255, .check = check_cdnskey_digest,
	 .doc = "digest type computed from CDNSKEY"},
	{.key = "policy.algorithms", .type = CONF_INT_LIST,
	 .def = "[8, 10, 13, 14, 15, 16]", .min = 0, .max = 255,
	 .check = check_algorithms, .doc = "accepted DNSKEY algorithms"},
	{.key = "policy.max-ds", .type = CONF_INT, .def = "8", .min = 1,
	 .max = 32, .doc = "largest DS set installed"},
	{.key = "policy.input", .type = CONF_ENUM, .def = "both",
	 .choices = policy_inputs, .doc = "which of CDS/CDNSKEY drives"},
	{.key = "policy.require-both", .type = CONF_BOOL, .def = "false",
	 .doc = "refuse a child that publishes only CDS or only CDNSKEY"},
	{.key = "policy.accept-any-dnskey", .type = CONF_BOOL, .def = "false",
	 .doc = "RFC 7344 §4.1: accept signatures by any proven DNSKEY"},
	{.key = "policy.exclude-unreachable-after", .type = CONF_DURATION,
	 .def = "0", .min = 0, .max = 365 * DAY,
	 .doc = "leave out servers silent this long (STANDARDS Q4); 0 never"},
	{.key = "policy.blocking-statuses", .type = CONF_LIST,
	 .def = "[serverUpdateProhibited, clientUpdateProhibited]",
	 .doc = "domain status flags that stop automation"},
	{.key = "policy.bootstrap", .type = CONF_LIST, .def = "[rfc9615]",
	 .check = check_bootstrap,
	 .doc = "bootstrap methods for a domain without DS: rfc9615, delay"},
	{.key = "policy.bootstrap-delay-scans", .type = CONF_INT, .def = "3",
	 .min = 1, .max = 1000,
	 .doc = "accept after delay: consecutive consistent scans needed"},
	{.key = "policy.bootstrap-delay", .type = CONF_DURATION, .def = "72h",
	 .min = 0, .max = 365 * DAY,
	 .doc = "accept after delay: time from the first to the last scan"},
	{.key = "policy.hold-down", .type = CONF_DURATION, .def = "0",
	 .min = 0, .max = 365 * DAY,
	 .doc = "minimum time between two DS changes of a domain; 0 off"},
	{.key = "policy.replay-protection", .type = CONF_BOOL, .def = "true",
	 .doc = "ignore CDS/CDNSKEY signed before the last change applied"},
	{.key = "policy.allow-delete", .type = CONF_BOOL, .def = "true",
	 .doc = "carry out delete requests (RFC 8078 §4)"},
	{.key = "policy.notify-rejected-after", .type = CONF_INT, .def = "3",
	 .min = 0, .max = 1000,
	 .doc = "rejected on this many scans in a row: one event; 0 never"},
	{.key = "policy.csync", .type = CONF_BOOL, .def = "true",
	 .doc = "act on CSYNC (RFC 7477): NS set and glue from the child"},
	{.key = "policy.csync-immediate", .type = CONF_BOOL, .def = "true",
	 .doc = "apply a CSYNC with the immediate flag at once; off: hold all"},
	{.key = "policy.csync-min-ns", .type = CONF_INT, .def = "2", .min = 1,
	 .max = 16, .doc = "fewest NS names a CSYNC NS set may have"},
	{.key = "policy.csync-max-ns", .type = CONF_INT, .def = "13", .min = 1,
	 .max = 16, .doc = "most NS names a CSYNC NS set may have"},

	{.key = "notify.hook", .type = CONF_STR, .def = "",
	 .doc = "command run per event, JSON on stdin, no shell; \"\" none"},
	{.key = "notify.timeout", .type = CONF_DURATION, .def = "30s",
	 .min = 10, .max = SEC(3600),
	 .doc = "a hook still running after this long is killed"},
	{.key = "notify.max-attempts", .type = CONF_INT, .def = "10",
	 .min = 1, .max = 1000,
	 .doc = "deliveries tried before an event is marked failed"},
	{.key = "notify.retry", .type = CONF_DURATION, .def = "5m",
	 .min = 0, .max = DAY,
	 .doc = "wait before the first retry; doubles each time"},

	{.key = "daemon.schedule", .type = CONF_STR, .def = "02:00",
	 .check = check_schedule,
	 .doc = "full scan: daily at HH:MM (UTC), every DURATION from "
		"start (\"6h\"), or off"},
	{.key = "daemon.listen", .type = CONF_LIST, .def = "[]",
	 .check = check_listen,
	 .doc = "NOTIFY listeners, ADDR:PORT or [ADDR6]:PORT, UDP and TCP; "
		"empty: none"},
	{.key = "daemon.notify-rate-source", .type = CONF_RATE, .def = "1",
	 .min = 0, .max = 100000, .check = check_positive,
	 .doc = "NOTIFYs per second accepted from one source address (N6)"},
	{.key = "daemon.notify-rate-source-burst", .type = CONF_INT,
	 .def = "10", .min = 1, .max = 100000,
	 .doc = "NOTIFYs one source may send at once"},
	{.key = "daemon.notify-rate-zone", .type = CONF_RATE, .def = "0.2",
	 .min = 0, .max = 100000, .check = check_positive,
	 .doc = "NOTIFYs per second acted on for one zone (N6)"},
	{.key = "daemon.notify-rate-zone-burst", .type = CONF_INT, .def = "3",
	 .min = 1, .max = 100000,
	 .doc = "NOTIFYs one zone may have at once"},
	{.key = "daemon.metrics-listen", .type = CONF_STR, .def = "",
	 .check = check_listen_one,
	 .doc = "Prometheus endpoint (GET /metrics), ADDR:PORT; \"\" off"},
	{.key = "daemon.log", .type = CONF_ENUM, .def = "stderr",
	 .choices = log_targets, .doc = "where the daemon logs"},
	{.key = "daemon.outbox-interval", .type = CONF_DURATION, .def = "1m",
	 .min = SEC(1), .max = DAY,
	 .doc = "sink: epp: send what the outbox holds this often"},
	{.key = "daemon.db-timeout", .type = CONF_DURATION, .def = "500ms",
	 .min = 50, .max = SEC(60),
	 .doc = "the daemon's own database questions (is a NOTIFY's zone "
		"held?) end within this; then SERVFAIL"},
	{.key = "daemon.held-cache-ttl", .type = CONF_DURATION, .def = "10s",
	 .min = 0, .max = SEC(3600),
	 .doc = "remember whether a NOTIFY's zone is held this long; 0 off"},
	{.key = "daemon.notify-retries", .type = CONF_INT, .def = "3",
	 .min = 0, .max = 20,
	 .doc = "a NOTIFY scan that failed is tried this many times more"},
	{.key = "daemon.notify-retry-delay", .type = CONF_DURATION,
	 .def = "5s", .min = 100, .max = SEC(3600),
	 .doc = "wait before the first retry; doubles each time"},

	{.key = "dsync.target", .type = CONF_STR, .def = "",
	 .check = check_dsync_target,
	 .doc = "host name of the NOTIFY endpoint that `cdscan export` "
		"advertises in DSYNC records (RFC 9859); \"\" none"},
	{.key = "dsync.port", .type = CONF_INT, .def = "5359", .min = 1,
	 .max = 65535, .doc = "its port: one of daemon.listen's"},
	{.key = "dsync.types", .type = CONF_LIST, .def = "[cds, csync]",
	 .check = check_dsync_types,
	 .doc = "NOTIFYs advertised, one DSYNC each: cds, csync"},
	{.key = "dsync.owner", .type = CONF_STR, .def = "",
	 .check = check_dsync_owner,
	 .doc = "owner of the DSYNC records; \"\": *._dsync.ORIGIN"},
};

#define N_ROWS (sizeof schema / sizeof schema[0])

/* Where a value came from. */
enum origin { FROM_DEFAULT = 0, FROM_FILE, FROM_SET };

struct conf_item {
	union conf_val v;
	enum origin origin;
	int line; /* FROM_FILE: 1-based line of the key */
};

struct conf {
	char *path;
	struct conf_item items[N_ROWS];
};

/* ---- checks for rules a range cannot express ---- */

/* RFC 9904 Table 3 (STANDARDS A1): digest types that MUST NOT be created. */
static const char *digest_refusal(int64_t t)
{
	switch (t) {
	case 0: return "digest type 0 is reserved (only in a CDS delete "
		       "request) and cannot be accepted";
	case 1: return "digest type 1 (SHA-1) MUST NOT be created "
		       "(RFC 9904), refused";
	case 3: return "digest type 3 (GOST R 34.11-94) MUST NOT be created "
		       "(RFC 9904), refused";
	}
	return NULL;
}

static int check_digest_types(const union conf_val *v, size_t *bad, char *why,
			      size_t whylen)
{
	if (v->ilist.n == 0) {
		snprintf(why, whylen, "needs at least one digest type");
		return CDS_ECONFIG;
	}
	for (size_t i = 0; i < v->ilist.n; i++) {
		const char *r = digest_refusal(v->ilist.v[i]);

		if (r) {
			*bad = i;
			snprintf(why, whylen, "%s", r);
			return CDS_ECONFIG;
		}
	}
	return 0;
}

static int check_cdnskey_digest(const union conf_val *v, size_t *bad,
				char *why, size_t whylen)
{
	const char *r = digest_refusal(v->i);

	if (r) {
		snprintf(why, whylen, "%s", r);
		return CDS_ECONFIG;
	}
	if (v->i != 2 && v->i != 4) {
		snprintf(why, whylen,
			 "digest type %" PRId64 " cannot be computed; "
			 "use 2 (SHA-256) or 4 (SHA-384)", v->i);
		return CDS_ECONFIG;
	}
	return 0;
}

/* STANDARDS A2/A3: RFC 9904 levels, RFC 9905 §2 for 5 and 7. */
static const char *algorithm_refusal(int64_t a)
{
	switch (a) {
	case 1: return "algorithm 1 (RSAMD5) must not be used (RFC 9904), "
		       "refused";
	case 3: return "algorithm 3 (DSA) must not be used (RFC 9904), refused";
	case 5: return "algorithm 5 (RSASHA1) MUST NOT be used for new DS "
		       "records (RFC 9905 §2), refused";
	case 6: return "algorithm 6 (DSA-NSEC3-SHA1) must not be used "
		       "(RFC 9904), refused";
	case 7: return "algorithm 7 (RSASHA1-NSEC3-SHA1) MUST NOT be used for "
		       "new DS records (RFC 9905 §2), refused";
	case 12: return "algorithm 12 (ECC-GOST) is not accepted for new DS "
			"records (RFC 9904), refused";
	case 253:
	case 254: return "private algorithms 253 and 254 cannot be checked, "
			 "refused";
	}
	return NULL;
}

static int check_algorithms(const union conf_val *v, size_t *bad, char *why,
			    size_t whylen)
{
	if (v->ilist.n == 0) {
		snprintf(why, whylen, "needs at least one algorithm");
		return CDS_ECONFIG;
	}
	for (size_t i = 0; i < v->ilist.n; i++) {
		const char *r = algorithm_refusal(v->ilist.v[i]);

		if (r) {
			*bad = i;
			snprintf(why, whylen, "%s", r);
			return CDS_ECONFIG;
		}
	}
	return 0;
}

/* "ADDR" or "ADDR@PORT", ADDR an IPv4 or IPv6 literal (getdns style). */
static int check_server(const char *s, char *why, size_t whylen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *at = strchr(s, '@');
	size_t alen = at ? (size_t)(at - s) : strlen(s);

	if (alen == 0 || alen >= sizeof addr)
		goto bad;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, buf) != 1 &&
	    inet_pton(AF_INET6, addr, buf) != 1)
		goto bad;
	if (at) {
		char *end;
		long port;

		errno = 0;
		port = strtol(at + 1, &end, 10);
		if (!isdigit((unsigned char)at[1]) || *end || errno ||
		    port < 1 || port > 65535)
			goto bad;
	}
	return 0;
bad:
	snprintf(why, whylen,
		 "'%s' is not an address (ADDR or ADDR@PORT, e.g. "
		 "127.0.0.1@5353)", s);
	return CDS_ECONFIG;
}

/* STANDARDS §5: the bootstrap methods cdscan knows, each at most once. */
static int check_bootstrap(const union conf_val *v, size_t *bad, char *why,
			   size_t whylen)
{
	for (size_t i = 0; i < v->list.n; i++) {
		const char *w = v->list.v[i];

		if (strcmp(w, "rfc9615") != 0 && strcmp(w, "delay") != 0) {
			*bad = i;
			snprintf(why, whylen, "'%s' is not a bootstrap method "
				 "(rfc9615, delay)", w);
			return CDS_ECONFIG;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(v->list.v[j], w) == 0) {
				*bad = i;
				snprintf(why, whylen, "'%s' is listed twice", w);
				return CDS_ECONFIG;
			}
	}
	return 0;
}

static int check_servers(const union conf_val *v, size_t *bad, char *why,
			 size_t whylen)
{
	for (size_t i = 0; i < v->list.n; i++) {
		if (check_server(v->list.v[i], why, whylen) != 0) {
			*bad = i;
			return CDS_ECONFIG;
		}
	}
	return 0;
}

/* "HH:MM" (a time of day, UTC), a duration, or "off". */
static int check_schedule(const union conf_val *v, size_t *bad, char *why,
			  size_t whylen)
{
	const char *s = v->str;
	unsigned h, m;
	char end;
	int64_t ms;

	(void)bad;
	if (strcmp(s, "off") == 0)
		return 0;
	if (strchr(s, ':')) {
		if (sscanf(s, "%2u:%2u%c", &h, &m, &end) == 2 && h < 24 &&
		    m < 60 && strlen(s) == 5)
			return 0;
	} else if (parse_duration(s, &ms) == 0 && ms >= SEC(60)) {
		/* the same syntax and units as every duration key */
		return 0;
	}
	snprintf(why, whylen, "'%s' is not a schedule: HH:MM (daily, UTC), "
		 "a duration of at least 1m (e.g. 6h), or off", s);
	return CDS_ECONFIG;
}

/* ADDR:PORT or [ADDR6]:PORT, port 1-65535. */
static int check_hostport(const char *s, char *why, size_t whylen)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon, *a = s;
	size_t alen;
	char *end;
	long port;
	int af = AF_INET;

	if (*s == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			goto bad;
		a = s + 1;
		alen = (size_t)(rb - a);
		colon = rb + 1;
		af = AF_INET6;
	} else {
		if (!(colon = strchr(s, ':')) || strchr(colon + 1, ':'))
			goto bad;
		alen = (size_t)(colon - s);
	}
	if (alen == 0 || alen >= sizeof addr)
		goto bad;
	memcpy(addr, a, alen);
	addr[alen] = '\0';
	if (inet_pton(af, addr, buf) != 1)
		goto bad;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || errno || port < 1 ||
	    port > 65535)
		goto bad;
	return 0;
bad:
	snprintf(why, whylen, "'%s' is not ADDR:PORT or [ADDR6]:PORT (e.g. "
		 "192.0.2.1:53, [2001:db8::1]:53)", s);
	return CDS_ECONFIG;
}

static int check_listen(const union conf_val *v, size_t *bad, char *why,
			size_t whylen)
{
	for (size_t i = 0; i < v->list.n; i++) {
		if (check_hostport(v->list.v[i], why, whylen) != 0) {
			*bad = i;
			return CDS_ECONFIG;
		}
	}
	return 0;
}

static int check_listen_one(const union conf_val *v, size_t *bad, char *why,
			    size_t whylen)
{
	(void)bad;
	return *v->str ? check_hostport(v->str, why, whylen) : 0;
}

/* Token buckets need a rate above zero: N6 makes the limit a MUST. */
static int check_positive(const union conf_val *v, size_t *bad, char *why,
			  size_t whylen)
{
	(void)bad;
	if (v->rate > 0)
		return 0;
	snprintf(why, whylen, "must be above 0 (RFC 9859 §5: NOTIFYs are "
		 "always rate-limited)");
	return CDS_ECONFIG;
}

/* RFC 9859 §2.1: the target is a host name (absolute, not the root). */
static int check_dsync_target(const union conf_val *v, size_t *bad,
			      char *why, size_t whylen)
{
	char name[CDS_NAME_MAX];

	(void)bad;
	if (!*v->str)
		return 0;
	if (cds_name_normalize(v->str, name) == 0 && strcmp(name, ".") != 0)
		return 0;
	snprintf(why, whylen, "'%s' is not a host name", v->str);
	return CDS_ECONFIG;
}

/* N1: at most one DSYNC per (RRtype, Scheme), and only the types a
   NOTIFY can name (RFC 9859 §4: CDS covers CDNSKEY). */
static int check_dsync_types(const union conf_val *v, size_t *bad, char *why,
			     size_t whylen)
{
	for (size_t i = 0; i < v->list.n; i++) {
		const char *w = v->list.v[i];

		*bad = i;
		if (strcmp(w, "cds") != 0 && strcmp(w, "csync") != 0) {
			snprintf(why, whylen, "'%s' is not a DSYNC type "
				 "(cds, csync)", w);
			return CDS_ECONFIG;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(v->list.v[j], w) == 0) {
				snprintf(why, whylen, "'%s' is listed twice "
					 "(RFC 9859 §2: one DSYNC per type "
					 "and scheme)", w);
				return CDS_ECONFIG;
			}
	}
	return 0;
}

/* N1: `*._dsync.PARENT` or `CHILD-LABELS._dsync.PARENT`; a bare
   `_dsync.PARENT` is NOT RECOMMENDED (RFC 9859 §3), so refused. */
static int check_dsync_owner(const union conf_val *v, size_t *bad, char *why,
			     size_t whylen)
{
	char name[CDS_NAME_MAX];
	const char *d;

	(void)bad;
	if (!*v->str)
		return 0;
	if (cds_name_normalize(v->str, name) != 0) {
		snprintf(why, whylen, "'%s' is not a domain name", v->str);
		return CDS_ECONFIG;
	}
	if (strncmp(name, "_dsync.", 7) == 0) {
		snprintf(why, whylen, "a bare _dsync.PARENT owner is NOT "
			 "RECOMMENDED (RFC 9859 §3): use *.%s", name);
		return CDS_ECONFIG;
	}
	if (!(d = strstr(name, "._dsync.")) || !d[8]) {
		snprintf(why, whylen, "'%s' is not under _dsync.PARENT "
			 "(RFC 9859 §3: *._dsync.PARENT)", v->str);
		return CDS_ECONFIG;
	}
	return 0;
}

/* ---- schema lookup ---- */

static const struct conf_row *row_find(const char *key)
{
	for (size_t i = 0; i < N_ROWS; i++)
		if (strcmp(schema[i].key, key) == 0)
			return &schema[i];
	return NULL;
}

/* True when some key lies below the section `prefix` ("scanner"). */
static bool is_section(const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < N_ROWS; i++)
		if (strncmp(schema[i].key, prefix, n) == 0 &&
		    schema[i].key[n] == '.')
			return true;
	return false;
}

static const char *type_name(enum conf_type t)
{
	switch (t) {
	case CONF_STR: return "a string";
	case CONF_INT: return "an integer";
	case CONF_BOOL: return "a boolean (true/false, yes/no, on/off)";
	case CONF_DURATION: return "a duration (e.g. 30s, 500ms, 5m, 2h, 7d)";
	case CONF_ENUM: return "one word";
	case CONF_LIST: return "a list of strings";
	case CONF_INT_LIST: return "a list of integers";
	case CONF_RATE: return "a non-negative number";
	}
	return "?";
}

const char *conf_schema_key(size_t i)
{
	return i < N_ROWS ? schema[i].key : NULL;
}

/* ---- values from text ---- */

/* Durations as a user would write them; exact, so they round-trip. */
static void fmt_duration(int64_t ms, char *buf, size_t len)
{
	static const struct {
		int64_t ms;
		const char *suffix;
	} units[] = {{DAY, "d"}, {SEC(3600), "h"}, {SEC(60), "m"},
		     {SEC(1), "s"}};

	for (size_t i = 0; ms != 0 && i < sizeof units / sizeof units[0]; i++)
		if (ms % units[i].ms == 0) {
			snprintf(buf, len, "%" PRId64 "%s", ms / units[i].ms,
				 units[i].suffix);
			return;
		}
	snprintf(buf, len, "%" PRId64 "%s", ms, ms ? "ms" : "s");
}

/* Shortest text that reads back as the same double. */
static void fmt_rate(double r, char *buf, size_t len)
{
	snprintf(buf, len, "%g", r);
	if (strtod(buf, NULL) != r)
		snprintf(buf, len, "%.17g", r);
}

/* Decimal integer, whole text, no overflow. */
static int parse_i64(const char *s, int64_t *out)
{
	const char *digits = s + (*s == '-' || *s == '+');
	char *end;
	long long v;

	if (!isdigit((unsigned char)*digits))
		return CDS_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return CDS_EINVAL;
	*out = v;
	return 0;
}

static int range_error(const struct conf_row *row, const char *text,
		       char *why, size_t whylen)
{
	char lo[32], hi[32];

	if (row->type == CONF_DURATION) {
		fmt_duration(row->min, lo, sizeof lo);
		fmt_duration(row->max, hi, sizeof hi);
	} else {
		snprintf(lo, sizeof lo, "%" PRId64, row->min);
		snprintf(hi, sizeof hi, "%" PRId64, row->max);
	}
	snprintf(why, whylen, "%s is out of range %s..%s", text, lo, hi);
	return CDS_ECONFIG;
}

/* "30" (seconds), "500ms", "30s", "5m", "2h", "7d" -> milliseconds. */
static int parse_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *suffix;
		int64_t mult;
	} units[] = {{"ms", 1}, {"s", SEC(1)}, {"m", SEC(60)},
		     {"h", SEC(3600)}, {"d", DAY}, {"", SEC(1)}};
	char *end;
	unsigned long long n;

	if (!isdigit((unsigned char)*s))
		return CDS_EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno)
		return CDS_EINVAL;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (n > (unsigned long long)(INT64_MAX / units[i].mult))
			return CDS_EINVAL;
		*ms = (int64_t)n * units[i].mult;
		return 0;
	}
	return CDS_EINVAL;
}

/* Digits with at most one '.', so no "inf", "nan", hex or exponents. */
static int parse_rate(const char *s, double *out)
{
	size_t digits = strspn(s, "0123456789");
	const char *p = s + digits;

	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	if (*p || p == s || (digits == 0 && p == s + 1))
		return CDS_EINVAL;
	*out = strtod(s, NULL);
	return isfinite(*out) ? 0 : CDS_EINVAL;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return CDS_EINVAL;
}

static int enum_error(const struct conf_row *row, const char *s, char *why,
		      size_t whylen)
{
	size_t off = (size_t)snprintf(why, whylen, "'%s' is not one of", s);

	for (size_t i = 0; row->choices[i] && off < whylen; i++)
		off += (size_t)snprintf(why + off, whylen - off, "%s %s",
					i ? "," : "", row->choices[i]);
	return CDS_ECONFIG;
}

/*
 * One scalar of a row's type (for lists: one item) into `v`. Strings are
 * copied. Range checks here; the row's check callback runs on the whole
 * value later.
 */
static int parse_scalar(const struct conf_row *row, const char *s,
			union conf_val *v, char *why, size_t whylen)
{
	int64_t i = 0;

	switch (row->type) {
	case CONF_STR:
	case CONF_LIST:
		v->str = strdup(s);
		return v->str ? 0 : CDS_ENOMEM;
	case CONF_BOOL:
		if (parse_bool(s, &v->b) == 0)
			return 0;
		break;
	case CONF_ENUM:
		for (size_t k = 0; row->choices[k]; k++)
			if (strcmp(s, row->choices[k]) == 0)
				return v->i = (int64_t)k, 0;
		return enum_error(row, s, why, whylen);
	case CONF_RATE:
		if (parse_rate(s, &v->rate) != 0)
			break;
		if (v->rate < (double)row->min || v->rate > (double)row->max)
			return range_error(row, s, why, whylen);
		return 0;
	case CONF_INT:
	case CONF_INT_LIST:
	case CONF_DURATION:
		if ((row->type == CONF_DURATION ? parse_duration(s, &i)
						: parse_i64(s, &i)) != 0)
			break;
		if (i < row->min || i > row->max)
			return range_error(row, s, why, whylen);
		v->i = i;
		return 0;
	}
	snprintf(why, whylen, "'%s' is not %s", s,
		 row->type == CONF_INT_LIST ? "an integer" : type_name(row->type));
	return CDS_ECONFIG;
}

static bool is_list(enum conf_type t)
{
	return t == CONF_LIST || t == CONF_INT_LIST;
}

static void val_free(const struct conf_row *row, union conf_val *v)
{
	if (row->type == CONF_STR)
		free(v->str);
	if (row->type == CONF_LIST) {
		for (size_t i = 0; i < v->list.n; i++)
			free(v->list.v[i]);
		free(v->list.v);
	}
	if (row->type == CONF_INT_LIST)
		free(v->ilist.v);
	memset(v, 0, sizeof *v);
}

/* Append one parsed item to a list value. */
static int list_push(const struct conf_row *row, union conf_val *v,
		     const union conf_val *item)
{
	size_t n = v->list.n; /* list and ilist share the layout of n */
	void *p;

	if (row->type == CONF_LIST) {
		p = realloc(v->list.v, (n + 1) * sizeof(char *));
		if (!p)
			return CDS_ENOMEM;
		v->list.v = p;
		v->list.v[n] = item->str;
	} else {
		p = realloc(v->ilist.v, (n + 1) * sizeof(int64_t));
		if (!p)
			return CDS_ENOMEM;
		v->ilist.v = p;
		v->ilist.v[n] = item->i;
	}
	v->list.n = n + 1;
	return 0;
}

/*
 * A list from text, as conf_set and the defaults write it: "a, b",
 * "[a, b]", "[]" or "". Items are split at commas and trimmed.
 */
static int parse_list_text(const struct conf_row *row, const char *text,
			   union conf_val *v, char *why, size_t whylen)
{
	char *copy = strdup(text), *s = copy, *tok, *save = NULL;
	size_t len;
	int rc = CDS_ENOMEM;

	if (!copy)
		goto out;
	s += strspn(s, " \t");
	len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	if (s[0] == '[' && len && s[len - 1] == ']') {
		s[len - 1] = '\0';
		s++;
	}
	rc = 0;
	for (tok = strtok_r(s, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		union conf_val item = {0};

		tok += strspn(tok, " \t");
		len = strlen(tok);
		while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			tok[--len] = '\0';
		rc = parse_scalar(row, tok, &item, why, whylen);
		if (rc == 0 && (rc = list_push(row, v, &item)) != 0 &&
		    row->type == CONF_LIST)
			free(item.str);
	}
out:
	free(copy);
	return rc;
}

/* Run the row's check callback; *bad names the refused list item. */
static int run_check(const struct conf_row *row, const union conf_val *v,
		     size_t *bad, char *why, size_t whylen)
{
	*bad = SIZE_MAX;
	return row->check ? row->check(v, bad, why, whylen) : 0;
}

/* A whole value from text (defaults and conf_set). */
static int val_from_text(const struct conf_row *row, const char *text,
			 union conf_val *v, char *why, size_t whylen)
{
	size_t bad;
	int rc;

	memset(v, 0, sizeof *v);
	rc = is_list(row->type) ? parse_list_text(row, text, v, why, whylen)
				: parse_scalar(row, text, v, why, whylen);
	if (rc == 0)
		rc = run_check(row, v, &bad, why, whylen);
	if (rc == CDS_ENOMEM)
		snprintf(why, whylen, "out of memory");
	if (rc != 0)
		val_free(row, v);
	return rc;
}

/* ---- the YAML document ---- */

struct loader {
	const char *name;
	yaml_document_t doc;
	struct conf *conf;
	unsigned char *visited; /* per node: aliases would revisit */
	char *err;
	size_t errlen;
};

static int fail(struct loader *ld, const yaml_node_t *node, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "FILE:LINE: KEY: what" (libyaml lines are 0-based). */
static int fail(struct loader *ld, const yaml_node_t *node, const char *key,
		const char *fmt, ...)
{
	size_t off;
	va_list ap;

	if (ld->errlen == 0)
		return CDS_ECONFIG;
	off = (size_t)snprintf(ld->err, ld->errlen, "%s:%zu: ", ld->name,
			       node->start_mark.line + 1);
	if (key && off < ld->errlen)
		off += (size_t)snprintf(ld->err + off, ld->errlen - off,
					"%s: ", key);
	if (off < ld->errlen) {
		va_start(ap, fmt);
		vsnprintf(ld->err + off, ld->errlen - off, fmt, ap);
		va_end(ap);
	}
	return CDS_ECONFIG;
}

static yaml_node_t *node_get(struct loader *ld, int id)
{
	return yaml_document_get_node(&ld->doc, id);
}

static const char *node_kind(const yaml_node_t *n)
{
	return n->type == YAML_MAPPING_NODE    ? "a mapping"
	       : n->type == YAML_SEQUENCE_NODE ? "a list"
					       : "a scalar";
}

/* YAML's null: an empty plain scalar or "~" / "null". */
static bool is_null(const yaml_node_t *n)
{
	const char *s;

	if (n->type != YAML_SCALAR_NODE ||
	    n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	s = (const char *)n->data.scalar.value;
	return *s == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

/* The scalar's text, refusing embedded NULs ("\0" escapes). */
static int scalar_text(struct loader *ld, const yaml_node_t *n,
		       const char *key, const char **out)
{
	*out = (const char *)n->data.scalar.value;
	if (strlen(*out) != n->data.scalar.length)
		return fail(ld, n, key, "contains a NUL character");
	return 0;
}

/* One list item (a scalar node) into `v`. */
static int load_item(struct loader *ld, const struct conf_row *row,
		     const yaml_node_t *n, union conf_val *v)
{
	char why[256];
	union conf_val item = {0};
	const char *s;
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return fail(ld, n, row->key, "list items must be scalars, "
			    "got %s", node_kind(n));
	if ((rc = scalar_text(ld, n, row->key, &s)) != 0)
		return rc;
	if ((rc = parse_scalar(row, s, &item, why, sizeof why)) != 0)
		return fail(ld, n, row->key, "%s", why);
	if ((rc = list_push(row, v, &item)) != 0) {
		if (row->type == CONF_LIST)
			free(item.str);
		return fail(ld, n, row->key, "out of memory");
	}
	return 0;
}

/* A list: a sequence of scalars, one scalar, or null (empty). */
static int load_list(struct loader *ld, const struct conf_row *row,
		     const yaml_node_t *n, union conf_val *v)
{
	yaml_node_item_t *it;
	int rc = 0;

	if (n->type == YAML_MAPPING_NODE)
		return fail(ld, n, row->key, "expected %s, got a mapping",
			    type_name(row->type));
	if (n->type == YAML_SCALAR_NODE)
		return is_null(n) ? 0 : load_item(ld, row, n, v);
	for (it = n->data.sequence.items.start;
	     rc == 0 && it < n->data.sequence.items.top; it++)
		rc = load_item(ld, row, node_get(ld, *it), v);
	return rc;
}

static int load_scalar(struct loader *ld, const struct conf_row *row,
		       const yaml_node_t *n, union conf_val *v)
{
	char why[256];
	const char *s;
	int rc;

	if (n->type != YAML_SCALAR_NODE)
		return fail(ld, n, row->key, "expected %s, got %s",
			    type_name(row->type), node_kind(n));
	if (row->type != CONF_STR && is_null(n))
		return fail(ld, n, row->key, "expected %s, got no value",
			    type_name(row->type));
	if ((rc = scalar_text(ld, n, row->key, &s)) != 0)
		return rc;
	/* An empty value of a string is the empty string ("" = off). */
	if (is_null(n))
		s = "";
	if ((rc = parse_scalar(row, s, v, why, sizeof why)) != 0)
		return rc == CDS_ENOMEM ? fail(ld, n, row->key, "out of memory")
					: fail(ld, n, row->key, "%s", why);
	return 0;
}

/* Node `n` (the value of `key` at `keynode`) becomes the row's value. */
static int load_leaf(struct loader *ld, const struct conf_row *row,
		     const yaml_node_t *keynode, const yaml_node_t *n)
{
	struct conf_item *ci = &ld->conf->items[row - schema];
	union conf_val v = {0};
	char why[256];
	size_t bad;
	int rc;

	rc = is_list(row->type) ? load_list(ld, row, n, &v)
				: load_scalar(ld, row, n, &v);
	if (rc == 0 && run_check(row, &v, &bad, why, sizeof why) != 0) {
		/* Name the refused item's own line in a block list. */
		if (bad != SIZE_MAX && n->type == YAML_SEQUENCE_NODE)
			n = node_get(ld, n->data.sequence.items.start[bad]);
		rc = fail(ld, n, row->key, "%s", why);
	}
	if (rc != 0) {
		val_free(row, &v);
		return rc;
	}
	val_free(row, &ci->v);
	ci->v = v;
	ci->origin = FROM_FILE;
	ci->line = (int)keynode->start_mark.line + 1;
	return 0;
}

static int load_mapping(struct loader *ld, const yaml_node_t *map,
			const char *prefix);

/* One key: value pair of the mapping at `prefix`. */
static int load_pair(struct loader *ld, const yaml_node_t *k, int vid,
		     const char *prefix)
{
	const yaml_node_t *v = node_get(ld, vid);
	char key[CONF_MAX_KEY];
	const struct conf_row *row;
	const char *name;
	int rc;

	if (k->type != YAML_SCALAR_NODE)
		return fail(ld, k, prefix[0] ? prefix : NULL,
			    "keys must be scalars, got %s", node_kind(k));
	if ((rc = scalar_text(ld, k, prefix[0] ? prefix : NULL, &name)) != 0)
		return rc;
	if ((size_t)snprintf(key, sizeof key, "%s%s%s", prefix,
			     prefix[0] ? "." : "", name) >= sizeof key)
		return fail(ld, k, NULL, "key too long");
	/* An alias would let a small file expand without bound. */
	if (ld->visited[vid - 1])
		return fail(ld, k, key, "aliases are not supported");
	ld->visited[vid - 1] = 1;
	row = row_find(key);
	if (row)
		return load_leaf(ld, row, k, v);
	if (!is_section(key))
		return fail(ld, k, key, "unknown %s",
			    v->type == YAML_MAPPING_NODE ? "section" : "key");
	if (v->type != YAML_MAPPING_NODE)
		return fail(ld, v, key, "is a section, expected a mapping, got "
			    "%s", node_kind(v));
	return load_mapping(ld, v, key);
}

/* libyaml keeps duplicate keys; YAML forbids them and so do we. */
static int check_duplicate(struct loader *ld, const yaml_node_t *map,
			   const yaml_node_pair_t *p, const char *prefix)
{
	const yaml_node_t *k = node_get(ld, p->key);

	if (k->type != YAML_SCALAR_NODE)
		return 0;
	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p;
	     q++) {
		const yaml_node_t *o = node_get(ld, q->key);

		if (o->type == YAML_SCALAR_NODE &&
		    strcmp((char *)o->data.scalar.value,
			   (char *)k->data.scalar.value) == 0)
			return fail(ld, k, NULL,
				    "%s%s%s: duplicate key (first on line %zu)",
				    prefix, prefix[0] ? "." : "",
				    (char *)k->data.scalar.value,
				    o->start_mark.line + 1);
	}
	return 0;
}

static int load_mapping(struct loader *ld, const yaml_node_t *map,
			const char *prefix)
{
	const yaml_node_pair_t *p;
	int rc = 0;

	for (p = map->data.mapping.pairs.start;
	     rc == 0 && p < map->data.mapping.pairs.top; p++) {
		rc = check_duplicate(ld, map, p, prefix);
		if (rc == 0)
			rc = load_pair(ld, node_get(ld, p->key), p->value,
				       prefix);
	}
	return rc;
}

/* ---- loading ---- */

static void conf_defaults(struct conf *conf)
{
	char why[256];

	for (size_t i = 0; i < N_ROWS; i++) {
		if (val_from_text(&schema[i], schema[i].def, &conf->items[i].v,
				  why, sizeof why) != 0) {
			/* A default that does not pass its own row is a bug. */
			fprintf(stderr, "conf: default of %s: %s\n",
				schema[i].key, why);
			abort();
		}
	}
}

static struct conf *conf_new(const char *path)
{
	struct conf *conf = calloc(1, sizeof *conf);

	if (!conf)
		return NULL;
	conf->path = strdup(path ? path : "(defaults)");
	if (!conf->path) {
		free(conf);
		return NULL;
	}
	conf_defaults(conf);
	return conf;
}

void conf_free(struct conf *conf)
{
	if (!conf)
		return;
	for (size_t i = 0; i < N_ROWS; i++)
		val_free(&schema[i], &conf->items[i].v);
	free(conf->path);
	free(conf);
}

static int yaml_error(struct loader *ld, const yaml_parser_t *p)
{
	const yaml_mark_t *m = &p->problem_mark;

	snprintf(ld->err, ld->errlen, "%s:%zu: invalid YAML: %s%s%s", ld->name,
		 m->line + 1, p->problem ? p->problem : "error",
		 p->context ? " " : "", p->context ? p->context : "");
	return CDS_ECONFIG;
}

/* The root node of the loaded document into ld->conf. */
static int load_root(struct loader *ld)
{
	yaml_node_t *root = yaml_document_get_root_node(&ld->doc);
	size_t n_nodes = (size_t)(ld->doc.nodes.top - ld->doc.nodes.start);

	/* No document, or "---" alone: every key at its default. */
	if (!root || is_null(root))
		return 0;
	if (root->type != YAML_MAPPING_NODE)
		return fail(ld, root, NULL,
			    "the top level must be a mapping, got %s",
			    node_kind(root));
	ld->visited = calloc(n_nodes, 1);
	if (!ld->visited)
		return fail(ld, root, NULL, "out of memory");
	return load_mapping(ld, root, "");
}

int conf_load_string(const char *name, const char *yaml, struct conf **out,
		     char *err, size_t errlen)
{
	struct loader ld = {.name = name, .err = err, .errlen = errlen};
	yaml_document_t extra;
	yaml_parser_t parser;
	bool have_doc = false;
	int rc = CDS_ENOMEM;

	*out = NULL;
	if (errlen)
		err[0] = '\0';
	if (!(ld.conf = conf_new(name)) || !yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: out of memory", name);
		conf_free(ld.conf);
		return CDS_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)yaml,
				     strlen(yaml));
	if (!yaml_parser_load(&parser, &ld.doc)) {
		rc = yaml_error(&ld, &parser);
		goto out;
	}
	have_doc = true;
	rc = load_root(&ld);
	if (rc == 0 && yaml_document_get_root_node(&ld.doc)) {
		/* A second document would be silently ignored otherwise. */
		if (!yaml_parser_load(&parser, &extra)) {
			rc = yaml_error(&ld, &parser);
		} else {
			yaml_node_t *r = yaml_document_get_root_node(&extra);

			if (r)
				rc = fail(&ld, r, NULL, "only one YAML "
					  "document is allowed");
			yaml_document_delete(&extra);
		}
	}
out:
	if (have_doc)
		yaml_document_delete(&ld.doc);
	yaml_parser_delete(&parser);
	free(ld.visited);
	if (rc == 0)
		*out = ld.conf;
	else
		conf_free(ld.conf);
	return rc;
}

/* The whole file into a NUL-terminated buffer. */
static int read_file(const char *path, char **buf, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int rc = CDS_EIO;

	*buf = NULL;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!(*buf = malloc(CONF_MAX_FILE + 1))) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = CDS_ENOMEM;
		goto out;
	}
	n = fread(*buf, 1, CONF_MAX_FILE + 1, f);
	if (ferror(f))
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (n > CONF_MAX_FILE)
		snprintf(err, errlen, "%s: larger than %d bytes", path,
			 CONF_MAX_FILE);
	else if (memchr(*buf, '\0', n))
		snprintf(err, errlen, "%s: contains a NUL byte", path);
	else
		rc = 0;
	if (rc == 0)
		(*buf)[n] = '\0';
out:
	if (f)
		fclose(f);
	if (rc != 0) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

int conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
	char *buf;
	int rc;

	*out = NULL;
	if (!path) {
		*out = conf_new(NULL);
		if (!*out)
			snprintf(err, errlen, "out of memory");
		return *out ? 0 : CDS_ENOMEM;
	}
	rc = read_file(path, &buf, err, errlen);
	if (rc == 0)
		rc = conf_load_string(path, buf, out, err, errlen);
	free(buf);
	return rc;
}

const char *conf_path(const struct conf *conf)
{
	return conf->path;
}

/* ---- getters ---- */

/* A wrong key or type is a bug in the caller, not in the file. */
static const struct conf_item *item_get(const struct conf *conf,
					const char *key, enum conf_type type)
{
	const struct conf_row *row = row_find(key);

	if (!row || row->type != type) {
		fprintf(stderr, "conf: %s: %s\n", key,
			row ? "read with the wrong type" : "no such key");
		abort();
	}
	return &conf->items[row - schema];
}

const char *conf_str(const struct conf *conf, const char *key)
{
	return item_get(conf, key, CONF_STR)->v.str;
}

int64_t conf_int(const struct conf *conf, const char *key)
{
	return item_get(conf, key, CONF_INT)->v.i;
}

bool conf_bool(const struct conf *conf, const char *key)
{
	return item_get(conf, key, CONF_BOOL)->v.b;
}

int64_t conf_duration_ms(const struct conf *conf, const char *key)
{
	return item_get(conf, key, CONF_DURATION)->v.i;
}

double conf_rate(const struct conf *conf, const char *key)
{
	return item_get(conf, key, CONF_RATE)->v.rate;
}

const char *conf_enum(const struct conf *conf, const char *key)
{
	const struct conf_item *ci = item_get(conf, key, CONF_ENUM);

	return row_find(key)->choices[ci->v.i];
}

size_t conf_list(const struct conf *conf, const char *key,
		 const char *const **items)
{
	const struct conf_item *ci = item_get(conf, key, CONF_LIST);

	*items = (const char *const *)ci->v.list.v;
	return ci->v.list.n;
}

size_t conf_int_list(const struct conf *conf, const char *key,
		     const int64_t **items)
{
	const struct conf_item *ci = item_get(conf, key, CONF_INT_LIST);

	*items = ci->v.ilist.v;
	return ci->v.ilist.n;
}

int conf_set(struct conf *conf, const char *key, const char *value, char *err,
	     size_t errlen)
{
	const struct conf_row *row = row_find(key);
	struct conf_item *ci;
	union conf_val v;
	char why[256];

	if (!row) {
		snprintf(err, errlen, "%s: unknown key", key);
		return CDS_ECONFIG;
	}
	if (val_from_text(row, value, &v, why, sizeof why) != 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return CDS_ECONFIG;
	}
	ci = &conf->items[row - schema];
	val_free(row, &ci->v);
	ci->v = v;
	ci->origin = FROM_SET;
	ci->line = 0;
	return 0;
}

/* ---- printing ---- */

/* A double-quoted YAML string, so any text reads back unchanged. */
static void print_quoted(const char *s, FILE *out)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_value(const struct conf_row *row, const union conf_val *v,
			FILE *out)
{
	char buf[64];

	switch (row->type) {
	case CONF_STR: print_quoted(v->str, out); break;
	case CONF_INT: fprintf(out, "%" PRId64, v->i); break;
	case CONF_BOOL: fputs(v->b ? "true" : "false", out); break;
	case CONF_ENUM: fputs(row->choices[v->i], out); break;
	case CONF_DURATION:
		fmt_duration(v->i, buf, sizeof buf);
		fputs(buf, out);
		break;
	case CONF_RATE:
		fmt_rate(v->rate, buf, sizeof buf);
		fputs(buf, out);
		break;
	case CONF_LIST:
	case CONF_INT_LIST:
		fputc('[', out);
		for (size_t i = 0; i < v->list.n; i++) {
			fputs(i ? ", " : "", out);
			if (row->type == CONF_LIST)
				print_quoted(v->list.v[i], out);
			else
				fprintf(out, "%" PRId64, v->ilist.v[i]);
		}
		fputc(']', out);
		break;
	}
}

/*
 * Print the section lines that `key` opens relative to `prev` (the
 * previous key), and return the depth of the leaf.
 */
static int print_sections(const char *prev, const char *key, FILE *out)
{
	int depth = 0;
	size_t common = 0;
	const char *dot;

	/* Sections shared with the previous key are already open. */
	while ((dot = strchr(key + common, '.')) != NULL) {
		size_t n = (size_t)(dot - key) + 1;

		if (!prev || strncmp(prev, key, n) != 0)
			break;
		common = n;
		depth++;
	}
	while ((dot = strchr(key + common, '.')) != NULL) {
		fprintf(out, "%*s%.*s:\n", depth * 2, "",
			(int)(dot - key - (ptrdiff_t)common), key + common);
		common = (size_t)(dot - key) + 1;
		depth++;
	}
	return depth;
}

void conf_print(const struct conf *conf, FILE *out)
{
	const char *prev = NULL;

	fprintf(out, "# effective configuration of %s\n", conf->path);
	for (size_t i = 0; i < N_ROWS; i++) {
		const struct conf_row *row = &schema[i];
		const struct conf_item *ci = &conf->items[i];
		int depth = print_sections(prev, row->key, out);

		fprintf(out, "%*s%s: ", depth * 2, "",
			strrchr(row->key, '.') ? strrchr(row->key, '.') + 1
					       : row->key);
		print_value(row, &ci->v, out);
		if (ci->origin == FROM_FILE)
			fprintf(out, "  # %s:%d\n", conf->path, ci->line);
		else
			fprintf(out, "  # %s\n",
				ci->origin == FROM_SET ? "set" : "default");
		prev = row->key;
	}
}
