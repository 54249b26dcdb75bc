/*
 * protocols/agg.c - secure aggregation state machines (protocols/agg.h).
 *
 * Parties: the querier's coordinator Q and the consortium nodes N_1..N_n
 * (index i = the threshold share index and the mask id). Every message is a
 * signed envelope (proto/codec.h) carrying a 16-byte query id chosen by Q
 * at random, a round number, a nonce and a timestamp.
 *
 * paillier (default), two rounds:
 *   1. Q -> N_i  QUERY{text, mode, dictionary fp, participants = all n node
 *                ids in consortium order, threshold-key fp}
 *      N_i: checks (below), computes its vector v_i with the plan callback,
 *                packs it (crypto/pack.h, max_parties = n) into plaintexts
 *                m_ij and encrypts c_ij = E(m_ij).
 *      N_i -> Q  CONTRIBUTION{digest of layout and query text, nvalues,
 *                c_i*} (signed); N_i keeps SHA-256 of this envelope.
 *   2. Q: C = sites with a valid contribution; needs |C| >= max(t,
 *                min_sites). P_j = prod_{i in C} c_ij.
 *      Q -> N_i  DECRYPT{the signed CONTRIBUTION envelopes of C verbatim,
 *                P_*}, to every i in C.
 *      N_i: checks every envelope (signature by a consortium NODE, query
 *                id, round 1, distinct senders, same layout and query
 *                text: agg_contrib_digest), its own
 *                envelope byte-identical, |C| >= its own min_sites, and
 *                recomputes P_* itself; decrypts at most once per query.
 *      N_i -> Q  PARTIALS{partial decryptions of P_* with proofs}.
 *      Q: verifies the proofs, combines any t per ciphertext, unpacks with
 *                nparties = |C| -> sum_{i in C} v_i.
 *   What each party learns: Q learns the sum over C and which sites are
 *   in C; a node learns the query text and the ciphertexts (semantically
 *   secure); fewer than t colluding nodes learn nothing about another
 *   node's vector. Because a node decrypts only the product of >= min_sites
 *   signed contributions of this query, all made for the same text, and
 *   only once, Q cannot obtain the decryption of a single site's
 *   ciphertext. Two different subsets of one query: two disjoint groups of
 *   t nodes could each decrypt one, so node/config.c requires t > n/2;
 *   a querier colluding with t-1 nodes still could (it needs one honest
 *   decrypter per subset) - the same as asking a second query without a
 *   site, which is disclosure control's job (DP noise, differencing audit,
 *   charged per decryption).
 *
 * masked, one round: N_i -> Q CONTRIBUTION{v_i + M_i mod 2^64}, where
 *   M_i = mcn_mask_zero_sum over all other consortium nodes with label
 *   "mcn-agg-mask-v1" || query id || SHA-256(query text) (Bonawitz et al.,
 *   CCS 2017, pairwise masks without dropout recovery), so sum_i M_i = 0
 *   and Q learns only the sum, and only if all n nodes answer. With the
 *   same masks on two different vectors Q could difference them, so a
 *   node answers a query id once; and because the label also binds the
 *   query text, re-using an id after a node restart (which forgets the
 *   ids it has seen) with another query yields fresh, unrelated masks.
 *
 * plain, one round: N_i -> Q CONTRIBUTION{v_i}; refused unless allowed.
 *
 * Node-side checks on QUERY, each with its own code and a data-free
 * reason in a signed ERROR reply: envelope (size, version, signature,
 * certificate with role querier, replay, clock window); query id never
 * seen before (MCN_EREPLAY); participants == consortium (MCN_EREFUSED);
 * mode allowed and configured (MCN_EREFUSED); key fingerprint
 * (MCN_EKEYMISMATCH); dictionary fingerprint (MCN_EREFUSED); then the plan
 * callback's own refusal; layout and value ranges.
 *
 * No clock, no I/O, no threads here: now_ms comes from the caller and
 * parallelism only from the crypto *_vec functions.
 */
#define _POSIX_C_SOURCE 200809L /* strnlen */

#include "protocols/agg.h"

#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "crypto/box.h"
#include "crypto/mem.h"
#include "crypto/paillier.h"
#include "proto/codec.h"

_Static_assert(MCN_QUERY_ID_BYTES == MCN_MSG_QUERY_ID_BYTES, "query id");
_Static_assert(MCN_AGG_MAX_VALUES == MCN_MSG_MAX_VALUES, "max values");
_Static_assert(MCN_AGG_MAX_NODES <= MCN_MSG_MAX_PARTIES, "max nodes");
_Static_assert(MCN_QUERY_TEXT_MAX == MCN_MSG_TEXT_MAX, "text max");
_Static_assert((int)MCN_AGG_PAILLIER == MCN_MSG_MODE_PAILLIER &&
        (int)MCN_AGG_MASKED == MCN_MSG_MODE_MASKED &&
        (int)MCN_AGG_PLAIN == MCN_MSG_MODE_PLAIN,
    "mode values");
_Static_assert(MCN_AGG_LAYOUT_DIGEST_BYTES == MCN_MSG_FP_BYTES, "digest");
_Static_assert(sizeof(unsigned long) >= 8, "mpz_get_ui gives 64 bits");

#define AGG_MASK_LABEL "mcn-agg-mask-v1"
#define AGG_REASON (MCN_MSG_REASON_MAX + 1)

/* ---- shared helpers ---- */

const char *
mcn_agg_mode_name(mcn_agg_mode m)
{
	switch (m) {
	case MCN_AGG_PAILLIER: return "paillier";
	case MCN_AGG_MASKED: return "masked";
	case MCN_AGG_PLAIN: return "plain";
	}
	return "unknown";
}

mcn_err
mcn_agg_mode_parse(const char *s, mcn_agg_mode *m)
{
	if (s != NULL && strcmp(s, "paillier") == 0) {
		*m = MCN_AGG_PAILLIER;
	} else if (s != NULL && strcmp(s, "masked") == 0) {
		*m = MCN_AGG_MASKED;
	} else if (s != NULL && strcmp(s, "plain") == 0) {
		*m = MCN_AGG_PLAIN;
	} else {
		return MCN_EINVAL;
	}
	return MCN_OK;
}

void
mcn_agg_layout_clear(mcn_agg_layout *L)
{
	if (L == NULL) {
		return;
	}
	mcn_free(L->fields, L->nfields * sizeof(*L->fields));
	mcn_free(L->cfields, L->ncfields * sizeof(*L->cfields));
	mcn_free(L->units, L->nunits * sizeof(*L->units));
	memset(L, 0, sizeof(*L));
}

static void *
agg_dup(const void *p, size_t n)
{
	void *q;

	if (n == 0) {
		return NULL;
	}
	if ((q = mcn_alloc(n)) != NULL) {
		memcpy(q, p, n);
	}
	return q;
}

mcn_err
mcn_agg_layout_copy(mcn_agg_layout *dst, const mcn_agg_layout *src)
{
	*dst = *src;
	dst->fields = agg_dup(src->fields, src->nfields * sizeof(*src->fields));
	dst->cfields =
	    agg_dup(src->cfields, src->ncfields * sizeof(*src->cfields));
	dst->units = agg_dup(src->units, src->nunits * sizeof(*src->units));
	if ((src->nfields != 0 && dst->fields == NULL) ||
	    (src->ncfields != 0 && dst->cfields == NULL) ||
	    (src->nunits != 0 && dst->units == NULL)) {
		mcn_agg_layout_clear(dst);
		return MCN_ENOMEM;
	}
	return MCN_OK;
}

static void
agg_be64(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

void
mcn_agg_layout_digest(uint8_t out[MCN_AGG_LAYOUT_DIGEST_BYTES],
    const mcn_agg_layout *L)
{
	static const char tag[] = "mcn/agg/layout/v1";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t b[24];
	unsigned int n = MCN_AGG_LAYOUT_DIGEST_BYTES;
	int ok;

	MCN_MUST(ctx != NULL);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, tag, sizeof(tag) - 1);
	agg_be64(b, L->nfields);
	ok = ok && EVP_DigestUpdate(ctx, b, 8);
	for (size_t i = 0; ok && i < L->nfields; i++) {
		agg_be64(b, L->fields[i].count);
		agg_be64(b + 8, (uint64_t)L->fields[i].lo);
		agg_be64(b + 16, (uint64_t)L->fields[i].hi);
		ok = EVP_DigestUpdate(ctx, b, 24);
	}
	if (L->ncontrol != 0) {
		ok = ok && EVP_DigestUpdate(ctx, "control", 7);
		agg_be64(b, L->ncfields);
		ok = ok && EVP_DigestUpdate(ctx, b, 8);
		for (size_t i = 0; ok && i < L->ncfields; i++) {
			agg_be64(b, L->cfields[i].count);
			agg_be64(b + 8, (uint64_t)L->cfields[i].lo);
			agg_be64(b + 16, (uint64_t)L->cfields[i].hi);
			ok = EVP_DigestUpdate(ctx, b, 24);
		}
		agg_be64(b, L->nunits);
		ok = ok && EVP_DigestUpdate(ctx, b, 8);
		for (size_t i = 0; ok && i < L->nunits; i++) {
			agg_be64(b, L->units[i]);
			ok = EVP_DigestUpdate(ctx, b, 8);
		}
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	MCN_MUST(ok); /* SHA-256 on memory does not fail */
}

static void
agg_sha256(uint8_t out[32], const uint8_t *d, size_t len)
{
	unsigned int n = 32;

	MCN_MUST(EVP_Digest(d, len, out, &n, EVP_sha256(), NULL) == 1);
}

/* The digest a CONTRIBUTION carries (its layout_digest field): SHA-256 over
 * "mcn/agg/contribution/v1" || layout digest || be64 len || query text.
 * Binding the text matters: a node decrypts a product only if every
 * contribution in it carries its own digest, so the querier cannot send
 * the other sites, under the same query id, another text with the same
 * layout (e.g. a WHERE that matches nobody: zeros) and have "the sum over
 * min_sites sites" be one site's vector. */
static void
agg_contrib_digest(uint8_t out[MCN_AGG_LAYOUT_DIGEST_BYTES],
    const mcn_agg_layout *L, const char *text)
{
	static const char tag[] = "mcn/agg/contribution/v1";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t ld[MCN_AGG_LAYOUT_DIGEST_BYTES], b[8];
	unsigned int n = MCN_AGG_LAYOUT_DIGEST_BYTES;
	size_t tl = strlen(text);
	int ok;

	MCN_MUST(ctx != NULL);
	mcn_agg_layout_digest(ld, L);
	agg_be64(b, tl);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, tag, sizeof(tag) - 1) &&
	    EVP_DigestUpdate(ctx, ld, sizeof(ld)) &&
	    EVP_DigestUpdate(ctx, b, sizeof(b)) &&
	    EVP_DigestUpdate(ctx, text, tl) &&
	    EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	MCN_MUST(ok); /* SHA-256 on memory does not fail */
}

/* Checks a field list: lo <= hi, counts add up to nvalues in
 * 0..MCN_AGG_MAX_VALUES. */
static int
agg_fields_ok(const mcn_pack_field *f, size_t nfields, size_t nvalues)
{
	size_t sum = 0;

	if ((f == NULL && nfields != 0) || nfields > MCN_AGG_MAX_VALUES) {
		return 0;
	}
	for (size_t i = 0; i < nfields; i++) {
		if (f[i].lo > f[i].hi || f[i].count > MCN_AGG_MAX_VALUES) {
			return 0;
		}
		sum += f[i].count;
	}
	return sum <= MCN_AGG_MAX_VALUES && sum == nvalues;
}

/* Checks a layout: values (>= 1 without control), and with control the
 * control fields (>= 1 slot) and units (>= 1 field each, covering the
 * value fields). */
static int
agg_layout_ok(const mcn_agg_layout *L)
{
	size_t nf = 0;

	if (!agg_fields_ok(L->fields, L->nfields, L->nvalues)) {
		return 0;
	}
	if (L->ncontrol == 0) {
		return L->nvalues >= 1 && L->ncfields == 0 && L->nunits == 0;
	}
	if (!agg_fields_ok(L->cfields, L->ncfields, L->ncontrol) ||
	    (L->units == NULL && L->nunits != 0) ||
	    L->nunits > MCN_AGG_MAX_VALUES) {
		return 0;
	}
	for (size_t u = 0; u < L->nunits; u++) {
		if (L->units[u] == 0 || L->units[u] > L->nfields - nf) {
			return 0;
		}
		nf += L->units[u];
	}
	return nf == L->nfields;
}

/* How a layout's vector is packed into ciphertexts: the control first
 * (ncc ciphertexts), then each value unit in its own ciphertexts
 * (without control, all values are one unit: the layout of version 1). */
struct agg_pack {
	mcn_pack_layout *ctl;
	size_t ncc;
	mcn_pack_layout **unit;
	size_t nu;
	size_t *ct0; /* nu + 1: first ciphertext of unit u; ct0[nu] = total */
	size_t *v0;  /* nu + 1: first value slot of unit u */
};

static void
agg_pack_free(struct agg_pack *P)
{
	if (P->unit != NULL) {
		for (size_t u = 0; u < P->nu; u++) {
			mcn_pack_layout_free(P->unit[u]);
		}
		mcn_free(P->unit, (P->nu + 1) * sizeof(*P->unit));
	}
	mcn_pack_layout_free(P->ctl);
	mcn_free(P->ct0, (P->nu + 1) * sizeof(*P->ct0));
	mcn_free(P->v0, (P->nu + 1) * sizeof(*P->v0));
	memset(P, 0, sizeof(*P));
}

static mcn_err
agg_pack_new(struct agg_pack *P, const mcn_agg_layout *L, unsigned bits,
    unsigned nparties)
{
	size_t f = 0;
	mcn_err rv;

	memset(P, 0, sizeof(*P));
	P->nu = L->ncontrol != 0 ? L->nunits : 1;
	if ((P->unit = mcn_zalloc((P->nu + 1) * sizeof(*P->unit))) == NULL ||
	    (P->ct0 = mcn_zalloc((P->nu + 1) * sizeof(*P->ct0))) == NULL ||
	    (P->v0 = mcn_zalloc((P->nu + 1) * sizeof(*P->v0))) == NULL) {
		agg_pack_free(P);
		return MCN_ENOMEM;
	}
	if (L->ncontrol != 0) {
		if ((rv = mcn_pack_layout_new(&P->ctl, bits, nparties,
		         MCN_PACK_GUARD_BITS, L->cfields, L->ncfields)) !=
		    MCN_OK) {
			agg_pack_free(P);
			return rv;
		}
		P->ncc = mcn_pack_layout_nplaintexts(P->ctl);
	}
	size_t ct = P->ncc, v = 0;
	for (size_t u = 0; u < P->nu; u++) {
		size_t nf = L->ncontrol != 0 ? L->units[u] : L->nfields;
		if ((rv = mcn_pack_layout_new(&P->unit[u], bits, nparties,
		         MCN_PACK_GUARD_BITS, L->fields + f, nf)) != MCN_OK) {
			agg_pack_free(P);
			return rv;
		}
		P->ct0[u] = ct;
		P->v0[u] = v;
		ct += mcn_pack_layout_nplaintexts(P->unit[u]);
		for (size_t j = 0; j < nf; j++) {
			v += L->fields[f + j].count;
		}
		f += nf;
	}
	P->ct0[P->nu] = ct;
	P->v0[P->nu] = v;
	return MCN_OK;
}

static size_t
agg_pack_ncts(const struct agg_pack *P)
{
	return P->ct0[P->nu];
}

static void
agg_mpz_set_i64(mpz_t z, int64_t v)
{
	uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	mpz_import(z, 1, 1, sizeof(a), 0, 0, &a);
	if (v < 0) {
		mpz_neg(z, z);
	}
}

static void
agg_mpz_set_u64(mpz_t z, uint64_t v)
{
	mpz_import(z, 1, 1, sizeof(v), 0, 0, &v);
}

static mpz_t *
agg_mpz_array(size_t n)
{
	mpz_t *a = mcn_alloc(n * sizeof(mpz_t));

	if (a != NULL) {
		for (size_t i = 0; i < n; i++) {
			mpz_init(a[i]);
		}
	}
	return a;
}

/* Frees an mpz array; wipes the limbs when the values are secret. */
static void
agg_mpz_array_free(mpz_t *a, size_t n, int secret)
{
	if (a == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (secret) {
			mcn_mpz_wipe(a[i]);
		}
		mpz_clear(a[i]);
	}
	mcn_free(a, n * sizeof(mpz_t));
}

static void
agg_partials_free(mcn_tpaillier_partial *p, size_t n)
{
	if (p == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mcn_tpaillier_partial_clear(&p[i]);
	}
	mcn_free(p, n * sizeof(*p));
}

/* dst = a || b, truncated to len - 1 characters (len > 0). */
static void
agg_cat(char *dst, size_t len, const char *a, const char *b)
{
	size_t na = strnlen(a, len - 1), nb = strnlen(b, len - 1 - na);

	memmove(dst, a, na);
	memmove(dst + na, b, nb);
	dst[na + nb] = '\0';
}

static void
agg_set(char *dst, size_t len, const char *src)
{
	agg_cat(dst, len, src, "");
}

static int
agg_peers_ok(const mcn_agg_peer *peers, size_t npeers)
{
	if (peers == NULL || npeers == 0 || npeers > MCN_AGG_MAX_NODES) {
		return 0;
	}
	for (size_t i = 0; i < npeers; i++) {
		if (!mcn_msg_id_valid(peers[i].id,
		        strnlen(peers[i].id, sizeof(peers[i].id)))) {
			return 0;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(peers[i].id, peers[j].id) == 0) {
				return 0;
			}
		}
	}
	return 1;
}

static long
agg_peer_index(const mcn_agg_peer *peers, size_t npeers, const char *id)
{
	for (size_t i = 0; i < npeers; i++) {
		if (strcmp(peers[i].id, id) == 0) {
			return (long)i;
		}
	}
	return -1;
}

/* ======================================================================
 * Node side
 * ====================================================================== */

/* A query between its CONTRIBUTION and its last round: paillier always,
 * masked only with release control. */
enum { NQ_CONTRIBUTED = 1, NQ_SHARED };

struct node_query {
	uint8_t qid[MCN_QUERY_ID_BYTES];
	char querier[MCN_PARTY_ID_MAX + 1];
	char policy_role[MCN_PARTY_ID_MAX + 1];
	mcn_agg_mode mode;
	uint8_t layout_digest[MCN_AGG_LAYOUT_DIGEST_BYTES];
	uint8_t env_digest[32]; /* SHA-256 of my CONTRIBUTION envelope */
	uint64_t nvalues;
	size_t ncts;
	uint64_t expires_ms; /* 0: free slot */
	int stage;           /* NQ_* */
	/* release control */
	char *text;          /* the query text, for decide */
	mcn_agg_layout L;    /* its layout (L.ncontrol = 0: none) */
	struct agg_pack P;   /* paillier: how it is packed */
	mpz_t *prod;         /* paillier round 2: products over C (ncts) */
	unsigned ncontrib;   /* |C| */
	unsigned char dset[MCN_AGG_MAX_NODES]; /* deciding nodes (index) */
	mcn_tpaillier_partial *myparts; /* my partials of the control */
	int64_t *values;     /* masked: my values (secret) */
	uint64_t *mctl;      /* masked: my masked control */
};

struct mcn_agg_node {
	mcn_agg_node_cfg cfg;
	mcn_replay *nonces; /* (querier, nonce) of requests */
	mcn_replay *qids;   /* query ids ever accepted for processing */
	mcn_agg_event last; /* mcn_agg_node_last */
	struct node_query *active;
	size_t nactive;     /* slots in active (cfg.max_active) */
	size_t per_querier; /* cfg.max_per_querier */
	mcn_agg_stats st;
};

static uint64_t
node_clock(const mcn_agg_node *n)
{
	return n->cfg.clock_us != NULL ? n->cfg.clock_us() : 0;
}

/* Frees what a slot holds (secrets wiped) and makes it free. */
static void
node_slot_release(struct node_query *q)
{
	if (q->text != NULL) {
		mcn_free(q->text, strlen(q->text) + 1);
	}
	agg_mpz_array_free(q->prod, q->ncts, 0);
	agg_partials_free(q->myparts, q->P.ncc);
	if (q->values != NULL) {
		mcn_free(q->values, q->L.nvalues * sizeof(int64_t)); /* wipes */
	}
	if (q->mctl != NULL) {
		mcn_free(q->mctl, q->L.ncontrol * sizeof(uint64_t));
	}
	agg_pack_free(&q->P);
	mcn_agg_layout_clear(&q->L);
	mcn_wipe(q, sizeof(*q));
}

mcn_err
mcn_agg_node_new(mcn_agg_node **out, const mcn_agg_node_cfg *cfg)
{
	mcn_agg_node *n = NULL;
	mcn_err rv = MCN_EINVAL;

	MCN_MUST(out != NULL && cfg != NULL);
	*out = NULL;
	MCN_MUST(cfg->signer != NULL && cfg->verifier != NULL &&
	    cfg->plan != NULL && cfg->rngs != NULL);
	if (!agg_peers_ok(cfg->peers, cfg->npeers) || cfg->my_index < 1 ||
	    cfg->my_index > cfg->npeers || cfg->min_sites < 2 ||
	    cfg->max_message == 0 || cfg->query_ttl_ms == 0 ||
	    strcmp(cfg->signer->id, cfg->peers[cfg->my_index - 1].id) != 0) {
		return MCN_EINVAL;
	}
	if (cfg->tpub != NULL &&
	    (cfg->share == NULL ||
	        mcn_tpaillier_parties(cfg->tpub) != cfg->npeers ||
	        mcn_tpaillier_share_index(cfg->share) != cfg->my_index)) {
		return MCN_EINVAL;
	}
	if (cfg->max_active > MCN_AGG_MAX_ACTIVE ||
	    cfg->max_per_querier > (cfg->max_active != 0 ? cfg->max_active :
	                                                   MCN_AGG_MAX_ACTIVE)) {
		return MCN_EINVAL;
	}
	if ((n = mcn_zalloc(sizeof(*n))) == NULL) {
		return MCN_ENOMEM;
	}
	n->cfg = *cfg;
	n->nactive = cfg->max_active != 0 ? cfg->max_active : MCN_AGG_MAX_ACTIVE;
	n->per_querier = cfg->max_per_querier != 0 ? cfg->max_per_querier :
	                                             MCN_AGG_MAX_PER_QUERIER;
	if (n->per_querier > n->nactive) {
		n->per_querier = n->nactive;
	}
	rv = MCN_ENOMEM;
	if ((n->active = mcn_zalloc(n->nactive * sizeof(*n->active))) ==
	    NULL) {
		goto out;
	}
	if ((rv = mcn_replay_new(&n->nonces, MCN_AGG_NONCE_MEMORY)) != MCN_OK ||
	    (rv = mcn_replay_new(&n->qids,
	         cfg->query_memory != 0 ? cfg->query_memory :
	                                  MCN_AGG_QUERY_MEMORY)) != MCN_OK) {
		goto out;
	}
	/* The fast fixed-base encryption table lives in the shared public
	 * key; build it once (see agg.h on this one write to *tpub). */
	if (cfg->tpub != NULL &&
	    !mcn_paillier_has_table(mcn_tpaillier_pk(cfg->tpub))) {
		mcn_paillier_pk *pk =
		    mcn_tpaillier_pk_mut((mcn_tpaillier_pub *)cfg->tpub);
		if ((rv = mcn_paillier_precompute(pk, MCN_PAILLIER_COMB_H,
		         MCN_PAILLIER_COMB_V)) != MCN_OK) {
			goto out;
		}
	}
	*out = n;
	return MCN_OK;
out:
	mcn_agg_node_free(n);
	return rv;
}

void
mcn_agg_node_free(mcn_agg_node *n)
{
	if (n == NULL) {
		return;
	}
	mcn_replay_free(n->nonces);
	mcn_replay_free(n->qids);
	if (n->active != NULL) {
		for (size_t i = 0; i < n->nactive; i++) {
			node_slot_release(&n->active[i]);
		}
		mcn_free(n->active, n->nactive * sizeof(*n->active));
	}
	mcn_free(n, sizeof(*n));
}

void
mcn_agg_node_stats(const mcn_agg_node *n, mcn_agg_stats *st)
{
	*st = n->st;
}

static struct node_query *
node_find(mcn_agg_node *n, const uint8_t *qid, uint64_t now_ms)
{
	for (size_t i = 0; i < n->nactive; i++) {
		struct node_query *q = &n->active[i];
		if (q->expires_ms > now_ms &&
		    memcmp(q->qid, qid, MCN_QUERY_ID_BYTES) == 0) {
			return q;
		}
	}
	return NULL;
}

/* A free slot (expired entries are released), or NULL when full. A
 * query's slot is released as soon as its last round is answered. */
static struct node_query *
node_free_slot(mcn_agg_node *n, uint64_t now_ms)
{
	for (size_t i = 0; i < n->nactive; i++) {
		if (n->active[i].expires_ms <= now_ms) {
			node_slot_release(&n->active[i]);
			return &n->active[i];
		}
	}
	return NULL;
}

/* Refuses a query that would need a slot when the node's slots or the
 * querier's share of them are taken (before the query's scan). */
static mcn_err
node_slot_quota(const mcn_agg_node *n, const char *querier, uint64_t now_ms,
    char *why, size_t whylen)
{
	size_t all = 0, mine = 0;

	for (size_t i = 0; i < n->nactive; i++) {
		const struct node_query *q = &n->active[i];
		if (q->expires_ms > now_ms) {
			all++;
			mine += strcmp(q->querier, querier) == 0;
		}
	}
	if (mine >= n->per_querier) {
		char b[160];
		snprintf(b, sizeof(b),
		    "you have %zu queries in progress at this node (the limit "
		    "per querier): let them finish, or wait until they expire",
		    mine);
		agg_set(why, whylen, b);
		return MCN_EREFUSED;
	}
	if (all >= n->nactive) {
		agg_set(why, whylen,
		    "too many queries in progress at this node: try again "
		    "shortly");
		return MCN_EREFUSED;
	}
	return MCN_OK;
}

static mcn_rng *
node_rng(mcn_agg_node *n)
{
	return mcn_rng_pool_get(n->cfg.rngs, 0);
}

/* Seals a reply of the given type and body for the request header rq. */
static mcn_err
node_seal(mcn_agg_node *n, mcn_message *m, const mcn_msg_hdr *rq, mcn_msg_type type,
    uint64_t now_ms, uint8_t **reply, size_t *replylen)
{
	memcpy(m->h.query_id, rq->query_id, MCN_QUERY_ID_BYTES);
	m->h.round = rq->round;
	m->h.type = type;
	m->h.timestamp_ms = now_ms;
	return mcn_msg_seal(reply, replylen, m, n->cfg.signer, n->cfg.tpub,
	    node_rng(n));
}

static mcn_err
node_error_reply(mcn_agg_node *n, const mcn_msg_hdr *rq, mcn_err code,
    const char *reason, uint64_t now_ms, uint8_t **reply, size_t *replylen)
{
	mcn_message m;

	memset(&m, 0, sizeof(m));
	m.u.error.code = code;
	agg_set(m.u.error.reason, sizeof(m.u.error.reason),
	    reason[0] != '\0' ? reason : mcn_strerror(code));
	return node_seal(n, &m, rq, MCN_MSG_ERROR, now_ms, reply, replylen);
}

/* Checks the plan's layout and values: fields valid, values (and the
 * control after them) inside their declared ranges. */
static mcn_err
node_check_plan(const mcn_agg_layout *L, const int64_t *v, char *why,
    size_t whylen)
{
	size_t k = 0;

	if (!agg_layout_ok(L) || v == NULL) {
		agg_set(why, whylen,
		    "the query plan produced an invalid vector layout");
		return MCN_EINVAL;
	}
	for (int part = 0; part < 2; part++) {
		const mcn_pack_field *F = part == 0 ? L->fields : L->cfields;
		size_t nf = part == 0 ? L->nfields : L->ncfields;
		for (size_t f = 0; f < nf; f++) {
			for (size_t j = 0; j < F[f].count; j++, k++) {
				if (v[k] < F[f].lo || v[k] > F[f].hi) {
					agg_set(why, whylen,
					    "a local value is outside "
					    "its declared range");
					return MCN_ERANGE;
				}
			}
		}
	}
	return MCN_OK;
}

/* paillier: packs v (values then control) as P says, control first, and
 * encrypts; *cts receives agg_pack_ncts(P) ciphertexts. */
static mcn_err
node_encrypt(mcn_agg_node *n, const mcn_agg_layout *L,
    const struct agg_pack *P, const int64_t *v, mpz_t **cts, char *why,
    size_t whylen)
{
	const mcn_paillier_pk *pk = mcn_tpaillier_pk(n->cfg.tpub);
	size_t np = agg_pack_ncts(P);
	mpz_t *pt = NULL, *ct = NULL;
	uint64_t t0;
	mcn_err rv = MCN_ENOMEM;

	if ((pt = agg_mpz_array(np)) == NULL ||
	    (ct = agg_mpz_array(np)) == NULL) {
		goto out;
	}
	rv = MCN_OK;
	if (P->ctl != NULL) {
		rv = mcn_pack(P->ctl, pt, v + L->nvalues, L->ncontrol);
	}
	for (size_t u = 0; u < P->nu && rv == MCN_OK; u++) {
		rv = mcn_pack(P->unit[u], pt + P->ct0[u], v + P->v0[u],
		    P->v0[u + 1] - P->v0[u]);
	}
	if (rv != MCN_OK) {
		agg_set(why, whylen, "the local vector cannot be packed");
		goto out;
	}
	t0 = node_clock(n);
	rv = mcn_paillier_encrypt_vec(pk, ct, (const mpz_t *)pt, np,
	    n->cfg.rngs);
	n->st.encrypt_us += node_clock(n) - t0;
	if (rv != MCN_OK) {
		agg_set(why, whylen, "encryption failed");
		goto out;
	}
	*cts = ct;
	ct = NULL;
out:
	agg_mpz_array_free(pt, np, 1); /* plaintexts are the site's data */
	agg_mpz_array_free(ct, np, 0);
	return rv;
}

/* masked: out[i] = v[i] + M[i] mod 2^64, M = zero-sum mask over all other
 * consortium nodes for label prefix || query id || SHA-256(text). */
static mcn_err
node_mask(mcn_agg_node *n, const char *prefix, const uint8_t *qid,
    const char *text, const uint8_t *bind, const int64_t *v, size_t nvalues,
    uint64_t **out, char *why, size_t whylen)
{
	uint8_t label[32 + MCN_QUERY_ID_BYTES + 32 + 32];
	size_t pl = strlen(prefix);
	uint32_t ids[MCN_AGG_MAX_NODES];
	uint8_t(*pubs)[MCN_X25519_BYTES] = NULL;
	uint64_t *mask = NULL;
	size_t np = 0;
	unsigned int hl = 0;
	mcn_err rv = MCN_ENOMEM;

	MCN_MUST(pl <= 32);
	memcpy(label, prefix, pl);
	memcpy(label + pl, qid, MCN_QUERY_ID_BYTES);
	if (EVP_Digest(text, strlen(text), label + pl + MCN_QUERY_ID_BYTES,
	        &hl, EVP_sha256(), NULL) != 1 || hl != 32) {
		agg_set(why, whylen, "hash failure");
		return MCN_ECRYPTO;
	}
	if ((pubs = mcn_alloc(n->cfg.npeers * MCN_X25519_BYTES)) == NULL ||
	    (mask = mcn_alloc((nvalues != 0 ? nvalues : 1) *
	         sizeof(uint64_t))) == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n->cfg.npeers; i++) {
		if (i + 1 == n->cfg.my_index) {
			continue;
		}
		ids[np] = (uint32_t)(i + 1);
		memcpy(pubs[np], n->cfg.peers[i].x25519, MCN_X25519_BYTES);
		np++;
	}
	if (bind != NULL) {
		memcpy(label + pl + MCN_QUERY_ID_BYTES + 32, bind, 32);
	}
	rv = mcn_mask_zero_sum(mask, nvalues, n->cfg.x25519, n->cfg.my_index,
	    ids, (const uint8_t(*)[MCN_X25519_BYTES])pubs, np, label,
	    pl + MCN_QUERY_ID_BYTES + 32 + (bind != NULL ? 32 : 0));
	if (rv != MCN_OK) {
		agg_set(why, whylen, "mask derivation failed (peer mask key?)");
		goto out;
	}
	for (size_t i = 0; i < nvalues; i++) {
		mask[i] += (uint64_t)v[i];
	}
	*out = mask;
	mask = NULL;
out:
	mcn_free(mask, (nvalues != 0 ? nvalues : 1) * sizeof(uint64_t));
	mcn_free(pubs, n->cfg.npeers * MCN_X25519_BYTES);
	return rv;
}

/* The label of the boxes of one query and purpose: prefix || query id. */
static size_t
agg_box_label(uint8_t *label, const char *prefix, const uint8_t *qid)
{
	size_t pl = strlen(prefix);

	memcpy(label, prefix, pl);
	memcpy(label + pl, qid, MCN_QUERY_ID_BYTES);
	return pl + MCN_QUERY_ID_BYTES;
}

#define AGG_BOX_CTL "mcn-agg-box-ctl-v1"   /* masked control */
#define AGG_BOX_PART "mcn-agg-box-part-v1" /* paillier control partials */
#define AGG_CTL_LABEL "mcn-agg-ctl-v1"     /* masks of the control */
#define AGG_VAL_LABEL "mcn-agg-val-v1"     /* masks of released values */

/* SHA-256 over "mcn/agg/decision/v1" || be64 nunits || release bits ||
 * be64 ndec || be64 per decision entry. */
static void
agg_decision_digest(uint8_t out[32], const uint8_t *release, size_t nunits,
    const int64_t *dec, size_t ndec)
{
	static const char tag[] = "mcn/agg/decision/v1";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t b[8];
	unsigned int n = 32;
	int ok;

	MCN_MUST(ctx != NULL);
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, tag, sizeof(tag) - 1);
	agg_be64(b, nunits);
	ok = ok && EVP_DigestUpdate(ctx, b, 8);
	for (size_t u = 0; ok && u < nunits; u++) {
		uint8_t r = release[u] != 0;
		ok = EVP_DigestUpdate(ctx, &r, 1);
	}
	agg_be64(b, ndec);
	ok = ok && EVP_DigestUpdate(ctx, b, 8);
	for (size_t i = 0; ok && i < ndec; i++) {
		agg_be64(b, (uint64_t)dec[i]);
		ok = EVP_DigestUpdate(ctx, b, 8);
	}
	ok = ok && EVP_DigestFinal_ex(ctx, out, &n);
	EVP_MD_CTX_free(ctx);
	MCN_MUST(ok);
}

static void
agg_be64_put(uint8_t *p, uint64_t v)
{
	agg_be64(p, v);
}

static uint64_t
agg_be64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

static void
agg_boxes_free(mcn_msg_box *b, size_t n)
{
	if (b == NULL) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		mcn_free(b[i].data.data, b[i].data.len);
	}
	mcn_free(b, n * sizeof(*b));
}

/* Seals len bytes to every consortium node whose flag in to[] is set
 * (except me): *boxes gets one box each. */
static mcn_err
node_seal_boxes(mcn_agg_node *n, const unsigned char *to, const char *prefix,
    const uint8_t *qid, const uint8_t *pt, size_t len, mcn_msg_box **boxes,
    size_t *nboxes)
{
	const mcn_agg_node_cfg *cfg = &n->cfg;
	uint8_t label[32 + MCN_QUERY_ID_BYTES];
	size_t ll = agg_box_label(label, prefix, qid), k = 0, want = 0;
	mcn_msg_box *b;
	mcn_err rv = MCN_OK;

	for (size_t i = 0; i < cfg->npeers; i++) {
		want += to[i] && i + 1 != cfg->my_index;
	}
	*boxes = NULL;
	*nboxes = 0;
	if (want == 0) {
		return MCN_OK;
	}
	if ((b = mcn_zalloc(want * sizeof(*b))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < cfg->npeers && rv == MCN_OK; i++) {
		if (!to[i] || i + 1 == cfg->my_index) {
			continue;
		}
		agg_set(b[k].sender, sizeof(b[k].sender),
		    cfg->peers[cfg->my_index - 1].id);
		agg_set(b[k].recipient, sizeof(b[k].recipient), cfg->peers[i].id);
		b[k].data.len = len + MCN_BOX_OVERHEAD;
		if ((b[k].data.data = mcn_alloc(b[k].data.len)) == NULL) {
			b[k].data.len = 0;
			rv = MCN_ENOMEM;
			break;
		}
		rv = mcn_box_seal(b[k].data.data, pt, len, cfg->x25519,
		    cfg->my_index, cfg->peers[i].x25519, (uint32_t)(i + 1),
		    label, ll, node_rng(n));
		k++;
	}
	if (rv != MCN_OK) {
		agg_boxes_free(b, want);
		return rv;
	}
	*boxes = b;
	*nboxes = want;
	return MCN_OK;
}

/* Opens a box addressed to me from consortium node `from` (0-based) into
 * a new buffer of exactly want bytes. */
static mcn_err
node_open_box(mcn_agg_node *n, const mcn_msg_box *b, size_t from,
    const char *prefix, const uint8_t *qid, size_t want, uint8_t **out)
{
	const mcn_agg_node_cfg *cfg = &n->cfg;
	uint8_t label[32 + MCN_QUERY_ID_BYTES];
	size_t ll = agg_box_label(label, prefix, qid);
	uint8_t *pt;
	mcn_err rv;

	if (b->data.len != want + MCN_BOX_OVERHEAD) {
		return MCN_EPROTO;
	}
	if ((pt = mcn_alloc(want != 0 ? want : 1)) == NULL) {
		return MCN_ENOMEM;
	}
	rv = mcn_box_open(pt, b->data.data, b->data.len, cfg->x25519,
	    cfg->my_index, cfg->peers[from].x25519, (uint32_t)(from + 1),
	    label, ll);
	if (rv != MCN_OK) {
		mcn_free(pt, want != 0 ? want : 1);
		return rv;
	}
	*out = pt;
	return MCN_OK;
}

/* The pooled control lifted out of its sum mod 2^64 (masked) into int64:
 * per field into [n lo, n hi], exact when n (hi - lo) < 2^64. */
static mcn_err
agg_lift(const mcn_pack_field *F, size_t nf, size_t n, const uint64_t *sum,
    mpz_t *out)
{
	size_t k = 0;
	mpz_t base, width, t;
	mcn_err rv = MCN_OK;

	mpz_inits(base, width, t, NULL);
	for (size_t f = 0; f < nf && rv == MCN_OK; f++) {
		int lift;
		agg_mpz_set_i64(base, F[f].lo);
		mpz_mul_ui(base, base, n); /* n lo */
		agg_mpz_set_i64(width, F[f].hi);
		agg_mpz_set_i64(t, F[f].lo);
		mpz_sub(width, width, t);
		mpz_mul_ui(width, width, n);           /* n (hi - lo) */
		lift = mpz_sizeinbase(width, 2) <= 64; /* width < 2^64 */
		for (size_t j = 0; j < F[f].count; j++, k++) {
			uint64_t s = sum[k];
			if (!lift) {
				agg_mpz_set_i64(out[k], (int64_t)s);
				continue;
			}
			/* s - n lo mod 2^64 is the offset above n lo. */
			mpz_fdiv_r_2exp(t, base, 64);
			s -= (uint64_t)mpz_get_ui(t);
			agg_mpz_set_u64(t, s);
			if (mpz_cmp(t, width) > 0) {
				rv = MCN_EOVERFLOW;
				break;
			}
			mpz_add(out[k], base, t);
		}
	}
	mpz_clears(base, width, t, NULL);
	return rv;
}

/* Calls the decide callback of the node (or coordinator) on a pooled
 * control in mpz form. */
static mcn_err
agg_decide(mcn_agg_decide_fn decide, void *ctx, const mcn_agg_request *rq,
    const mcn_agg_layout *L, const mpz_t *pooled, unsigned ncontrib,
    uint8_t *release, int64_t **dec, size_t *ndec, char *why, size_t whylen)
{
	int64_t *c;
	mcn_err rv;

	*dec = NULL;
	*ndec = 0;
	if ((c = mcn_alloc(L->ncontrol * sizeof(*c))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < L->ncontrol; i++) {
		if (!mpz_fits_slong_p(pooled[i])) {
			mcn_free(c, L->ncontrol * sizeof(*c));
			agg_set(why, whylen, "a pooled control value overflows");
			return MCN_EOVERFLOW;
		}
		c[i] = mpz_get_si(pooled[i]);
	}
	memset(release, 0, L->nunits != 0 ? L->nunits : 1);
	why[0] = '\0';
	rv = decide(ctx, rq, c, L->ncontrol, ncontrib, release, L->nunits, dec,
	    ndec, why, whylen);
	mcn_free(c, L->ncontrol * sizeof(*c)); /* wipes: the pooled control */
	if (rv == MCN_OK && *ndec > MCN_AGG_MAX_DECISION) {
		rv = MCN_EINVAL;
	}
	if (rv != MCN_OK) {
		if (*dec != NULL) {
			mcn_free(*dec, *ndec * sizeof(int64_t));
		}
		*dec = NULL;
		*ndec = 0;
		if (why[0] == '\0') {
			agg_set(why, whylen, "the release rule failed");
		}
	}
	return rv;
}

static int64_t *
agg_values_then_control(const int64_t *v, size_t n)
{
	return agg_dup(v, n * sizeof(int64_t));
}

static mcn_err
node_query(mcn_agg_node *n, const mcn_message *rq, uint64_t now_ms, uint8_t **reply,
    size_t *replylen, char *why, size_t whylen)
{
	const mcn_msg_query *q = &rq->u.query;
	const mcn_agg_node_cfg *cfg = &n->cfg;
	mcn_agg_layout L;
	int64_t *values = NULL;
	struct node_query *slot = NULL;
	struct agg_pack P;
	mcn_message m;
	uint64_t t0;
	size_t nall = 0;
	mcn_err rv;

	memset(&m, 0, sizeof(m));
	memset(&L, 0, sizeof(L));
	memset(&P, 0, sizeof(P));
	if (rq->h.round != 1) {
		agg_set(why, whylen, "a QUERY must be round 1");
		return MCN_EROUND;
	}
	/* A query id is used once, whatever the outcome: the same masks or
	 * the same decryption must never serve two vectors. */
	if ((rv = mcn_replay_add(n->qids, "", rq->h.query_id, UINT64_MAX,
	         now_ms)) != MCN_OK) {
		agg_set(why, whylen,
		    rv == MCN_EREPLAY ?
		        "query id already used (or query memory full)" :
		        "out of memory");
		return rv;
	}
	if (q->nparticipants != cfg->npeers) {
		agg_set(why, whylen,
		    "participant list differs from this "
		    "node's consortium");
		return MCN_EREFUSED;
	}
	for (size_t i = 0; i < cfg->npeers; i++) {
		if (strcmp(q->participants[i], cfg->peers[i].id) != 0) {
			agg_set(why, whylen,
			    "participant list differs from "
			    "this node's consortium");
			return MCN_EREFUSED;
		}
	}
	switch (q->mode) {
	case MCN_MSG_MODE_PLAIN:
		if (!cfg->allow_plain) {
			agg_set(why, whylen,
			    "plain mode is not allowed by this node");
			return MCN_EREFUSED;
		}
		break;
	case MCN_MSG_MODE_MASKED:
		if (cfg->x25519 == NULL) {
			agg_set(why, whylen,
			    "masked mode is not configured on this node");
			return MCN_EREFUSED;
		}
		break;
	default: /* paillier (the codec admits nothing else) */
		if (cfg->tpub == NULL) {
			agg_set(why, whylen,
			    "paillier mode is not configured on this node");
			return MCN_EREFUSED;
		}
		if (!q->has_key_fp ||
		    memcmp(q->key_fp,
		        mcn_paillier_fingerprint(mcn_tpaillier_pk(cfg->tpub)),
		        MCN_MSG_FP_BYTES) != 0) {
			agg_set(why, whylen,
			    "threshold key fingerprint differs from this "
			    "node's");
			return MCN_EKEYMISMATCH;
		}
		break;
	}
	if (cfg->dict_fingerprint != NULL &&
	    memcmp(q->dict_fp, cfg->dict_fingerprint, MCN_MSG_FP_BYTES) != 0) {
		agg_set(why, whylen,
		    "data dictionary fingerprint differs from "
		    "this node's");
		return MCN_EREFUSED;
	}

	if ((q->mode == MCN_MSG_MODE_PAILLIER ||
	        q->mode == MCN_MSG_MODE_MASKED) &&
	    (rv = node_slot_quota(n, rq->h.sender, now_ms, why, whylen)) !=
	        MCN_OK) {
		return rv;
	}
	why[0] = '\0';
	t0 = node_clock(n);
	mcn_agg_request prq = { q->text, (mcn_agg_mode)q->mode, rq->h.sender,
		rq->h.policy_role, rq->h.query_id };
	rv = cfg->plan(cfg->plan_ctx, &prq, &L, &values, why, whylen);
	n->last.nvalues = L.nvalues + L.ncontrol;
	n->st.plan_us += node_clock(n) - t0;
	nall = L.nvalues + L.ncontrol;
	if (rv != MCN_OK) {
		if (why[0] == '\0') {
			agg_set(why, whylen, "refused by the query engine");
		}
		goto out;
	}
	if ((rv = node_check_plan(&L, values, why, whylen)) != MCN_OK) {
		goto out;
	}
	if (L.ncontrol != 0 && cfg->decide == NULL) {
		agg_set(why, whylen, "this node has no release rule");
		rv = MCN_EREFUSED;
		goto out;
	}
	if (q->mode == MCN_MSG_MODE_PAILLIER ||
	    (q->mode == MCN_MSG_MODE_MASKED && L.ncontrol != 0)) {
		if ((slot = node_free_slot(n, now_ms)) == NULL) {
			agg_set(why, whylen, "too many queries in progress");
			rv = MCN_EREFUSED;
			goto out;
		}
		if (L.ncontrol != 0) {
			slot->text = mcn_strdup(q->text);
			rv = slot->text == NULL ? MCN_ENOMEM :
			                          mcn_agg_layout_copy(&slot->L, &L);
			if (rv == MCN_OK && q->mode == MCN_MSG_MODE_MASKED &&
			    L.nvalues != 0 &&
			    (slot->values = agg_values_then_control(values,
			         L.nvalues)) == NULL) {
				rv = MCN_ENOMEM;
			}
			if (rv != MCN_OK) {
				agg_set(why, whylen, "out of memory");
				goto out;
			}
		}
	}
	m.u.contribution.mode = q->mode;
	m.u.contribution.nvalues = L.nvalues;
	m.u.contribution.ncontrol = L.ncontrol;
	agg_contrib_digest(m.u.contribution.layout_digest, &L, q->text);
	switch (q->mode) {
	case MCN_MSG_MODE_PAILLIER:
		rv = agg_pack_new(&P, &L,
		    mcn_paillier_plaintext_bits(mcn_tpaillier_pk(cfg->tpub)),
		    (unsigned)cfg->npeers);
		if (rv != MCN_OK) {
			agg_set(why, whylen,
			    "the vector layout cannot be packed "
			    "under the consortium key");
			break;
		}
		m.u.contribution.ncts = agg_pack_ncts(&P);
		rv = node_encrypt(n, &L, &P, values, &m.u.contribution.cts, why,
		    whylen);
		if (rv != MCN_OK) {
			m.u.contribution.ncts = 0;
		}
		break;
	case MCN_MSG_MODE_MASKED:
		if (L.ncontrol == 0) {
			rv = node_mask(n, AGG_MASK_LABEL, rq->h.query_id,
			    q->text, NULL, values, L.nvalues,
			    &m.u.contribution.masked, why, whylen);
			m.u.contribution.nmasked = L.nvalues;
			break;
		}
		/* the masked control, sealed to every other node; the values
		 * wait for the decision (round 2) */
		rv = node_mask(n, AGG_CTL_LABEL, rq->h.query_id, q->text,
		    NULL, values + L.nvalues, L.ncontrol, &slot->mctl, why, whylen);
		if (rv == MCN_OK) {
			uint8_t *buf = mcn_alloc(8 * L.ncontrol);
			unsigned char all[MCN_AGG_MAX_NODES];
			memset(all, 1, sizeof(all));
			rv = MCN_ENOMEM;
			if (buf != NULL) {
				for (size_t i = 0; i < L.ncontrol; i++) {
					agg_be64_put(buf + 8 * i,
					    slot->mctl[i]);
				}
				rv = node_seal_boxes(n, all, AGG_BOX_CTL,
				    rq->h.query_id, buf, 8 * L.ncontrol,
				    &m.u.contribution.boxes,
				    &m.u.contribution.nboxes);
				mcn_free(buf, 8 * L.ncontrol);
			}
			if (rv != MCN_OK) {
				agg_set(why, whylen,
				    "cannot seal the masked control");
			}
		}
		break;
	default:
		m.u.contribution.plain = values;
		m.u.contribution.nplain = nall;
		break;
	}
	if (rv != MCN_OK) {
		goto out;
	}
	if ((rv = node_seal(n, &m, &rq->h, MCN_MSG_CONTRIBUTION, now_ms, reply,
	         replylen)) != MCN_OK) {
		agg_set(why, whylen, "cannot seal the contribution");
		goto out;
	}
	if (slot != NULL) {
		memcpy(slot->qid, rq->h.query_id, MCN_QUERY_ID_BYTES);
		agg_set(slot->querier, sizeof(slot->querier), rq->h.sender);
		agg_set(slot->policy_role, sizeof(slot->policy_role),
		    rq->h.policy_role);
		slot->mode = (mcn_agg_mode)q->mode;
		memcpy(slot->layout_digest, m.u.contribution.layout_digest,
		    MCN_AGG_LAYOUT_DIGEST_BYTES);
		agg_sha256(slot->env_digest, *reply, *replylen);
		slot->nvalues = L.nvalues;
		slot->ncts = m.u.contribution.ncts;
		slot->stage = NQ_CONTRIBUTED;
		slot->expires_ms = now_ms + cfg->query_ttl_ms > now_ms ?
		    now_ms + cfg->query_ttl_ms :
		    UINT64_MAX;
		slot->P = P; /* the slot owns the packing now */
		memset(&P, 0, sizeof(P));
	}
out:
	if (rv != MCN_OK && slot != NULL) {
		node_slot_release(slot);
	}
	agg_pack_free(&P);
	agg_mpz_array_free(m.u.contribution.cts, m.u.contribution.ncts, 0);
	if (m.u.contribution.masked != NULL) {
		mcn_free(m.u.contribution.masked, L.nvalues * sizeof(uint64_t));
	}
	agg_boxes_free(m.u.contribution.boxes, m.u.contribution.nboxes);
	if (values != NULL) {
		mcn_free(values, nall * sizeof(int64_t)); /* wipes */
	}
	mcn_agg_layout_clear(&L);
	return rv;
}

/* Checks one embedded contribution envelope of a DECRYPT for query st,
 * adds its ciphertexts into prod (or sets prod when first). */
static mcn_err
node_check_contribution(mcn_agg_node *n, const struct node_query *st,
    const mcn_blob *env, size_t k, uint64_t now_ms, unsigned char *seen,
    int *self, mpz_t *prod, int first, char *why, size_t whylen)
{
	const mcn_agg_node_cfg *cfg = &n->cfg;
	const mcn_paillier_pk *pk = mcn_tpaillier_pk(cfg->tpub);
	mcn_open_opts o;
	mcn_message c;
	char r[AGG_REASON];
	long idx;
	mcn_err rv;

	memset(&o, 0, sizeof(o));
	o.max_len = cfg->max_message;
	o.verifier = cfg->verifier;
	o.role = MCN_ROLE_NODE;
	o.tpub = cfg->tpub;
	o.now_ms = now_ms;
	/* Made in round 1: accept anything within the query's lifetime
	 * (plus clock skew); replays are harmless here (no state change). */
	o.max_skew_ms = cfg->query_ttl_ms + cfg->max_skew_ms;
	if ((rv = mcn_msg_open(&c, env->data, env->len, &o, r, sizeof(r))) !=
	    MCN_OK) {
		char pre[48];
		snprintf(pre, sizeof(pre), "contribution %zu: ", k);
		agg_cat(why, whylen, pre, r);
		return rv;
	}
	rv = MCN_EROUND;
	if (memcmp(c.h.query_id, st->qid, MCN_QUERY_ID_BYTES) != 0) {
		snprintf(why, whylen, "contribution %zu is for another query",
		    k);
		goto out;
	}
	if (c.h.type != MCN_MSG_CONTRIBUTION || c.h.round != 1) {
		snprintf(why, whylen,
		    "contribution %zu is not a round-1 "
		    "CONTRIBUTION",
		    k);
		goto out;
	}
	if ((idx = agg_peer_index(cfg->peers, cfg->npeers, c.h.sender)) < 0) {
		snprintf(why, whylen,
		    "contribution %zu comes from a party "
		    "outside the consortium",
		    k);
		rv = MCN_ECERT;
		goto out;
	}
	if (seen[idx]) {
		snprintf(why, whylen, "two contributions from site %s",
		    c.h.sender);
		rv = MCN_EDUPLICATE;
		goto out;
	}
	seen[idx] = 1;
	if (c.u.contribution.mode != MCN_MSG_MODE_PAILLIER ||
	    c.u.contribution.nvalues != st->nvalues ||
	    c.u.contribution.ncontrol != st->L.ncontrol ||
	    c.u.contribution.ncts != st->ncts ||
	    memcmp(c.u.contribution.layout_digest, st->layout_digest,
	        MCN_AGG_LAYOUT_DIGEST_BYTES) != 0) {
		snprintf(why, whylen,
		    "contribution of site %s was made for another query "
		    "text or layout",
		    c.h.sender);
		rv = MCN_EREFUSED;
		goto out;
	}
	if ((size_t)idx + 1 == cfg->my_index) {
		uint8_t d[32];
		agg_sha256(d, env->data, env->len);
		if (memcmp(d, st->env_digest, 32) != 0) {
			agg_set(why, whylen, "my own contribution was altered");
			rv = MCN_EREFUSED;
			goto out;
		}
		*self = 1;
	}
	for (size_t j = 0; j < st->ncts; j++) {
		if (first) {
			mpz_set(prod[j], c.u.contribution.cts[j]);
		} else {
			mcn_paillier_ee_add(pk, prod[j], prod[j],
			    c.u.contribution.cts[j]);
		}
	}
	rv = MCN_OK;
out:
	mcn_msg_clear(&c);
	return rv;
}

/* Partial decryptions of prod[idx[i]], i < k, into a new array. */
static mcn_err
node_partials(mcn_agg_node *n, const mpz_t *prod, const size_t *idx, size_t k,
    mcn_tpaillier_partial **out)
{
	const mcn_agg_node_cfg *cfg = &n->cfg;
	mcn_tpaillier_partial *parts;
	mpz_t *cs;
	uint64_t t0;
	mcn_err rv;

	*out = NULL;
	if (k == 0) {
		return MCN_OK;
	}
	if ((parts = mcn_alloc(k * sizeof(*parts))) == NULL) {
		return MCN_ENOMEM;
	}
	if ((cs = mcn_alloc(k * sizeof(*cs))) == NULL) {
		mcn_free(parts, k * sizeof(*parts));
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		mcn_tpaillier_partial_init(&parts[i]);
		memcpy(&cs[i], &prod[idx[i]], sizeof(mpz_t)); /* shallow */
	}
	t0 = node_clock(n);
	rv = mcn_tpaillier_partial_decrypt_vec(cfg->tpub, cfg->share, parts,
	    (const mpz_t *)cs, k, cfg->rngs);
	n->st.decrypt_us += node_clock(n) - t0;
	mcn_free(cs, k * sizeof(*cs));
	if (rv != MCN_OK) {
		agg_partials_free(parts, k);
		return rv;
	}
	*out = parts;
	return MCN_OK;
}

static mcn_err
node_decrypt(mcn_agg_node *n, const mcn_message *rq, struct node_query *st,
    uint64_t now_ms, uint8_t **reply, size_t *replylen, char *why,
    size_t whylen)
{
	const mcn_msg_decrypt *d = &rq->u.decrypt;
	const mcn_agg_node_cfg *cfg = &n->cfg;
	unsigned char seen[MCN_AGG_MAX_NODES], dset[MCN_AGG_MAX_NODES];
	mcn_tpaillier_partial *parts = NULL;
	size_t nparts = 0, *idx = NULL;
	mpz_t *prod = NULL;
	uint8_t *buf = NULL;
	size_t buflen = 0;
	int self = 0;
	mcn_message m;
	mcn_err rv;

	memset(&m, 0, sizeof(m));
	if (rq->h.round != 2 || st->stage != NQ_CONTRIBUTED ||
	    d->ncontributions == 0) {
		agg_set(why, whylen,
		    "a DECRYPT with contributions must be round 2");
		return MCN_EROUND;
	}
	if (d->nproducts != st->ncts) {
		agg_set(why, whylen, "product count differs from the layout");
		return MCN_EPROTO;
	}
	if (d->ncontributions > cfg->npeers) {
		agg_set(why, whylen,
		    "more contributions than consortium nodes");
		return MCN_EDUPLICATE;
	}
	memset(seen, 0, sizeof(seen));
	if ((prod = agg_mpz_array(st->ncts)) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t k = 0; k < d->ncontributions; k++) {
		rv = node_check_contribution(n, st, &d->contributions[k], k,
		    now_ms, seen, &self, prod, k == 0, why, whylen);
		if (rv != MCN_OK) {
			goto out;
		}
	}
	rv = MCN_EREFUSED;
	if (!self) {
		agg_set(why, whylen, "my own contribution is missing");
		goto out;
	}
	if (d->ncontributions < cfg->min_sites) {
		snprintf(why, whylen, "fewer than %u contributing sites",
		    cfg->min_sites);
		goto out;
	}
	for (size_t j = 0; j < st->ncts; j++) {
		if (mpz_cmp(prod[j], d->products[j]) != 0) {
			agg_set(why, whylen,
			    "product does not match the "
			    "signed contributions");
			goto out;
		}
	}
	if (st->L.ncontrol == 0) {
		if (d->ndecrypters != 0 || d->nboxes != 0) {
			agg_set(why, whylen,
			    "a query without release control has no "
			    "deciding nodes");
			rv = MCN_EPROTO;
			goto out;
		}
		/* every value is released: partial decryptions of all */
		rv = MCN_ENOMEM;
		if ((idx = mcn_alloc(st->ncts * sizeof(*idx))) == NULL) {
			goto out;
		}
		for (size_t j = 0; j < st->ncts; j++) {
			idx[j] = j;
		}
		if ((rv = node_partials(n, (const mpz_t *)prod, idx, st->ncts,
		         &parts)) != MCN_OK) {
			agg_set(why, whylen, "partial decryption failed");
			goto out;
		}
		nparts = st->ncts;
		m.u.partials.parts = parts;
		m.u.partials.nparts = nparts;
		n->last.nvalues = nparts;
		n->last.mode = MCN_AGG_PAILLIER;
		/* Once partials exist the query is spent. */
		st->expires_ms = 0;
		if ((rv = node_seal(n, &m, &rq->h, MCN_MSG_PARTIALS, now_ms,
		         reply, replylen)) != MCN_OK) {
			agg_set(why, whylen,
			    "cannot seal the partial decryptions");
		}
		goto out;
	}
	/* Release control: check the deciding set D: distinct contributors,
	 * me among them, at least t. */
	memset(dset, 0, sizeof(dset));
	unsigned nd = 0;
	for (size_t k = 0; k < d->ndecrypters; k++) {
		long i = agg_peer_index(cfg->peers, cfg->npeers,
		    d->decrypters[k]);
		if (i < 0 || !seen[i] || dset[i]) {
			agg_set(why, whylen,
			    "the deciding nodes must be distinct "
			    "contributors");
			goto out;
		}
		dset[i] = 1;
		nd++;
	}
	if (!dset[cfg->my_index - 1] ||
	    nd < mcn_tpaillier_threshold(cfg->tpub) || d->nboxes != 0) {
		agg_set(why, whylen,
		    "this node is not among at least t deciding nodes");
		goto out;
	}
	if (cfg->x25519 == NULL) {
		agg_set(why, whylen,
		    "release control needs this node's mask key");
		goto out;
	}
	/* Partially decrypt the control only, seal it to the others of D. */
	rv = MCN_ENOMEM;
	if ((idx = mcn_alloc(st->P.ncc * sizeof(*idx))) == NULL) {
		goto out;
	}
	for (size_t j = 0; j < st->P.ncc; j++) {
		idx[j] = j;
	}
	if ((rv = node_partials(n, (const mpz_t *)prod, idx, st->P.ncc,
	         &parts)) != MCN_OK) {
		agg_set(why, whylen, "partial decryption failed");
		goto out;
	}
	nparts = st->P.ncc;
	size_t L1 = mcn_tpaillier_partial_len(cfg->tpub);
	buflen = nparts * L1;
	rv = MCN_ENOMEM;
	if ((buf = mcn_alloc(buflen)) == NULL) {
		goto out;
	}
	for (size_t j = 0; j < nparts; j++) {
		if ((rv = mcn_tpaillier_partial_export(cfg->tpub, &parts[j],
		         buf + j * L1, L1)) != MCN_OK) {
			goto out;
		}
	}
	if ((rv = node_seal_boxes(n, dset, AGG_BOX_PART, st->qid, buf, buflen,
	         &m.u.partials.boxes, &m.u.partials.nboxes)) != MCN_OK) {
		agg_set(why, whylen, "cannot seal the control partials");
		goto out;
	}
	/* The control is partially decrypted once, for this D and C. */
	st->stage = NQ_SHARED;
	st->prod = prod;
	prod = NULL;
	st->myparts = parts;
	parts = NULL;
	st->ncontrib = (unsigned)d->ncontributions;
	memcpy(st->dset, dset, sizeof(dset));
	n->last.nvalues = nparts;
	n->last.mode = MCN_AGG_PAILLIER;
	if ((rv = node_seal(n, &m, &rq->h, MCN_MSG_PARTIALS, now_ms, reply,
	         replylen)) != MCN_OK) {
		agg_set(why, whylen, "cannot seal the control partials");
		st->expires_ms = 0;
	}
out:
	agg_boxes_free(m.u.partials.boxes, m.u.partials.nboxes);
	agg_partials_free(parts, nparts);
	mcn_free(idx, (st->L.ncontrol == 0 ? st->ncts : st->P.ncc) *
	        sizeof(*idx));
	if (buf != NULL) {
		mcn_free(buf, buflen);
	}
	agg_mpz_array_free(prod, st->ncts, 0);
	if (st->expires_ms == 0) {
		node_slot_release(st);
	}
	return rv;
}

/* The request of a query for the decide callback. */
static mcn_agg_request
node_request(const struct node_query *st)
{
	mcn_agg_request r = { st->text, st->mode, st->querier, st->policy_role,
		st->qid };
	return r;
}

/* paillier round 3: the other deciders' control partials, the pooled
 * control, the decision, the partials of the released units. */
static mcn_err
node_release_paillier(mcn_agg_node *n, const mcn_message *rq,
    struct node_query *st, uint64_t now_ms, uint8_t **reply,
    size_t *replylen, char *why, size_t whylen)
{
	const mcn_msg_decrypt *d = &rq->u.decrypt;
	const mcn_agg_node_cfg *cfg = &n->cfg;
	const unsigned t = mcn_tpaillier_threshold(cfg->tpub);
	const size_t ncc = st->P.ncc, L1 = mcn_tpaillier_partial_len(cfg->tpub);
	mcn_tpaillier_partial *got[MCN_AGG_MAX_NODES];
	unsigned char from[MCN_AGG_MAX_NODES];
	mcn_tpaillier_partial *use = NULL, *parts = NULL;
	mpz_t *packed = NULL, *pooled = NULL;
	uint8_t *release = NULL;
	int64_t *dec = NULL;
	size_t ndec = 0, nrel = 0, nidx = 0, *idx = NULL, nparts = 0;
	uint32_t *rel = NULL;
	unsigned nvalid = 1; /* mine */
	mcn_message m;
	mcn_err rv = MCN_EREFUSED;

	memset(&m, 0, sizeof(m));
	memset(got, 0, sizeof(got));
	memset(from, 0, sizeof(from));
	if (rq->h.round != 3 || st->stage != NQ_SHARED ||
	    d->ncontributions != 0) {
		agg_set(why, whylen, "a release DECRYPT must be round 3");
		return MCN_EROUND;
	}
	for (size_t k = 0; k < d->nboxes; k++) {
		const mcn_msg_box *b = &d->boxes[k];
		long i = agg_peer_index(cfg->peers, cfg->npeers, b->sender);
		uint8_t *pt = NULL;
		if (i < 0 || !st->dset[i] || (size_t)i + 1 == cfg->my_index ||
		    from[i] ||
		    strcmp(b->recipient, cfg->peers[cfg->my_index - 1].id) !=
		        0) {
			agg_set(why, whylen,
			    "a box does not come from another deciding node "
			    "or is not for this node");
			rv = MCN_EPROTO;
			goto out;
		}
		from[i] = 1;
		if (node_open_box(n, b, (size_t)i, AGG_BOX_PART, st->qid,
		        ncc * L1, &pt) != MCN_OK) {
			continue; /* not usable; others may be */
		}
		mcn_tpaillier_partial *p = mcn_alloc(ncc * sizeof(*p));
		int ok = p != NULL;
		for (size_t j = 0; p != NULL && j < ncc; j++) {
			mcn_tpaillier_partial_init(&p[j]);
		}
		for (size_t j = 0; ok && j < ncc; j++) {
			ok = mcn_tpaillier_partial_import(cfg->tpub, &p[j],
			         pt + j * L1, L1) == MCN_OK &&
			    p[j].index == (uint32_t)(i + 1);
		}
		mcn_free(pt, ncc * L1);
		if (!ok) {
			agg_partials_free(p, ncc);
			continue;
		}
		got[i] = p;
	}
	/* Verify the others' proofs against my own control product, in
	 * one batch, until t - 1 of them are valid. */
	{
		size_t nb = 0;
		for (size_t i = 0; i < cfg->npeers; i++) {
			nb += got[i] != NULL;
		}
		size_t n2 = nb * ncc;
		mpz_t *cs = n2 ? mcn_alloc(n2 * sizeof(*cs)) : NULL;
		mcn_tpaillier_partial *ps = n2 ? mcn_alloc(n2 * sizeof(*ps)) : NULL;
		mcn_err *vs = n2 ? mcn_alloc(n2 * sizeof(*vs)) : NULL;
		rv = MCN_ENOMEM;
		if (n2 != 0 && (cs == NULL || ps == NULL || vs == NULL)) {
			mcn_free(cs, n2 * sizeof(*cs));
			mcn_free(ps, n2 * sizeof(*ps));
			mcn_free(vs, n2 * sizeof(*vs));
			goto out;
		}
		size_t a = 0;
		for (size_t i = 0; i < cfg->npeers; i++) {
			if (got[i] == NULL) {
				continue;
			}
			for (size_t j = 0; j < ncc; j++, a++) {
				memcpy(&cs[a], &st->prod[j], sizeof(mpz_t));
				ps[a] = got[i][j];
			}
		}
		rv = n2 ? mcn_tpaillier_verify_vec(cfg->tpub, (const mpz_t *)cs,
		              ps, n2, vs) :
		          MCN_OK;
		a = 0;
		for (size_t i = 0; rv != MCN_ENOMEM && i < cfg->npeers; i++) {
			if (got[i] == NULL) {
				continue;
			}
			int ok = 1;
			for (size_t j = 0; j < ncc; j++, a++) {
				ok = ok && vs[a] == MCN_OK;
			}
			if (!ok) {
				agg_partials_free(got[i], ncc);
				got[i] = NULL;
			} else {
				nvalid++;
			}
		}
		mcn_free(cs, n2 * sizeof(*cs));
		mcn_free(ps, n2 * sizeof(*ps));
		mcn_free(vs, n2 * sizeof(*vs));
		if (rv == MCN_ENOMEM) {
			goto out;
		}
	}
	if (nvalid < t) {
		snprintf(why, whylen,
		    "fewer than %u valid control partial decryptions", t);
		rv = MCN_ETOOFEW;
		goto out;
	}
	/* Combine t partials per control ciphertext: mine, then others. */
	rv = MCN_ENOMEM;
	if ((use = mcn_alloc(t * sizeof(*use))) == NULL ||
	    (packed = agg_mpz_array(ncc)) == NULL ||
	    (pooled = agg_mpz_array(st->L.ncontrol)) == NULL ||
	    (release = mcn_zalloc(st->L.nunits + 1)) == NULL) {
		goto out;
	}
	for (size_t j = 0; j < ncc; j++) {
		unsigned k = 0;
		use[k++] = st->myparts[j];
		for (size_t i = 0; i < cfg->npeers && k < t; i++) {
			if (got[i] != NULL) {
				use[k++] = got[i][j];
			}
		}
		if ((rv = mcn_tpaillier_combine(cfg->tpub, packed[j],
		         st->prod[j], use, t, 1, NULL, NULL)) != MCN_OK) {
			agg_set(why, whylen, "cannot combine the control");
			goto out;
		}
	}
	if ((rv = mcn_unpack(st->P.ctl, pooled, (const mpz_t *)packed,
	         st->L.ncontrol, st->ncontrib)) != MCN_OK) {
		agg_set(why, whylen,
		    "the pooled control is inconsistent with its ranges");
		goto out;
	}
	mcn_agg_request r = node_request(st);
	if ((rv = agg_decide(cfg->decide, cfg->decide_ctx, &r, &st->L,
	         (const mpz_t *)pooled, st->ncontrib, release, &dec, &ndec, why,
	         whylen)) != MCN_OK) {
		goto out;
	}
	/* Partial decryptions of the released units' ciphertexts. */
	for (size_t u = 0; u < st->L.nunits; u++) {
		if (release[u]) {
			nrel++;
			nidx += st->P.ct0[u + 1] - st->P.ct0[u];
		}
	}
	rv = MCN_ENOMEM;
	if ((nrel != 0 && (rel = mcn_alloc(nrel * sizeof(*rel))) == NULL) ||
	    (nidx != 0 && (idx = mcn_alloc(nidx * sizeof(*idx))) == NULL)) {
		goto out;
	}
	nrel = nidx = 0;
	for (size_t u = 0; u < st->L.nunits; u++) {
		if (!release[u]) {
			continue;
		}
		rel[nrel++] = (uint32_t)u;
		for (size_t j = st->P.ct0[u]; j < st->P.ct0[u + 1]; j++) {
			idx[nidx++] = j;
		}
	}
	if ((rv = node_partials(n, (const mpz_t *)st->prod, idx, nidx,
	         &parts)) != MCN_OK) {
		agg_set(why, whylen, "partial decryption failed");
		goto out;
	}
	nparts = nidx;
	st->expires_ms = 0; /* spent */
	m.u.release.decision = dec;
	m.u.release.ndecision = ndec;
	m.u.release.released = rel;
	m.u.release.nreleased = nrel;
	m.u.release.parts = parts;
	m.u.release.nparts = nparts;
	n->last.nvalues = nparts;
	n->last.mode = MCN_AGG_PAILLIER;
	if ((rv = node_seal(n, &m, &rq->h, MCN_MSG_RELEASE, now_ms, reply,
	         replylen)) != MCN_OK) {
		agg_set(why, whylen, "cannot seal the release");
	}
out:
	for (size_t i = 0; i < MCN_AGG_MAX_NODES; i++) {
		agg_partials_free(got[i], ncc);
	}
	mcn_free(use, t * sizeof(*use));
	agg_mpz_array_free(packed, ncc, 1);
	agg_mpz_array_free(pooled, st->L.ncontrol, 1);
	mcn_free(release, st->L.nunits + 1);
	if (dec != NULL) {
		mcn_free(dec, ndec * sizeof(*dec));
	}
	mcn_free(rel, nrel * sizeof(*rel));
	mcn_free(idx, nidx * sizeof(*idx));
	agg_partials_free(parts, nparts);
	if (st->expires_ms == 0) {
		node_slot_release(st);
	}
	return rv;
}

/* masked round 2 with control: every other node's masked control, the
 * pooled control, the decision, my values of the released units. */
static mcn_err
node_release_masked(mcn_agg_node *n, const mcn_message *rq,
    struct node_query *st, uint64_t now_ms, uint8_t **reply,
    size_t *replylen, char *why, size_t whylen)
{
	const mcn_msg_decrypt *d = &rq->u.decrypt;
	const mcn_agg_node_cfg *cfg = &n->cfg;
	const size_t nc = st->L.ncontrol;
	unsigned char from[MCN_AGG_MAX_NODES];
	uint64_t *sum = NULL, *masked = NULL;
	int64_t *vals = NULL, *dec = NULL;
	mpz_t *pooled = NULL;
	uint8_t *release = NULL;
	uint32_t *rel = NULL;
	size_t ndec = 0, nrel = 0;
	mcn_message m;
	mcn_err rv = MCN_EPROTO;

	memset(&m, 0, sizeof(m));
	memset(from, 0, sizeof(from));
	if (rq->h.round != 2 || st->stage != NQ_CONTRIBUTED ||
	    d->ncontributions != 0) {
		agg_set(why, whylen, "a masked release DECRYPT must be round 2");
		return MCN_EROUND;
	}
	if (d->nboxes != cfg->npeers - 1) {
		agg_set(why, whylen,
		    "masked release needs the control of every other node");
		rv = MCN_ETOOFEW;
		goto out;
	}
	rv = MCN_ENOMEM;
	if ((sum = mcn_alloc(nc * sizeof(*sum))) == NULL) {
		goto out;
	}
	memcpy(sum, st->mctl, nc * sizeof(*sum));
	for (size_t k = 0; k < d->nboxes; k++) {
		const mcn_msg_box *b = &d->boxes[k];
		long i = agg_peer_index(cfg->peers, cfg->npeers, b->sender);
		uint8_t *pt = NULL;
		if (i < 0 || (size_t)i + 1 == cfg->my_index || from[i] ||
		    strcmp(b->recipient, cfg->peers[cfg->my_index - 1].id) !=
		        0) {
			agg_set(why, whylen,
			    "a box does not come from another node or is not "
			    "for this node");
			rv = MCN_EPROTO;
			goto out;
		}
		from[i] = 1;
		if ((rv = node_open_box(n, b, (size_t)i, AGG_BOX_CTL, st->qid,
		         8 * nc, &pt)) != MCN_OK) {
			snprintf(why, whylen,
			    "the masked control of site %s does not open",
			    b->sender);
			if (rv != MCN_ENOMEM) {
				rv = MCN_EREFUSED;
			}
			goto out;
		}
		for (size_t j = 0; j < nc; j++) {
			sum[j] += agg_be64_get(pt + 8 * j);
		}
		mcn_free(pt, 8 * nc);
	}
	rv = MCN_ENOMEM;
	if ((pooled = agg_mpz_array(nc)) == NULL ||
	    (release = mcn_zalloc(st->L.nunits + 1)) == NULL) {
		goto out;
	}
	if ((rv = agg_lift(st->L.cfields, st->L.ncfields, cfg->npeers, sum,
	         pooled)) != MCN_OK) {
		agg_set(why, whylen,
		    "the pooled control is inconsistent with its ranges");
		goto out;
	}
	mcn_agg_request r = node_request(st);
	if ((rv = agg_decide(cfg->decide, cfg->decide_ctx, &r, &st->L,
	         (const mpz_t *)pooled, (unsigned)cfg->npeers, release, &dec,
	         &ndec, why, whylen)) != MCN_OK) {
		goto out;
	}
	/* My values with withheld units zeroed, masked for this query. */
	rv = MCN_ENOMEM;
	if ((vals = mcn_zalloc((st->L.nvalues + 1) * sizeof(*vals))) == NULL ||
	    (rel = mcn_alloc((st->L.nunits + 1) * sizeof(*rel))) == NULL) {
		goto out;
	}
	{
		size_t f = 0, v = 0;
		for (size_t u = 0; u < st->L.nunits; u++) {
			size_t cnt = 0;
			for (size_t j = 0; j < st->L.units[u]; j++) {
				cnt += st->L.fields[f + j].count;
			}
			if (release[u]) {
				rel[nrel++] = (uint32_t)u;
				memcpy(vals + v, st->values + v,
				    cnt * sizeof(*vals));
			} else {
				/* a withheld unit contributes its fields'
				 * lower bounds (zero offsets) */
				size_t w = v;
				for (size_t j = 0; j < st->L.units[u]; j++) {
					for (size_t q = 0;
					     q < st->L.fields[f + j].count; q++) {
						vals[w++] =
						    st->L.fields[f + j].lo;
					}
				}
			}
			v += cnt;
			f += st->L.units[u];
		}
	}
	/* The value masks are bound to the decision: they cancel only if
	 * every node decided the same, so nodes that disagree (another rule,
	 * another threshold) release noise, never a partial sum of the nodes
	 * that released a unit. */
	uint8_t bind[32];
	agg_decision_digest(bind, release, st->L.nunits, dec, ndec);
	if (st->L.nvalues != 0 &&
	    (rv = node_mask(n, AGG_VAL_LABEL, st->qid, st->text, bind, vals,
	         st->L.nvalues, &masked, why, whylen)) != MCN_OK) {
		goto out;
	}
	st->expires_ms = 0; /* spent */
	m.u.release.decision = dec;
	m.u.release.ndecision = ndec;
	m.u.release.released = rel;
	m.u.release.nreleased = nrel;
	m.u.release.masked = masked;
	m.u.release.nmasked = st->L.nvalues;
	n->last.nvalues = st->L.nvalues;
	n->last.mode = MCN_AGG_MASKED;
	if ((rv = node_seal(n, &m, &rq->h, MCN_MSG_RELEASE, now_ms, reply,
	         replylen)) != MCN_OK) {
		agg_set(why, whylen, "cannot seal the release");
	}
out:
	if (sum != NULL) {
		mcn_free(sum, nc * sizeof(*sum));
	}
	agg_mpz_array_free(pooled, nc, 1);
	mcn_free(release, st->L.nunits + 1);
	if (vals != NULL) {
		mcn_free(vals, (st->L.nvalues + 1) * sizeof(*vals));
	}
	if (masked != NULL) {
		mcn_free(masked, st->L.nvalues * sizeof(*masked));
	}
	if (dec != NULL) {
		mcn_free(dec, ndec * sizeof(*dec));
	}
	mcn_free(rel, (st->L.nunits + 1) * sizeof(*rel));
	if (st->expires_ms == 0) {
		node_slot_release(st);
	}
	return rv;
}

/* A DECRYPT: round 2 (contributions) or a release round (boxes). */
static mcn_err
node_decrypt_any(mcn_agg_node *n, const mcn_message *rq, uint64_t now_ms,
    uint8_t **reply, size_t *replylen, char *why, size_t whylen)
{
	struct node_query *st;

	if ((st = node_find(n, rq->h.query_id, now_ms)) == NULL) {
		agg_set(why, whylen, "unknown or expired query, or one already finished");
		return MCN_EROUND;
	}
	if (strcmp(st->querier, rq->h.sender) != 0) {
		agg_set(why, whylen, "the query belongs to another querier");
		return MCN_EROUND;
	}
	if (st->mode == MCN_AGG_MASKED) {
		return node_release_masked(n, rq, st, now_ms, reply, replylen,
		    why, whylen);
	}
	if (n->cfg.tpub != NULL && rq->u.decrypt.ncontributions != 0) {
		return node_decrypt(n, rq, st, now_ms, reply, replylen, why,
		    whylen);
	}
	if (st->L.ncontrol == 0) {
		agg_set(why, whylen, "already decrypted");
		return MCN_EREFUSED;
	}
	return node_release_paillier(n, rq, st, now_ms, reply, replylen, why,
	    whylen);
}

mcn_err
mcn_agg_node_handle(mcn_agg_node *n, const uint8_t *req, size_t reqlen,
    uint64_t now_ms, uint8_t **reply, size_t *replylen, char *why,
    size_t whylen)
{
	char reason[MCN_MSG_REASON_MAX + 1] = "";
	mcn_open_opts o;
	mcn_message m;
	mcn_err rv;

	MCN_MUST(n != NULL && reply != NULL && replylen != NULL);
	*reply = NULL;
	*replylen = 0;
	/* Expired queries give their memory (and wiped secrets) back now,
	 * not when their slot is reused. */
	for (size_t i = 0; i < n->nactive; i++) {
		if (n->active[i].expires_ms != 0 &&
		    n->active[i].expires_ms <= now_ms) {
			node_slot_release(&n->active[i]);
		}
	}
	n->st.requests++;
	n->st.bytes_in += reqlen;
	memset(&o, 0, sizeof(o));
	o.max_len = n->cfg.max_message;
	o.verifier = n->cfg.verifier;
	o.role = MCN_ROLE_QUERIER;
	o.tpub = n->cfg.tpub;
	o.replay = n->nonces;
	o.now_ms = now_ms;
	o.max_skew_ms = n->cfg.max_skew_ms;
	rv = mcn_msg_open(&m, req, reqlen, &o, reason, sizeof(reason));
	memset(&n->last, 0, sizeof(n->last));
	if (rv == MCN_OK) {
		n->last.type = m.h.type == MCN_MSG_QUERY ? MCN_AGG_EV_QUERY :
		    m.h.type == MCN_MSG_DECRYPT          ? MCN_AGG_EV_DECRYPT :
		                                           MCN_AGG_EV_NONE;
		n->last.has_query_id = 1;
		memcpy(n->last.query_id, m.h.query_id, MCN_QUERY_ID_BYTES);
		agg_set(n->last.querier, sizeof(n->last.querier), m.h.sender);
		agg_set(n->last.policy_role, sizeof(n->last.policy_role),
		    m.h.policy_role);
		if (m.h.type == MCN_MSG_QUERY) {
			n->last.mode = (mcn_agg_mode)m.u.query.mode;
		}
	}
	if (rv == MCN_OK) {
		switch (m.h.type) {
		case MCN_MSG_QUERY:
			rv = node_query(n, &m, now_ms, reply, replylen, reason,
			    sizeof(reason));
			break;
		case MCN_MSG_DECRYPT:
			rv = node_decrypt_any(n, &m, now_ms, reply, replylen,
			    reason, sizeof(reason));
			break;
		default:
			agg_set(reason, sizeof(reason),
			    "not a request message type");
			rv = MCN_EPROTO;
			break;
		}
	}
	if (rv == MCN_OK && n->cfg.commit != NULL) {
		n->last.reply_bytes = *replylen;
		reason[0] = '\0';
		rv = n->cfg.commit(n->cfg.commit_ctx, &n->last, reason,
		    sizeof(reason));
		if (rv != MCN_OK && reason[0] == '\0') {
			agg_set(reason, sizeof(reason),
			    "the node could not record this answer");
		}
	}
	if (rv != MCN_OK) {
		n->last.reply_bytes = 0;
		n->st.refusals++;
		if (*reply != NULL) { /* never both an answer and an error */
			mcn_free(*reply, *replylen);
			*reply = NULL;
			*replylen = 0;
		}
		(void)node_error_reply(n, &m.h, rv, reason, now_ms, reply,
		    replylen);
	}
	if (why != NULL && whylen > 0) {
		agg_set(why, whylen, rv == MCN_OK ? "" : reason);
	}
	n->st.bytes_out += *replylen;
	if (rv == MCN_OK) {
		n->last.reply_bytes = *replylen;
	}
	mcn_msg_clear(&m);
	return rv;
}

void
mcn_agg_node_last(const mcn_agg_node *n, mcn_agg_event *ev)
{
	MCN_MUST(n != NULL && ev != NULL);
	*ev = n->last;
}

/* ======================================================================
 * Coordinator side
 * ====================================================================== */

enum { R2_NONE = 0, R2_PENDING, R2_DONE };

struct coord_site {
	mcn_agg_site_status status;
	int in_sum;
	int r2;
	mcn_err code;
	char reason[AGG_REASON];
	uint8_t *env; /* paillier: its signed CONTRIBUTION, verbatim */
	size_t envlen;
	mpz_t *cts;                   /* paillier: its ciphertexts (ncts) */
	uint64_t *masked;             /* masked: nvalues */
	int64_t *plain;               /* plain: nvalues */
	mcn_tpaillier_partial *parts; /* round 2: ncts */
	int verified;                 /* parts' proofs checked and valid */
	unsigned arrival;             /* round-1 answer order, 1 = first */
	/* release control */
	mcn_msg_box *boxes; /* masked round 1 / paillier round 2 */
	size_t nboxes;
	int r3;             /* paillier: round-3 state (R2_*) */
	int released;       /* its RELEASE arrived and is well formed */
	int64_t *dec;       /* its decision */
	size_t ndec;
	uint32_t *rel;      /* its released units */
	size_t nrel;
	mcn_tpaillier_partial *rparts; /* paillier: of the released cts */
	size_t nrparts;
	uint64_t *rmasked;  /* masked: nvalues */
};

struct mcn_agg_coord {
	mcn_agg_coord_cfg cfg;
	int started;
	mcn_agg_phase phase;
	uint8_t qid[MCN_QUERY_ID_BYTES];
	mcn_agg_layout L;    /* our copy of the layout */
	mcn_pack_field *fields; /* = L.fields */
	size_t nfields, nvalues;
	uint8_t digest[MCN_AGG_LAYOUT_DIGEST_BYTES];
	struct agg_pack P;   /* paillier */
	size_t ncts;         /* paillier: ciphertexts per vector */
	unsigned char dset[MCN_AGG_MAX_NODES]; /* paillier: deciding nodes */
	mcn_party_id dnames[MCN_AGG_MAX_NODES];
	unsigned ndset;
	int64_t *rdec;       /* DONE with control: the decision */
	size_t nrdec;
	uint8_t *urel;       /* DONE with control: released units */
	struct coord_site *sites;
	mpz_t *products; /* paillier, round 2 */
	mpz_t *sums;     /* DONE */
	unsigned ncontrib;
	mcn_err err;
	char *errmsg;
	size_t errcap;
	uint64_t bytes_out, bytes_in;
	unsigned rounds;
	unsigned arrivals; /* round-1 answers so far (for arrival order) */
	mcn_message dec;   /* paillier: the DECRYPT body, sent to each asked site */
	mcn_blob *envs;    /* its contribution list (borrowed from sites) */
};

static void
coord_site_free(const mcn_agg_coord *c, struct coord_site *s)
{
	mcn_free(s->env, s->envlen);
	agg_mpz_array_free(s->cts, c->ncts, 0);
	mcn_free(s->masked, c->nvalues * sizeof(uint64_t));
	mcn_free(s->plain, (c->nvalues + c->L.ncontrol) * sizeof(int64_t));
	agg_partials_free(s->parts, c->ncts);
	agg_boxes_free(s->boxes, s->nboxes);
	mcn_free(s->dec, s->ndec * sizeof(int64_t));
	mcn_free(s->rel, s->nrel * sizeof(uint32_t));
	agg_partials_free(s->rparts, s->nrparts);
	mcn_free(s->rmasked, c->nvalues * sizeof(uint64_t));
}

void
mcn_agg_coord_free(mcn_agg_coord *c)
{
	if (c == NULL) {
		return;
	}
	if (c->sites != NULL) {
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			coord_site_free(c, &c->sites[i]);
		}
		mcn_free(c->sites, c->cfg.npeers * sizeof(*c->sites));
	}
	agg_mpz_array_free(c->products, c->ncts, 0);
	mcn_free(c->envs, c->ncontrib * sizeof(*c->envs));
	agg_mpz_array_free(c->sums, c->nvalues != 0 ? c->nvalues : 1, 0);
	agg_pack_free(&c->P);
	mcn_free(c->rdec, c->nrdec * sizeof(int64_t));
	mcn_free(c->urel, c->L.nunits + 1);
	mcn_agg_layout_clear(&c->L);
	mcn_free(c->errmsg, c->errcap);
	mcn_free(c, sizeof(*c));
}

mcn_err
mcn_agg_coord_new(mcn_agg_coord **out, const mcn_agg_coord_cfg *cfg)
{
	const mcn_agg_layout *L;
	mcn_agg_coord *c;
	size_t tl;
	mcn_err rv;

	MCN_MUST(out != NULL && cfg != NULL);
	*out = NULL;
	MCN_MUST(cfg->signer != NULL && cfg->verifier != NULL &&
	    cfg->rng != NULL && cfg->layout != NULL &&
	    cfg->dict_fingerprint != NULL);
	L = cfg->layout;
	if (!agg_peers_ok(cfg->peers, cfg->npeers) || cfg->query_text == NULL ||
	    (tl = strlen(cfg->query_text)) == 0 || tl > MCN_QUERY_TEXT_MAX ||
	    cfg->max_message == 0 || !agg_layout_ok(L) ||
	    (cfg->mode != MCN_AGG_PAILLIER && cfg->mode != MCN_AGG_MASKED &&
	        cfg->mode != MCN_AGG_PLAIN)) {
		return MCN_EINVAL;
	}
	if (cfg->mode == MCN_AGG_PAILLIER &&
	    (cfg->tpub == NULL ||
	        mcn_tpaillier_parties(cfg->tpub) != cfg->npeers)) {
		return MCN_EINVAL;
	}
	if ((c = mcn_zalloc(sizeof(*c))) == NULL) {
		return MCN_ENOMEM;
	}
	c->cfg = *cfg;
	c->phase = MCN_AGG_ROUND1;
	c->nfields = L->nfields;
	c->nvalues = L->nvalues;
	c->errcap = cfg->npeers * (MCN_PARTY_ID_MAX + AGG_REASON + 16) + 256;
	rv = MCN_ENOMEM;
	if ((rv = mcn_agg_layout_copy(&c->L, L)) != MCN_OK) {
		goto fail;
	}
	rv = MCN_ENOMEM;
	c->fields = c->L.fields;
	if ((c->sites = mcn_zalloc(cfg->npeers * sizeof(*c->sites))) == NULL ||
	    (c->errmsg = mcn_zalloc(c->errcap)) == NULL ||
	    (c->urel = mcn_zalloc(c->L.nunits + 1)) == NULL) {
		goto fail;
	}
	c->cfg.layout = NULL; /* ours is the copy */
	agg_contrib_digest(c->digest, L, cfg->query_text);
	if (cfg->mode == MCN_AGG_PAILLIER) {
		rv = agg_pack_new(&c->P, &c->L,
		    mcn_paillier_plaintext_bits(mcn_tpaillier_pk(cfg->tpub)),
		    (unsigned)cfg->npeers);
		if (rv != MCN_OK) {
			goto fail;
		}
		c->ncts = agg_pack_ncts(&c->P);
	}
	if ((rv = mcn_rng_bytes(cfg->rng, c->qid, sizeof(c->qid))) != MCN_OK) {
		goto fail;
	}
	*out = c;
	return MCN_OK;
fail:
	mcn_agg_coord_free(c);
	return rv;
}

static mcn_err
coord_push(mcn_agg_coord *c, mcn_agg_outbox *ob, size_t to, uint8_t *bytes,
    size_t len)
{
	if (ob->n == ob->cap) {
		size_t cap = ob->cap != 0 ? 2 * ob->cap : 8;
		mcn_agg_out *m = mcn_alloc(cap * sizeof(*m));
		if (m == NULL) {
			mcn_free(bytes, len);
			return MCN_ENOMEM;
		}
		if (ob->n != 0) {
			memcpy(m, ob->msgs, ob->n * sizeof(*m));
		}
		mcn_free(ob->msgs, ob->cap * sizeof(*m));
		ob->msgs = m;
		ob->cap = cap;
	}
	ob->msgs[ob->n].to = to;
	ob->msgs[ob->n].bytes = bytes;
	ob->msgs[ob->n].len = len;
	ob->n++;
	c->bytes_out += len;
	return MCN_OK;
}

void
mcn_agg_outbox_clear(mcn_agg_outbox *ob)
{
	if (ob == NULL) {
		return;
	}
	for (size_t i = 0; i < ob->n; i++) {
		mcn_free(ob->msgs[i].bytes, ob->msgs[i].len);
	}
	mcn_free(ob->msgs, ob->cap * sizeof(*ob->msgs));
	memset(ob, 0, sizeof(*ob));
}

mcn_err
mcn_agg_coord_start(mcn_agg_coord *c, uint64_t now_ms, mcn_agg_outbox *ob)
{
	mcn_party_id *ids;
	mcn_message m;
	mcn_err rv = MCN_OK;

	MCN_MUST(c != NULL && ob != NULL);
	if (c->started) {
		return MCN_ESTATE;
	}
	if ((ids = mcn_alloc(c->cfg.npeers * sizeof(*ids))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < c->cfg.npeers; i++) {
		memcpy(ids[i], c->cfg.peers[i].id, sizeof(ids[i]));
	}
	memset(&m, 0, sizeof(m));
	memcpy(m.h.query_id, c->qid, sizeof(c->qid));
	m.h.round = 1;
	m.h.type = MCN_MSG_QUERY;
	m.h.timestamp_ms = now_ms;
	m.u.query.text = (char *)c->cfg.query_text;
	m.u.query.mode = (uint32_t)c->cfg.mode;
	memcpy(m.u.query.dict_fp, c->cfg.dict_fingerprint, MCN_MSG_FP_BYTES);
	m.u.query.participants = ids;
	m.u.query.nparticipants = c->cfg.npeers;
	if (c->cfg.mode == MCN_AGG_PAILLIER) {
		m.u.query.has_key_fp = 1;
		memcpy(m.u.query.key_fp,
		    mcn_paillier_fingerprint(mcn_tpaillier_pk(c->cfg.tpub)),
		    MCN_MSG_FP_BYTES);
	}
	for (size_t i = 0; i < c->cfg.npeers && rv == MCN_OK; i++) {
		uint8_t *b;
		size_t len;
		if ((rv = mcn_msg_seal(&b, &len, &m, c->cfg.signer, NULL,
		         c->cfg.rng)) == MCN_OK) {
			rv = coord_push(c, ob, i, b, len);
		}
	}
	mcn_free(ids, c->cfg.npeers * sizeof(*ids));
	if (rv == MCN_OK) {
		c->started = 1;
		c->rounds = 1;
	}
	return rv;
}

/* Marks site i as failed (status, code, reason) in the current round. */
static void
coord_site_fail(mcn_agg_coord *c, size_t i, mcn_agg_site_status st,
    mcn_err code, const char *reason)
{
	struct coord_site *s = &c->sites[i];

	s->status = st;
	s->code = code;
	if (c->phase == MCN_AGG_ROUND3) {
		s->r3 = R2_DONE;
		agg_cat(s->reason, sizeof(s->reason), "round 3: ", reason);
	} else if (c->phase == MCN_AGG_ROUND2) {
		s->r2 = R2_DONE;
		agg_cat(s->reason, sizeof(s->reason), "round 2: ", reason);
	} else {
		agg_set(s->reason, sizeof(s->reason), reason);
	}
}

static const char *
coord_status_word(mcn_agg_site_status st)
{
	switch (st) {
	case MCN_AGG_SITE_TIMEOUT: return "timeout";
	case MCN_AGG_SITE_REFUSED: return "refused";
	case MCN_AGG_SITE_INVALID: return "invalid";
	case MCN_AGG_SITE_PENDING: return "pending";
	case MCN_AGG_SITE_CONTRIBUTED: return "contributed";
	}
	return "?";
}

/* FAILED with a message "<what>; missing: a (timeout), b (refused: ...)". */
static void
coord_fail(mcn_agg_coord *c, mcn_err code, const char *what)
{
	size_t off;
	int first = 1;

	c->phase = MCN_AGG_FAILED;
	c->err = code;
	off = (size_t)snprintf(c->errmsg, c->errcap, "%s", what);
	for (size_t i = 0; i < c->cfg.npeers && off < c->errcap; i++) {
		const struct coord_site *s = &c->sites[i];
		if (s->status == MCN_AGG_SITE_CONTRIBUTED) {
			continue;
		}
		off += (size_t)snprintf(c->errmsg + off, c->errcap - off,
		    "%s%s (%s%s%s)", first ? "; sites not usable: " : ", ",
		    c->cfg.peers[i].id, coord_status_word(s->status),
		    s->status != MCN_AGG_SITE_TIMEOUT ? ": " : "",
		    s->status != MCN_AGG_SITE_TIMEOUT ? s->reason : "");
		first = 0;
	}
}

static mcn_err
coord_sums_alloc(mcn_agg_coord *c)
{
	if (c->sums != NULL) {
		return MCN_OK;
	}
	if ((c->sums = agg_mpz_array(c->nvalues != 0 ? c->nvalues : 1)) ==
	    NULL) {
		return MCN_ENOMEM;
	}
	return MCN_OK;
}

/* With release control: the sums of withheld units are 0. */
static void
coord_zero_withheld(mcn_agg_coord *c)
{
	size_t f = 0, v = 0;

	if (c->L.ncontrol == 0) {
		return;
	}
	for (size_t u = 0; u < c->L.nunits; u++) {
		size_t cnt = 0;
		for (size_t j = 0; j < c->L.units[u]; j++) {
			cnt += c->L.fields[f + j].count;
		}
		for (size_t k = 0; !c->urel[u] && k < cnt; k++) {
			mpz_set_ui(c->sums[v + k], 0);
		}
		v += cnt;
		f += c->L.units[u];
	}
}

/* masked: every site's v_i + M_i summed mod 2^64 = sum v_i mod 2^64,
 * lifted into [n lo, n lo + 2^64) per field when n (hi - lo) < 2^64 (then
 * exact), else read as int64 (agg_lift). With release control the
 * values are the RELEASE's (withheld units come out as n lo: zeroed). */
static mcn_err
coord_finish_masked(mcn_agg_coord *c)
{
	size_t n = c->cfg.npeers;
	uint64_t *sum;
	mcn_err rv;

	if ((rv = coord_sums_alloc(c)) != MCN_OK) {
		return rv;
	}
	if (c->nvalues == 0) {
		return MCN_OK;
	}
	if ((sum = mcn_zalloc(c->nvalues * sizeof(*sum))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const uint64_t *v = c->L.ncontrol != 0 ? c->sites[i].rmasked :
		                                         c->sites[i].masked;
		for (size_t k = 0; k < c->nvalues; k++) {
			sum[k] += v[k];
		}
	}
	rv = agg_lift(c->fields, c->nfields, n, sum, c->sums);
	mcn_free(sum, c->nvalues * sizeof(*sum));
	if (rv == MCN_OK) {
		coord_zero_withheld(c);
	}
	return rv;
}

static mcn_err
coord_finish_plain(mcn_agg_coord *c)
{
	mpz_t t;
	mcn_err rv;

	if ((rv = coord_sums_alloc(c)) != MCN_OK) {
		return rv;
	}
	mpz_init(t);
	for (size_t i = 0; i < c->cfg.npeers; i++) {
		if (c->sites[i].status != MCN_AGG_SITE_CONTRIBUTED) {
			continue;
		}
		for (size_t k = 0; k < c->nvalues; k++) {
			agg_mpz_set_i64(t, c->sites[i].plain[k]);
			mpz_add(c->sums[k], c->sums[k], t);
		}
	}
	mpz_clear(t);
	if (c->L.ncontrol == 0) {
		return MCN_OK;
	}
	/* plain with control: the querier applies the rule itself */
	mpz_t *pooled = agg_mpz_array(c->L.ncontrol);
	char why[AGG_REASON];
	if (pooled == NULL) {
		return MCN_ENOMEM;
	}
	mpz_init(t);
	for (size_t i = 0; i < c->cfg.npeers; i++) {
		if (c->sites[i].status != MCN_AGG_SITE_CONTRIBUTED) {
			continue;
		}
		for (size_t k = 0; k < c->L.ncontrol; k++) {
			agg_mpz_set_i64(t, c->sites[i].plain[c->nvalues + k]);
			mpz_add(pooled[k], pooled[k], t);
		}
	}
	mpz_clear(t);
	if (c->cfg.decide == NULL) {
		rv = MCN_EINVAL;
	} else {
		mcn_agg_request r = { c->cfg.query_text, c->cfg.mode,
			c->cfg.signer->id,
			c->cfg.policy_role != NULL ? c->cfg.policy_role : "",
			c->qid };
		rv = agg_decide(c->cfg.decide, c->cfg.decide_ctx, &r, &c->L,
		    (const mpz_t *)pooled, c->ncontrib, c->urel, &c->rdec,
		    &c->nrdec, why, sizeof(why));
	}
	agg_mpz_array_free(pooled, c->L.ncontrol, 1);
	if (rv == MCN_OK) {
		coord_zero_withheld(c);
	}
	return rv;
}

/* Sends the DECRYPT to up to `want` contributors not asked yet, earliest
 * round-1 answers first (they are the least loaded or nearest). */
static mcn_err
coord_ask_decrypt(mcn_agg_coord *c, unsigned want, mcn_agg_outbox *ob)
{
	mcn_err rv = MCN_OK;
	while (want > 0 && rv == MCN_OK) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			const struct coord_site *s = &c->sites[i];
			if (s->in_sum && s->r2 == R2_NONE &&
			    (best == SIZE_MAX || s->arrival < c->sites[best].arrival)) {
				best = i;
			}
		}
		if (best == SIZE_MAX) {
			break;
		}
		uint8_t *b;
		size_t len;
		c->sites[best].r2 = R2_PENDING;
		if ((rv = mcn_msg_seal(&b, &len, &c->dec, c->cfg.signer,
		         c->cfg.tpub, c->cfg.rng)) == MCN_OK) {
			rv = coord_push(c, ob, best, b, len);
		}
		want--;
	}
	return rv;
}

/* paillier round 1 -> 2: products over C, and a DECRYPT (the product and
 * every signed contribution) to t members of C plus decrypt_spare more.
 * Only t partial decryptions are needed, so asking exactly t spares the
 * other hospitals the work (a partial decryption with its proof costs
 * three |n^2|-size exponentiations); if one of them fails, the others are
 * asked in a further round (coord_advance). */
static mcn_err
coord_send_decrypt(mcn_agg_coord *c, uint64_t now_ms, mcn_agg_outbox *ob)
{
	const mcn_paillier_pk *pk = mcn_tpaillier_pk(c->cfg.tpub);
	size_t ne = 0;

	if ((c->products = agg_mpz_array(c->ncts)) == NULL ||
	    (c->envs = mcn_alloc(c->ncontrib * sizeof(*c->envs))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < c->cfg.npeers; i++) {
		const struct coord_site *s = &c->sites[i];
		if (!s->in_sum) {
			continue;
		}
		for (size_t j = 0; j < c->ncts; j++) {
			if (ne == 0) {
				mpz_set(c->products[j], s->cts[j]);
			} else {
				mcn_paillier_ee_add(pk, c->products[j],
				    c->products[j], s->cts[j]);
			}
		}
		c->envs[ne].data = s->env;
		c->envs[ne].len = s->envlen;
		ne++;
	}
	memset(&c->dec, 0, sizeof(c->dec));
	memcpy(c->dec.h.query_id, c->qid, sizeof(c->qid));
	c->dec.h.round = 2;
	c->dec.h.type = MCN_MSG_DECRYPT;
	c->dec.h.timestamp_ms = now_ms;
	c->dec.u.decrypt.contributions = c->envs;
	c->dec.u.decrypt.ncontributions = ne;
	c->dec.u.decrypt.products = c->products;
	c->dec.u.decrypt.nproducts = c->ncts;
	c->phase = MCN_AGG_ROUND2;
	c->rounds = 2;
	if (c->L.ncontrol == 0) {
		return coord_ask_decrypt(c,
		    mcn_tpaillier_threshold(c->cfg.tpub) + c->cfg.decrypt_spare,
		    ob);
	}
	/* Release control: the deciding set D is fixed now (each member
	 * seals its control partials to the others of D). */
	/* Exactly t: every decider learns the pooled control, so no more
	 * nodes than needed see it (decrypt_spare does not apply). */
	unsigned want = mcn_tpaillier_threshold(c->cfg.tpub);
	for (unsigned k = 0; k < want; k++) {
		size_t best = SIZE_MAX;
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			const struct coord_site *s = &c->sites[i];
			if (s->in_sum && !c->dset[i] &&
			    (best == SIZE_MAX ||
			        s->arrival < c->sites[best].arrival)) {
				best = i;
			}
		}
		if (best == SIZE_MAX) {
			break;
		}
		c->dset[best] = 1;
		memcpy(c->dnames[c->ndset++], c->cfg.peers[best].id,
		    sizeof(mcn_party_id));
	}
	c->dec.u.decrypt.decrypters = c->dnames;
	c->dec.u.decrypt.ndecrypters = c->ndset;
	for (size_t i = 0; i < c->cfg.npeers; i++) {
		if (!c->dset[i]) {
			continue;
		}
		uint8_t *b;
		size_t len;
		mcn_err rv;
		c->sites[i].r2 = R2_PENDING;
		if ((rv = mcn_msg_seal(&b, &len, &c->dec, c->cfg.signer,
		         c->cfg.tpub, c->cfg.rng)) != MCN_OK ||
		    (rv = coord_push(c, ob, i, b, len)) != MCN_OK) {
			return rv;
		}
	}
	return MCN_OK;
}

/* Verifies the proofs of the partial decryptions received, lazily: the
 * proofs of t sites at a time in one OpenMP batch (all their ciphertexts
 * at once), more sites only if some fail, until t sites are verified or
 * none is left. A site whose proof fails is marked INVALID and its
 * partials are dropped. Verifying the proof costs about as much as making
 * it, so checking only the t partials the combination uses saves the
 * querier (n - t) verifications per ciphertext. */
static mcn_err
coord_verify(mcn_agg_coord *c, unsigned t)
{
	size_t np = c->cfg.npeers, nc = c->ncts;
	for (;;) {
		unsigned have = 0;
		size_t pick[MCN_AGG_MAX_NODES], k = 0;
		for (size_t i = 0; i < np; i++) {
			have += c->sites[i].parts != NULL && c->sites[i].verified;
		}
		for (size_t i = 0; i < np && have + k < t; i++) {
			if (c->sites[i].parts != NULL && !c->sites[i].verified) {
				pick[k++] = i;
			}
		}
		if (have >= t || k == 0) {
			return MCN_OK;
		}
		size_t n = k * nc;
		mpz_t *cs = mcn_alloc(n * sizeof(*cs));
		mcn_tpaillier_partial *ps = mcn_alloc(n * sizeof(*ps));
		mcn_err *st = mcn_alloc(n * sizeof(*st));
		if (cs == NULL || ps == NULL || st == NULL) {
			mcn_free(cs, n * sizeof(*cs));
			mcn_free(ps, n * sizeof(*ps));
			mcn_free(st, n * sizeof(*st));
			return MCN_ENOMEM;
		}
		for (size_t a = 0; a < k; a++) {
			for (size_t j = 0; j < nc; j++) {
				/* shallow copies: the batch only reads them */
				memcpy(&cs[a * nc + j], &c->products[j], sizeof(mpz_t));
				ps[a * nc + j] = c->sites[pick[a]].parts[j];
			}
		}
		mcn_err rv = mcn_tpaillier_verify_vec(c->cfg.tpub,
		    (const mpz_t *)cs, ps, n, st);
		for (size_t a = 0; a < k && rv != MCN_ENOMEM; a++) {
			struct coord_site *s = &c->sites[pick[a]];
			mcn_err bad = MCN_OK;
			for (size_t j = 0; j < nc && bad == MCN_OK; j++) {
				bad = st[a * nc + j];
			}
			if (bad == MCN_OK) {
				s->verified = 1;
				continue;
			}
			agg_partials_free(s->parts, nc);
			s->parts = NULL;
			coord_site_fail(c, pick[a], MCN_AGG_SITE_INVALID, bad,
			    "partial decryption proof does not verify");
		}
		mcn_free(cs, n * sizeof(*cs));
		mcn_free(ps, n * sizeof(*ps));
		mcn_free(st, n * sizeof(*st));
		if (rv == MCN_ENOMEM) {
			return rv;
		}
	}
}

/* paillier round 2 done: combine t valid partials per ciphertext. */
static mcn_err
coord_finish_paillier(mcn_agg_coord *c)
{
	unsigned t = mcn_tpaillier_threshold(c->cfg.tpub);
	mcn_tpaillier_partial *use = NULL;
	mpz_t *packed = NULL;
	size_t nv = 0;
	mcn_err rv = MCN_ENOMEM;

	if ((rv = coord_verify(c, t)) != MCN_OK) {
		return rv;
	}
	rv = MCN_ENOMEM;
	for (size_t i = 0; i < c->cfg.npeers; i++) {
		nv += c->sites[i].parts != NULL && c->sites[i].verified;
	}
	if (nv < t) {
		return MCN_ETOOFEW;
	}
	if ((use = mcn_alloc(nv * sizeof(*use))) == NULL ||
	    (packed = agg_mpz_array(c->ncts)) == NULL ||
	    (rv = coord_sums_alloc(c)) != MCN_OK) {
		goto out;
	}
	for (size_t j = 0; j < c->ncts; j++) {
		size_t k = 0;
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			if (c->sites[i].parts != NULL && c->sites[i].verified) {
				use[k++] = c->sites[i].parts[j]; /* shallow */
			}
		}
		rv = mcn_tpaillier_combine(c->cfg.tpub, packed[j],
		    c->products[j], use, k, 1, NULL, NULL);
		if (rv != MCN_OK) {
			goto out;
		}
	}
	rv = mcn_unpack(c->P.unit[0], c->sums, (const mpz_t *)packed, c->nvalues,
	    c->ncontrib);
out:
	mcn_free(use, nv * sizeof(*use));
	agg_mpz_array_free(packed, c->ncts, 0);
	return rv;
}

static mcn_err coord_send_boxes(mcn_agg_coord *c, const unsigned char *to,
    const unsigned char *from, unsigned round, uint64_t now_ms,
    mcn_agg_outbox *ob);
static mcn_err coord_finish_release_paillier(mcn_agg_coord *c,
    const char **what);
static mcn_err coord_finish_release_masked(mcn_agg_coord *c,
    const char **what);

/* Moves to the next round or the end once no site of this round is
 * pending. */
static mcn_err
coord_advance(mcn_agg_coord *c, uint64_t now_ms, mcn_agg_outbox *ob)
{
	unsigned contributed = 0, need;
	char what[160];
	mcn_err rv;

	if (c->phase == MCN_AGG_ROUND1) {
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			if (c->sites[i].status == MCN_AGG_SITE_PENDING) {
				return MCN_OK;
			}
			contributed += c->sites[i].in_sum;
		}
		c->ncontrib = contributed;
		switch (c->cfg.mode) {
		case MCN_AGG_MASKED:
			if (contributed < c->cfg.npeers) {
				coord_fail(c, MCN_ETOOFEW,
				    "masked mode needs every site");
				return MCN_OK;
			}
			if (c->L.ncontrol != 0) {
				unsigned char all[MCN_AGG_MAX_NODES];
				memset(all, 1, sizeof(all));
				c->phase = MCN_AGG_ROUND2;
				c->rounds = 2;
				return coord_send_boxes(c, all, all, 2, now_ms,
				    ob);
			}
			rv = coord_finish_masked(c);
			break;
		case MCN_AGG_PLAIN:
			need = c->cfg.min_sites > 1 ? c->cfg.min_sites : 1;
			if (contributed < need) {
				snprintf(what, sizeof(what),
				    "fewer than %u "
				    "sites contributed",
				    need);
				coord_fail(c, MCN_ETOOFEW, what);
				return MCN_OK;
			}
			rv = coord_finish_plain(c);
			break;
		default:
			need = mcn_tpaillier_threshold(c->cfg.tpub);
			if (c->cfg.min_sites > need) {
				need = c->cfg.min_sites;
			}
			if (contributed < need) {
				snprintf(what, sizeof(what),
				    "fewer than %u "
				    "sites contributed",
				    need);
				coord_fail(c, MCN_ETOOFEW, what);
				return MCN_OK;
			}
			return coord_send_decrypt(c, now_ms, ob);
		}
	} else if (c->phase == MCN_AGG_ROUND3) {
		const char *w = "";
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			if (c->sites[i].r3 == R2_PENDING) {
				return MCN_OK;
			}
		}
		rv = coord_finish_release_paillier(c, &w);
		if (rv == MCN_ETOOFEW || rv == MCN_EREFUSED) {
			coord_fail(c, rv, w);
			return MCN_OK;
		}
	} else if (c->phase == MCN_AGG_ROUND2 && c->L.ncontrol != 0) {
		const char *w = "";
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			if (c->sites[i].r2 == R2_PENDING) {
				return MCN_OK;
			}
		}
		if (c->cfg.mode == MCN_AGG_MASKED) {
			rv = coord_finish_release_masked(c, &w);
			if (rv == MCN_ETOOFEW || rv == MCN_EREFUSED) {
				coord_fail(c, rv, w);
				return MCN_OK;
			}
		} else {
			unsigned char got[MCN_AGG_MAX_NODES];
			unsigned ngot = 0;
			memset(got, 0, sizeof(got));
			for (size_t i = 0; i < c->cfg.npeers; i++) {
				got[i] = c->sites[i].boxes != NULL &&
				    c->dset[i];
				ngot += got[i];
			}
			if (ngot < mcn_tpaillier_threshold(c->cfg.tpub)) {
				snprintf(what, sizeof(what),
				    "fewer than %u deciding nodes answered "
				    "the control round",
				    mcn_tpaillier_threshold(c->cfg.tpub));
				coord_fail(c, MCN_ETOOFEW, what);
				return MCN_OK;
			}
			c->phase = MCN_AGG_ROUND3;
			c->rounds = 3;
			return coord_send_boxes(c, got, got, 3, now_ms, ob);
		}
	} else if (c->phase == MCN_AGG_ROUND2) {
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			if (c->sites[i].r2 == R2_PENDING) {
				return MCN_OK;
			}
		}
		/* Enough valid partials? If not, ask contributors not asked
		 * yet, as many as are missing. */
		unsigned t = mcn_tpaillier_threshold(c->cfg.tpub), valid = 0;
		if ((rv = coord_verify(c, t)) != MCN_OK) {
			return rv;
		}
		for (size_t i = 0; i < c->cfg.npeers; i++) {
			valid += c->sites[i].parts != NULL && c->sites[i].verified;
		}
		if (valid < t) {
			size_t before = ob->n;
			c->dec.h.timestamp_ms = now_ms;
			if ((rv = coord_ask_decrypt(c, t - valid, ob)) != MCN_OK) {
				return rv;
			}
			if (ob->n > before) {
				c->rounds++;
				return MCN_OK;
			}
		}
		rv = coord_finish_paillier(c);
		if (rv == MCN_ETOOFEW) {
			snprintf(what, sizeof(what),
			    "fewer than %u valid "
			    "partial decryptions",
			    mcn_tpaillier_threshold(c->cfg.tpub));
			coord_fail(c, rv, what);
			return MCN_OK;
		}
	} else {
		return MCN_OK;
	}
	if (rv == MCN_ENOMEM) {
		return rv;
	}
	if (rv != MCN_OK) {
		/* The decrypted or unmasked sum is outside what the declared
		 * ranges allow: some site sent a malformed vector. */
		snprintf(what, sizeof(what),
		    "the sum is inconsistent with the "
		    "declared value ranges (%s)",
		    mcn_strerror(rv));
		coord_fail(c, rv, what);
		return MCN_OK;
	}
	c->phase = MCN_AGG_DONE;
	return MCN_OK;
}

static void
coord_take_contribution(mcn_agg_coord *c, size_t from, mcn_message *m,
    const uint8_t *msg, size_t len)
{
	struct coord_site *s = &c->sites[from];
	mcn_msg_contribution *k = &m->u.contribution;

	if (k->mode != (uint32_t)c->cfg.mode || k->nvalues != c->nvalues ||
	    k->ncontrol != c->L.ncontrol ||
	    memcmp(k->layout_digest, c->digest, sizeof(c->digest)) != 0) {
		coord_site_fail(c, from, MCN_AGG_SITE_INVALID, MCN_EPROTO,
		    "contribution uses another mode, query text or vector "
		    "layout");
		return;
	}
	switch (c->cfg.mode) {
	case MCN_AGG_PAILLIER:
		if (k->ncts != c->ncts) {
			coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
			    MCN_EPROTO, "wrong number of ciphertexts");
			return;
		}
		if ((s->env = mcn_alloc(len)) == NULL) {
			coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
			    MCN_ENOMEM, "out of memory");
			return;
		}
		memcpy(s->env, msg, len);
		s->envlen = len;
		s->cts = k->cts; /* take ownership */
		k->cts = NULL;
		k->ncts = 0;
		break;
	case MCN_AGG_MASKED:
		if (c->L.ncontrol != 0) {
			/* the masked control, one box for every other node */
			unsigned char to[MCN_AGG_MAX_NODES];
			memset(to, 0, sizeof(to));
			int ok = k->nmasked == 0 &&
			    k->nboxes == c->cfg.npeers - 1;
			for (size_t b = 0; ok && b < k->nboxes; b++) {
				long r = agg_peer_index(c->cfg.peers,
				    c->cfg.npeers, k->boxes[b].recipient);
				ok = strcmp(k->boxes[b].sender,
				         c->cfg.peers[from].id) == 0 &&
				    r >= 0 && (size_t)r != from && !to[r] &&
				    k->boxes[b].data.len ==
				        8 * c->L.ncontrol + MCN_BOX_OVERHEAD;
				if (ok) {
					to[r] = 1;
				}
			}
			if (!ok) {
				coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
				    MCN_EPROTO,
				    "masked control is not one box for "
				    "every other node");
				return;
			}
			s->boxes = k->boxes;
			s->nboxes = k->nboxes;
			k->boxes = NULL;
			k->nboxes = 0;
			break;
		}
		s->masked = k->masked;
		k->masked = NULL;
		k->nmasked = 0;
		break;
	case MCN_AGG_PLAIN: {
		size_t q = 0;
		for (int part = 0; part < 2; part++) {
			const mcn_pack_field *F =
			    part == 0 ? c->fields : c->L.cfields;
			size_t nf = part == 0 ? c->nfields : c->L.ncfields;
			for (size_t f = 0; f < nf; f++) {
				for (size_t j = 0; j < F[f].count; j++, q++) {
					if (k->plain[q] < F[f].lo ||
					    k->plain[q] > F[f].hi) {
						coord_site_fail(c, from,
						    MCN_AGG_SITE_INVALID,
						    MCN_ERANGE,
						    "a value is outside its "
						    "declared range");
						return;
					}
				}
			}
		}
		s->plain = k->plain;
		k->plain = NULL;
		k->nplain = 0;
		break;
	}
	}
	s->status = MCN_AGG_SITE_CONTRIBUTED;
	s->in_sum = 1;
	s->arrival = ++c->arrivals;
}

static void
coord_take_partials(mcn_agg_coord *c, size_t from, mcn_message *m)
{
	struct coord_site *s = &c->sites[from];
	mcn_msg_partials *p = &m->u.partials;

	if (c->L.ncontrol != 0) {
		/* sealed control partials: one box for each other decider */
		unsigned char to[MCN_AGG_MAX_NODES];
		size_t want = c->ndset - 1;
		int ok = p->nparts == 0 && p->nboxes == want;
		memset(to, 0, sizeof(to));
		for (size_t b = 0; ok && b < p->nboxes; b++) {
			long r = agg_peer_index(c->cfg.peers, c->cfg.npeers,
			    p->boxes[b].recipient);
			ok = strcmp(p->boxes[b].sender, c->cfg.peers[from].id) ==
			        0 &&
			    r >= 0 && (size_t)r != from && c->dset[r] && !to[r];
			if (ok) {
				to[r] = 1;
			}
		}
		if (!ok) {
			coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
			    MCN_EPROTO,
			    "control partials are not one box for each "
			    "other deciding node");
			return;
		}
		s->boxes = p->boxes;
		s->nboxes = p->nboxes;
		p->boxes = NULL;
		p->nboxes = 0;
		s->r2 = R2_DONE;
		return;
	}

	if (p->nparts != c->ncts) {
		coord_site_fail(c, from, MCN_AGG_SITE_INVALID, MCN_EPROTO,
		    "wrong number of partial decryptions");
		return;
	}
	for (size_t j = 0; j < p->nparts; j++) {
		if (p->parts[j].index != from + 1) {
			coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
			    MCN_EPARTY,
			    "partial decryption made with "
			    "another site's share index");
			return;
		}
	}
	/* Proofs are checked when round 2 is complete, in one parallel batch
	 * and only for as many sites as the threshold needs (coord_verify). */
	s->parts = p->parts; /* take ownership */
	p->parts = NULL;
	p->nparts = 0;
	s->r2 = R2_DONE;
}

/* A RELEASE from site `from`: well formed for our layout. */
static void
coord_take_release(mcn_agg_coord *c, size_t from, mcn_message *m)
{
	struct coord_site *s = &c->sites[from];
	mcn_msg_release *r = &m->u.release;
	size_t want = 0;

	for (size_t k = 0; k < r->nreleased; k++) {
		if (r->released[k] >= c->L.nunits) {
			coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
			    MCN_EPROTO, "release names an unknown unit");
			return;
		}
		if (c->cfg.mode == MCN_AGG_PAILLIER) {
			size_t u = r->released[k];
			want += c->P.ct0[u + 1] - c->P.ct0[u];
		}
	}
	if (c->cfg.mode == MCN_AGG_PAILLIER) {
		for (size_t j = 0; j < r->nparts; j++) {
			if (r->parts[j].index != from + 1) {
				coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
				    MCN_EPARTY,
				    "partial decryption made with another "
				    "site's share index");
				return;
			}
		}
	}
	if ((c->cfg.mode == MCN_AGG_PAILLIER &&
	        (r->nparts != want || r->nmasked != 0)) ||
	    (c->cfg.mode == MCN_AGG_MASKED &&
	        (r->nparts != 0 || r->nmasked != c->nvalues))) {
		coord_site_fail(c, from, MCN_AGG_SITE_INVALID, MCN_EPROTO,
		    "release does not match the released units");
		return;
	}
	s->dec = r->decision;
	s->ndec = r->ndecision;
	s->rel = r->released;
	s->nrel = r->nreleased;
	s->rparts = r->parts;
	s->nrparts = r->nparts;
	s->rmasked = r->masked;
	memset(r, 0, sizeof(*r));
	s->released = 1;
	if (c->phase == MCN_AGG_ROUND3) {
		s->r3 = R2_DONE;
	} else {
		s->r2 = R2_DONE;
	}
}

/* The release round: to each node in `to`, a DECRYPT with the boxes
 * addressed to it from the other nodes in `from`. */
static mcn_err
coord_send_boxes(mcn_agg_coord *c, const unsigned char *to,
    const unsigned char *from, unsigned round, uint64_t now_ms,
    mcn_agg_outbox *ob)
{
	for (size_t i = 0; i < c->cfg.npeers; i++) {
		mcn_msg_box bx[MCN_AGG_MAX_NODES];
		size_t nb = 0;
		mcn_message m;
		uint8_t *b;
		size_t len;
		mcn_err rv;

		if (!to[i]) {
			continue;
		}
		for (size_t j = 0; j < c->cfg.npeers; j++) {
			const struct coord_site *s = &c->sites[j];
			if (j == i || !from[j]) {
				continue;
			}
			for (size_t k = 0; k < s->nboxes; k++) {
				if (strcmp(s->boxes[k].recipient,
				        c->cfg.peers[i].id) == 0) {
					bx[nb++] = s->boxes[k]; /* shallow */
				}
			}
		}
		memset(&m, 0, sizeof(m));
		memcpy(m.h.query_id, c->qid, sizeof(c->qid));
		m.h.round = round;
		m.h.type = MCN_MSG_DECRYPT;
		m.h.timestamp_ms = now_ms;
		m.u.decrypt.boxes = bx;
		m.u.decrypt.nboxes = nb;
		if (round == 3) {
			c->sites[i].r3 = R2_PENDING;
		} else {
			c->sites[i].r2 = R2_PENDING;
		}
		if ((rv = mcn_msg_seal(&b, &len, &m, c->cfg.signer, NULL,
		         c->cfg.rng)) != MCN_OK ||
		    (rv = coord_push(c, ob, i, b, len)) != MCN_OK) {
			return rv;
		}
	}
	return MCN_OK;
}

/* 1 if sites a and b released the same decision and units. */
static int
coord_same_release(const struct coord_site *a, const struct coord_site *b)
{
	return a->ndec == b->ndec && a->nrel == b->nrel &&
	    (a->ndec == 0 ||
	        memcmp(a->dec, b->dec, a->ndec * sizeof(int64_t)) == 0) &&
	    (a->nrel == 0 ||
	        memcmp(a->rel, b->rel, a->nrel * sizeof(uint32_t)) == 0);
}

/* The releases agree: take the decision of the first (ref) into c. */
static mcn_err
coord_take_decision(mcn_agg_coord *c, const struct coord_site *ref)
{
	if (ref->ndec != 0) {
		if ((c->rdec = agg_dup(ref->dec, ref->ndec * sizeof(int64_t))) ==
		    NULL) {
			return MCN_ENOMEM;
		}
	}
	c->nrdec = ref->ndec;
	for (size_t k = 0; k < ref->nrel; k++) {
		c->urel[ref->rel[k]] = 1;
	}
	return MCN_OK;
}

/* paillier round 3 done: t releases with one decision; verify and
 * combine the partials of the released units. */
static mcn_err
coord_finish_release_paillier(mcn_agg_coord *c, const char **what)
{
	const unsigned t = mcn_tpaillier_threshold(c->cfg.tpub);
	const struct coord_site *ref = NULL;
	size_t pick[MCN_AGG_MAX_NODES], np = 0, nr = 0;
	mcn_err rv;

	for (size_t i = 0; i < c->cfg.npeers; i++) {
		const struct coord_site *s = &c->sites[i];
		if (!s->released) {
			continue;
		}
		if (ref == NULL) {
			ref = s;
		} else if (!coord_same_release(ref, s)) {
			*what = "the deciding nodes disagree on the release";
			return MCN_EREFUSED;
		}
		pick[np++] = i;
	}
	if (np < t) {
		*what = "fewer deciding nodes answered than the threshold";
		return MCN_ETOOFEW;
	}
	if ((rv = coord_take_decision(c, ref)) != MCN_OK ||
	    (rv = coord_sums_alloc(c)) != MCN_OK) {
		return rv;
	}
	nr = ref->nrparts;
	if (nr == 0) {
		return MCN_OK;
	}
	/* released ciphertext j of the release: product index */
	size_t *ci = mcn_alloc(nr * sizeof(*ci));
	mpz_t *cs = mcn_alloc(t * nr * sizeof(*cs));
	mcn_tpaillier_partial *ps = mcn_alloc(t * nr * sizeof(*ps));
	mcn_err *st = mcn_alloc(t * nr * sizeof(*st));
	mpz_t *packed = agg_mpz_array(nr);
	mcn_tpaillier_partial *use = mcn_alloc(t * sizeof(*use));
	rv = MCN_ENOMEM;
	if (ci == NULL || cs == NULL || ps == NULL || st == NULL ||
	    packed == NULL || use == NULL) {
		goto out;
	}
	size_t q = 0;
	for (size_t k = 0; k < ref->nrel; k++) {
		size_t u = ref->rel[k];
		for (size_t j = c->P.ct0[u]; j < c->P.ct0[u + 1]; j++) {
			ci[q++] = j;
		}
	}
	/* verify the first t releases' partials in one batch */
	for (unsigned a = 0; a < t; a++) {
		for (size_t j = 0; j < nr; j++) {
			memcpy(&cs[a * nr + j], &c->products[ci[j]],
			    sizeof(mpz_t));
			ps[a * nr + j] = c->sites[pick[a]].rparts[j];
		}
	}
	if ((rv = mcn_tpaillier_verify_vec(c->cfg.tpub, (const mpz_t *)cs, ps,
	         t * nr, st)) != MCN_OK && rv != MCN_EPROOF) {
		goto out;
	}
	for (size_t k = 0; k < t * nr; k++) {
		if (st[k] != MCN_OK) {
			coord_site_fail(c, pick[k / nr], MCN_AGG_SITE_INVALID,
			    st[k], "partial decryption proof does not verify");
			*what = "a released partial decryption does not verify";
			rv = MCN_ETOOFEW;
			goto out;
		}
	}
	for (size_t j = 0; j < nr; j++) {
		for (unsigned a = 0; a < t; a++) {
			use[a] = c->sites[pick[a]].rparts[j];
		}
		if ((rv = mcn_tpaillier_combine(c->cfg.tpub, packed[j],
		         c->products[ci[j]], use, t, 1, NULL, NULL)) != MCN_OK) {
			goto out;
		}
	}
	q = 0;
	for (size_t k = 0; k < ref->nrel && rv == MCN_OK; k++) {
		size_t u = ref->rel[k];
		rv = mcn_unpack(c->P.unit[u], c->sums + c->P.v0[u],
		    (const mpz_t *)packed + q, c->P.v0[u + 1] - c->P.v0[u],
		    c->ncontrib);
		q += c->P.ct0[u + 1] - c->P.ct0[u];
	}
out:
	mcn_free(ci, nr * sizeof(*ci));
	mcn_free(cs, t * nr * sizeof(*cs));
	mcn_free(ps, t * nr * sizeof(*ps));
	mcn_free(st, t * nr * sizeof(*st));
	agg_mpz_array_free(packed, nr, 0);
	mcn_free(use, t * sizeof(*use));
	return rv;
}

/* masked release round done: all n releases with one decision. */
static mcn_err
coord_finish_release_masked(mcn_agg_coord *c, const char **what)
{
	const struct coord_site *ref = NULL;
	mcn_err rv;

	for (size_t i = 0; i < c->cfg.npeers; i++) {
		const struct coord_site *s = &c->sites[i];
		if (!s->released) {
			*what = "masked mode needs every site's release";
			return MCN_ETOOFEW;
		}
		if (ref == NULL) {
			ref = s;
		} else if (!coord_same_release(ref, s)) {
			*what = "the nodes disagree on the release";
			return MCN_EREFUSED;
		}
	}
	if ((rv = coord_take_decision(c, ref)) != MCN_OK) {
		return rv;
	}
	return coord_finish_masked(c);
}

mcn_err
mcn_agg_coord_on_reply(mcn_agg_coord *c, size_t from, const uint8_t *msg,
    size_t len, uint64_t now_ms, mcn_agg_outbox *ob)
{
	static const uint8_t zero[MCN_QUERY_ID_BYTES];
	char r[MCN_MSG_REASON_MAX + 1];
	char reason[AGG_REASON];
	struct coord_site *s;
	unsigned round;
	mcn_open_opts o;
	mcn_message m;
	mcn_err rv;

	MCN_MUST(c != NULL && ob != NULL && from < c->cfg.npeers);
	c->bytes_in += len;
	if (!c->started || c->phase == MCN_AGG_DONE ||
	    c->phase == MCN_AGG_FAILED) {
		return MCN_OK; /* late */
	}
	s = &c->sites[from];
	round = c->phase == MCN_AGG_ROUND3 ? 3 :
	    c->phase == MCN_AGG_ROUND2     ? 2 :
	                                     1;
	if ((round == 1 && s->status != MCN_AGG_SITE_PENDING) ||
	    (round == 2 && s->r2 != R2_PENDING) ||
	    (round == 3 && s->r3 != R2_PENDING)) {
		return MCN_OK; /* duplicate, or not asked this round */
	}
	memset(&o, 0, sizeof(o));
	o.max_len = c->cfg.max_message;
	o.verifier = c->cfg.verifier;
	o.role = MCN_ROLE_NODE;
	o.sender = c->cfg.peers[from].id;
	o.tpub = c->cfg.tpub;
	o.now_ms = now_ms;
	o.max_skew_ms = UINT64_MAX; /* freshness comes from our query id */
	if ((rv = mcn_msg_open(&m, msg, len, &o, r, sizeof(r))) != MCN_OK) {
		agg_cat(reason, sizeof(reason), "reply rejected: ", r);
		coord_site_fail(c, from, MCN_AGG_SITE_INVALID, rv, reason);
		return coord_advance(c, now_ms, ob);
	}
	if (m.h.type == MCN_MSG_ERROR) {
		/* A node that could not read our request answers with what
		 * it could decode (maybe a zero query id / round). */
		if (memcmp(m.h.query_id, c->qid, sizeof(c->qid)) != 0 &&
		    memcmp(m.h.query_id, zero, sizeof(zero)) != 0) {
			coord_site_fail(c, from, MCN_AGG_SITE_INVALID,
			    MCN_EROUND, "error reply for another query");
		} else if (m.h.round != 0 && m.h.round < round) {
			mcn_msg_clear(&m);
			return MCN_OK; /* a late reply to round 1 */
		} else {
			coord_site_fail(c, from, MCN_AGG_SITE_REFUSED,
			    m.u.error.code, m.u.error.reason);
		}
	} else if (memcmp(m.h.query_id, c->qid, sizeof(c->qid)) != 0) {
		coord_site_fail(c, from, MCN_AGG_SITE_INVALID, MCN_EROUND,
		    "reply for another query");
	} else if (m.h.round < round) {
		mcn_msg_clear(&m);
		return MCN_OK; /* a duplicate of its round-1 reply */
	} else if (round == 1 && m.h.type == MCN_MSG_CONTRIBUTION &&
	    m.h.round == 1) {
		coord_take_contribution(c, from, &m, msg, len);
	} else if (round == 2 && m.h.type == MCN_MSG_PARTIALS &&
	    m.h.round == 2 && c->cfg.mode == MCN_AGG_PAILLIER) {
		coord_take_partials(c, from, &m);
	} else if (m.h.type == MCN_MSG_RELEASE && m.h.round == round &&
	    c->L.ncontrol != 0 &&
	    ((round == 2 && c->cfg.mode == MCN_AGG_MASKED) ||
	        (round == 3 && c->cfg.mode == MCN_AGG_PAILLIER))) {
		coord_take_release(c, from, &m);
	} else {
		coord_site_fail(c, from, MCN_AGG_SITE_INVALID, MCN_EPROTO,
		    "unexpected reply type or round");
	}
	mcn_msg_clear(&m);
	return coord_advance(c, now_ms, ob);
}

mcn_err
mcn_agg_coord_on_timeout(mcn_agg_coord *c, size_t from, uint64_t now_ms,
    mcn_agg_outbox *ob)
{
	struct coord_site *s;

	MCN_MUST(c != NULL && ob != NULL && from < c->cfg.npeers);
	if (!c->started || c->phase == MCN_AGG_DONE ||
	    c->phase == MCN_AGG_FAILED) {
		return MCN_OK;
	}
	s = &c->sites[from];
	if (c->phase == MCN_AGG_ROUND1 && s->status == MCN_AGG_SITE_PENDING) {
		coord_site_fail(c, from, MCN_AGG_SITE_TIMEOUT, MCN_ETIMEDOUT,
		    "no contribution in time");
	} else if (c->phase == MCN_AGG_ROUND2 && s->r2 == R2_PENDING) {
		coord_site_fail(c, from, MCN_AGG_SITE_TIMEOUT, MCN_ETIMEDOUT,
		    "no partial decryption in time (its contribution is in "
		    "the sum)");
	} else if (c->phase == MCN_AGG_ROUND3 && s->r3 == R2_PENDING) {
		coord_site_fail(c, from, MCN_AGG_SITE_TIMEOUT, MCN_ETIMEDOUT,
		    "no release in time (its contribution is in the sum)");
	} else {
		return MCN_OK;
	}
	return coord_advance(c, now_ms, ob);
}

mcn_agg_phase
mcn_agg_coord_phase(const mcn_agg_coord *c)
{
	return c->phase;
}

const mpz_t *
mcn_agg_coord_sums(const mcn_agg_coord *c, size_t *nvalues)
{
	if (c->phase != MCN_AGG_DONE) {
		if (nvalues != NULL) {
			*nvalues = 0;
		}
		return NULL;
	}
	if (nvalues != NULL) {
		*nvalues = c->nvalues;
	}
	return (const mpz_t *)c->sums;
}

const int64_t *
mcn_agg_coord_decision(const mcn_agg_coord *c, size_t *n)
{
	if (n != NULL) {
		*n = c->phase == MCN_AGG_DONE ? c->nrdec : 0;
	}
	return c->phase == MCN_AGG_DONE ? c->rdec : NULL;
}

int
mcn_agg_coord_unit_released(const mcn_agg_coord *c, size_t u)
{
	MCN_MUST(u < c->L.nunits + 1);
	return c->phase == MCN_AGG_DONE && c->L.ncontrol != 0 && u < c->L.nunits &&
	    c->urel[u];
}

unsigned
mcn_agg_coord_ncontributors(const mcn_agg_coord *c)
{
	return c->ncontrib;
}

mcn_agg_site_status
mcn_agg_coord_site(const mcn_agg_coord *c, size_t i, mcn_err *code,
    const char **reason)
{
	MCN_MUST(i < c->cfg.npeers);
	if (code != NULL) {
		*code = c->sites[i].code;
	}
	if (reason != NULL) {
		*reason = c->sites[i].reason;
	}
	return c->sites[i].status;
}

int
mcn_agg_coord_site_in_sum(const mcn_agg_coord *c, size_t i)
{
	MCN_MUST(i < c->cfg.npeers);
	return c->phase == MCN_AGG_DONE && c->sites[i].in_sum;
}

mcn_err
mcn_agg_coord_error(const mcn_agg_coord *c, const char **message)
{
	if (message != NULL) {
		*message = c->phase == MCN_AGG_FAILED ? c->errmsg : "";
	}
	return c->phase == MCN_AGG_FAILED ? c->err : MCN_OK;
}

const uint8_t *
mcn_agg_coord_query_id(const mcn_agg_coord *c)
{
	return c->qid;
}

void
mcn_agg_coord_stats(const mcn_agg_coord *c, uint64_t *bytes_out,
    uint64_t *bytes_in, unsigned *rounds)
{
	if (bytes_out != NULL) {
		*bytes_out = c->bytes_out;
	}
	if (bytes_in != NULL) {
		*bytes_in = c->bytes_in;
	}
	if (rounds != NULL) {
		*rounds = c->rounds;
	}
}
