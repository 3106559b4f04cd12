/*
 * Fuzz target: what an EPP server sends back (epp/frame.c, epp/xml.c).
 * The bytes are a TCP stream as the client reads it: RFC 5734 frames
 * (4-octet length, then the XML) reassembled by epp_frame_read from
 * reads of a size the first input byte chooses (a TLS record may end
 * anywhere), each frame parsed both as a greeting and as a response, the
 * way the session reads them. A registry is a stranger's server too: it
 * must not crash the sender, make it allocate past the frame bound, or
 * leave a field that is not a string or a count over its array.
 *
 * First byte: bit 7 set → the rest is one XML document without framing
 * (so that the parser is reached without a valid length); else the read
 * size is (bits 0-5) + 1, 64 meaning "all that is left".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlerror.h>

#include "core/errors.h"
#include "epp/epp.h"

#define FRAMES_MAX 8          /* frames read from one input */
#define FUZZ_FRAME_MAX 65536  /* the session's bound, smaller for speed */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct stream {
	const uint8_t *p;
	size_t left, chunk;
};

/* libxml2 prints encoding errors on stderr even with XML_PARSE_NOERROR;
   the fuzzer's output would be nothing else (noted in HARDENING.md). */
static void quiet(void *ctx, const char *msg, ...)
{
}

static int rd(void *ctx, uint8_t *buf, size_t len, size_t *got)
{
	struct stream *s = ctx;
	size_t n = len < s->left ? len : s->left;

	if (s->chunk && n > s->chunk)
		n = s->chunk;
	memcpy(buf, s->p, n);
	s->p += n;
	s->left -= n;
	*got = n;
	return CDS_OK;
}

/* A field the parser filled must end inside its array. */
static void must_be_string(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		abort();
}

static void check_domain(const struct epp_domain *d)
{
	if (d->n_ds > CDS_DS_MAX || d->n_keys > CDS_DS_MAX ||
	    d->n_ns > EPP_NS_MAX || d->n_status > EPP_STATUS_MAX)
		abort();
	must_be_string(d->name, sizeof d->name);
	for (size_t i = 0; i < d->n_ns; i++) {
		if (d->ns[i].n_addr > EPP_ADDR_MAX)
			abort();
		must_be_string(d->ns[i].name, sizeof d->ns[i].name);
		for (size_t k = 0; k < d->ns[i].n_addr; k++)
			must_be_string(d->ns[i].addr[k], EPP_ADDR_LEN);
	}
	for (size_t i = 0; i < d->n_status; i++)
		must_be_string(d->status[i], EPP_STATUS_LEN);
}

static void parse(const char *xml, size_t len)
{
	struct epp_greeting g;
	struct epp_response *r = malloc(sizeof *r);
	char err[256];

	err[0] = '\0';
	if (epp_xml_parse_greeting(xml, len, &g, err, sizeof err) == 0) {
		must_be_string(g.sv_id, sizeof g.sv_id);
		must_be_string(g.version, sizeof g.version);
		must_be_string(g.lang, sizeof g.lang);
		if (!*g.version || !*g.lang)
			abort(); /* accepted without what login needs */
	}
	must_be_string(err, sizeof err);
	if (!r)
		return;
	err[0] = '\0';
	if (epp_xml_parse_response(xml, len, r, err, sizeof err) == 0) {
		if (r->code < 1000 || r->code > 2599)
			abort();
		must_be_string(r->msg, sizeof r->msg);
		must_be_string(r->cl_trid, sizeof r->cl_trid);
		must_be_string(r->sv_trid, sizeof r->sv_trid);
		must_be_string(r->msgq_id, sizeof r->msgq_id);
		must_be_string(r->msgq_text, sizeof r->msgq_text);
		must_be_string(r->pan.name, sizeof r->pan.name);
		must_be_string(r->pan.cl_trid, sizeof r->pan.cl_trid);
		if (r->has_info)
			check_domain(&r->info);
	}
	must_be_string(err, sizeof err);
	free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream s;
	char *frame;
	size_t len;

	xmlSetGenericErrorFunc(NULL, quiet);
	if (size == 0)
		return 0;
	s.p = data + 1;
	s.left = size - 1;
	if (data[0] & 0x80) {
		/* xmlReadMemory takes an int length and needs no NUL */
		parse((const char *)s.p, s.left);
		return 0;
	}
	s.chunk = (data[0] & 0x3f) + 1;
	if (s.chunk == 64)
		s.chunk = 0;
	for (int i = 0; i < FRAMES_MAX; i++) {
		if (epp_frame_read(rd, &s, FUZZ_FRAME_MAX, &frame, &len) != 0) {
			if (frame)
				abort(); /* a failed read hands nothing out */
			break;
		}
		if (!frame || len == 0 || len > FUZZ_FRAME_MAX ||
		    frame[len] != '\0')
			abort();
		parse(frame, len);
		free(frame);
	}
	return 0;
}
