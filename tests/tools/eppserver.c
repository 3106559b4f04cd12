/*
 * eppserver: the test EPP registry (no EPP server is packaged). RFC 5734
 * over TLS with verified client certificates, stateful domains, hosts,
 * DS or DNSSEC keys and poll messages, kept in DIR/state so that it
 * survives being stopped and started again. Every frame it receives is
 * validated against the IETF schemas (tests/data/epp-xsd/all-epp.xsd); a
 * frame that fails is answered 2001 and written to DIR/errors, which the
 * tests check stays empty. Failures on demand come from DIR/control, read
 * before every command (see usage()). One connection at a time.
 *
 * DIR/log gets one line per command: "login 1000", "info a.test. 1000",
 * "update a.test. 1000 applied rem=1 add=1", "host-delete ns1.a.test.
 * 2305", so that the tests can count
 * what was carried out (exactly once) without trusting the client.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/dnssec.h"
#include "core/errors.h"
#include "epp/epp.h"

#define X(s) ((const xmlChar *)(s))
#define MAX_DOM 256
#define MAX_HOST 256
#define MAX_POLL 64

struct dom {
	char name[CDS_NAME_MAX];
	size_t n_ds, n_key, n_ns, n_status;
	struct cds_ds ds[CDS_DS_MAX];
	struct cds_dnskey key[CDS_DS_MAX];
	struct epp_ns ns[EPP_NS_MAX];
	char status[EPP_STATUS_MAX][EPP_STATUS_LEN];
	/* a change answered 1001, carried out on `settle` */
	bool pending;
	char p_cltrid[EPP_TRID_MAX], p_svtrid[EPP_TRID_MAX];
	size_t p_n_ds, p_n_key;
	struct cds_ds p_ds[CDS_DS_MAX];
	struct cds_dnskey p_key[CDS_DS_MAX];
};

struct host {
	char name[CDS_NAME_MAX];
	size_t n_addr;
	char addr[EPP_ADDR_MAX][EPP_ADDR_LEN];
};

struct pollmsg {
	int id;
	char name[CDS_NAME_MAX];
	bool result;
	char cltrid[EPP_TRID_MAX], svtrid[EPP_TRID_MAX];
};

static struct {
	const char *dir, *user, *password;
	bool key_mode;   /* keyData only, else dsData only */
	bool host_attr;  /* no host-1.0 in the greeting */
	xmlSchemaPtr schema;
	SSL *ssl;
	size_t n_dom, n_host, n_poll;
	struct dom dom[MAX_DOM];
	struct host host[MAX_HOST];
	struct pollmsg poll[MAX_POLL];
	int next_poll, frames, sv_seq;
	bool logged_in;
	/* control directives in force for this command */
	int update_code, info_code, slow_ms, split, hdel_code;
	bool update_drop, update_pending, hdel_drop;
	char code_msg[200];
} S;

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "eppserver: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static void append(const char *file, const char *fmt, ...)
{
	char path[4096];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", S.dir, file);
	if (!(f = fopen(path, "a")))
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* ---- state ------------------------------------------------------------ */

static struct dom *dom_find(const char *name)
{
	for (size_t i = 0; i < S.n_dom; i++)
		if (strcmp(S.dom[i].name, name) == 0)
			return &S.dom[i];
	return NULL;
}

static struct host *host_find(const char *name)
{
	for (size_t i = 0; i < S.n_host; i++)
		if (strcmp(S.host[i].name, name) == 0)
			return &S.host[i];
	return NULL;
}

static void words_addrs(char *rest, struct epp_ns *h)
{
	for (char *a = strtok(rest, " \n"); a && h->n_addr < EPP_ADDR_MAX;
	     a = strtok(NULL, " \n"))
		snprintf(h->addr[h->n_addr++], EPP_ADDR_LEN, "%s", a);
}

/* One line of DIR/state. */
static void load_line(char *line, int no)
{
	char kind[16], name[CDS_NAME_MAX];
	int off = 0;
	struct dom *d;

	if (*line == '#' || sscanf(line, "%15s %255s %n", kind, name, &off) < 2)
		return;
	char *rest = line + off;

	rest[strcspn(rest, "\n")] = '\0';
	if (strcmp(kind, "domain") == 0) {
		if (S.n_dom < MAX_DOM && !dom_find(name))
			snprintf(S.dom[S.n_dom++].name, CDS_NAME_MAX, "%s",
				 name);
		return;
	}
	if (strcmp(kind, "host") == 0) {
		struct host *h = &S.host[S.n_host++];

		memset(h, 0, sizeof *h);
		snprintf(h->name, sizeof h->name, "%s", name);
		struct epp_ns t = {0};

		words_addrs(rest, &t);
		h->n_addr = t.n_addr;
		memcpy(h->addr, t.addr, sizeof t.addr);
		return;
	}
	if (strcmp(kind, "poll") == 0) {
		struct pollmsg *p = &S.poll[S.n_poll++];
		int r = 0;

		snprintf(p->name, sizeof p->name, "%s", name);
		sscanf(rest, "%d %d %64s %64s", &p->id, &r, p->cltrid,
		       p->svtrid);
		p->result = r;
		if (p->id >= S.next_poll)
			S.next_poll = p->id + 1;
		return;
	}
	if (!(d = dom_find(name)))
		die("state line %d: %s: no such domain", no, name);
	if (strcmp(kind, "status") == 0)
		snprintf(d->status[d->n_status++], EPP_STATUS_LEN, "%s", rest);
	else if (strcmp(kind, "ns") == 0) {
		struct epp_ns *n = &d->ns[d->n_ns++];
		char *sp = strchr(rest, ' ');

		memset(n, 0, sizeof *n);
		if (sp)
			*sp++ = '\0';
		snprintf(n->name, sizeof n->name, "%s", rest);
		if (sp)
			words_addrs(sp, n);
	} else if (strcmp(kind, "ds") == 0 || strcmp(kind, "pds") == 0) {
		bool p = kind[0] == 'p';
		struct cds_ds *ds = p ? &d->p_ds[d->p_n_ds++]
				      : &d->ds[d->n_ds++];

		if (cds_ds_parse(rest, ds) != 0)
			die("state line %d: bad DS", no);
	} else if (strcmp(kind, "key") == 0 || strcmp(kind, "pkey") == 0) {
		bool p = kind[0] == 'p';
		struct cds_dnskey *k = p ? &d->p_key[d->p_n_key++]
					 : &d->key[d->n_key++];

		if (cds_dnskey_parse(rest, k) != 0)
			die("state line %d: bad key", no);
	} else if (strcmp(kind, "pending") == 0) {
		d->pending = true;
		sscanf(rest, "%64s %64s", d->p_cltrid, d->p_svtrid);
	}
}

static void load_state(void)
{
	char path[4096], line[4096];
	FILE *f;
	int no = 0;

	snprintf(path, sizeof path, "%s/state", S.dir);
	if (!(f = fopen(path, "r")))
		return;
	while (fgets(line, sizeof line, f))
		load_line(line, ++no);
	fclose(f);
	for (size_t i = 0; i < S.n_dom; i++)
		if (S.dom[i].n_ds && S.key_mode)
			die("%s: DS records in keyData mode", S.dom[i].name);
}

static void write_keys(FILE *f, const char *kind, const char *name,
		       const struct cds_dnskey *k, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t sz = cds_dnskey_str_size(&k[i]);
		char *s = malloc(sz);

		if (s)
			fprintf(f, "%s %s %s\n", kind, name,
				cds_dnskey_format(&k[i], s, sz));
		free(s);
	}
}

/* Rewrite DIR/state atomically: a kill never leaves half a registry. */
static void save_state(void)
{
	char path[4096], tmp[4200], s[CDS_DS_STR_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/state", S.dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(tmp, "w")))
		die("%s: %s", tmp, strerror(errno));
	for (size_t i = 0; i < S.n_host; i++) {
		fprintf(f, "host %s", S.host[i].name);
		for (size_t k = 0; k < S.host[i].n_addr; k++)
			fprintf(f, " %s", S.host[i].addr[k]);
		fputc('\n', f);
	}
	for (size_t i = 0; i < S.n_dom; i++) {
		struct dom *d = &S.dom[i];

		fprintf(f, "domain %s\n", d->name);
		for (size_t k = 0; k < d->n_status; k++)
			fprintf(f, "status %s %s\n", d->name, d->status[k]);
		for (size_t k = 0; k < d->n_ns; k++) {
			fprintf(f, "ns %s %s", d->name, d->ns[k].name);
			for (size_t a = 0; a < d->ns[k].n_addr; a++)
				fprintf(f, " %s", d->ns[k].addr[a]);
			fputc('\n', f);
		}
		for (size_t k = 0; k < d->n_ds; k++)
			fprintf(f, "ds %s %s\n", d->name,
				cds_ds_format(&d->ds[k], s, sizeof s));
		write_keys(f, "key", d->name, d->key, d->n_key);
		if (d->pending) {
			fprintf(f, "pending %s %s %s\n", d->name, d->p_cltrid,
				d->p_svtrid);
			for (size_t k = 0; k < d->p_n_ds; k++)
				fprintf(f, "pds %s %s\n", d->name,
					cds_ds_format(&d->p_ds[k], s,
						      sizeof s));
			write_keys(f, "pkey", d->name, d->p_key, d->p_n_key);
		}
	}
	for (size_t i = 0; i < S.n_poll; i++)
		fprintf(f, "poll %s %d %d %s %s\n", S.poll[i].name, S.poll[i].id,
			S.poll[i].result, S.poll[i].cltrid, S.poll[i].svtrid);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0)
		die("%s: %s", path, strerror(errno));
}

/* ---- control ---------------------------------------------------------- */

/*
 * DIR/control, one directive a line; "once DIRECTIVE" lines are removed
 * when they take effect (at the next domain:update, or at once for
 * settle).
 *   update-code CODE [MSG]  domain:update answered CODE, nothing done
 *                           (2500-2502: the connection is closed after)
 *   update-drop             carry the update out, then close the
 *                           connection in the middle of the answer frame
 *   update-slow MS          carry it out, wait MS before answering
 *   update-pending          answer 1001; carried out on `settle`
 *   settle / settle-refuse  pending changes done (or refused) + poll msg
 *   info-code CODE          domain:info answered CODE
 *   host-delete-code CODE   host:delete answered CODE, nothing done
 *                           (2500-2502: the connection is closed after)
 *   host-delete-drop        host:delete read, then the connection is
 *                           closed without an answer; nothing done
 *   split N                 write answers in pieces of N octets
 */
static void read_control(bool is_update, bool is_hdel)
{
	char path[4096], tmp[4200], line[512];
	FILE *f, *o = NULL;

	S.update_code = S.info_code = S.slow_ms = S.split = 0;
	S.update_drop = S.update_pending = false;
	S.hdel_code = 0;
	S.hdel_drop = false;
	S.code_msg[0] = '\0';
	snprintf(path, sizeof path, "%s/control", S.dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (!(f = fopen(path, "r")))
		return;
	o = fopen(tmp, "w");
	while (fgets(line, sizeof line, f)) {
		char *l = line, w[32];
		int v = 0, off = 0;
		bool once = strncmp(l, "once ", 5) == 0, used = true;

		if (once)
			l += 5;
		if (sscanf(l, "%31s %d %n", w, &v, &off) < 1) {
			used = false;
		} else if (strcmp(w, "update-code") == 0) {
			used = is_update;
			if (used) {
				S.update_code = v;
				snprintf(S.code_msg, sizeof S.code_msg, "%.*s",
					 (int)strcspn(l + off, "\n"), l + off);
			}
		} else if (strcmp(w, "update-drop") == 0) {
			used = is_update;
			S.update_drop |= used;
		} else if (strcmp(w, "update-slow") == 0) {
			used = is_update;
			if (used)
				S.slow_ms = v;
		} else if (strcmp(w, "update-pending") == 0) {
			used = is_update;
			S.update_pending |= used;
		} else if (strcmp(w, "host-delete-code") == 0) {
			used = is_hdel;
			if (used) {
				S.hdel_code = v;
				snprintf(S.code_msg, sizeof S.code_msg, "%.*s",
					 (int)strcspn(l + off, "\n"), l + off);
			}
		} else if (strcmp(w, "host-delete-drop") == 0) {
			used = is_hdel;
			S.hdel_drop |= used;
		} else if (strcmp(w, "info-code") == 0) {
			S.info_code = v;
		} else if (strcmp(w, "split") == 0) {
			S.split = v;
		} else if (strcmp(w, "settle") == 0 ||
			   strcmp(w, "settle-refuse") == 0) {
			bool ok = strcmp(w, "settle") == 0;

			once = true; /* always consumed */
			for (size_t i = 0; i < S.n_dom; i++) {
				struct dom *d = &S.dom[i];
				struct pollmsg *p;

				if (!d->pending || S.n_poll >= MAX_POLL)
					continue;
				if (ok) {
					d->n_ds = d->p_n_ds;
					memcpy(d->ds, d->p_ds, sizeof d->ds);
					d->n_key = d->p_n_key;
					memcpy(d->key, d->p_key, sizeof d->key);
					append("log", "settle %s applied",
					       d->name);
				}
				p = &S.poll[S.n_poll++];
				p->id = ++S.next_poll;
				snprintf(p->name, sizeof p->name, "%s", d->name);
				p->result = ok;
				snprintf(p->cltrid, sizeof p->cltrid, "%s",
					 d->p_cltrid);
				snprintf(p->svtrid, sizeof p->svtrid, "%s",
					 d->p_svtrid);
				d->pending = false;
			}
			save_state();
		} else {
			used = false;
		}
		if (o && !(once && used))
			fputs(line, o);
	}
	fclose(f);
	if (o) {
		fclose(o);
		rename(tmp, path);
	}
}

/* ---- output ----------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
};

static void bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len)
			break;
		b->cap = b->cap * 2 + (size_t)n + 256;
		if (!(b->p = realloc(b->p, b->cap)))
			die("out of memory");
	}
	b->len += (size_t)n;
}

/* Names and messages escaped for XML text. */
static const char *esc(const char *s)
{
	static char out[4][1024];
	static int k;
	char *o = out[k = (k + 1) % 4];
	size_t n = 0;

	for (; *s && n < sizeof out[0] - 7; s++) {
		const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
				: *s == '&' ? "&amp;" : *s == '"' ? "&quot;"
							 : NULL;
		if (r) {
			memcpy(o + n, r, strlen(r));
			n += strlen(r);
		} else {
			o[n++] = *s;
		}
	}
	o[n] = '\0';
	return o;
}

static const char *wire(const char *name)
{
	static char b[2][CDS_NAME_MAX];
	static int k;

	k = !k;
	return esc(epp_name_wire(name, b[k], sizeof b[k]));
}

static int ssl_wr(void *ctx, const uint8_t *p, size_t len)
{
	size_t off = 0;

	(void)ctx;
	while (off < len) {
		size_t n = len - off;

		/* split: one TLS record per piece, so the client reads the
		   frame in several pieces (STANDARDS §10 T: reassembled) */
		if (S.split > 0 && n > (size_t)S.split)
			n = (size_t)S.split;
		int w = SSL_write(S.ssl, p + off, (int)n);

		if (w <= 0)
			return CDS_ENET;
		off += (size_t)w;
	}
	return CDS_OK;
}

static int ssl_rd(void *ctx, uint8_t *p, size_t len, size_t *got)
{
	int n = SSL_read(S.ssl, p, (int)len);

	(void)ctx;
	*got = n > 0 ? (size_t)n : 0;
	return n >= 0 || SSL_get_error(S.ssl, n) == SSL_ERROR_ZERO_RETURN
		       ? CDS_OK
		       : CDS_ENET;
}

static int send_frame(struct buf *b)
{
	return epp_frame_write(ssl_wr, NULL, b->p, b->len);
}

static void greeting(struct buf *b)
{
	char date[32];
	time_t t = time(NULL);

	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	bprintf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<epp xmlns=\"%s\"><greeting><svID>cdscan test registry"
		   "</svID><svDate>%s</svDate><svcMenu><version>1.0</version>"
		   "<lang>en</lang><objURI>%s</objURI>",
		EPP_NS_EPP, date, EPP_NS_DOMAIN);
	if (!S.host_attr)
		bprintf(b, "<objURI>%s</objURI>", EPP_NS_HOST);
	bprintf(b, "<svcExtension><extURI>%s</extURI></svcExtension>"
		   "</svcMenu><dcp><access><all/></access><statement><purpose>"
		   "<admin/><prov/></purpose><recipient><ours/></recipient>"
		   "<retention><stated/></retention></statement></dcp>"
		   "</greeting></epp>",
		EPP_NS_SECDNS);
}

static const char *default_msg(int code)
{
	switch (code) {
	case 1000: return "Command completed successfully";
	case 1001: return "Command completed successfully; action pending";
	case 1300: return "Command completed successfully; no messages";
	case 1301: return "Command completed successfully; ack to dequeue";
	case 1500: return "Command completed successfully; ending session";
	case 2001: return "Command syntax error";
	case 2002: return "Command use error";
	case 2101: return "Unimplemented command";
	case 2200: return "Authentication error";
	case 2302: return "Object exists";
	case 2303: return "Object does not exist";
	case 2304: return "Object status prohibits operation";
	case 2306: return "Parameter value policy error";
	case 2400: return "Command failed";
	case 2500: return "Command failed; server closing connection";
	}
	return "Command failed";
}

/* <response> head: result (and msgQ when there are messages). */
static void resp_begin(struct buf *b, int code, const char *msg)
{
	bprintf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<epp xmlns=\"%s\"><response><result code=\"%d\"><msg>%s"
		   "</msg></result>",
		EPP_NS_EPP, code, esc(msg && *msg ? msg : default_msg(code)));
}

static void resp_end(struct buf *b, const char *cltrid, char *svtrid)
{
	snprintf(svtrid, EPP_TRID_MAX, "SV-%d-%d", (int)getpid(), ++S.sv_seq);
	bprintf(b, "<trID>");
	if (cltrid && *cltrid)
		bprintf(b, "<clTRID>%s</clTRID>", esc(cltrid));
	bprintf(b, "<svTRID>%s</svTRID></trID></response></epp>", svtrid);
}

static int simple(int code, const char *msg, const char *cltrid)
{
	struct buf b = {0};
	char sv[EPP_TRID_MAX];
	int ret;

	resp_begin(&b, code, msg);
	resp_end(&b, cltrid, sv);
	ret = send_frame(&b);
	free(b.p);
	return ret;
}

/* ---- reading commands ------------------------------------------------- */

struct in {
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
	char cltrid[EPP_TRID_MAX];
};

static xmlXPathObjectPtr q(struct in *in, xmlNodePtr at, const char *e)
{
	return xmlXPathNodeEval(at ? at : xmlDocGetRootElement(in->doc), X(e),
				in->xp);
}

static size_t cnt(xmlXPathObjectPtr o)
{
	return o && o->nodesetval ? (size_t)o->nodesetval->nodeNr : 0;
}

/* How many nodes `e` selects. */
static size_t has(struct in *in, const char *e)
{
	xmlXPathObjectPtr o = q(in, NULL, e);
	size_t n = cnt(o);

	xmlXPathFreeObject(o);
	return n;
}

static char *val(struct in *in, xmlNodePtr at, const char *e, char *buf,
		 size_t size)
{
	char ex[256];
	xmlXPathObjectPtr o;

	snprintf(ex, sizeof ex, "normalize-space(%s)", e);
	o = q(in, at, ex);
	snprintf(buf, size, "%s",
		 o && o->stringval ? (const char *)o->stringval : "");
	xmlXPathFreeObject(o);
	return buf;
}

static char *name_of(struct in *in, xmlNodePtr at, const char *e, char *buf)
{
	char w[CDS_NAME_MAX];

	return epp_name_cds(val(in, at, e, w, sizeof w), buf, CDS_NAME_MAX);
}

/* The dsData / keyData children of `at` into the arrays. */
static void read_records(struct in *in, xmlNodePtr at, struct cds_ds *ds,
			 size_t *n_ds, struct cds_dnskey *key, size_t *n_key)
{
	xmlXPathObjectPtr o = q(in, at, "s:dsData | s:keyData");
	char t[2 * CDS_KEY_MAX + 64], a[16], b[16], c[16], h[2 * CDS_KEY_MAX];

	for (size_t i = 0; i < cnt(o); i++) {
		xmlNodePtr n = o->nodesetval->nodeTab[i];

		if (xmlStrcmp(n->name, X("dsData")) == 0 &&
		    *n_ds < CDS_DS_MAX) {
			snprintf(t, sizeof t, "%s %s %s %s",
				 val(in, n, "s:keyTag", a, sizeof a),
				 val(in, n, "s:alg", b, sizeof b),
				 val(in, n, "s:digestType", c, sizeof c),
				 val(in, n, "s:digest", h, sizeof h));
			if (cds_ds_parse(t, &ds[*n_ds]) == 0)
				(*n_ds)++;
		} else if (*n_key < CDS_DS_MAX) {
			snprintf(t, sizeof t, "%s %s %s %s",
				 val(in, n, "s:flags", a, sizeof a),
				 val(in, n, "s:protocol", b, sizeof b),
				 val(in, n, "s:alg", c, sizeof c),
				 val(in, n, "s:pubKey", h, sizeof h));
			if (cds_dnskey_parse(t, &key[*n_key]) == 0)
				(*n_key)++;
		}
	}
	xmlXPathFreeObject(o);
}

/* ---- commands --------------------------------------------------------- */

static int cmd_login(struct in *in)
{
	char user[128], pw[128], v[16], l[16];
	int code = 1000;

	val(in, NULL, "//e:login/e:clID", user, sizeof user);
	val(in, NULL, "//e:login/e:pw", pw, sizeof pw);
	val(in, NULL, "//e:login/e:options/e:version", v, sizeof v);
	val(in, NULL, "//e:login/e:options/e:lang", l, sizeof l);
	if (S.logged_in)
		code = 2002;
	else if (strcmp(user, S.user) != 0 || strcmp(pw, S.password) != 0)
		code = 2200;
	else if (strcmp(v, "1.0") != 0 || strcmp(l, "en") != 0)
		code = 2102; /* E2: exactly as the greeting offered */
	S.logged_in = code == 1000;
	append("log", "login %d", code);
	return simple(code, NULL, in->cltrid);
}

static bool prohibited(const struct dom *d)
{
	for (size_t i = 0; i < d->n_status; i++)
		if (strstr(d->status[i], "UpdateProhibited"))
			return true;
	return false;
}

static void info_secdns(struct buf *b, const struct dom *d)
{
	char s[2 * CDS_KEY_MAX + 64];

	if (!d->n_ds && !d->n_key)
		return;
	bprintf(b, "<extension><secDNS:infData xmlns:secDNS=\"%s\">",
		EPP_NS_SECDNS);
	for (size_t i = 0; i < d->n_ds; i++) {
		const struct cds_ds *x = &d->ds[i];

		bprintf(b, "<secDNS:dsData><secDNS:keyTag>%u</secDNS:keyTag>"
			   "<secDNS:alg>%u</secDNS:alg><secDNS:digestType>%u"
			   "</secDNS:digestType><secDNS:digest>",
			x->keytag, x->alg, x->digest_type);
		for (size_t k = 0; k < x->digest_len; k++)
			bprintf(b, "%02X", x->digest[k]);
		bprintf(b, "</secDNS:digest></secDNS:dsData>");
	}
	for (size_t i = 0; i < d->n_key; i++) {
		const struct cds_dnskey *k = &d->key[i];

		cds_dnskey_format(k, s, sizeof s);
		char *b64 = s;

		for (int w = 0; w < 3 && b64; w++)
			if ((b64 = strchr(b64, ' ')))
				b64++;
		bprintf(b, "<secDNS:keyData><secDNS:flags>%u</secDNS:flags>"
			   "<secDNS:protocol>%u</secDNS:protocol><secDNS:alg>"
			   "%u</secDNS:alg><secDNS:pubKey>%s</secDNS:pubKey>"
			   "</secDNS:keyData>",
			k->flags, k->protocol, k->alg, b64 ? b64 : "");
	}
	bprintf(b, "</secDNS:infData></extension>");
}

static int cmd_info(struct in *in)
{
	char name[CDS_NAME_MAX], sv[EPP_TRID_MAX];
	struct buf b = {0};
	struct dom *d;
	int ret;

	name_of(in, NULL, "//d:info/d:name", name);
	if (S.info_code)
		return simple(S.info_code, NULL, in->cltrid);
	if (!(d = dom_find(name))) {
		append("log", "info %s 2303", name);
		return simple(2303, NULL, in->cltrid);
	}
	append("log", "info %s 1000", name);
	resp_begin(&b, 1000, NULL);
	bprintf(&b, "<resData><domain:infData xmlns:domain=\"%s\">"
		    "<domain:name>%s</domain:name><domain:roid>D%zu-TEST"
		    "</domain:roid>",
		EPP_NS_DOMAIN, wire(d->name), (size_t)(d - S.dom) + 1);
	if (!d->n_status)
		bprintf(&b, "<domain:status s=\"ok\"/>");
	for (size_t i = 0; i < d->n_status; i++)
		bprintf(&b, "<domain:status s=\"%s\"/>", esc(d->status[i]));
	if (d->n_ns) {
		bprintf(&b, "<domain:ns>");
		for (size_t i = 0; i < d->n_ns; i++) {
			if (!S.host_attr) {
				bprintf(&b, "<domain:hostObj>%s</domain:hostObj>",
					wire(d->ns[i].name));
				continue;
			}
			bprintf(&b, "<domain:hostAttr><domain:hostName>%s"
				    "</domain:hostName>",
				wire(d->ns[i].name));
			for (size_t a = 0; a < d->ns[i].n_addr; a++)
				bprintf(&b, "<domain:hostAddr ip=\"%s\">%s"
					    "</domain:hostAddr>",
					strchr(d->ns[i].addr[a], ':') ? "v6"
								      : "v4",
					esc(d->ns[i].addr[a]));
			bprintf(&b, "</domain:hostAttr>");
		}
		bprintf(&b, "</domain:ns>");
	}
	bprintf(&b, "<domain:clID>%s</domain:clID></domain:infData></resData>",
		esc(S.user));
	info_secdns(&b, d);
	resp_end(&b, in->cltrid, sv);
	ret = send_frame(&b);
	free(b.p);
	return ret;
}

static bool ds_has(const struct cds_ds *v, size_t n, const struct cds_ds *x)
{
	for (size_t i = 0; i < n; i++)
		if (cds_ds_equal(&v[i], x))
			return true;
	return false;
}

static bool key_has(const struct cds_dnskey *v, size_t n,
		    const struct cds_dnskey *x)
{
	for (size_t i = 0; i < n; i++)
		if (cds_dnskey_equal(&v[i], x))
			return true;
	return false;
}

/* The secDNS part of an update, applied to the copy `d`. */
static int update_secdns(struct in *in, struct dom *d, const char **why,
			 size_t *n_rem, size_t *n_add)
{
	static struct cds_ds rd[CDS_DS_MAX], ad[CDS_DS_MAX];
	static struct cds_dnskey rk[CDS_DS_MAX], ak[CDS_DS_MAX];
	size_t nrd = 0, nad = 0, nrk = 0, nak = 0;
	xmlXPathObjectPtr o;
	xmlNodePtr rem = NULL, add = NULL;
	char all[16] = "";

	o = q(in, NULL, "//s:update/s:rem");
	if (cnt(o))
		rem = o->nodesetval->nodeTab[0];
	xmlXPathFreeObject(o);
	o = q(in, NULL, "//s:update/s:add");
	if (cnt(o))
		add = o->nodesetval->nodeTab[0];
	xmlXPathFreeObject(o);
	if (rem) {
		val(in, rem, "s:all", all, sizeof all);
		read_records(in, rem, rd, &nrd, rk, &nrk);
	}
	if (add)
		read_records(in, add, ad, &nad, ak, &nak);
	/* RFC 5910 §4: one interface per server; the other, or both at
	   once, is a policy error */
	if ((nrd || nad) && (nrk || nak)) {
		*why = "dsData and keyData mixed";
		return 2306;
	}
	if (S.key_mode ? (nrd || nad) : (nrk || nak)) {
		*why = S.key_mode ? "this registry takes keyData only"
				  : "this registry takes dsData only";
		return 2306;
	}
	/* strict: removing what is not there or adding what is would
	   show a change sent twice */
	for (size_t i = 0; i < nrd; i++)
		if (!ds_has(d->ds, d->n_ds, &rd[i])) {
			*why = "DS to remove not found";
			return 2303;
		}
	for (size_t i = 0; i < nrk; i++)
		if (!key_has(d->key, d->n_key, &rk[i])) {
			*why = "key to remove not found";
			return 2303;
		}
	if (strcmp(all, "true") == 0 || strcmp(all, "1") == 0) {
		d->n_ds = d->n_key = 0;
		(*n_rem)++;
	}
	for (size_t i = 0; i < nrd; i++) {
		for (size_t k = 0; k < d->n_ds; k++)
			if (cds_ds_equal(&d->ds[k], &rd[i])) {
				d->ds[k] = d->ds[--d->n_ds];
				break;
			}
		(*n_rem)++;
	}
	for (size_t i = 0; i < nrk; i++) {
		for (size_t k = 0; k < d->n_key; k++)
			if (cds_dnskey_equal(&d->key[k], &rk[i])) {
				d->key[k] = d->key[--d->n_key];
				break;
			}
		(*n_rem)++;
	}
	for (size_t i = 0; i < nad; i++) {
		if (ds_has(d->ds, d->n_ds, &ad[i])) {
			*why = "DS already present";
			return 2302;
		}
		d->ds[d->n_ds++] = ad[i];
		(*n_add)++;
	}
	for (size_t i = 0; i < nak; i++) {
		if (key_has(d->key, d->n_key, &ak[i])) {
			*why = "key already present";
			return 2302;
		}
		d->key[d->n_key++] = ak[i];
		(*n_add)++;
	}
	return 1000;
}

/* The NS part: hostObj with host-1.0 (the host must exist), hostAttr
   without (STANDARDS E5). */
static int update_ns(struct in *in, struct dom *d, const char **why,
		     size_t *n_rem, size_t *n_add)
{
	static const char *const parts[2] = {"//d:update/d:rem/d:ns/*",
					     "//d:update/d:add/d:ns/*"};

	for (int p = 0; p < 2; p++) {
		xmlXPathObjectPtr o = q(in, NULL, parts[p]);

		for (size_t i = 0; i < cnt(o); i++) {
			xmlNodePtr n = o->nodesetval->nodeTab[i];
			bool attr = xmlStrcmp(n->name, X("hostAttr")) == 0;
			struct epp_ns ns = {0};
			size_t k;

			if (attr != S.host_attr) {
				*why = attr ? "hostAttr refused: this registry "
					      "uses host objects"
					    : "hostObj refused: this registry "
					      "uses host attributes";
				xmlXPathFreeObject(o);
				return 2306;
			}
			name_of(in, n, attr ? "d:hostName" : ".", ns.name);
			if (attr) {
				xmlXPathObjectPtr a = q(in, n, "d:hostAddr");

				for (size_t j = 0; j < cnt(a) &&
						   ns.n_addr < EPP_ADDR_MAX;
				     j++)
					val(in, a->nodesetval->nodeTab[j], ".",
					    ns.addr[ns.n_addr++], EPP_ADDR_LEN);
				xmlXPathFreeObject(a);
			} else if (p == 1 && !host_find(ns.name)) {
				*why = "host object does not exist";
				xmlXPathFreeObject(o);
				return 2303;
			}
			for (k = 0; k < d->n_ns; k++)
				if (strcmp(d->ns[k].name, ns.name) == 0)
					break;
			if (p == 0) {
				if (k == d->n_ns) {
					*why = "NS to remove not found";
					xmlXPathFreeObject(o);
					return 2303;
				}
				d->ns[k] = d->ns[--d->n_ns];
				(*n_rem)++;
			} else {
				if (k < d->n_ns || d->n_ns >= EPP_NS_MAX) {
					*why = "NS already present";
					xmlXPathFreeObject(o);
					return 2302;
				}
				d->ns[d->n_ns++] = ns;
				(*n_add)++;
			}
		}
		xmlXPathFreeObject(o);
	}
	return 1000;
}

/* Half a frame, then the connection is gone. */
static void drop_mid_frame(void)
{
	uint8_t hdr[8] = {0, 0, 4, 0, '<', '?', 'x', 'm'};

	SSL_write(S.ssl, hdr, sizeof hdr);
}

static int cmd_update(struct in *in, bool *close_after)
{
	static struct dom copy;
	char name[CDS_NAME_MAX], sv[EPP_TRID_MAX];
	const char *why = NULL;
	struct dom *d;
	size_t n_rem = 0, n_add = 0;
	int code;

	name_of(in, NULL, "//d:update/d:name", name);
	if (!(d = dom_find(name))) {
		append("log", "update %s 2303", name);
		return simple(2303, NULL, in->cltrid);
	}
	if (S.update_code) {
		append("log", "update %s %d", name, S.update_code);
		*close_after = S.update_code >= 2500;
		return simple(S.update_code, S.code_msg, in->cltrid);
	}
	if (prohibited(d)) {
		append("log", "update %s 2304", name);
		return simple(2304, "Object status prohibits operation: "
				    "clientUpdateProhibited",
			      in->cltrid);
	}
	copy = *d;
	code = update_ns(in, &copy, &why, &n_rem, &n_add);
	if (code == 1000)
		code = update_secdns(in, &copy, &why, &n_rem, &n_add);
	if (code != 1000) {
		append("log", "update %s %d %s", name, code, why);
		return simple(code, why, in->cltrid);
	}
	if (S.update_pending) {
		d->pending = true;
		snprintf(d->p_cltrid, sizeof d->p_cltrid, "%s", in->cltrid);
		d->p_n_ds = copy.n_ds;
		memcpy(d->p_ds, copy.ds, sizeof d->p_ds);
		d->p_n_key = copy.n_key;
		memcpy(d->p_key, copy.key, sizeof d->p_key);
		struct buf b = {0};
		int ret;

		resp_begin(&b, 1001, NULL);
		resp_end(&b, in->cltrid, sv);
		snprintf(d->p_svtrid, sizeof d->p_svtrid, "%s", sv);
		save_state();
		append("log", "update %s 1001 pending", name);
		ret = send_frame(&b);
		free(b.p);
		return ret;
	}
	copy.pending = d->pending;
	*d = copy;
	save_state();
	append("log", "update %s 1000 applied rem=%zu add=%zu", name, n_rem,
	       n_add);
	if (S.update_drop) {
		drop_mid_frame();
		*close_after = true;
		return CDS_OK;
	}
	if (S.slow_ms)
		usleep((useconds_t)S.slow_ms * 1000);
	return simple(1000, NULL, in->cltrid);
}

/*
 * RFC 5732 §3.2.2: a host object that a domain still names cannot go
 * (2305, the domain's and every other registrar's), an unknown one is
 * 2303. Only host objects (hostObj) are linked: with -H attr there are
 * none and every host command is 2101.
 */
static int host_delete(struct in *in, bool *close_after)
{
	char name[CDS_NAME_MAX];
	struct host *h;

	name_of(in, NULL, "//h:delete/h:name", name);
	if (S.hdel_drop) {
		append("log", "host-delete %s dropped", name);
		*close_after = true;
		return CDS_OK;
	}
	if (S.hdel_code) {
		append("log", "host-delete %s %d", name, S.hdel_code);
		*close_after = S.hdel_code >= 2500;
		return simple(S.hdel_code, S.code_msg, in->cltrid);
	}
	if (!(h = host_find(name))) {
		append("log", "host-delete %s 2303", name);
		return simple(2303, NULL, in->cltrid);
	}
	for (size_t i = 0; i < S.n_dom; i++)
		for (size_t k = 0; k < S.dom[i].n_ns; k++)
			if (strcmp(S.dom[i].ns[k].name, name) == 0) {
				append("log", "host-delete %s 2305 %s", name,
				       S.dom[i].name);
				return simple(2305, "Object association "
						    "prohibits operation",
					      in->cltrid);
			}
	*h = S.host[--S.n_host];
	save_state();
	append("log", "host-delete %s 1000", name);
	return simple(1000, NULL, in->cltrid);
}

static int cmd_host(struct in *in, const char *op, bool *close_after)
{
	char name[CDS_NAME_MAX], sv[EPP_TRID_MAX];
	struct host *h;
	struct buf b = {0};
	int ret;

	if (S.host_attr) /* no host-1.0 in this registry's greeting */
		return simple(2101, NULL, in->cltrid);
	if (strcmp(op, "delete") == 0)
		return host_delete(in, close_after);
	if (strcmp(op, "check") == 0) {
		name_of(in, NULL, "//h:check/h:name", name);
		resp_begin(&b, 1000, NULL);
		bprintf(&b, "<resData><host:chkData xmlns:host=\"%s\"><host:cd>"
			    "<host:name avail=\"%d\">%s</host:name></host:cd>"
			    "</host:chkData></resData>",
			EPP_NS_HOST, host_find(name) ? 0 : 1, wire(name));
		resp_end(&b, in->cltrid, sv);
		append("log", "host-check %s", name);
		ret = send_frame(&b);
		free(b.p);
		return ret;
	}
	if (strcmp(op, "create") == 0) {
		name_of(in, NULL, "//h:create/h:name", name);
		if (host_find(name) || S.n_host >= MAX_HOST)
			return simple(2302, NULL, in->cltrid);
		h = &S.host[S.n_host++];
		memset(h, 0, sizeof *h);
		snprintf(h->name, sizeof h->name, "%s", name);
		xmlXPathObjectPtr a = q(in, NULL, "//h:create/h:addr");

		for (size_t i = 0; i < cnt(a) && h->n_addr < EPP_ADDR_MAX; i++)
			val(in, a->nodesetval->nodeTab[i], ".",
			    h->addr[h->n_addr++], EPP_ADDR_LEN);
		xmlXPathFreeObject(a);
		save_state();
		append("log", "host-create %s 1000 addrs=%zu", name, h->n_addr);
		return simple(1000, NULL, in->cltrid);
	}
	if (strcmp(op, "update") != 0)
		return simple(2101, NULL, in->cltrid);
	name_of(in, NULL, "//h:update/h:name", name);
	if (!(h = host_find(name)))
		return simple(2303, NULL, in->cltrid);
	for (int p = 0; p < 2; p++) {
		xmlXPathObjectPtr a = q(in, NULL, p ? "//h:update/h:add/h:addr"
						    : "//h:update/h:rem/h:addr");
		char ad[EPP_ADDR_LEN];

		for (size_t i = 0; i < cnt(a); i++) {
			val(in, a->nodesetval->nodeTab[i], ".", ad, sizeof ad);
			for (size_t k = 0; k < h->n_addr; k++)
				if (strcmp(h->addr[k], ad) == 0)
					memcpy(h->addr[k],
					       h->addr[--h->n_addr],
					       EPP_ADDR_LEN);
			if (p && h->n_addr < EPP_ADDR_MAX)
				snprintf(h->addr[h->n_addr++], EPP_ADDR_LEN,
					 "%s", ad);
		}
		xmlXPathFreeObject(a);
	}
	save_state();
	append("log", "host-update %s 1000 addrs=%zu", name, h->n_addr);
	return simple(1000, NULL, in->cltrid);
}

static int cmd_poll(struct in *in)
{
	char op[8], id[32], sv[EPP_TRID_MAX], date[32];
	struct buf b = {0};
	struct pollmsg *p;
	time_t t = time(NULL);
	int ret;

	val(in, NULL, "//e:poll/@op", op, sizeof op);
	if (strcmp(op, "ack") == 0) {
		val(in, NULL, "//e:poll/@msgID", id, sizeof id);
		for (size_t i = 0; i < S.n_poll; i++)
			if (S.poll[i].id == atoi(id)) {
				S.poll[i] = S.poll[--S.n_poll];
				save_state();
				append("log", "poll-ack %s 1000", id);
				return simple(1000, NULL, in->cltrid);
			}
		return simple(2303, NULL, in->cltrid);
	}
	if (S.n_poll == 0)
		return simple(1300, NULL, in->cltrid);
	p = &S.poll[0];
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	resp_begin(&b, 1301, NULL);
	bprintf(&b, "<msgQ count=\"%zu\" id=\"%d\"><qDate>%s</qDate><msg>"
		    "Pending action %s.</msg></msgQ>",
		S.n_poll, p->id, date, p->result ? "completed" : "refused");
	bprintf(&b, "<resData><domain:panData xmlns:domain=\"%s\">"
		    "<domain:name paResult=\"%d\">%s</domain:name>"
		    "<domain:paTRID><clTRID>%s</clTRID><svTRID>%s</svTRID>"
		    "</domain:paTRID><domain:paDate>%s</domain:paDate>"
		    "</domain:panData></resData>",
		EPP_NS_DOMAIN, p->result, wire(p->name), esc(p->cltrid),
		esc(p->svtrid), date);
	resp_end(&b, in->cltrid, sv);
	append("log", "poll-req %d", p->id);
	ret = send_frame(&b);
	free(b.p);
	return ret;
}

/* Validate, dispatch, answer. Returns -1 when the connection must end. */
static int handle(const char *xml, size_t len)
{
	struct in in = {0};
	xmlSchemaValidCtxtPtr vc;
	xmlXPathObjectPtr o;
	bool close_after = false;
	int ret = 0, v;

	S.frames++;
	in.doc = xmlReadMemory(xml, (int)len, "frame.xml", NULL,
			       XML_PARSE_NONET | XML_PARSE_NOERROR |
				       XML_PARSE_NOWARNING);
	vc = xmlSchemaNewValidCtxt(S.schema);
	v = in.doc && vc ? xmlSchemaValidateDoc(vc, in.doc) : -1;
	xmlSchemaFreeValidCtxt(vc);
	if (v != 0) {
		xmlErrorPtr e = xmlGetLastError();

		append("errors", "frame %d fails the schema: %s%.*s", S.frames,
		       e && e->message ? e->message : "not well-formed\n",
		       (int)len, xml);
		xmlFreeDoc(in.doc);
		return simple(2001, NULL, NULL) ? -1 : 0;
	}
	in.xp = xmlXPathNewContext(in.doc);
	xmlXPathRegisterNs(in.xp, X("e"), X(EPP_NS_EPP));
	xmlXPathRegisterNs(in.xp, X("d"), X(EPP_NS_DOMAIN));
	xmlXPathRegisterNs(in.xp, X("h"), X(EPP_NS_HOST));
	xmlXPathRegisterNs(in.xp, X("s"), X(EPP_NS_SECDNS));
	val(&in, NULL, "/e:epp/e:command/e:clTRID", in.cltrid,
	    sizeof in.cltrid);
	o = q(&in, NULL, "/e:epp/e:hello | /e:epp/e:command/*[1]");
	const char *cmd = cnt(o) ? (const char *)o->nodesetval->nodeTab[0]->name
				 : "";
	bool is_update = strcmp(cmd, "update") == 0 &&
			 has(&in, "//d:update") > 0;

	read_control(is_update, strcmp(cmd, "delete") == 0 &&
					has(&in, "//h:delete") > 0);
	if (strcmp(cmd, "hello") == 0) {
		struct buf b = {0};

		greeting(&b);
		append("log", "hello");
		ret = send_frame(&b);
		free(b.p);
	} else if (strcmp(cmd, "login") == 0) {
		ret = cmd_login(&in);
	} else if (!S.logged_in) {
		ret = simple(2002, "login first", in.cltrid);
	} else if (strcmp(cmd, "logout") == 0) {
		append("log", "logout");
		simple(1500, NULL, in.cltrid);
		close_after = true;
	} else if (strcmp(cmd, "info") == 0) {
		ret = cmd_info(&in);
	} else if (is_update) {
		ret = cmd_update(&in, &close_after);
	} else if (strcmp(cmd, "poll") == 0) {
		ret = cmd_poll(&in);
	} else if (has(&in, "/e:epp/e:command/*[1]/h:*")) {
		ret = cmd_host(&in, cmd, &close_after);
	} else {
		ret = simple(2101, NULL, in.cltrid);
	}
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(in.xp);
	xmlFreeDoc(in.doc);
	return ret != 0 || close_after ? -1 : 0;
}

static void serve(SSL_CTX *ctx, int c)
{
	struct buf b = {0};
	struct timeval tv = {.tv_sec = 30};
	char *frame = NULL;
	size_t len;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	S.ssl = SSL_new(ctx);
	SSL_set_fd(S.ssl, c);
	S.logged_in = false;
	if (SSL_accept(S.ssl) != 1) {
		unsigned long e = ERR_get_error();

		append("log", "tls-refused %s",
		       e ? ERR_reason_error_string(e) : "?");
		ERR_clear_error();
		goto out;
	}
	read_control(false, false);
	greeting(&b);
	if (send_frame(&b) != 0)
		goto out;
	while (!stop && epp_frame_read(ssl_rd, NULL, EPP_FRAME_MAX, &frame,
				       &len) == 0) {
		int r = handle(frame, len);

		free(frame);
		frame = NULL;
		if (r < 0)
			break;
	}
	SSL_shutdown(S.ssl);
out:
	free(b.p);
	SSL_free(S.ssl);
	S.ssl = NULL;
	close(c);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: eppserver -d DIR -x XSD -C CA -c CERT -k KEY -u USER "
		"-w PASSWORD\n"
		"                 [-a ADDR] [-p PORT] [-m ds|key] [-H obj|attr]\n"
		"  DIR holds state, control, log, errors and port (written once\n"
		"  listening; -p 0 picks a free port). -m: dsData or keyData\n"
		"  registry; -H attr: no host-1.0 (host attributes).\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *xsd = NULL, *ca = NULL, *cert = NULL, *key = NULL;
	const char *addr = "127.0.0.1";
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof sa;
	SSL_CTX *ctx;
	xmlSchemaParserCtxtPtr pc;
	int c, port = 0, s, one = 1;

	while ((c = getopt(argc, argv, "d:x:C:c:k:u:w:a:p:m:H:")) != -1) {
		switch (c) {
		case 'd': S.dir = optarg; break;
		case 'x': xsd = optarg; break;
		case 'C': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'u': S.user = optarg; break;
		case 'w': S.password = optarg; break;
		case 'a': addr = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'm': S.key_mode = strcmp(optarg, "key") == 0; break;
		case 'H': S.host_attr = strcmp(optarg, "attr") == 0; break;
		default: usage();
		}
	}
	if (!S.dir || !xsd || !ca || !cert || !key || !S.user || !S.password)
		usage();
	if (!(pc = xmlSchemaNewParserCtxt(xsd)) ||
	    !(S.schema = xmlSchemaParse(pc)))
		die("%s: cannot load the schema", xsd);
	xmlSchemaFreeParserCtxt(pc);
	load_state();
	if (!(ctx = SSL_CTX_new(TLS_server_method())))
		die("TLS");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		die("cannot load the certificate, key or CA");
	/* RFC 5734 §9: the client authenticates with its certificate */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
				       SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction act = {.sa_handler = on_term};

	sigaction(SIGTERM, &act, NULL); /* no SA_RESTART: accept returns */
	sigaction(SIGINT, &act, NULL);
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		die("socket: %s", strerror(errno));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		die("%s: not an IPv4 address", addr);
	if (bind(s, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(s, 8))
		die("bind %s:%d: %s", addr, port, strerror(errno));
	getsockname(s, (struct sockaddr *)&sa, &sl);
	{
		char path[4096];
		FILE *f;

		snprintf(path, sizeof path, "%s/port", S.dir);
		if (!(f = fopen(path, "w")))
			die("%s: %s", path, strerror(errno));
		fprintf(f, "%d\n", ntohs(sa.sin_port));
		fclose(f);
	}
	while (!stop) {
		int cl = accept(s, NULL, NULL);

		if (cl >= 0)
			serve(ctx, cl);
	}
	close(s);
	SSL_CTX_free(ctx);
	xmlSchemaFree(S.schema);
	return 0;
}
