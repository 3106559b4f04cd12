/*
 * `cdscan epp send [--loop]`: the outbox sender of the registrar role
 * (sink: epp). It takes one change at a time from cdscan.epp_outbox, reads
 * the registry's current state with domain:info, sends the smallest
 * secDNS-1.1 change that reaches the decided DS set (STANDARDS E8) and
 * records what the registry answered (E4). Nothing is ever lost or sent
 * twice: a row is 'sending' while in flight, and whoever takes it next —
 * this process after a lost connection, or another after a crash — reads
 * domain:info first, so a change that reached the registry diffs to
 * nothing and is marked done without another update.
 *
 * NS changes (CSYNC, kind ns-update) go the same way: domain:info
 * first, then for a registry with host objects host:check/create/update
 * of the in-bailiwick names' glue (E5, E6), then one domain:update that
 * adds and removes NS names; a registry without host-1.0 gets host
 * attributes with the glue in them. The local tables (cdscan.apply_ns)
 * follow only the registry's confirmation. The host objects of the
 * in-bailiwick names such a change removed are deleted after it (RFC
 * 5732 §3.2.2), from a host-delete row that its confirmation queued:
 * a step of its own, so that a failure there is retried without the
 * domain:update going out again.
 *
 * Also `cdscan epp info DOMAIN` (what the registry holds) and
 * `cdscan epp ns DOMAIN --add NAME[=ADDR,...] --rem NAME` (an NS change
 * by hand, with host objects or host attributes as the greeting says).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/errors.h"
#include "core/log.h"
#include "db/db.h"
#include "epp/epp.h"

/* Earlier, superseded changes whose result is looked for (the newest). */
#define EARLIER_MAX 8

/* What happened to one attempt at a change. */
enum attempt { A_FINAL, A_RETRY, A_RECONNECT };

struct sender {
	const struct conf *conf;
	struct db *db;
	struct epp_config ec;
	char password[128];
	struct epp_session *s;
	char worker[DB_WORKER_MAX];
	int64_t retry_ms, retry_max_ms, lease_ms, spacing_ms, last_cmd_ms;
	const char *secdns;     /* auto, dsData, keyData */
	char last_err[600];     /* why the connection was lost */
	/* counts for the summary */
	unsigned done, pending, refused, retried, already;
	unsigned hosts_deleted, hosts_gone, hosts_left;
};

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The password file: refused when group or others may read it (like
 * ssh's keys and rad's check_file_secrecy), one line, the newline cut.
 */
static int read_password(const char *path, char *buf, size_t size)
{
	struct stat st;
	FILE *f;
	size_t n;

	if (!path || !*path) {
		fprintf(stderr, "cdscan epp: epp.password-file is not set\n");
		return -1;
	}
	if (!(f = fopen(path, "r")) || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "cdscan epp: epp.password-file: %s: %s\n", path,
			strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		fprintf(stderr, "cdscan epp: epp.password-file: %s is readable "
				"by group or others (mode %04o); refused: "
				"chmod 600 %s\n",
			path, (unsigned)(st.st_mode & 07777), path);
		fclose(f);
		return -1;
	}
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (n == 0) {
		fprintf(stderr, "cdscan epp: epp.password-file: %s is empty\n",
			path);
		return -1;
	}
	return 0;
}

static int sender_init(struct sender *sd, const struct conf *conf)
{
	int64_t per_min = conf_int(conf, "epp.max-commands-per-minute");
	char host[64] = "";

	memset(sd, 0, sizeof *sd);
	sd->conf = conf;
	sd->ec.server = conf_str(conf, "epp.server");
	sd->ec.port = (int)conf_int(conf, "epp.port");
	sd->ec.ca_file = conf_str(conf, "epp.ca-file");
	sd->ec.cert = conf_str(conf, "epp.cert");
	sd->ec.key = conf_str(conf, "epp.key");
	sd->ec.user = conf_str(conf, "epp.user");
	sd->ec.timeout_ms = conf_duration_ms(conf, "epp.timeout");
	sd->retry_ms = conf_duration_ms(conf, "epp.retry");
	sd->retry_max_ms = conf_duration_ms(conf, "epp.retry-max");
	/* a sender that dies holds its row this long at most */
	sd->lease_ms = 4 * sd->ec.timeout_ms + 60000;
	sd->spacing_ms = per_min > 0 ? 60000 / per_min : 0;
	sd->secdns = conf_enum(conf, "epp.secdns");
	static const char *const need[] = {"epp.server", "epp.ca-file",
					   "epp.cert", "epp.key", "epp.user"};

	for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
		const char *v = conf_str(conf, need[i]);

		if (!v || !*v) {
			fprintf(stderr, "cdscan epp: %s: %s is not set\n",
				conf_path(conf), need[i]);
			return -1;
		}
	}
	if (read_password(conf_str(conf, "epp.password-file"), sd->password,
			  sizeof sd->password) != 0)
		return -1;
	sd->ec.password = sd->password;
	gethostname(host, sizeof host - 1);
	snprintf(sd->worker, sizeof sd->worker, "%s:%ld", host, (long)getpid());
	return 0;
}

/* Keep to the registry's command rate (epp.max-commands-per-minute). */
static void pace(struct sender *sd)
{
	int64_t wait;

	if (sd->spacing_ms <= 0)
		return;
	wait = sd->last_cmd_ms + sd->spacing_ms - mono_ms();
	if (wait > 0 && sd->last_cmd_ms) {
		struct timespec ts = {.tv_sec = wait / 1000,
				      .tv_nsec = (wait % 1000) * 1000000};

		nanosleep(&ts, NULL);
	}
	sd->last_cmd_ms = mono_ms();
}

static int ensure_session(struct sender *sd, char *err, size_t errlen)
{
	int ret;

	if (epp_session_alive(sd->s))
		return 0;
	epp_session_close(sd->s);
	sd->s = NULL;
	pace(sd);
	ret = epp_session_open(&sd->ec, &sd->s, err, errlen);
	if (ret == 0)
		log_info("epp: logged in to %s as %s", sd->ec.server,
			 sd->ec.user);
	return ret;
}

/* Back-off for the n-th attempt: retry, doubled per attempt, capped. */
static int64_t backoff(const struct sender *sd, int attempts)
{
	int64_t d = sd->retry_ms;

	for (int i = 1; i < attempts && d < sd->retry_max_ms; i++)
		d *= 2;
	return d < sd->retry_max_ms ? d : sd->retry_max_ms;
}

static void ds_list(char *buf, size_t size, const struct cds_ds *ds, size_t n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++)
		off += (size_t)snprintf(buf + off, size - off, "%s%u/%u/%u",
					i ? " " : "", ds[i].keytag, ds[i].alg,
					ds[i].digest_type);
}

/*
 * Whether the registry's set is one that an earlier change of ours, tried
 * and then superseded by `it`, left there (sent, its answer lost): then
 * `it` goes on from there rather than being refused as stale. *rc on a
 * database error.
 */
static bool left_by_earlier(struct sender *sd, const struct db_outbox_item *it,
			    const struct epp_domain *cur, int *rc)
{
	struct cds_ds (*sets)[CDS_DS_MAX] = calloc(EARLIER_MAX, sizeof *sets);
	size_t lens[EARLIER_MAX], n = 0;
	bool found = false;

	if (!sets) {
		*rc = CDS_ENOMEM;
		return false;
	}
	*rc = db_outbox_earlier_sets(sd->db, it, sets, lens, EARLIER_MAX, &n);
	for (size_t i = 0; *rc == 0 && i < n && !found; i++)
		found = epp_domain_ds_equal(cur, sets[i], lens[i]);
	free(sets);
	if (found)
		log_info("%s: epp: the registry holds what an earlier change "
			 "left; going on from there", it->domain);
	return found;
}

/* ---- NS changes (CSYNC) ---------------------------------------------- */

static bool addr_in(const char *a, const char (*set)[CDS_ADDR_STR_MAX],
		    size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a, set[i]) == 0)
			return true;
	return false;
}

static const struct cds_ns *ns_find(const struct cds_ns *set, size_t n,
				    const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(set[i].name, name) == 0)
			return &set[i];
	return NULL;
}

static const struct epp_ns *cur_find(const struct epp_domain *cur,
				     const char *name)
{
	for (size_t i = 0; i < cur->n_ns; i++)
		if (strcmp(cur->ns[i].name, name) == 0)
			return &cur->ns[i];
	return NULL;
}

/* The addresses of the registry's host attribute equal the glue? */
static bool same_addrs(const struct epp_ns *h, const struct cds_ns *n)
{
	if (h->n_addr != n->n_glue)
		return false;
	for (size_t i = 0; i < h->n_addr; i++)
		if (!addr_in(h->addr[i], n->glue, n->n_glue))
			return false;
	return true;
}

/* Does the registry hold exactly the NS names of set (and, with host
   attributes, their glue)? */
static bool ns_at(const struct epp_domain *cur, const struct cds_ns *set,
		  size_t n, bool attr)
{
	if (cur->n_ns != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct epp_ns *h = cur_find(cur, set[i].name);

		if (!h || (attr && !same_addrs(h, &set[i])))
			return false;
	}
	return true;
}

/* Whether the glue of some name moves (a change of host objects). */
static bool glue_moves(const struct db_outbox_item *it)
{
	for (size_t i = 0; i < it->n_after_ns; i++) {
		const struct cds_ns *a = &it->after_ns[i];
		const struct cds_ns *b =
			ns_find(it->before_ns, it->n_before_ns, a->name);
		size_t nb = b ? b->n_glue : 0;

		if (a->n_glue != nb)
			return true;
		for (size_t k = 0; k < a->n_glue; k++)
			if (!addr_in(a->glue[k], b->glue, b->n_glue))
				return true;
	}
	return false;
}

/* The registry's answer to a command that is not a plain 1000: lost
   session, try later (2400), or a final refusal. */
static enum attempt not_done(struct sender *sd, const struct db_outbox_item *it,
			     const struct epp_response *r, int sent,
			     const char *what, int *rc)
{
	char err[600];

	if (sent != 0 || (r->code >= 2500 && r->code <= 2502)) {
		snprintf(err, sizeof err, "%s: %.500s", what,
			 sent != 0 ? epp_session_err(sd->s) : r->msg);
		log_warn("%s: epp: %s", it->domain, err);
		snprintf(sd->last_err, sizeof sd->last_err, "%s", err);
		return A_RECONNECT;
	}
	snprintf(err, sizeof err, "%s: %d %.500s", what, r->code, r->msg);
	if (r->code == EPP_FAILED) {
		snprintf(sd->last_err, sizeof sd->last_err, "%s", err);
		*rc = db_outbox_retry(sd->db, it->id, r->code, err,
				      backoff(sd, it->attempts));
		sd->retried++;
		log_warn("%s: epp: %s; retry later", it->domain, err);
		return A_RETRY;
	}
	*rc = db_outbox_refuse(sd->db, it->id, r->code, err);
	sd->refused++;
	log_warn("%s: epp: refused: %s", it->domain, err);
	return A_FINAL;
}

/*
 * E5/E6 with host objects: every NS name the change adds must exist as a
 * host object, and the in-bailiwick ones carry the glue. Missing hosts
 * are created (addresses only in bailiwick); an existing in-bailiwick
 * host whose glue moves gets a host:update that adds and removes just
 * the difference, so that sending it again changes nothing. *ok false
 * when a command did not succeed (its outcome is recorded, or the
 * return value says reconnect).
 */
static enum attempt ns_hosts(struct sender *sd, const struct db_outbox_item *it,
			     const struct epp_domain *cur,
			     struct epp_response *r, bool *ok, int *rc)
{
	char what[CDS_NAME_MAX + 32];
	int sent;

	*ok = false;
	for (size_t i = 0; i < it->n_after_ns; i++) {
		const struct cds_ns *a = &it->after_ns[i];
		const struct cds_ns *b =
			ns_find(it->before_ns, it->n_before_ns, a->name);
		bool inside = cds_name_is_subdomain(a->name, it->domain);
		struct epp_ns h = {0}, add = {0}, rem = {0};

		if (!inside && cur_find(cur, a->name))
			continue;
		snprintf(what, sizeof what, "host:check %s", a->name);
		pace(sd);
		if ((sent = epp_host_check(sd->s, a->name, r)) != 0 ||
		    r->code != EPP_OK)
			return not_done(sd, it, r, sent, what, rc);
		snprintf(h.name, sizeof h.name, "%s", a->name);
		if (r->host_avail == 1) {
			for (size_t k = 0; inside && k < a->n_glue &&
					   h.n_addr < EPP_ADDR_MAX; k++)
				snprintf(h.addr[h.n_addr++], EPP_ADDR_LEN,
					 "%s", a->glue[k]);
			snprintf(what, sizeof what, "host:create %s", a->name);
			pace(sd);
			if ((sent = epp_host_create(sd->s, &h, r)) != 0 ||
			    r->code != EPP_OK)
				return not_done(sd, it, r, sent, what, rc);
			log_info("%s: epp: host:create %s (%zu addresses)",
				 it->domain, a->name, h.n_addr);
			continue;
		}
		if (!inside)
			continue;
		for (size_t k = 0; k < a->n_glue && add.n_addr < EPP_ADDR_MAX;
		     k++)
			if (!b || !addr_in(a->glue[k], b->glue, b->n_glue))
				snprintf(add.addr[add.n_addr++], EPP_ADDR_LEN,
					 "%s", a->glue[k]);
		for (size_t k = 0; b && k < b->n_glue &&
				   rem.n_addr < EPP_ADDR_MAX; k++)
			if (!addr_in(b->glue[k], a->glue, a->n_glue))
				snprintf(rem.addr[rem.n_addr++], EPP_ADDR_LEN,
					 "%s", b->glue[k]);
		if (!add.n_addr && !rem.n_addr)
			continue;
		snprintf(what, sizeof what, "host:update %s", a->name);
		pace(sd);
		if ((sent = epp_host_update(sd->s, a->name,
					    add.n_addr ? &add : NULL,
					    rem.n_addr ? &rem : NULL, r)) != 0 ||
		    r->code != EPP_OK)
			return not_done(sd, it, r, sent, what, rc);
		log_info("%s: epp: host:update %s (add %zu, rem %zu)",
			 it->domain, a->name, add.n_addr, rem.n_addr);
	}
	*ok = true;
	return A_FINAL;
}

/* Whether the registry's NS names are those an earlier NS change of
   ours, tried and then superseded, left there. */
static bool ns_left_by_earlier(struct sender *sd,
			       const struct db_outbox_item *it,
			       const struct epp_domain *cur, int *rc)
{
	struct cds_ns (*sets)[CDS_CSYNC_NS_MAX] =
		calloc(EARLIER_MAX, sizeof *sets);
	size_t lens[EARLIER_MAX], n = 0;
	bool found = false;

	if (!sets) {
		*rc = CDS_ENOMEM;
		return false;
	}
	*rc = db_outbox_earlier_ns(sd->db, it, sets, lens, EARLIER_MAX, &n);
	for (size_t i = 0; *rc == 0 && i < n && !found; i++)
		found = ns_at(cur, sets[i], lens[i], false);
	free(sets);
	if (found)
		log_info("%s: epp: the registry holds the NS set an earlier "
			 "change left; going on from there", it->domain);
	return found;
}

/*
 * One attempt at an NS change, the registry's domain:info in r (E8:
 * read first, every time): nothing when the registry holds the new NS
 * set already, stale when it holds neither the old nor the new one, else
 * the hosts and then one domain:update with what is missing.
 */
static enum attempt attempt_ns(struct sender *sd,
			       const struct db_outbox_item *it,
			       struct epp_response *r, int *rc)
{
	struct epp_domain *cur = malloc(sizeof *cur);
	struct epp_ns_update *u = calloc(1, sizeof *u);
	bool attr = !epp_session_greeting(sd->s)->host, ok = false;
	const char *removed[EPP_NS_MAX];
	char err[600], trid[EPP_TRID_MAX];
	enum attempt a = A_FINAL;
	int sent;

	if (!cur || !u) {
		*rc = CDS_ENOMEM;
		goto out;
	}
	*cur = r->info;
	if (ns_at(cur, it->after_ns, it->n_after_ns, attr) &&
	    (attr || !glue_moves(it) || it->attempts > 1 || it->taken_over)) {
		/* sent before, by us or a sender that died: never again;
		   the host objects it dropped are deleted all the same */
		*rc = db_outbox_done_ns(sd->db, it->id, EPP_OK,
					it->taken_over || it->attempts > 1
						? "the registry already holds "
						  "the new NS set"
						: "nothing to change",
					!attr, NULL, 0);
		sd->already++;
		sd->done++;
		log_info("%s: epp: NS set already at the registry", it->domain);
		goto out;
	}
	if (!ns_at(cur, it->after_ns, it->n_after_ns, false) &&
	    !ns_at(cur, it->before_ns, it->n_before_ns, attr) &&
	    !ns_left_by_earlier(sd, it, cur, rc)) {
		if (*rc != 0)
			goto out;
		/* changed by other means: the next scan decides again */
		snprintf(err, sizeof err, "stale: the registry's NS set is not "
			 "the one the CSYNC change started from");
		*rc = db_outbox_refuse(sd->db, it->id, 0, err);
		sd->refused++;
		log_warn("%s: epp: %s", it->domain, err);
		goto out;
	}
	/* E5: hostObj when the greeting offers host-1.0, else hostAttr */
	u->host_attr = attr;
	for (size_t i = 0; i < cur->n_ns; i++) {
		const struct cds_ns *n = ns_find(it->after_ns, it->n_after_ns,
						 cur->ns[i].name);

		if ((!n || (attr && !same_addrs(&cur->ns[i], n))) &&
		    u->n_rem < EPP_NS_MAX)
			u->rem[u->n_rem++] = cur->ns[i];
	}
	for (size_t i = 0; i < it->n_after_ns && u->n_add < EPP_NS_MAX; i++) {
		const struct cds_ns *n = &it->after_ns[i];
		const struct epp_ns *h = cur_find(cur, n->name);
		struct epp_ns *x;

		if (h && (!attr || same_addrs(h, n)))
			continue;
		x = &u->add[u->n_add++];
		memset(x, 0, sizeof *x);
		snprintf(x->name, sizeof x->name, "%s", n->name);
		/* E6: addresses only for names inside the domain */
		for (size_t k = 0; attr && k < n->n_glue &&
				   x->n_addr < EPP_ADDR_MAX; k++)
			snprintf(x->addr[x->n_addr++], EPP_ADDR_LEN, "%s",
				 n->glue[k]);
	}
	if (!attr) {
		a = ns_hosts(sd, it, cur, r, &ok, rc);
		if (!ok)
			goto out;
	}
	if (!u->n_add && !u->n_rem) {
		/* glue only: the host objects carried it */
		*rc = db_outbox_done_ns(sd->db, it->id, EPP_OK, "glue updated",
					!attr, NULL, 0);
		sd->done++;
		log_info("%s: epp: done (glue of host objects)", it->domain);
		goto out;
	}
	pace(sd);
	if ((sent = epp_domain_update(sd->s, it->domain, NULL, u, trid, r)) != 0 ||
	    (r->code != EPP_OK && r->code != EPP_OK_PENDING)) {
		a = not_done(sd, it, r, sent, "domain:update", rc);
		goto out;
	}
	if (r->code == EPP_OK_PENDING) {
		*rc = db_outbox_pending(sd->db, it->id, r->code, r->msg, trid);
		sd->pending++;
		log_info("%s: epp: pending (%s)", it->domain, trid);
		goto out;
	}
	/* RFC 5732 §3.2.2: the host objects of the names it removed go
	   next, as a step of their own (db_outbox_done_ns) */
	for (size_t i = 0; i < u->n_rem; i++)
		removed[i] = u->rem[i].name;
	*rc = db_outbox_done_ns(sd->db, it->id, r->code, r->msg, !attr,
				removed, u->n_rem);
	sd->done++;
	log_info("%s: epp: NS done (rem %zu, add %zu, %s)", it->domain,
		 u->n_rem, u->n_add, attr ? "hostAttr" : "hostObj");
out:
	free(cur);
	free(u);
	return a;
}

/*
 * A host-delete row (db/sql/009_host_delete.sql): host:delete (RFC 5732
 * §3.2.2) for each host object an NS change of ours left behind, its
 * fate recorded as its answer arrives. 2305 (another domain still uses
 * it) and 2303 (gone already) are how a registry says no harm is done:
 * the host is left or forgotten and the next one goes. A lost
 * connection or a 2400 leaves the rest for the next attempt; the NS
 * change itself was done before this row existed and is never sent
 * again. Names whose fate is recorded are blanked in `it`, so that the
 * caller's second try on a new session skips them.
 */
static enum attempt attempt_hosts(struct sender *sd,
				  struct db_outbox_item *it,
				  struct epp_response *r, int *rc)
{
	char what[CDS_NAME_MAX + 32];
	bool refused = false;
	int sent;

	if (!epp_session_greeting(sd->s)->host) {
		*rc = db_outbox_done(sd->db, it->id, 0, "the registry keeps no "
				     "host objects (no host-1.0): nothing to "
				     "delete");
		return A_FINAL;
	}
	for (size_t i = 0; i < it->n_before_ns; i++) {
		const char *name = it->before_ns[i].name;
		enum db_host_fate fate;
		int code;

		if (!*name)
			continue;
		if (!cds_name_is_subdomain(name, it->domain) ||
		    strcmp(name, it->domain) == 0) {
			/* a row written by hand or by another tool: a host
			   outside the domain is never ours to delete */
			fate = DB_HOST_LEFT;
			code = 0;
			goto record;
		}
		snprintf(what, sizeof what, "host:delete %s", name);
		pace(sd);
		if ((sent = epp_host_delete(sd->s, name, r)) != 0 ||
		    (r->code >= 2500 && r->code <= 2502) ||
		    r->code == EPP_FAILED)
			return not_done(sd, it, r, sent, what, rc);
		code = r->code;
		fate = code == EPP_OK || code == EPP_OK_PENDING ? DB_HOST_DELETED
		       : code == EPP_NOT_EXIST			 ? DB_HOST_GONE
								 : DB_HOST_LEFT;
record:
		if ((*rc = db_outbox_host_fate(sd->db, it->id, name, fate,
					       code)) != 0)
			return A_FINAL;
		it->before_ns[i].name[0] = '\0';
		if (fate == DB_HOST_DELETED) {
			sd->hosts_deleted++;
			log_info("%s: epp: host:delete %s: %d", it->domain,
				 name, code);
		} else if (fate == DB_HOST_GONE) {
			sd->hosts_gone++;
			log_info("%s: epp: host:delete %s: 2303, gone already",
				 it->domain, name);
		} else {
			sd->hosts_left++;
			log_info("%s: epp: host %s left at the registry: %d %s",
				 it->domain, name, code, code ? r->msg
							    : "not inside the domain");
		}
	}
	/* counted apart from the changes (print_hosts): the NS change
	   they follow was counted when the registry confirmed it */
	if ((*rc = db_outbox_hosts_end(sd->db, it->id, &refused)) != 0)
		return A_FINAL;
	if (refused)
		log_warn("%s: epp: host objects kept at the registry for a "
			 "reason other than use by another domain; see "
			 "`cdscan outbox`", it->domain);
	return A_FINAL;
}

/*
 * One attempt at one change. Reads domain:info, decides what is still
 * missing, sends it. Records the outcome in the outbox (except
 * A_RECONNECT, after which the caller tries again on a new session).
 */
static enum attempt attempt(struct sender *sd, struct db_outbox_item *it,
			    int *rc)
{
	struct epp_response *r = calloc(1, sizeof *r);
	struct epp_ds_update *u = calloc(1, sizeof *u);
	struct epp_domain *cur = NULL;
	char err[600], trid[EPP_TRID_MAX], want[256];
	enum attempt a = A_FINAL;
	bool nothing = false;
	int ret;

	*rc = 0;
	if (!r || !u) {
		*rc = CDS_ENOMEM;
		goto out;
	}
	if ((ret = ensure_session(sd, err, sizeof err)) != 0) {
		log_warn("%s: epp: %s", it->domain, err);
		snprintf(sd->last_err, sizeof sd->last_err, "%s", err);
		*rc = db_outbox_retry(sd->db, it->id, 0, err,
				      backoff(sd, it->attempts));
		sd->retried++;
		a = A_RETRY;
		goto out;
	}
	if (it->is_hosts) {
		/* after a confirmed NS change: nothing of the domain's
		   state decides what a host:delete does (the registry
		   answers 2305 for a host still in use) */
		a = attempt_hosts(sd, it, r, rc);
		goto out;
	}
	/* E8: the registry's state first, every time */
	pace(sd);
	if ((ret = epp_domain_info(sd->s, it->domain, r)) != 0) {
		snprintf(err, sizeof err, "domain:info: %s",
			 epp_session_err(sd->s));
		a = A_RECONNECT;
		goto lost;
	}
	if (r->code >= 2500 && r->code <= 2502) {
		snprintf(err, sizeof err, "domain:info: %d %s", r->code, r->msg);
		a = A_RECONNECT;
		goto lost;
	}
	if (r->code != EPP_OK || !r->has_info) {
		snprintf(err, sizeof err, "domain:info: %.500s", r->msg);
		if (r->code == EPP_FAILED)
			goto transient;
		*rc = db_outbox_refuse(sd->db, it->id, r->code, err);
		sd->refused++;
		log_warn("%s: epp: refused: %d %s", it->domain, r->code, err);
		goto out;
	}
	if (it->is_ns) {
		a = attempt_ns(sd, it, r, rc);
		goto out;
	}
	cur = &r->info;
	if (strcmp(sd->secdns, "keyData") == 0)
		cur->key_data = true;
	else if (strcmp(sd->secdns, "dsData") == 0)
		cur->key_data = false;
	if (epp_domain_ds_equal(cur, it->after, it->n_after)) {
		/* sent before (perhaps by a sender that died before it could
		   record the answer): never again */
		*rc = db_outbox_done(sd->db, it->id, EPP_OK,
				     it->taken_over || it->attempts > 1
					     ? "the registry already holds "
					       "the new DS set"
					     : "nothing to change");
		sd->already++;
		sd->done++;
		log_info("%s: epp: already at the registry", it->domain);
		goto out;
	}
	if (!epp_domain_ds_equal(cur, it->before, it->n_before) &&
	    !left_by_earlier(sd, it, cur, rc)) {
		if (*rc != 0)
			goto out;
		/* the registry holds neither what the decision started from
		   nor its result: changed by other means, so the decision is
		   stale; the next scan decides again from the new state */
		ds_list(want, sizeof want, cur->ds, cur->n_ds);
		snprintf(err, sizeof err, "stale: the registry's DS set (%s%s)"
			 " is not the one the decision started from",
			 cur->key_data ? "keyData" : want,
			 cur->key_data || cur->n_ds ? "" : "none");
		*rc = db_outbox_refuse(sd->db, it->id, 0, err);
		sd->refused++;
		log_warn("%s: epp: %s", it->domain, err);
		goto out;
	}
	ret = epp_ds_diff(cur, it->after, it->n_after, it->keys, it->n_keys, u,
			  &nothing);
	if (ret == CDS_ENOTFOUND) {
		snprintf(err, sizeof err, "the registry takes keyData and the "
			 "child published no CDNSKEY for a new DS");
		*rc = db_outbox_refuse(sd->db, it->id, 0, err);
		sd->refused++;
		log_warn("%s: epp: %s", it->domain, err);
		goto out;
	}
	pace(sd);
	if ((ret = epp_domain_update(sd->s, it->domain, u, NULL, trid, r)) != 0) {
		/* sent, no answer: carried out or not, the next attempt
		   reads domain:info and knows */
		snprintf(err, sizeof err, "domain:update: %s",
			 epp_session_err(sd->s));
		a = A_RECONNECT;
		goto lost;
	}
	switch (r->code) {
	case EPP_OK:
		*rc = db_outbox_done(sd->db, it->id, r->code, r->msg);
		sd->done++;
		log_info("%s: epp: done (rem %zu%s, add %zu)", it->domain,
			 u->n_rem, u->rem_all ? " all" : "", u->n_add);
		break;
	case EPP_OK_PENDING:
		/* E4: 1001, settled by a poll message */
		*rc = db_outbox_pending(sd->db, it->id, r->code, r->msg, trid);
		sd->pending++;
		log_info("%s: epp: pending (%s)", it->domain, trid);
		break;
	case EPP_FAILED:
		snprintf(err, sizeof err, "%.500s", r->msg);
		goto transient;
	case EPP_FAILED_CLOSE:
	case EPP_AUTH_CLOSE:
	case EPP_LIMIT_CLOSE:
		snprintf(err, sizeof err, "%d %.500s", r->code, r->msg);
		a = A_RECONNECT;
		goto lost;
	default:
		/* E4: 2304 and every other refusal is final: kept with the
		   registry's message, never retried in a loop */
		*rc = db_outbox_refuse(sd->db, it->id, r->code, r->msg);
		sd->refused++;
		log_warn("%s: epp: refused: %d %s", it->domain, r->code,
			 r->msg);
		break;
	}
	goto out;
transient:
	snprintf(sd->last_err, sizeof sd->last_err, "%d %.580s", r->code, err);
	*rc = db_outbox_retry(sd->db, it->id, r->code, err,
			      backoff(sd, it->attempts));
	sd->retried++;
	a = A_RETRY;
	log_warn("%s: epp: %d %s; retry later", it->domain, r->code, err);
	goto out;
lost:
	log_warn("%s: epp: %s", it->domain, err);
	/* the caller reconnects and tries once more in this pass; the row
	   stays 'sending' until then */
	snprintf(sd->last_err, sizeof sd->last_err, "%s", err);
out:
	free(r);
	free(u);
	return a;
}

/* One change: an attempt, and one more on a new session when the first
   lost its connection (E4: 2500-2502 → reconnect). */
static int send_one(struct sender *sd, struct db_outbox_item *it)
{
	int rc = 0;

	for (int t = 0; t < 2; t++) {
		if (attempt(sd, it, &rc) != A_RECONNECT)
			return rc;
		epp_session_close(sd->s);
		sd->s = NULL;
	}
	/* twice without an answer: wait and read domain:info next time */
	sd->retried++;
	return db_outbox_retry(sd->db, it->id, 0, sd->last_err,
			       backoff(sd, it->attempts));
}

/*
 * Poll messages settle 1001s (E4). Only messages about a pending change
 * of ours are acknowledged, after the outbox records them; anything else
 * stays in the queue for whoever reads it, and stops this round.
 */
static int poll_pending(struct sender *sd)
{
	struct epp_response *r = calloc(1, sizeof *r);
	char err[600];
	int64_t n = 0;
	int ret = 0;

	if (!r)
		return CDS_ENOMEM;
	if ((ret = db_outbox_count(sd->db, "pending", &n)) != 0 || n == 0)
		goto out;
	if ((ret = ensure_session(sd, err, sizeof err)) != 0) {
		log_warn("epp: poll: %s", err);
		ret = 0;
		goto out;
	}
	for (int i = 0; i < 1000 && !stop_flag; i++) {
		bool found = false;

		pace(sd);
		if (epp_poll(sd->s, NULL, r) != 0 || r->code != EPP_OK_ACK)
			break;
		if (!r->has_pan)
			break;
		if ((ret = db_outbox_settle(sd->db, r->pan.name,
					    r->pan.cl_trid, r->pan.result,
					    r->msgq_text, &found)) != 0)
			goto out;
		if (!found) {
			log_info("epp: poll message %s is not ours; left",
				 r->msgq_id);
			break;
		}
		log_info("%s: epp: poll: pending change %s", r->pan.name,
			 r->pan.result ? "done" : "refused");
		if (r->pan.result)
			sd->done++;
		else
			sd->refused++;
		pace(sd);
		if (epp_poll(sd->s, r->msgq_id, r) != 0)
			break;
	}
out:
	free(r);
	return ret;
}

static bool pid_alive_here(const char *worker, const char *host)
{
	const char *colon = strrchr(worker, ':');
	size_t hl = strlen(host);
	long pid;

	if (!colon || (size_t)(colon - worker) != hl ||
	    strncmp(worker, host, hl) != 0)
		return true; /* another host: its lease decides */
	pid = strtol(colon + 1, NULL, 10);
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Rows a dead sender on this host left in 'sending' go back at once. */
static int release_dead(struct sender *sd)
{
	char host[64] = "", **v = NULL;
	size_t n = 0;
	int64_t k;
	int ret;

	gethostname(host, sizeof host - 1);
	if ((ret = db_outbox_senders(sd->db, &v, &n)) != 0)
		return ret;
	for (size_t i = 0; i < n && ret == 0; i++)
		if (strcmp(v[i], sd->worker) != 0 &&
		    !pid_alive_here(v[i], host)) {
			ret = db_outbox_release(sd->db, v[i], &k);
			if (ret == 0 && k)
				log_info("epp: %lld change(s) of dead sender "
					 "%s taken over", (long long)k, v[i]);
		}
	db_strv_free(v, n);
	return ret;
}

/* What became of host objects, when any were dealt with. */
static void print_hosts(const struct sender *sd, const char *who)
{
	if (sd->hosts_deleted || sd->hosts_gone || sd->hosts_left)
		printf("%s: host objects: %u deleted, %u gone already, %u "
		       "left\n",
		       who, sd->hosts_deleted, sd->hosts_gone, sd->hosts_left);
}

/* One pass over what is due. */
static int drain(struct sender *sd)
{
	struct db_outbox_item *it = calloc(1, sizeof *it);
	int64_t last = 0;
	bool found;
	int ret;

	if (!it)
		return CDS_ENOMEM;
	if ((ret = release_dead(sd)) != 0 || (ret = poll_pending(sd)) != 0)
		goto out;
	while (!stop_flag) {
		ret = db_outbox_take(sd->db, sd->worker, last, sd->lease_ms, it,
				     &found);
		if (!found)
			break;
		last = it->id;
		if (ret == CDS_EINVAL) {
			ret = db_outbox_refuse(sd->db, it->id, 0,
					       db_errmsg(sd->db));
		} else if (ret == 0) {
			ret = send_one(sd, it);
		}
		if (ret != 0)
			break;
	}
	if (ret == 0)
		ret = poll_pending(sd);
out:
	free(it);
	return ret;
}

static int cmd_epp_send(struct conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
		{"loop", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct sender sd;
	bool loop = false;
	int c, ret, rc = CLI_EXIT_FAIL;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'l') {
			loop = true;
		} else {
			fprintf(c == 'h' ? stdout : stderr,
				"usage: cdscan epp send [--loop]\n"
				"Send the queued changes of the EPP outbox "
				"(cdscan.epp_outbox) to the registry;\n"
				"--loop: keep doing so, every "
				"epp.poll-interval, until SIGTERM.\n");
			return c == 'h' ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		}
	}
	if (sender_init(&sd, conf) != 0)
		return CLI_EXIT_FAIL;
	if (!(sd.db = cli_open_db(conf, "epp send", false)))
		goto out;
	struct sigaction sa = {.sa_handler = on_stop};

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	do {
		if ((ret = drain(&sd)) != 0) {
			fprintf(stderr, "cdscan epp send: database: %s\n",
				db_errmsg(sd.db));
			goto out;
		}
		if (!loop)
			break;
		int64_t until = mono_ms() +
				conf_duration_ms(conf, "epp.poll-interval");

		while (!stop_flag && mono_ms() < until) {
			struct timespec ts = {.tv_nsec = 100 * 1000000};

			nanosleep(&ts, NULL);
			if (epp_session_alive(sd.s) &&
			    epp_keepalive(sd.s, conf_duration_ms(
						       conf, "epp.keepalive")))
				log_warn("epp: keepalive: %s",
					 epp_session_err(sd.s));
		}
	} while (!stop_flag);
	rc = CLI_EXIT_OK;
out:
	epp_session_close(sd.s);
	printf("epp send: %u done (%u already at the registry), %u pending, "
	       "%u refused, %u to retry\n",
	       sd.done, sd.already, sd.pending, sd.refused, sd.retried);
	print_hosts(&sd, "epp send");
	db_close(sd.db);
	memset(sd.password, 0, sizeof sd.password);
	return rc;
}

/* ---- epp info / epp ns ------------------------------------------------ */

static void print_info(const struct epp_domain *d)
{
	char s[CDS_DS_STR_MAX];

	printf("%s\n", d->name);
	for (size_t i = 0; i < d->n_status; i++)
		printf("  status  %s\n", d->status[i]);
	for (size_t i = 0; i < d->n_ns; i++) {
		printf("  ns      %s", d->ns[i].name);
		for (size_t k = 0; k < d->ns[i].n_addr; k++)
			printf(" %s", d->ns[i].addr[k]);
		printf("\n");
	}
	for (size_t i = 0; i < d->n_ds; i++)
		printf("  ds      %s\n", cds_ds_format(&d->ds[i], s, sizeof s));
	for (size_t i = 0; i < d->n_keys; i++) {
		size_t sz = cds_dnskey_str_size(&d->keys[i]);
		char *k = malloc(sz);

		if (k)
			printf("  key     %s\n",
			       cds_dnskey_format(&d->keys[i], k, sz));
		free(k);
	}
}

/* NAME[=ADDR,ADDR]: a name server, with glue when given. */
static int parse_ns(const char *arg, struct epp_ns *ns)
{
	char name[CDS_NAME_MAX], *eq;

	memset(ns, 0, sizeof *ns);
	snprintf(name, sizeof name, "%s", arg);
	if ((eq = strchr(name, '=')))
		*eq++ = '\0';
	if (cds_name_normalize(name, ns->name) != 0)
		return -1;
	for (char *a = eq ? strtok(eq, ",") : NULL; a; a = strtok(NULL, ","))
		if (ns->n_addr < EPP_ADDR_MAX)
			snprintf(ns->addr[ns->n_addr++], EPP_ADDR_LEN, "%s", a);
	return 0;
}

/* E5/E6: with host objects, every NS must exist as one before it is
   attached; create the missing ones (with addresses only for glue). */
static int ensure_hosts(struct sender *sd, const char *domain,
			const struct epp_ns_update *u)
{
	struct epp_response r;

	for (size_t i = 0; i < u->n_add; i++) {
		struct epp_ns h = u->add[i];

		if (epp_host_check(sd->s, h.name, &r) != 0 ||
		    r.code != EPP_OK) {
			fprintf(stderr, "cdscan epp ns: host:check %s: %d %s\n",
				h.name, r.code, r.msg);
			return -1;
		}
		if (r.host_avail != 1)
			continue;
		if (!cds_name_is_subdomain(h.name, domain))
			h.n_addr = 0; /* E6: glue only in bailiwick */
		if (epp_host_create(sd->s, &h, &r) != 0 || r.code != EPP_OK) {
			fprintf(stderr, "cdscan epp ns: host:create %s: %d "
					"%s\n",
				h.name, r.code, r.msg);
			return -1;
		}
		printf("host:create %s (%zu addresses)\n", h.name, h.n_addr);
	}
	return 0;
}

static int epp_ns(struct sender *sd, int argc, char **argv)
{
	static const struct option opts[] = {
		{"add", required_argument, NULL, 'a'},
		{"rem", required_argument, NULL, 'r'},
		{0, 0, 0, 0},
	};
	struct epp_ns_update *u = calloc(1, sizeof *u);
	struct epp_response r;
	char domain[CDS_NAME_MAX], err[600];
	int c, rc = CLI_EXIT_USAGE;

	if (!u)
		return CLI_EXIT_FAIL;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		struct epp_ns *ns = c == 'a' ? &u->add[u->n_add]
					     : &u->rem[u->n_rem];

		if ((c != 'a' && c != 'r') ||
		    (c == 'a' ? u->n_add : u->n_rem) >= EPP_NS_MAX ||
		    parse_ns(optarg, ns) != 0)
			goto usage;
		if (c == 'a')
			u->n_add++;
		else
			u->n_rem++;
	}
	if (optind + 1 != argc || (!u->n_add && !u->n_rem) ||
	    cds_name_normalize(argv[optind], domain) != 0)
		goto usage;
	rc = CLI_EXIT_FAIL;
	if (ensure_session(sd, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan epp ns: %s\n", err);
		goto out;
	}
	/* E5: hostObj when the greeting offers host-1.0, else hostAttr */
	u->host_attr = !epp_session_greeting(sd->s)->host;
	if (!u->host_attr && ensure_hosts(sd, domain, u) != 0)
		goto out;
	if (epp_domain_update(sd->s, domain, NULL, u, NULL, &r) != 0) {
		fprintf(stderr, "cdscan epp ns: %s\n", epp_session_err(sd->s));
		goto out;
	}
	printf("domain:update %s (%s): %d %s\n", domain,
	       u->host_attr ? "hostAttr" : "hostObj", r.code, r.msg);
	rc = r.code == EPP_OK || r.code == EPP_OK_PENDING ? CLI_EXIT_OK
							  : CLI_EXIT_FAIL;
	goto out;
usage:
	fprintf(stderr, "usage: cdscan epp ns DOMAIN [--add NAME[=ADDR,...]]"
			"... [--rem NAME]...\n");
out:
	free(u);
	return rc;
}

/*
 * --set KEY=VALUE (or --set=KEY=VALUE) anywhere after `epp`, as every
 * command takes it (cdscan(8)): applied to conf and taken out of argv,
 * so that each subcommand parses only its own arguments.
 */
static int take_set_options(struct conf *conf, int *argc, char **argv)
{
	int n = 1;

	for (int i = 1; i < *argc; i++) {
		const char *v = NULL;

		if (strcmp(argv[i], "--set") == 0) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "cdscan epp: --set KEY=VALUE\n");
				return -1;
			}
			v = argv[++i];
		} else if (strncmp(argv[i], "--set=", 6) == 0) {
			v = argv[i] + 6;
		} else {
			argv[n++] = argv[i];
			continue;
		}
		if (cli_set_option(conf, v, "epp") != 0)
			return -1;
	}
	argv[n] = NULL;
	*argc = n;
	return 0;
}

int cmd_epp(int argc, char **argv, const struct cli_global *g)
{
	struct conf *conf = NULL;
	struct sender sd = {0};
	struct epp_response *r = NULL;
	char err[600], name[CDS_NAME_MAX];
	int rc = CLI_EXIT_FAIL;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: cdscan epp send [--loop]\n"
			"       cdscan epp info DOMAIN\n"
			"       cdscan epp ns DOMAIN [--add NAME[=ADDR,...]]... "
			"[--rem NAME]...\n"
			"each also takes [--set KEY=VALUE]...\n");
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (!(conf = cli_load_conf(g)))
		return CLI_EXIT_FAIL;
	if (take_set_options(conf, &argc, argv) != 0) {
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: cdscan epp send|info|ns ... "
				"[--set KEY=VALUE]...\n");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (strcmp(argv[1], "send") == 0) {
		rc = cmd_epp_send(conf, argc - 1, argv + 1);
		goto out;
	}
	if (strcmp(argv[1], "info") != 0 && strcmp(argv[1], "ns") != 0) {
		fprintf(stderr, "cdscan epp: unknown command '%s'\n", argv[1]);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (sender_init(&sd, conf) != 0)
		goto out;
	if (strcmp(argv[1], "ns") == 0) {
		rc = epp_ns(&sd, argc - 1, argv + 1);
		goto out;
	}
	if (argc != 3 || cds_name_normalize(argv[2], name) != 0) {
		fprintf(stderr, "usage: cdscan epp info DOMAIN\n");
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	if (!(r = calloc(1, sizeof *r)))
		goto out;
	if (ensure_session(&sd, err, sizeof err) != 0) {
		fprintf(stderr, "cdscan epp info: %s\n", err);
		goto out;
	}
	if (epp_domain_info(sd.s, name, r) != 0) {
		fprintf(stderr, "cdscan epp info: %s\n", epp_session_err(sd.s));
		goto out;
	}
	if (r->code != EPP_OK || !r->has_info) {
		fprintf(stderr, "cdscan epp info: %s: %d %s\n", name, r->code,
			r->msg);
		goto out;
	}
	print_info(&r->info);
	rc = CLI_EXIT_OK;
out:
	epp_session_close(sd.s);
	memset(sd.password, 0, sizeof sd.password);
	free(r);
	conf_free(conf);
	return rc;
}

/*
 * The end of a scan with sink: epp: one pass over the outbox. What the
 * registry cannot take now stays queued, and the scan says so in one
 * line — a registry that is down must not fail the scan, whose
 * decisions are safely recorded.
 */
int cli_epp_kick(const struct conf *conf)
{
	struct sender sd;
	int64_t queued = 0, pending = 0;
	int ret;

	if (sender_init(&sd, conf) != 0) {
		printf("epp: nothing sent (configuration); the changes wait "
		       "in the outbox: see `cdscan outbox`\n");
		return CDS_ECONFIG;
	}
	if (!(sd.db = cli_open_db(conf, "epp send", false))) {
		memset(sd.password, 0, sizeof sd.password);
		return CDS_EDB;
	}
	ret = drain(&sd);
	epp_session_close(sd.s);
	sd.s = NULL;
	if (ret != 0)
		fprintf(stderr, "cdscan scan: epp: database: %s\n",
			db_errmsg(sd.db));
	printf("epp: %u done (%u already at the registry), %u pending, "
	       "%u refused, %u to retry\n",
	       sd.done, sd.already, sd.pending, sd.refused, sd.retried);
	print_hosts(&sd, "epp");
	if (ret == 0 && db_outbox_count(sd.db, "queued", &queued) == 0 &&
	    db_outbox_count(sd.db, "pending", &pending) == 0 && queued > 0)
		printf("epp: %lld change(s) wait in the outbox%s%s%s; `cdscan "
		       "epp send` or the next scan sends them\n",
		       (long long)queued, sd.last_err[0] ? " (" : "",
		       sd.last_err, sd.last_err[0] ? ")" : "");
	if (pending > 0)
		printf("epp: %lld change(s) accepted by the registry wait for "
		       "its poll message (1001)\n", (long long)pending);
	db_close(sd.db);
	memset(sd.password, 0, sizeof sd.password);
	return ret;
}
