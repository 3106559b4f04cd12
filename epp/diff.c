/*
 * The smallest secDNS-1.1 change (STANDARDS E8): what domain:info shows
 * against the DS set the decision wants. Computed afresh before every
 * attempt, so that a sender restarted after a crash sends only what is
 * still missing — a change that went through before the crash diffs to
 * nothing and is never sent twice. Pure: no I/O.
 */
#include <string.h>

#include "core/errors.h"
#include "epp/epp.h"

static bool ds_in(const struct cds_ds *d, const struct cds_ds *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cds_ds_equal(d, &set[i]))
			return true;
	return false;
}

static bool key_in(const struct cds_dnskey *k, const struct cds_dnskey *set,
		   size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cds_dnskey_equal(k, &set[i]))
			return true;
	return false;
}

/* The key of `after` (DS) among `keys`, by key tag, algorithm and digest;
   the owner is needed for the digest. */
static const struct cds_dnskey *key_for(const char *owner,
					const struct cds_ds *ds,
					const struct cds_dnskey *keys,
					size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (cds_ds_matches_dnskey(owner, ds, &keys[i]))
			return &keys[i];
	return NULL;
}

static int diff_keys(const struct epp_domain *cur, const struct cds_ds *after,
		     size_t n_after, const struct cds_dnskey *keys,
		     size_t n_keys, struct epp_ds_update *out)
{
	struct cds_dnskey want[CDS_DS_MAX];
	size_t n_want = 0;

	for (size_t i = 0; i < n_after; i++) {
		const struct cds_dnskey *k =
			key_for(cur->name, &after[i], keys, n_keys);

		if (!k)
			return CDS_ENOTFOUND; /* a CDS without its CDNSKEY */
		if (!key_in(k, want, n_want))
			want[n_want++] = *k;
	}
	for (size_t i = 0; i < cur->n_keys; i++)
		if (!key_in(&cur->keys[i], want, n_want))
			out->rem_key[out->n_rem++] = cur->keys[i];
	for (size_t i = 0; i < n_want; i++)
		if (!key_in(&want[i], cur->keys, cur->n_keys))
			out->add_key[out->n_add++] = want[i];
	return CDS_OK;
}

int epp_ds_diff(const struct epp_domain *cur, const struct cds_ds *after,
		size_t n_after, const struct cds_dnskey *keys, size_t n_keys,
		struct epp_ds_update *out, bool *nothing)
{
	int ret;

	memset(out, 0, sizeof *out);
	out->key_data = cur->key_data;
	*nothing = false;
	if (n_after == 0) {
		/* E8: a delete request maps to rem all */
		*nothing = cur->n_ds == 0 && cur->n_keys == 0;
		out->rem_all = !*nothing;
		return CDS_OK;
	}
	if (cur->key_data) {
		if ((ret = diff_keys(cur, after, n_after, keys, n_keys, out)))
			return ret;
	} else {
		for (size_t i = 0; i < cur->n_ds; i++)
			if (!ds_in(&cur->ds[i], after, n_after))
				out->rem_ds[out->n_rem++] = cur->ds[i];
		for (size_t i = 0; i < n_after; i++)
			if (!ds_in(&after[i], cur->ds, cur->n_ds))
				out->add_ds[out->n_add++] = after[i];
	}
	*nothing = out->n_rem == 0 && out->n_add == 0;
	return CDS_OK;
}

bool epp_domain_ds_equal(const struct epp_domain *cur, const struct cds_ds *set,
			 size_t n)
{
	size_t matched = 0;

	if (!cur->key_data) {
		if (cur->n_ds != n)
			return false;
		for (size_t i = 0; i < n; i++)
			if (!ds_in(&set[i], cur->ds, cur->n_ds))
				return false;
		return true;
	}
	/* keyData: every DS must come from one of the keys, and every key
	   must be behind one of the DS */
	for (size_t i = 0; i < n; i++)
		if (!key_for(cur->name, &set[i], cur->keys, cur->n_keys))
			return false;
	for (size_t k = 0; k < cur->n_keys; k++)
		for (size_t i = 0; i < n; i++)
			if (cds_ds_matches_dnskey(cur->name, &set[i],
						  &cur->keys[k])) {
				matched++;
				break;
			}
	return matched == cur->n_keys;
}
