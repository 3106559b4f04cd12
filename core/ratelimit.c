/*
 * Token buckets per key for the NOTIFY listener (STANDARDS §9 N6, RFC
 * 9859 §5): a chained hash table of at most max_keys buckets plus a
 * least-recently-used list. The keys are chosen by strangers (source
 * addresses, zone names in packets), so memory is bounded by reusing the
 * LRU bucket when the table is full, and the hash is keyed (SipHash-2-4
 * with a random key) so that nobody can pile their keys into one chain.
 * Time comes in as an argument: no clock here.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/ratelimit.h"

#define KEY_MAX 255
#define TABLE_MIN 64
#define TABLE_MAX ((size_t)1 << 16)

struct bucket {
	struct bucket *next;            /* hash chain */
	struct bucket *newer, *older;   /* LRU list */
	uint64_t hash;
	double tokens;
	int64_t last_ms;
	uint8_t len;
	uint8_t key[KEY_MAX];
};

struct cds_ratelimit {
	double rate, burst;     /* tokens per second, bucket size */
	size_t max_keys, n;
	size_t mask;            /* table size - 1, a power of two */
	struct bucket **table;
	struct bucket *newest, *oldest;
	uint64_t k0, k1;        /* SipHash key */
};

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                          \
	do {                                                              \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                    \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                    \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

/* SipHash-2-4 (Aumasson and Bernstein, 2012) over `len` bytes. */
static uint64_t siphash(uint64_t k0, uint64_t k1, const uint8_t *in,
			size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = m << 8 | in[i + (size_t)j];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct cds_ratelimit *cds_ratelimit_new(double rate, double burst,
					size_t max_keys)
{
	struct cds_ratelimit *rl;
	size_t size = TABLE_MIN;
	uint64_t key[2] = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};

	if (!(rate > 0) || !(burst >= 1) || max_keys < 1)
		return NULL;
	if (!(rl = calloc(1, sizeof *rl)))
		return NULL;
	/* about one key per chain, up to TABLE_MAX chains (512 KiB) */
	while (size < max_keys && size < TABLE_MAX)
		size <<= 1;
	rl->table = calloc(size, sizeof *rl->table);
	if (!rl->table) {
		free(rl);
		return NULL;
	}
	/* Without entropy the table still works; only the defence against
	   chosen collisions is weaker. */
	(void)!getrandom(key, sizeof key, GRND_NONBLOCK);
	rl->k0 = key[0];
	rl->k1 = key[1];
	rl->rate = rate;
	rl->burst = burst;
	rl->max_keys = max_keys;
	rl->mask = size - 1;
	return rl;
}

void cds_ratelimit_free(struct cds_ratelimit *rl)
{
	struct bucket *b, *next;

	if (!rl)
		return;
	for (b = rl->newest; b; b = next) {
		next = b->older;
		free(b);
	}
	free(rl->table);
	free(rl);
}

static void lru_unlink(struct cds_ratelimit *rl, struct bucket *b)
{
	if (b->newer)
		b->newer->older = b->older;
	else
		rl->newest = b->older;
	if (b->older)
		b->older->newer = b->newer;
	else
		rl->oldest = b->newer;
	b->newer = b->older = NULL;
}

static void lru_push(struct cds_ratelimit *rl, struct bucket *b)
{
	b->older = rl->newest;
	b->newer = NULL;
	if (rl->newest)
		rl->newest->newer = b;
	rl->newest = b;
	if (!rl->oldest)
		rl->oldest = b;
}

static void chain_remove(struct cds_ratelimit *rl, struct bucket *b)
{
	struct bucket **pp = &rl->table[b->hash & rl->mask];

	while (*pp && *pp != b)
		pp = &(*pp)->next;
	if (*pp)
		*pp = b->next;
	b->next = NULL;
}

/* A bucket for a key not held: a new one, or the least recently used
   one forgotten and reused once the table is full. NULL without memory. */
static struct bucket *bucket_get(struct cds_ratelimit *rl)
{
	struct bucket *b;

	if (rl->n < rl->max_keys) {
		if ((b = calloc(1, sizeof *b)))
			rl->n++;
		return b;
	}
	b = rl->oldest;
	lru_unlink(rl, b);
	chain_remove(rl, b);
	return b;
}

bool cds_ratelimit_take(struct cds_ratelimit *rl, const void *key,
			size_t len, int64_t now_ms)
{
	uint64_t h;
	struct bucket *b;

	if (len > KEY_MAX)
		len = KEY_MAX; /* documented ≤ 255; longer keys share a prefix */
	h = siphash(rl->k0, rl->k1, key, len);
	for (b = rl->table[h & rl->mask]; b; b = b->next)
		if (b->hash == h && b->len == len && !memcmp(b->key, key, len))
			break;
	if (!b) {
		/* Out of memory: answer rather than throttle, as a
		   forgotten key does (ratelimit.h). */
		if (!(b = bucket_get(rl)))
			return true;
		b->hash = h;
		b->len = (uint8_t)len;
		memcpy(b->key, key, len);
		b->tokens = rl->burst;
		b->last_ms = now_ms;
		b->next = rl->table[h & rl->mask];
		rl->table[h & rl->mask] = b;
	} else {
		lru_unlink(rl, b);
	}
	lru_push(rl, b);
	/* Refill for the time since the last take; a clock that went back
	   refills nothing rather than draining the bucket. */
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rl->rate / 1000.0;
		if (b->tokens > rl->burst)
			b->tokens = rl->burst;
		b->last_ms = now_ms;
	}
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

size_t cds_ratelimit_size(const struct cds_ratelimit *rl)
{
	return rl->n;
}
