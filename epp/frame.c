/*
 * RFC 5734 §4 framing: every EPP message is a 4-octet big-endian length
 * that counts itself, then one XML document. TLS hands data over in
 * records of any size, so a frame is reassembled from as many reads as it
 * takes; a length out of bounds ends the session rather than letting a
 * peer make us allocate gigabytes.
 */
#include <stdlib.h>
#include <string.h>

#include "core/errors.h"
#include "epp/epp.h"

/* Read exactly len octets. */
static int read_full(epp_read_fn rd, void *ctx, uint8_t *buf, size_t len)
{
	size_t have = 0, got;
	int ret;

	while (have < len) {
		if ((ret = rd(ctx, buf + have, len - have, &got)) != 0)
			return ret;
		if (got == 0)
			return CDS_ENET; /* closed mid-frame */
		have += got;
	}
	return CDS_OK;
}

int epp_frame_read(epp_read_fn rd, void *ctx, size_t max, char **out,
		   size_t *len)
{
	uint8_t hdr[4];
	uint32_t total;
	char *buf = NULL;
	int ret;

	*out = NULL;
	*len = 0;
	if (max == 0)
		max = EPP_FRAME_MAX;
	if ((ret = read_full(rd, ctx, hdr, sizeof hdr)) != 0)
		return ret;
	total = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		(uint32_t)hdr[2] << 8 | hdr[3];
	/* the length counts its own 4 octets; an empty document is no frame */
	if (total < 5 || total - 4 > max)
		return CDS_EPROTO;
	if (!(buf = malloc(total - 4 + 1)))
		return CDS_ENOMEM;
	if ((ret = read_full(rd, ctx, (uint8_t *)buf, total - 4)) != 0)
		goto fail;
	buf[total - 4] = '\0';
	*out = buf;
	*len = total - 4;
	return CDS_OK;
fail:
	free(buf);
	return ret;
}

int epp_frame_write(epp_write_fn wr, void *ctx, const char *xml, size_t len)
{
	uint8_t *buf;
	uint32_t total;
	int ret;

	if (len == 0 || len > UINT32_MAX - 4)
		return CDS_EINVAL;
	total = (uint32_t)len + 4;
	/* one write, so that header and data go out in one TLS record */
	if (!(buf = malloc(total)))
		return CDS_ENOMEM;
	buf[0] = total >> 24;
	buf[1] = total >> 16;
	buf[2] = total >> 8;
	buf[3] = total;
	memcpy(buf + 4, xml, len);
	ret = wr(ctx, buf, total);
	free(buf);
	return ret;
}
