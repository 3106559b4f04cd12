/*
 * notify_send: a small, strict NOTIFY sender for the daemon tests and the
 * NOTIFY benchmark. ldns-notify sends only NOTIFY(SOA) and kdig cannot
 * set the opcode, so this writes the packet itself (RFC 1996 §3, RFC 9859
 * §4): one question per -z (several make the QDCOUNT ≠ 1 case), any
 * qtype, opcode and QR bit, or raw bytes (-x) for malformed packets; over
 * UDP from a chosen source address, or TCP with the two-byte length.
 *
 *   notify_send [-t] [-s SRC] [-n COUNT] [-w MS] [-T TYPE] [-o OPCODE] [-r]
 *               [-e] (-z ZONE... | -x HEX) ADDR PORT
 *
 * Prints one line: "answers=A noerror=N refused=R formerr=F notimp=I
 * servfail=S ede15=E ede20=D noanswer=X" over the COUNT messages (each
 * waits at most MS for its answer; default 1000). Exit 0 when every
 * message was sent, 1 on a usage or socket error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ZONES_MAX 8

struct tally {
	unsigned answers, rc[16], ede15, ede20, noanswer;
};

static size_t put_name(uint8_t *p, const char *name)
{
	size_t o = 0;
	const char *s = name;

	while (*s && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		if (l == 0 || l > 63)
			return 0;
		p[o++] = (uint8_t)l;
		memcpy(p + o, s, l);
		o += l;
		s += l + (dot ? 1 : 0);
	}
	p[o++] = 0;
	return o;
}

static int skip_name(const uint8_t *p, size_t len, size_t *o)
{
	while (*o < len) {
		uint8_t l = p[*o];

		if ((l & 0xc0) == 0xc0) {
			*o += 2;
			return *o <= len ? 0 : -1;
		}
		*o += 1 + l;
		if (l == 0)
			return 0;
	}
	return -1;
}

/* rcode and the EDE info code (-1: none) of an answer to `id` */
static int read_answer(const uint8_t *p, size_t len, uint16_t id, int *rcode,
		       int *ede)
{
	size_t o = 12;
	unsigned qd, an, ns, ar;

	*ede = -1;
	if (len < 12 || (p[0] << 8 | p[1]) != id || !(p[2] & 0x80))
		return -1;
	*rcode = p[3] & 0x0f;
	qd = p[4] << 8 | p[5];
	an = p[6] << 8 | p[7];
	ns = p[8] << 8 | p[9];
	ar = p[10] << 8 | p[11];
	for (unsigned i = 0; i < qd; i++) {
		if (skip_name(p, len, &o) != 0 || o + 4 > len)
			return -1;
		o += 4;
	}
	for (unsigned i = 0; i < an + ns + ar; i++) {
		unsigned type, rdlen;

		if (skip_name(p, len, &o) != 0 || o + 10 > len)
			return -1;
		type = p[o] << 8 | p[o + 1];
		rdlen = p[o + 8] << 8 | p[o + 9];
		o += 10;
		if (o + rdlen > len)
			return -1;
		if (type == 41) {
			for (size_t q = o; q + 4 <= o + rdlen;) {
				unsigned code = p[q] << 8 | p[q + 1];
				unsigned ol = p[q + 2] << 8 | p[q + 3];

				if (code == 15 && ol >= 2 && q + 6 <= o + rdlen)
					*ede = p[q + 4] << 8 | p[q + 5];
				q += 4 + ol;
			}
		}
		o += rdlen;
	}
	return 0;
}

static int qtype_of(const char *s)
{
	if (!strcasecmp(s, "cds"))
		return 59;
	if (!strcasecmp(s, "csync"))
		return 62;
	if (!strcasecmp(s, "soa"))
		return 6;
	return atoi(s);
}

static int hexbytes(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (; h[0] && h[1]; h += 2) {
		unsigned v;

		if (n == cap || sscanf(h, "%2x", &v) != 1)
			return -1;
		out[n++] = (uint8_t)v;
	}
	return (int)n;
}

static void usage(void)
{
	fprintf(stderr, "usage: notify_send [-t] [-s SRC] [-n COUNT] [-w MS] "
			"[-T TYPE] [-o OPCODE] [-r] [-e] (-z ZONE... | -x HEX) "
			"ADDR PORT\n");
	exit(1);
}

int main(int argc, char **argv)
{
	const char *zones[ZONES_MAX], *src = NULL, *hex = NULL;
	int nz = 0, tcp = 0, count = 1, wait_ms = 1000, qtype = 59, opcode = 4;
	int qr = 0, edns = 0, c, len = 0, fd = -1;
	uint8_t pkt[4096], ans[65538];
	struct sockaddr_storage to = {0};
	socklen_t tolen;
	struct tally t = {0};

	while ((c = getopt(argc, argv, "ts:n:w:T:o:rez:x:")) != -1) {
		switch (c) {
		case 't': tcp = 1; break;
		case 's': src = optarg; break;
		case 'n': count = atoi(optarg); break;
		case 'w': wait_ms = atoi(optarg); break;
		case 'T': qtype = qtype_of(optarg); break;
		case 'o': opcode = atoi(optarg); break;
		case 'r': qr = 1; break;
		case 'e': edns = 1; break;
		case 'z':
			if (nz == ZONES_MAX)
				usage();
			zones[nz++] = optarg;
			break;
		case 'x': hex = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 2 || (!nz && !hex) || count < 1)
		usage();
	{
		struct sockaddr_in *s4 = (void *)&to;
		struct sockaddr_in6 *s6 = (void *)&to;
		int port = atoi(argv[optind + 1]);

		if (inet_pton(AF_INET, argv[optind], &s4->sin_addr) == 1) {
			s4->sin_family = AF_INET;
			s4->sin_port = htons((uint16_t)port);
			tolen = sizeof *s4;
		} else if (inet_pton(AF_INET6, argv[optind], &s6->sin6_addr) == 1) {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons((uint16_t)port);
			tolen = sizeof *s6;
		} else {
			usage();
		}
	}
	for (int i = 0; i < count; i++) {
		uint16_t id = (uint16_t)(getpid() * 31 + i);
		struct pollfd pf;
		int rcode, ede;
		ssize_t n;

		if (hex) {
			if ((len = hexbytes(hex, pkt, sizeof pkt)) < 0)
				usage();
			if (len >= 2)
				id = (uint16_t)(pkt[0] << 8 | pkt[1]);
		} else {
			memset(pkt, 0, 12);
			pkt[0] = (uint8_t)(id >> 8);
			pkt[1] = (uint8_t)id;
			pkt[2] = (uint8_t)((qr << 7) | (opcode << 3) | 0x04);
			pkt[5] = (uint8_t)nz;
			len = 12;
			for (int z = 0; z < nz; z++) {
				size_t l = put_name(pkt + len, zones[z]);

				if (!l)
					usage();
				len += (int)l;
				pkt[len++] = 0;
				pkt[len++] = (uint8_t)qtype;
				pkt[len++] = 0;
				pkt[len++] = 1;
			}
			if (edns) {
				static const uint8_t opt[] = {0, 0, 41, 4, 208,
							      0, 0, 0, 0, 0, 0};
				memcpy(pkt + len, opt, sizeof opt);
				len += sizeof opt;
				pkt[11] = 1;
			}
		}
		/* a socket per message: each flood packet is a new query */
		fd = socket(to.ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
		if (fd < 0)
			goto sockfail;
		if (src) {
			struct sockaddr_storage from = {0};
			struct sockaddr_in *f4 = (void *)&from;
			struct sockaddr_in6 *f6 = (void *)&from;
			socklen_t fl;

			if (inet_pton(AF_INET, src, &f4->sin_addr) == 1) {
				f4->sin_family = AF_INET;
				fl = sizeof *f4;
			} else if (inet_pton(AF_INET6, src, &f6->sin6_addr) == 1) {
				f6->sin6_family = AF_INET6;
				fl = sizeof *f6;
			} else {
				usage();
			}
			if (bind(fd, (struct sockaddr *)&from, fl) != 0)
				goto sockfail;
		}
		if (connect(fd, (struct sockaddr *)&to, tolen) != 0)
			goto sockfail;
		if (tcp) {
			uint8_t framed[2 + sizeof pkt];

			framed[0] = (uint8_t)(len >> 8);
			framed[1] = (uint8_t)len;
			memcpy(framed + 2, pkt, (size_t)len);
			if (send(fd, framed, (size_t)len + 2, 0) != len + 2)
				goto sockfail;
		} else if (send(fd, pkt, (size_t)len, 0) != len) {
			goto sockfail;
		}
		pf.fd = fd;
		pf.events = POLLIN;
		n = 0;
		if (poll(&pf, 1, wait_ms) == 1) {
			n = recv(fd, ans, sizeof ans, 0);
			if (tcp && n >= 2) {
				/* the rest of the frame, within the wait */
				size_t want = (size_t)(ans[0] << 8 | ans[1]) + 2;

				while ((size_t)n < want &&
				       poll(&pf, 1, wait_ms) == 1) {
					ssize_t m = recv(fd, ans + n,
							 sizeof ans - (size_t)n, 0);
					if (m <= 0)
						break;
					n += m;
				}
				memmove(ans, ans + 2, (size_t)n - 2);
				n -= 2;
			}
		}
		if (n > 0 && read_answer(ans, (size_t)n, id, &rcode, &ede) == 0) {
			t.answers++;
			t.rc[rcode]++;
			t.ede15 += ede == 15;
			t.ede20 += ede == 20;
		} else {
			t.noanswer++;
		}
		close(fd);
		fd = -1;
	}
	printf("answers=%u noerror=%u refused=%u formerr=%u notimp=%u "
	       "servfail=%u ede15=%u ede20=%u noanswer=%u\n",
	       t.answers, t.rc[0], t.rc[5], t.rc[1], t.rc[4], t.rc[2], t.ede15,
	       t.ede20, t.noanswer);
	return 0;
sockfail:
	fprintf(stderr, "notify_send: %s\n", strerror(errno));
	if (fd >= 0)
		close(fd);
	return 1;
}
