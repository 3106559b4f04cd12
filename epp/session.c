/*
 * One EPP session (RFC 5730 §2, RFC 5734): TCP to the registry, TLS 1.2
 * or newer with our client certificate, the server certificate checked
 * against the configured CAs and the name we dialled (RFC 5734 §8: abort
 * on mismatch), the greeting read, login with the greeting's version and
 * language, then one command at a time. Blocking sockets with timeouts:
 * the outbox sender is its own process and has nothing else to do while
 * it waits. Frames are traced at debug level, except the login frame,
 * which carries the password and is never written anywhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "core/errors.h"
#include "core/log.h"
#include "epp/epp.h"

struct epp_session {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct epp_greeting greeting;
	size_t frame_max;
	int64_t timeout_ms;
	bool dead;
	unsigned seq;            /* for clTRIDs */
	int64_t last_sent_ms;    /* monotonic, for the keepalive */
	char err[512];
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* OpenSSL's reason for the last failure, or `what`. */
static void ssl_why(char *buf, size_t size, const char *what)
{
	unsigned long e = ERR_get_error();
	char r[256];

	if (e) {
		ERR_error_string_n(e, r, sizeof r);
		snprintf(buf, size, "%s: %s", what, r);
	} else {
		snprintf(buf, size, "%s", what);
	}
	ERR_clear_error();
}

/* Connect with a timeout to the first address of host:port that answers. */
static int tcp_connect(const char *host, int port, int64_t timeout_ms, int *fd,
		       char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL, *a;
	char ps[8];
	int s = -1, rc, e = 0;

	snprintf(ps, sizeof ps, "%d", port);
	if ((rc = getaddrinfo(host, ps, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return CDS_ERESOLVE;
	}
	for (a = ai; a; a = a->ai_next) {
		struct pollfd p;
		socklen_t el = sizeof e;

		if ((s = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK,
				0)) < 0)
			continue;
		if (connect(s, a->ai_addr, a->ai_addrlen) != 0 &&
		    errno != EINPROGRESS) {
			e = errno;
			goto next;
		}
		p = (struct pollfd){.fd = s, .events = POLLOUT};
		if (poll(&p, 1, (int)timeout_ms) != 1) {
			e = ETIMEDOUT;
			goto next;
		}
		if (getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &el) != 0 || e)
			goto next;
		break;
next:
		close(s);
		s = -1;
	}
	freeaddrinfo(ai);
	if (s < 0) {
		snprintf(err, errlen, "connect to %s port %d: %s", host, port,
			 strerror(e ? e : ECONNREFUSED));
		return e == ETIMEDOUT ? CDS_ETIMEOUT : CDS_ENET;
	}
	/* blocking from here on, each read and write under the timeout */
	struct timeval tv = {.tv_sec = timeout_ms / 1000,
			     .tv_usec = (timeout_ms % 1000) * 1000};

	fcntl(s, F_SETFL, fcntl(s, F_GETFL) & ~O_NONBLOCK);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	*fd = s;
	return CDS_OK;
}

static int tls_setup(struct epp_session *s, const struct epp_config *cf,
		     char *err, size_t errlen)
{
	struct in6_addr ip6;
	struct in_addr ip4;
	X509_VERIFY_PARAM *vp;

	if (!(s->ctx = SSL_CTX_new(TLS_client_method())))
		goto ssl_fail;
	/* RFC 8996: nothing older than TLS 1.2 */
	SSL_CTX_set_min_proto_version(s->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(s->ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(s->ctx, cf->ca_file, NULL) != 1) {
		ssl_why(err, errlen, "epp.ca-file");
		return CDS_ECONFIG;
	}
	if (SSL_CTX_use_certificate_chain_file(s->ctx, cf->cert) != 1) {
		ssl_why(err, errlen, "epp.cert");
		return CDS_ECONFIG;
	}
	if (SSL_CTX_use_PrivateKey_file(s->ctx, cf->key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(s->ctx) != 1) {
		ssl_why(err, errlen, "epp.key");
		return CDS_ECONFIG;
	}
	if (!(s->ssl = SSL_new(s->ctx)))
		goto ssl_fail;
	/* RFC 5734 §8 / RFC 6125: the certificate must name the server we
	   dialled, as a DNS name or, for an address, as an IP SAN */
	vp = SSL_get0_param(s->ssl);
	if (inet_pton(AF_INET, cf->server, &ip4) == 1 ||
	    inet_pton(AF_INET6, cf->server, &ip6) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, cf->server) != 1)
			goto ssl_fail;
	} else {
		X509_VERIFY_PARAM_set_hostflags(
			vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(s->ssl, cf->server) != 1 ||
		    SSL_set_tlsext_host_name(s->ssl, cf->server) != 1)
			goto ssl_fail;
	}
	SSL_set_fd(s->ssl, s->fd);
	if (SSL_connect(s->ssl) != 1) {
		long v = SSL_get_verify_result(s->ssl);

		if (v != X509_V_OK)
			snprintf(err, errlen, "%s: server certificate refused: "
				 "%s", cf->server,
				 X509_verify_cert_error_string(v));
		else
			ssl_why(err, errlen, "TLS handshake");
		ERR_clear_error();
		return CDS_EPROTO;
	}
	return CDS_OK;
ssl_fail:
	ssl_why(err, errlen, "TLS setup");
	return CDS_ENOMEM;
}

static int ssl_rd(void *ctx, uint8_t *buf, size_t len, size_t *got)
{
	struct epp_session *s = ctx;
	int n = SSL_read(s->ssl, buf, (int)(len > INT32_MAX ? INT32_MAX : len));

	*got = 0;
	if (n > 0) {
		*got = (size_t)n;
		return CDS_OK;
	}
	switch (SSL_get_error(s->ssl, n)) {
	case SSL_ERROR_ZERO_RETURN:
		return CDS_OK; /* closed */
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return CDS_ETIMEOUT;
		return n == 0 ? CDS_OK : CDS_ENET;
	default:
		ERR_clear_error();
		return CDS_ENET;
	}
}

static int ssl_wr(void *ctx, const uint8_t *buf, size_t len)
{
	struct epp_session *s = ctx;
	size_t off = 0;

	while (off < len) {
		int n = SSL_write(s->ssl, buf + off, (int)(len - off));

		if (n <= 0) {
			bool to = errno == EAGAIN || errno == EWOULDBLOCK;

			ERR_clear_error();
			return to ? CDS_ETIMEOUT : CDS_ENET;
		}
		off += (size_t)n;
	}
	return CDS_OK;
}

static int fail_transport(struct epp_session *s, int ret, const char *what)
{
	s->dead = true;
	snprintf(s->err, sizeof s->err, "%s: %s", what,
		 ret == CDS_EPROTO ? "frame out of bounds or not EPP"
		 : ret == CDS_ETIMEOUT ? "timed out"
				       : "connection lost");
	return ret;
}

/* Send one frame and read the answer frame. `secret`: do not trace it. */
static int exchange(struct epp_session *s, const char *xml, size_t len,
		    bool secret, char **ans, size_t *alen)
{
	int ret;

	*ans = NULL;
	if (s->dead) {
		snprintf(s->err, sizeof s->err, "the session is closed");
		return CDS_ENET;
	}
	if (secret)
		log_debug("epp: C: <login> (credentials withheld)");
	else
		log_debug("epp: C: %.*s", (int)len, xml);
	if ((ret = epp_frame_write(ssl_wr, s, xml, len)) != 0)
		return fail_transport(s, ret, "send");
	s->last_sent_ms = mono_ms();
	if ((ret = epp_frame_read(ssl_rd, s, s->frame_max, ans, alen)) != 0)
		return fail_transport(s, ret, "receive");
	log_debug("epp: S: %.*s", (int)*alen, *ans);
	return CDS_OK;
}

/* A built command: send, receive, parse; note a closing code. */
static int roundtrip(struct epp_session *s, int built, char *xml, size_t len,
		     bool secret, struct epp_response *r)
{
	char *ans = NULL;
	size_t alen = 0;
	int ret = built;

	if (ret != 0) {
		snprintf(s->err, sizeof s->err, "cannot build the command: %s",
			 cds_strerror(ret));
		goto out;
	}
	if ((ret = exchange(s, xml, len, secret, &ans, &alen)) != 0)
		goto out;
	if ((ret = epp_xml_parse_response(ans, alen, r, s->err,
					  sizeof s->err)) != 0) {
		s->dead = true;
		goto out;
	}
	/* E4: 2500-2502: the server closes the connection */
	if (r->code >= 2500 && r->code <= 2502) {
		s->dead = true;
		snprintf(s->err, sizeof s->err, "server ended the session: "
			 "%d %.400s", r->code, r->msg);
	}
out:
	if (secret && xml)
		OPENSSL_cleanse(xml, len);
	free(xml);
	free(ans);
	return ret;
}

static void next_trid(struct epp_session *s, char *buf, size_t size)
{
	snprintf(buf, size, "cdscan-%ld-%lld-%u", (long)getpid(),
		 (long long)time(NULL), ++s->seq);
}

int epp_session_open(const struct epp_config *cf, struct epp_session **out,
		     char *err, size_t errlen)
{
	struct epp_session *s = calloc(1, sizeof *s);
	struct epp_response r;
	char *g = NULL, *xml = NULL, trid[EPP_TRID_MAX];
	size_t glen, len;
	int ret = CDS_ENOMEM;

	*out = NULL;
	if (!s)
		goto fail;
	s->fd = -1;
	s->frame_max = cf->frame_max ? cf->frame_max : EPP_FRAME_MAX;
	s->timeout_ms = cf->timeout_ms > 0 ? cf->timeout_ms : 30000;
	if ((ret = tcp_connect(cf->server, cf->port, s->timeout_ms, &s->fd, err,
			       errlen)) != 0 ||
	    (ret = tls_setup(s, cf, err, errlen)) != 0)
		goto fail;
	/* RFC 5730 §2.4: the greeting arrives on connect */
	if ((ret = epp_frame_read(ssl_rd, s, s->frame_max, &g, &glen)) != 0) {
		snprintf(err, errlen, "%s: no greeting (%s)", cf->server,
			 cds_strerror(ret));
		goto fail;
	}
	log_debug("epp: S: %.*s", (int)glen, g);
	if ((ret = epp_xml_parse_greeting(g, glen, &s->greeting, err,
					  errlen)) != 0)
		goto fail;
	if (!s->greeting.domain || !s->greeting.secdns11) {
		snprintf(err, errlen, "%s does not offer %s", cf->server,
			 !s->greeting.domain ? "domain-1.0" : "secDNS-1.1");
		ret = CDS_EPROTO;
		goto fail;
	}
	next_trid(s, trid, sizeof trid);
	ret = epp_xml_login(&s->greeting, cf->user, cf->password, trid, &xml,
			    &len);
	if ((ret = roundtrip(s, ret, xml, len, true, &r)) != 0) {
		snprintf(err, errlen, "login: %s", s->err);
		goto fail;
	}
	if (r.code != EPP_OK) {
		snprintf(err, errlen, "login refused: %d %s", r.code, r.msg);
		ret = CDS_EPROTO;
		goto fail;
	}
	free(g);
	*out = s;
	return CDS_OK;
fail:
	free(g);
	if (s)
		s->dead = true;
	epp_session_close(s);
	return ret;
}

void epp_session_close(struct epp_session *s)
{
	if (!s)
		return;
	if (!s->dead) {
		struct epp_response r;
		char *xml = NULL, trid[EPP_TRID_MAX];
		size_t len = 0;

		next_trid(s, trid, sizeof trid);
		/* RFC 5730 §2.9.1.2: logout → 1500, then the server closes */
		int built = epp_xml_logout(trid, &xml, &len);

		roundtrip(s, built, xml, len, false, &r);
	}
	if (s->ssl) {
		SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	SSL_CTX_free(s->ctx);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

const struct epp_greeting *epp_session_greeting(const struct epp_session *s)
{
	return &s->greeting;
}

bool epp_session_alive(const struct epp_session *s)
{
	return s && !s->dead;
}

const char *epp_session_err(const struct epp_session *s)
{
	return s->err;
}

int epp_keepalive(struct epp_session *s, int64_t idle_ms)
{
	struct epp_greeting g;
	char *xml = NULL, *ans = NULL;
	size_t len = 0, alen = 0;
	int ret;

	if (idle_ms > 0 && mono_ms() - s->last_sent_ms < idle_ms)
		return CDS_OK;
	if ((ret = epp_xml_hello(&xml, &len)) != 0)
		return ret;
	/* RFC 5730 §2.3: <hello> is answered with a greeting */
	ret = exchange(s, xml, len, false, &ans, &alen);
	if (ret == 0 && (ret = epp_xml_parse_greeting(ans, alen, &g, s->err,
						      sizeof s->err)) != 0)
		s->dead = true;
	free(xml);
	free(ans);
	return ret;
}

int epp_domain_info(struct epp_session *s, const char *name,
		    struct epp_response *r)
{
	char *xml = NULL, trid[EPP_TRID_MAX];
	size_t len = 0;

	next_trid(s, trid, sizeof trid);
	int built = epp_xml_domain_info(name, trid, &xml, &len);

	return roundtrip(s, built, xml, len, false, r);
}

int epp_domain_update(struct epp_session *s, const char *name,
		      const struct epp_ds_update *ds,
		      const struct epp_ns_update *ns, char *cl_trid,
		      struct epp_response *r)
{
	char *xml = NULL, trid[EPP_TRID_MAX];
	size_t len = 0;

	next_trid(s, trid, sizeof trid);
	if (cl_trid)
		snprintf(cl_trid, EPP_TRID_MAX, "%s", trid);
	int built = epp_xml_domain_update(name, ds, ns, trid, &xml, &len);

	return roundtrip(s, built, xml, len, false, r);
}

int epp_host_check(struct epp_session *s, const char *name,
		   struct epp_response *r)
{
	char *xml = NULL, trid[EPP_TRID_MAX];
	size_t len = 0;

	next_trid(s, trid, sizeof trid);
	int built = epp_xml_host_check(name, trid, &xml, &len);

	return roundtrip(s, built, xml, len, false, r);
}

int epp_host_create(struct epp_session *s, const struct epp_ns *host,
		    struct epp_response *r)
{
	char *xml = NULL, trid[EPP_TRID_MAX];
	size_t len = 0;

	next_trid(s, trid, sizeof trid);
	int built = epp_xml_host_create(host, trid, &xml, &len);

	return roundtrip(s, built, xml, len, false, r);
}

int epp_host_update(struct epp_session *s, const char *name,
		    const struct epp_ns *add, const struct epp_ns *rem,
		    struct epp_response *r)
{
	char *xml = NULL, trid[EPP_TRID_MAX];
	size_t len = 0;

	next_trid(s, trid, sizeof trid);
	int built = epp_xml_host_update(name, add, rem, trid, &xml, &len);

	return roundtrip(s, built, xml, len, false, r);
}

int epp_host_delete(struct epp_session *s, const char *name,
		    struct epp_response *r)
{
	char *xml = NULL, trid[EPP_TRID_MAX];
	size_t len = 0;

	next_trid(s, trid, sizeof trid);
	int built = epp_xml_host_delete(name, trid, &xml, &len);

	return roundtrip(s, built, xml, len, false, r);
}

int epp_poll(struct epp_session *s, const char *ack_id,
	     struct epp_response *r)
{
	char *xml = NULL, trid[EPP_TRID_MAX];
	size_t len = 0;

	next_trid(s, trid, sizeof trid);
	int built = epp_xml_poll(ack_id, trid, &xml, &len);

	return roundtrip(s, built, xml, len, false, r);
}
