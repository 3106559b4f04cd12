/*
 * EPP documents, built and read with libxml2 (never by pasting strings):
 * user data — domain names, host names, passwords, messages — always goes
 * in as a text node or attribute, which libxml2 escapes, and responses are
 * read with XPath under the EPP namespaces, so that a prefix a server
 * picked or an element order it chose does not matter. Parsing never
 * fetches anything (XML_PARSE_NONET) and never substitutes entities.
 * No I/O here: the unit tests build and parse without a server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "core/errors.h"
#include "epp/epp.h"

#define X(s) ((const xmlChar *)(s))

char *epp_name_wire(const char *name, char *buf, size_t size)
{
	size_t n = strlen(name);

	if (n > 1 && name[n - 1] == '.')
		n--;
	snprintf(buf, size, "%.*s", (int)n, name);
	return buf;
}

char *epp_name_cds(const char *wire, char *buf, size_t size)
{
	size_t n = strlen(wire);

	snprintf(buf, size, "%s%s", wire,
		 n && wire[n - 1] == '.' ? "" : ".");
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return buf;
}

/* ---- building --------------------------------------------------------- */

struct bld {
	xmlDocPtr doc;
	xmlNodePtr root;
	xmlNsPtr ns;
};

static int bld_begin(struct bld *b)
{
	if (!(b->doc = xmlNewDoc(X("1.0"))))
		return CDS_ENOMEM;
	b->root = xmlNewDocNode(b->doc, NULL, X("epp"), NULL);
	if (!b->root)
		return CDS_ENOMEM;
	b->ns = xmlNewNs(b->root, X(EPP_NS_EPP), NULL);
	xmlSetNs(b->root, b->ns);
	xmlDocSetRootElement(b->doc, b->root);
	return CDS_OK;
}

/* Serialise and free. */
static int bld_end(struct bld *b, int ret, char **out, size_t *len)
{
	xmlChar *mem = NULL;
	int n = 0;

	*out = NULL;
	*len = 0;
	if (ret == 0) {
		xmlDocDumpMemoryEnc(b->doc, &mem, &n, "UTF-8");
		if (!mem || n <= 0) {
			ret = CDS_ENOMEM;
		} else if (!(*out = malloc((size_t)n + 1))) {
			ret = CDS_ENOMEM;
		} else {
			memcpy(*out, mem, (size_t)n);
			(*out)[n] = '\0';
			*len = (size_t)n;
		}
	}
	xmlFree(mem);
	xmlFreeDoc(b->doc);
	b->doc = NULL;
	return ret;
}

/* A child element with text content (escaped by libxml2). */
static xmlNodePtr text_child(xmlNodePtr parent, xmlNsPtr ns, const char *name,
			     const char *text)
{
	return xmlNewTextChild(parent, ns, X(name), text ? X(text) : NULL);
}

static xmlNodePtr int_child(xmlNodePtr parent, xmlNsPtr ns, const char *name,
			    unsigned v)
{
	char s[16];

	snprintf(s, sizeof s, "%u", v);
	return text_child(parent, ns, name, s);
}

/* <command><NAME>…</NAME>…<clTRID/></command>: returns the NAME node;
   the caller adds clTRID last (it must follow any <extension>). */
static xmlNodePtr command(struct bld *b, const char *name, xmlNodePtr *cmd)
{
	*cmd = xmlNewChild(b->root, b->ns, X("command"), NULL);
	return *cmd ? xmlNewChild(*cmd, b->ns, X(name), NULL) : NULL;
}

static int trid(xmlNodePtr cmd, xmlNsPtr ns, const char *cl_trid)
{
	if (!cl_trid)
		return CDS_OK;
	if (strlen(cl_trid) < 3 || strlen(cl_trid) > 64)
		return CDS_EINVAL;
	return text_child(cmd, ns, "clTRID", cl_trid) ? CDS_OK : CDS_ENOMEM;
}

/* An object command element in its own namespace, e.g. <domain:info>. */
static xmlNodePtr object(xmlNodePtr parent, const char *uri,
			 const char *prefix, const char *name, xmlNsPtr *ns)
{
	xmlNodePtr n = xmlNewChild(parent, NULL, X(name), NULL);

	if (!n)
		return NULL;
	*ns = xmlNewNs(n, X(uri), X(prefix));
	xmlSetNs(n, *ns);
	return n;
}

int epp_xml_hello(char **out, size_t *len)
{
	struct bld b = {0};
	int ret = bld_begin(&b);

	if (ret == 0 && !xmlNewChild(b.root, b.ns, X("hello"), NULL))
		ret = CDS_ENOMEM;
	return bld_end(&b, ret, out, len);
}

int epp_xml_login(const struct epp_greeting *g, const char *user,
		  const char *password, const char *cl_trid, char **out,
		  size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd, login, opt, svcs, ext;
	int ret = bld_begin(&b);

	if (ret != 0)
		goto out;
	ret = CDS_ENOMEM;
	if (!(login = command(&b, "login", &cmd)) ||
	    !text_child(login, b.ns, "clID", user) ||
	    !text_child(login, b.ns, "pw", password) ||
	    !(opt = xmlNewChild(login, b.ns, X("options"), NULL)) ||
	    /* E2: version and lang exactly as the greeting offered them */
	    !text_child(opt, b.ns, "version", g->version) ||
	    !text_child(opt, b.ns, "lang", g->lang) ||
	    !(svcs = xmlNewChild(login, b.ns, X("svcs"), NULL)) ||
	    !text_child(svcs, b.ns, "objURI", EPP_NS_DOMAIN))
		goto out;
	if (g->host && !text_child(svcs, b.ns, "objURI", EPP_NS_HOST))
		goto out;
	/* E3: secDNS-1.1 when offered; 1.0 is never asked for */
	if (g->secdns11 &&
	    (!(ext = xmlNewChild(svcs, b.ns, X("svcExtension"), NULL)) ||
	     !text_child(ext, b.ns, "extURI", EPP_NS_SECDNS)))
		goto out;
	ret = trid(cmd, b.ns, cl_trid);
out:
	return bld_end(&b, ret, out, len);
}

int epp_xml_logout(const char *cl_trid, char **out, size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd;
	int ret = bld_begin(&b);

	if (ret == 0)
		ret = command(&b, "logout", &cmd) ? trid(cmd, b.ns, cl_trid)
						  : CDS_ENOMEM;
	return bld_end(&b, ret, out, len);
}

int epp_xml_domain_info(const char *name, const char *cl_trid, char **out,
			size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd, info, d;
	xmlNsPtr dns;
	char w[CDS_NAME_MAX];
	int ret = bld_begin(&b);

	if (ret != 0)
		goto out;
	ret = CDS_ENOMEM;
	if (!(info = command(&b, "info", &cmd)) ||
	    !(d = object(info, EPP_NS_DOMAIN, "domain", "info", &dns)))
		goto out;
	xmlNodePtr n = text_child(d, dns, "name",
				  epp_name_wire(name, w, sizeof w));
	if (!n)
		goto out;
	/* hosts="all": the NS of the domain, not the subordinate hosts */
	xmlNewProp(n, X("hosts"), X("all"));
	ret = trid(cmd, b.ns, cl_trid);
out:
	return bld_end(&b, ret, out, len);
}

static bool add_ds(xmlNodePtr parent, xmlNsPtr ns, const struct cds_ds *ds)
{
	xmlNodePtr d = xmlNewChild(parent, ns, X("dsData"), NULL);
	char hex[2 * CDS_DIGEST_MAX + 1];

	for (size_t i = 0; i < ds->digest_len; i++)
		snprintf(hex + 2 * i, 3, "%02X", ds->digest[i]);
	hex[2 * ds->digest_len] = '\0';
	return d && int_child(d, ns, "keyTag", ds->keytag) &&
	       int_child(d, ns, "alg", ds->alg) &&
	       int_child(d, ns, "digestType", ds->digest_type) &&
	       text_child(d, ns, "digest", hex);
}

static bool add_key(xmlNodePtr parent, xmlNsPtr ns,
		    const struct cds_dnskey *k)
{
	xmlNodePtr d = xmlNewChild(parent, ns, X("keyData"), NULL);
	size_t sz = cds_dnskey_str_size(k);
	char *s = malloc(sz), *b64;
	bool ok = false;

	if (!d || !s)
		goto out;
	cds_dnskey_format(k, s, sz);
	/* "FLAGS PROTOCOL ALG BASE64": the key is after the third blank */
	b64 = s;
	for (int i = 0; i < 3 && b64; i++)
		if ((b64 = strchr(b64, ' ')))
			b64++;
	ok = b64 && int_child(d, ns, "flags", k->flags) &&
	     int_child(d, ns, "protocol", k->protocol) &&
	     int_child(d, ns, "alg", k->alg) &&
	     text_child(d, ns, "pubKey", b64);
out:
	free(s);
	return ok;
}

/* secDNS-1.1 <update>: rem before add (RFC 5910 §5.2.5). */
static bool secdns_update(xmlNodePtr cmd, xmlNsPtr eppns,
			  const struct epp_ds_update *u)
{
	xmlNodePtr ext = xmlNewChild(cmd, eppns, X("extension"), NULL), up, r;
	xmlNsPtr ns;

	if (!ext || !(up = object(ext, EPP_NS_SECDNS, "secDNS", "update", &ns)))
		return false;
	if (u->rem_all || u->n_rem) {
		if (!(r = xmlNewChild(up, ns, X("rem"), NULL)))
			return false;
		if (u->rem_all && !text_child(r, ns, "all", "true"))
			return false;
		for (size_t i = 0; !u->rem_all && i < u->n_rem; i++)
			if (u->key_data ? !add_key(r, ns, &u->rem_key[i])
					: !add_ds(r, ns, &u->rem_ds[i]))
				return false;
	}
	if (u->n_add) {
		if (!(r = xmlNewChild(up, ns, X("add"), NULL)))
			return false;
		for (size_t i = 0; i < u->n_add; i++)
			if (u->key_data ? !add_key(r, ns, &u->add_key[i])
					: !add_ds(r, ns, &u->add_ds[i]))
				return false;
	}
	return true;
}

/* <domain:ns> with hostObj or hostAttr entries (STANDARDS E5). */
static bool ns_list(xmlNodePtr parent, xmlNsPtr ns, const char *what,
		    const struct epp_ns *v, size_t n, bool attr)
{
	xmlNodePtr ar, list, h, a;
	char w[CDS_NAME_MAX];

	if (n == 0)
		return true;
	if (!(ar = xmlNewChild(parent, ns, X(what), NULL)) ||
	    !(list = xmlNewChild(ar, ns, X("ns"), NULL)))
		return false;
	for (size_t i = 0; i < n; i++) {
		epp_name_wire(v[i].name, w, sizeof w);
		if (!attr) {
			if (!text_child(list, ns, "hostObj", w))
				return false;
			continue;
		}
		if (!(h = xmlNewChild(list, ns, X("hostAttr"), NULL)) ||
		    !text_child(h, ns, "hostName", w))
			return false;
		for (size_t k = 0; k < v[i].n_addr; k++) {
			if (!(a = text_child(h, ns, "hostAddr", v[i].addr[k])))
				return false;
			xmlNewProp(a, X("ip"),
				   X(strchr(v[i].addr[k], ':') ? "v6" : "v4"));
		}
	}
	return true;
}

int epp_xml_domain_update(const char *name, const struct epp_ds_update *ds,
			  const struct epp_ns_update *ns, const char *cl_trid,
			  char **out, size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd, up, d;
	xmlNsPtr dns;
	char w[CDS_NAME_MAX];
	int ret = bld_begin(&b);

	if (ret != 0)
		goto out;
	ret = CDS_EINVAL;
	if (!ds && !ns)
		goto out;
	ret = CDS_ENOMEM;
	if (!(up = command(&b, "update", &cmd)) ||
	    !(d = object(up, EPP_NS_DOMAIN, "domain", "update", &dns)) ||
	    !text_child(d, dns, "name", epp_name_wire(name, w, sizeof w)))
		goto out;
	/* the schema's order: add, then rem */
	if (ns && (!ns_list(d, dns, "add", ns->add, ns->n_add, ns->host_attr) ||
		   !ns_list(d, dns, "rem", ns->rem, ns->n_rem, ns->host_attr)))
		goto out;
	if (ds && !secdns_update(cmd, b.ns, ds))
		goto out;
	ret = trid(cmd, b.ns, cl_trid);
out:
	return bld_end(&b, ret, out, len);
}

/* host:check and host:delete: the verb and one host:name (RFC 5732). */
static int host_name_command(const char *verb, const char *name,
			     const char *cl_trid, char **out, size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd, c, h;
	xmlNsPtr hns;
	char w[CDS_NAME_MAX];
	int ret = bld_begin(&b);

	if (ret == 0) {
		ret = CDS_ENOMEM;
		if ((c = command(&b, verb, &cmd)) &&
		    (h = object(c, EPP_NS_HOST, "host", verb, &hns)) &&
		    text_child(h, hns, "name", epp_name_wire(name, w, sizeof w)))
			ret = trid(cmd, b.ns, cl_trid);
	}
	return bld_end(&b, ret, out, len);
}

int epp_xml_host_check(const char *name, const char *cl_trid, char **out,
		       size_t *len)
{
	return host_name_command("check", name, cl_trid, out, len);
}

static bool host_addrs(xmlNodePtr parent, xmlNsPtr ns,
		       const struct epp_ns *h)
{
	for (size_t k = 0; k < h->n_addr; k++) {
		xmlNodePtr a = text_child(parent, ns, "addr", h->addr[k]);

		if (!a)
			return false;
		xmlNewProp(a, X("ip"), X(strchr(h->addr[k], ':') ? "v6" : "v4"));
	}
	return true;
}

int epp_xml_host_create(const struct epp_ns *host, const char *cl_trid,
			char **out, size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd, c, h;
	xmlNsPtr hns;
	char w[CDS_NAME_MAX];
	int ret = bld_begin(&b);

	if (ret == 0) {
		ret = CDS_ENOMEM;
		/* E6: addresses only where glue is needed: the caller
		   passes none for a host outside the domain */
		if ((c = command(&b, "create", &cmd)) &&
		    (h = object(c, EPP_NS_HOST, "host", "create", &hns)) &&
		    text_child(h, hns, "name",
			       epp_name_wire(host->name, w, sizeof w)) &&
		    host_addrs(h, hns, host))
			ret = trid(cmd, b.ns, cl_trid);
	}
	return bld_end(&b, ret, out, len);
}

int epp_xml_host_update(const char *name, const struct epp_ns *add,
			const struct epp_ns *rem, const char *cl_trid,
			char **out, size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd, c, h, a;
	xmlNsPtr hns;
	char w[CDS_NAME_MAX];
	int ret = bld_begin(&b);

	if (ret != 0)
		goto out;
	ret = CDS_ENOMEM;
	if (!(c = command(&b, "update", &cmd)) ||
	    !(h = object(c, EPP_NS_HOST, "host", "update", &hns)) ||
	    !text_child(h, hns, "name", epp_name_wire(name, w, sizeof w)))
		goto out;
	if (add && add->n_addr &&
	    (!(a = xmlNewChild(h, hns, X("add"), NULL)) ||
	     !host_addrs(a, hns, add)))
		goto out;
	if (rem && rem->n_addr &&
	    (!(a = xmlNewChild(h, hns, X("rem"), NULL)) ||
	     !host_addrs(a, hns, rem)))
		goto out;
	ret = trid(cmd, b.ns, cl_trid);
out:
	return bld_end(&b, ret, out, len);
}

int epp_xml_host_delete(const char *name, const char *cl_trid, char **out,
			size_t *len)
{
	return host_name_command("delete", name, cl_trid, out, len);
}

int epp_xml_poll(const char *ack_id, const char *cl_trid, char **out,
		 size_t *len)
{
	struct bld b = {0};
	xmlNodePtr cmd, p;
	int ret = bld_begin(&b);

	if (ret == 0) {
		ret = CDS_ENOMEM;
		if ((p = command(&b, "poll", &cmd))) {
			xmlNewProp(p, X("op"), X(ack_id ? "ack" : "req"));
			if (ack_id)
				xmlNewProp(p, X("msgID"), X(ack_id));
			ret = trid(cmd, b.ns, cl_trid);
		}
	}
	return bld_end(&b, ret, out, len);
}

/* ---- parsing ---------------------------------------------------------- */

struct rd {
	xmlDocPtr doc;
	xmlXPathContextPtr xp;
};

/* libxml2 reports some faults (bytes that do not match the declared
   encoding) through its generic error function whatever the parse
   options say; what a registry sends must not reach our stderr. */
static void quiet(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static int rd_open(struct rd *r, const char *xml, size_t len, char *err,
		   size_t errlen)
{
	xmlSetGenericErrorFunc(NULL, quiet);
	r->doc = xmlReadMemory(xml, (int)len, "epp.xml", NULL,
			       XML_PARSE_NONET | XML_PARSE_NOERROR |
				       XML_PARSE_NOWARNING);
	if (!r->doc) {
		snprintf(err, errlen, "not well-formed XML");
		return CDS_EPROTO;
	}
	if (!(r->xp = xmlXPathNewContext(r->doc)))
		return CDS_ENOMEM;
	xmlXPathRegisterNs(r->xp, X("e"), X(EPP_NS_EPP));
	xmlXPathRegisterNs(r->xp, X("d"), X(EPP_NS_DOMAIN));
	xmlXPathRegisterNs(r->xp, X("h"), X(EPP_NS_HOST));
	xmlXPathRegisterNs(r->xp, X("s"), X(EPP_NS_SECDNS));
	return CDS_OK;
}

static void rd_close(struct rd *r)
{
	xmlXPathFreeContext(r->xp);
	xmlFreeDoc(r->doc);
}

/* The nodes of `expr` under `at` (NULL: the document). Free with
   xmlXPathFreeObject; nodesetval may be NULL. */
static xmlXPathObjectPtr nodes(struct rd *r, xmlNodePtr at, const char *expr)
{
	return xmlXPathNodeEval(at ? at : xmlDocGetRootElement(r->doc),
				X(expr), r->xp);
}

static size_t count(xmlXPathObjectPtr o)
{
	return o && o->nodesetval ? (size_t)o->nodesetval->nodeNr : 0;
}

static xmlNodePtr nth(xmlXPathObjectPtr o, size_t i)
{
	return o->nodesetval->nodeTab[i];
}

/* The string value of `expr` under `at`, trimmed, into buf ("" if none). */
static char *str(struct rd *r, xmlNodePtr at, const char *expr, char *buf,
		 size_t size)
{
	char e[256];
	xmlXPathObjectPtr o;
	const char *s = "", *end;

	snprintf(e, sizeof e, "string(%s)", expr);
	o = nodes(r, at, e);
	if (o && o->type == XPATH_STRING && o->stringval)
		s = (const char *)o->stringval;
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\n' ||
			   end[-1] == '\t' || end[-1] == '\r'))
		end--;
	snprintf(buf, size, "%.*s", (int)(end - s), s);
	xmlXPathFreeObject(o);
	return buf;
}

static long num(struct rd *r, xmlNodePtr at, const char *expr)
{
	char b[32], *end;
	long v;

	str(r, at, expr, b, sizeof b);
	v = strtol(b, &end, 10);
	return *b && !*end ? v : -1;
}

int epp_xml_parse_greeting(const char *xml, size_t len,
			   struct epp_greeting *g, char *err, size_t errlen)
{
	struct rd r = {0};
	xmlXPathObjectPtr o = NULL;
	xmlNodePtr gr;
	char uri[256];
	int ret;

	memset(g, 0, sizeof *g);
	if ((ret = rd_open(&r, xml, len, err, errlen)) != 0)
		goto out;
	ret = CDS_EPROTO;
	o = nodes(&r, NULL, "/e:epp/e:greeting");
	if (count(o) != 1) {
		snprintf(err, errlen, "the server's first frame is not a "
				      "greeting");
		goto out;
	}
	gr = nth(o, 0);
	str(&r, gr, "e:svID", g->sv_id, sizeof g->sv_id);
	str(&r, gr, "e:svcMenu/e:version[1]", g->version, sizeof g->version);
	if (num(&r, gr, "count(e:svcMenu/e:lang[normalize-space(.)='en'])") > 0)
		snprintf(g->lang, sizeof g->lang, "en");
	else
		str(&r, gr, "e:svcMenu/e:lang[1]", g->lang, sizeof g->lang);
	xmlXPathFreeObject(o);
	o = nodes(&r, gr, "e:svcMenu/e:objURI | "
			  "e:svcMenu/e:svcExtension/e:extURI");
	for (size_t i = 0; i < count(o); i++) {
		str(&r, nth(o, i), ".", uri, sizeof uri);
		g->domain |= strcmp(uri, EPP_NS_DOMAIN) == 0;
		g->host |= strcmp(uri, EPP_NS_HOST) == 0;
		g->secdns11 |= strcmp(uri, EPP_NS_SECDNS) == 0;
		g->secdns10 |= strcmp(uri, EPP_NS_SECDNS10) == 0;
	}
	if (!*g->version || !*g->lang) {
		snprintf(err, errlen, "the greeting offers no version or "
				      "language");
		goto out;
	}
	ret = CDS_OK;
out:
	xmlXPathFreeObject(o);
	rd_close(&r);
	return ret;
}

static void parse_ns(struct rd *r, xmlNodePtr inf, struct epp_domain *d)
{
	xmlXPathObjectPtr o = nodes(r, inf, "d:ns/d:hostObj | d:ns/d:hostAttr");
	char s[CDS_NAME_MAX];

	for (size_t i = 0; i < count(o) && d->n_ns < EPP_NS_MAX; i++) {
		xmlNodePtr n = nth(o, i);
		struct epp_ns *ns = &d->ns[d->n_ns++];

		memset(ns, 0, sizeof *ns);
		if (xmlStrcmp(n->name, X("hostObj")) == 0) {
			epp_name_cds(str(r, n, ".", s, sizeof s), ns->name,
				     sizeof ns->name);
			continue;
		}
		epp_name_cds(str(r, n, "d:hostName", s, sizeof s), ns->name,
			     sizeof ns->name);
		xmlXPathObjectPtr a = nodes(r, n, "d:hostAddr");

		for (size_t k = 0; k < count(a) && ns->n_addr < EPP_ADDR_MAX;
		     k++)
			str(r, nth(a, k), ".", ns->addr[ns->n_addr++],
			    EPP_ADDR_LEN);
		xmlXPathFreeObject(a);
	}
	xmlXPathFreeObject(o);
}

/* secDNS:infData: dsData or keyData records. */
static int parse_secdns(struct rd *r, struct epp_domain *d, char *err,
			size_t errlen)
{
	xmlXPathObjectPtr o = nodes(r, NULL, "/e:epp/e:response/e:extension/"
					     "s:infData/s:dsData");
	char t[2 * CDS_KEY_MAX], h[2 * CDS_KEY_MAX];
	int ret = CDS_EPROTO;

	for (size_t i = 0; i < count(o) && d->n_ds < CDS_DS_MAX; i++) {
		xmlNodePtr n = nth(o, i);

		snprintf(t, sizeof t, "%ld %ld %ld %s",
			 num(r, n, "s:keyTag"), num(r, n, "s:alg"),
			 num(r, n, "s:digestType"),
			 str(r, n, "s:digest", h, sizeof h));
		if (cds_ds_parse(t, &d->ds[d->n_ds++]) != 0) {
			snprintf(err, errlen, "domain:info: bad dsData '%.80s'",
				 t);
			goto out;
		}
	}
	xmlXPathFreeObject(o);
	o = nodes(r, NULL, "/e:epp/e:response/e:extension/s:infData/s:keyData");
	d->key_data = count(o) > 0;
	for (size_t i = 0; i < count(o) && d->n_keys < CDS_DS_MAX; i++) {
		xmlNodePtr n = nth(o, i);

		snprintf(t, sizeof t, "%ld %ld %ld %s", num(r, n, "s:flags"),
			 num(r, n, "s:protocol"), num(r, n, "s:alg"),
			 str(r, n, "s:pubKey", h, sizeof h));
		if (cds_dnskey_parse(t, &d->keys[d->n_keys++]) != 0) {
			snprintf(err, errlen, "domain:info: bad keyData");
			goto out;
		}
	}
	ret = CDS_OK;
out:
	xmlXPathFreeObject(o);
	return ret;
}

static int parse_info(struct rd *r, xmlNodePtr inf, struct epp_domain *d,
		      char *err, size_t errlen)
{
	xmlXPathObjectPtr o;
	char s[CDS_NAME_MAX];

	memset(d, 0, sizeof *d);
	epp_name_cds(str(r, inf, "d:name", s, sizeof s), d->name,
		     sizeof d->name);
	o = nodes(r, inf, "d:status/@s");
	for (size_t i = 0; i < count(o) && d->n_status < EPP_STATUS_MAX; i++)
		str(r, nth(o, i), ".", d->status[d->n_status++],
		    EPP_STATUS_LEN);
	xmlXPathFreeObject(o);
	parse_ns(r, inf, d);
	return parse_secdns(r, d, err, errlen);
}

int epp_xml_parse_response(const char *xml, size_t len,
			   struct epp_response *resp, char *err, size_t errlen)
{
	struct rd r = {0};
	xmlXPathObjectPtr o = NULL;
	xmlNodePtr res;
	char reason[EPP_MSG_MAX], s[CDS_NAME_MAX];
	int ret;

	memset(resp, 0, sizeof *resp);
	resp->host_avail = -1;
	if ((ret = rd_open(&r, xml, len, err, errlen)) != 0)
		goto out;
	ret = CDS_EPROTO;
	o = nodes(&r, NULL, "/e:epp/e:response");
	if (count(o) != 1) {
		snprintf(err, errlen, "the frame is not an EPP response");
		goto out;
	}
	res = nth(o, 0);
	resp->code = (int)num(&r, res, "e:result[1]/@code");
	if (resp->code < 1000 || resp->code > 2599) {
		snprintf(err, errlen, "response without a result code");
		goto out;
	}
	str(&r, res, "e:result[1]/e:msg", resp->msg, sizeof resp->msg);
	str(&r, res, "e:result[1]/e:extValue/e:reason", reason, sizeof reason);
	if (*reason) {
		size_t n = strlen(resp->msg);

		snprintf(resp->msg + n, sizeof resp->msg - n, "%s%s",
			 n ? ": " : "", reason);
	}
	str(&r, res, "e:trID/e:clTRID", resp->cl_trid, sizeof resp->cl_trid);
	str(&r, res, "e:trID/e:svTRID", resp->sv_trid, sizeof resp->sv_trid);
	resp->msgq_count = (int)num(&r, res, "e:msgQ/@count");
	str(&r, res, "e:msgQ/@id", resp->msgq_id, sizeof resp->msgq_id);
	str(&r, res, "e:msgQ/e:msg", resp->msgq_text, sizeof resp->msgq_text);
	xmlXPathFreeObject(o);
	o = nodes(&r, res, "e:resData/d:infData");
	if (count(o) == 1) {
		resp->has_info = true;
		if ((ret = parse_info(&r, nth(o, 0), &resp->info, err,
				      errlen)) != 0)
			goto out;
	}
	xmlXPathFreeObject(o);
	o = nodes(&r, res, "e:resData/h:chkData/h:cd/h:name/@avail");
	if (count(o) >= 1) {
		str(&r, nth(o, 0), ".", s, sizeof s);
		resp->host_avail = strcmp(s, "1") == 0 ||
				   strcmp(s, "true") == 0;
	}
	xmlXPathFreeObject(o);
	o = nodes(&r, res, "e:resData/d:panData");
	if (count(o) == 1) {
		xmlNodePtr p = nth(o, 0);

		resp->has_pan = true;
		epp_name_cds(str(&r, p, "d:name", s, sizeof s), resp->pan.name,
			     sizeof resp->pan.name);
		str(&r, p, "d:name/@paResult", s, sizeof s);
		resp->pan.result = strcmp(s, "1") == 0 ||
				   strcmp(s, "true") == 0;
		str(&r, p, "d:paTRID/e:clTRID", resp->pan.cl_trid,
		    sizeof resp->pan.cl_trid);
	}
	ret = CDS_OK;
out:
	xmlXPathFreeObject(o);
	rd_close(&r);
	return ret;
}
