/*
 * crypto/mask.c - pairwise zero-sum masks (Bonawitz et al., "Practical
 * Secure Aggregation for Privacy-Preserving Machine Learning", CCS 2017).
 *
 * Parties u with ids i_u and X25519 key pairs (s_u, P_u = X25519(s_u, 9);
 * RFC 7748). For every pair u != v the Diffie-Hellman value
 * X25519(s_u, P_v) = X25519(s_v, P_u) is known to u and v only. It is
 * hashed into a 32-byte seed (HKDF-SHA256, RFC 5869):
 *
 *   seed_uv = HKDF(ikm  = X25519(s_u, P_v),
 *                  salt = "mcn-mask-v1",
 *                  info = label || be32(lo) || be32(hi) || P_lo || P_hi)
 *
 * where lo/hi are the smaller/larger of the two ids. The info is the same
 * at both ends (ordered by id), binds the seed to both identities and keys,
 * and the per-query label makes masks of different queries independent, so
 * one long-term key pair serves many queries. The label is the only
 * variable-length field and comes first, followed by exactly 72 bytes, so
 * the encoding is unambiguous.
 *
 * The seed is expanded by ChaCha20 (RFC 8439; key = seed, nonce 0, counter
 * from 0) into words PRG(seed_uv) in Z_{2^64}^len, and
 *
 *   mask_u = sum_{v: i_v > i_u} PRG(seed_uv) - sum_{v: i_v < i_u} PRG(seed_uv).
 *
 * Each pair's vector is added once (by the lower id) and subtracted once
 * (by the higher id), so sum_u mask_u = 0 and sum_u (x_u + mask_u) =
 * sum_u x_u. To anyone without a seed, x_u + mask_u is indistinguishable
 * from uniform as long as u has at least one honest peer (ChaCha20 as a
 * PRG, X25519 under the gap-DH assumption, HKDF as a random oracle).
 *
 * Not covered here: dropout recovery (Bonawitz's second mask b_u and the
 * Shamir shares of b_u and s_u) and authentication of public keys; both are
 * the protocol layer's job. A party that drops out after others have masked
 * leaves unmatched vectors and the sum is garbage.
 *
 * Secret: private keys, X25519 outputs, seeds, keystream buffers and masks;
 * each temporary is wiped after its last use (OpenSSL cleanses its own key
 * objects and cipher contexts when freed). Public: ids, public keys, label.
 */
#include "crypto/mask.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/mem.h"
#include "crypto/share.h"

/* The HKDF salt of mcn_mask_pair_seed: a version tag, without its NUL. */
static const uint8_t msk_salt[] = { 'm', 'c', 'n', '-', 'm', 'a', 's', 'k', '-',
	'v', '1' };

/* Keystream is produced in chunks of this many words: 64 KiB stays in L2
 * between generating it and adding it into the mask. */
#define MSK_CHUNK_WORDS 8192u

/* ---- X25519 -------------------------------------------------------------- */

mcn_err
mcn_x25519_public(uint8_t pub[MCN_X25519_BYTES],
    const uint8_t priv[MCN_X25519_BYTES])
{
	EVP_PKEY *k;
	size_t len = MCN_X25519_BYTES;
	mcn_err rv = MCN_ECRYPTO;

	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    MCN_X25519_BYTES);
	if (k != NULL && EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 &&
	    len == MCN_X25519_BYTES) {
		rv = MCN_OK;
	}
	EVP_PKEY_free(k); /* cleanses its copy of priv */
	if (rv != MCN_OK) {
		mcn_wipe(pub, MCN_X25519_BYTES);
	}
	return rv;
}

mcn_err
mcn_x25519_keygen(mcn_x25519_keypair *kp, mcn_rng *rng)
{
	mcn_err rv;

	MCN_MUST(kp != NULL && rng != NULL);
	if ((rv = mcn_rng_bytes(rng, kp->priv, sizeof(kp->priv))) != MCN_OK ||
	    (rv = mcn_x25519_public(kp->pub, kp->priv)) != MCN_OK) {
		mcn_wipe(kp, sizeof(*kp));
	}
	return rv;
}

mcn_err
mcn_x25519_shared(uint8_t out[MCN_X25519_BYTES],
    const uint8_t priv[MCN_X25519_BYTES],
    const uint8_t peer_pub[MCN_X25519_BYTES])
{
	EVP_PKEY *sk = NULL, *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = MCN_X25519_BYTES;
	uint8_t nz = 0;
	mcn_err rv = MCN_ECRYPTO;

	/* A rejected peer key is an expected outcome, not a library fault:
	 * keep OpenSSL's error queue as the caller left it. */
	ERR_set_mark();
	sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    MCN_X25519_BYTES);
	pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub,
	    MCN_X25519_BYTES);
	if (sk == NULL || pk == NULL ||
	    (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, sk, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1) {
		goto out;
	}
	rv = MCN_EKEY;
	/* OpenSSL itself refuses an all-zero X25519 output (RFC 7748 6.1);
	 * the explicit check below does not rely on that. */
	if (EVP_PKEY_derive_set_peer(ctx, pk) != 1 ||
	    EVP_PKEY_derive(ctx, out, &len) != 1 || len != MCN_X25519_BYTES) {
		goto out;
	}
	for (size_t i = 0; i < MCN_X25519_BYTES; i++) {
		nz |= out[i]; /* no early exit: constant time */
	}
	if (nz != 0) {
		rv = MCN_OK;
	}
out:
	if (rv != MCN_OK) {
		mcn_wipe(out, MCN_X25519_BYTES);
	}
	ERR_pop_to_mark();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(sk);
	return rv;
}

/* ---- HKDF ---------------------------------------------------------------- */

mcn_err
mcn_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *ikm, size_t ikmlen,
    const uint8_t *salt, size_t saltlen, const uint8_t *info, size_t infolen)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	mcn_err rv = MCN_ECRYPTO;

	if (outlen < 1 || outlen > 255 * 32 || ikmlen < 1 ||
	    infolen > MCN_HKDF_INFO_MAX) {
		return MCN_EINVAL;
	}
	MCN_MUST(out != NULL && ikm != NULL);
	MCN_MUST(salt != NULL || saltlen == 0);
	MCN_MUST(info != NULL || infolen == 0);
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)ikm, ikmlen);
	/* An absent salt is HashLen zero bytes (RFC 5869 2.2). */
	if (saltlen > 0) {
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
		    (void *)salt, saltlen);
	}
	if (infolen > 0) {
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
		    (void *)info, infolen);
	}
	*p = OSSL_PARAM_construct_end();
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) != NULL &&
	    (kctx = EVP_KDF_CTX_new(kdf)) != NULL &&
	    EVP_KDF_derive(kctx, out, outlen, params) == 1) {
		rv = MCN_OK;
	} else {
		mcn_wipe(out, outlen);
	}
	EVP_KDF_CTX_free(kctx); /* cleanses its copy of ikm and the PRK */
	EVP_KDF_free(kdf);
	return rv;
}

/* ---- pair seeds ---------------------------------------------------------- */

static void
msk_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

mcn_err
mcn_mask_pair_seed(uint8_t seed[MCN_MASK_SEED_BYTES],
    const mcn_x25519_keypair *me, uint32_t my_id,
    const uint8_t peer_pub[MCN_X25519_BYTES], uint32_t peer_id,
    const uint8_t *label, size_t label_len)
{
	uint8_t info[MCN_MASK_LABEL_MAX + 8 + 2 * MCN_X25519_BYTES];
	uint8_t dh[MCN_X25519_BYTES];
	const uint8_t *lo_pub, *hi_pub;
	uint8_t *q = info;
	mcn_err rv;

	if (my_id == peer_id || label_len > MCN_MASK_LABEL_MAX) {
		mcn_wipe(seed, MCN_MASK_SEED_BYTES);
		return MCN_EINVAL;
	}
	MCN_MUST(me != NULL && peer_pub != NULL);
	MCN_MUST(label != NULL || label_len == 0);
	if (my_id < peer_id) {
		lo_pub = me->pub;
		hi_pub = peer_pub;
	} else {
		lo_pub = peer_pub;
		hi_pub = me->pub;
	}
	if (label_len > 0) {
		memcpy(q, label, label_len);
		q += label_len;
	}
	msk_put_be32(q, my_id < peer_id ? my_id : peer_id);
	msk_put_be32(q + 4, my_id < peer_id ? peer_id : my_id);
	q += 8;
	memcpy(q, lo_pub, MCN_X25519_BYTES);
	memcpy(q + MCN_X25519_BYTES, hi_pub, MCN_X25519_BYTES);
	q += 2 * MCN_X25519_BYTES;

	if ((rv = mcn_x25519_shared(dh, me->priv, peer_pub)) == MCN_OK) {
		rv = mcn_hkdf_sha256(seed, MCN_MASK_SEED_BYTES, dh, sizeof(dh),
		    msk_salt, sizeof(msk_salt), info, (size_t)(q - info));
	}
	if (rv != MCN_OK) {
		mcn_wipe(seed, MCN_MASK_SEED_BYTES);
	}
	mcn_wipe(dh, sizeof(dh));
	return rv;
}

/* ---- PRG ----------------------------------------------------------------- */

/* (Re)keys ctx for the keystream of seed from block 0. */
static mcn_err
msk_prg_start(EVP_CIPHER_CTX *ctx, const uint8_t seed[MCN_MASK_SEED_BYTES])
{
	/* OpenSSL's ChaCha20 IV: 32-bit LE block counter || 96-bit nonce. */
	static const uint8_t iv[16] = { 0 };

	if (EVP_EncryptInit_ex(ctx, EVP_chacha20(), NULL, seed, iv) != 1) {
		return MCN_ECRYPTO;
	}
	return MCN_OK;
}

/* The next len words of ctx's keystream into out: zero, then encrypt in
 * place (OpenSSL allows exact in == out), so there is no second buffer. */
static mcn_err
msk_prg_fill(EVP_CIPHER_CTX *ctx, uint64_t *out, size_t len)
{
	uint8_t *p = (uint8_t *)out;
	size_t left = len * sizeof(uint64_t);

	while (left > 0) {
		/* Chunks of 64 KiB: an int for OpenSSL, and the zeroed span
		 * is still in L1/L2 when the cipher reads it back. */
		size_t c = left < ((size_t)1 << 16) ? left : ((size_t)1 << 16);
		int outl = 0;

		memset(p, 0, c);
		if (EVP_EncryptUpdate(ctx, p, &outl, p, (int)c) != 1 ||
		    (size_t)outl != c) {
			return MCN_ECRYPTO;
		}
		p += c;
		left -= c;
	}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (size_t i = 0; i < len; i++) {
		out[i] = __builtin_bswap64(out[i]);
	}
#endif
	return MCN_OK;
}

mcn_err
mcn_prg_u64(uint64_t *out, size_t len, const uint8_t seed[MCN_MASK_SEED_BYTES])
{
	EVP_CIPHER_CTX *ctx;
	mcn_err rv;

	if ((uint64_t)len > MCN_PRG_MAX_WORDS) {
		return MCN_EINVAL;
	}
	MCN_MUST(seed != NULL && (out != NULL || len == 0));
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		mcn_wipe(out, len * sizeof(uint64_t));
		return MCN_ECRYPTO;
	}
	if ((rv = msk_prg_start(ctx, seed)) == MCN_OK) {
		rv = msk_prg_fill(ctx, out, len);
	}
	if (rv != MCN_OK) {
		mcn_wipe(out, len * sizeof(uint64_t));
	}
	EVP_CIPHER_CTX_free(ctx); /* cleanses the key schedule */
	return rv;
}

/* ---- zero-sum masks ------------------------------------------------------ */

mcn_err
mcn_mask_zero_sum(uint64_t *mask, size_t len, const mcn_x25519_keypair *me,
    uint32_t my_id, const uint32_t *peer_ids,
    const uint8_t (*peer_pubs)[MCN_X25519_BYTES], size_t npeers,
    const uint8_t *label, size_t label_len)
{
	uint8_t seed[MCN_MASK_SEED_BYTES];
	EVP_CIPHER_CTX *ctx = NULL;
	uint64_t *ks = NULL; /* keystream chunk: secret */
	size_t chunk = len < MSK_CHUNK_WORDS ? len : MSK_CHUNK_WORDS;
	mcn_err rv;

	if ((uint64_t)len > MCN_PRG_MAX_WORDS ||
	    label_len > MCN_MASK_LABEL_MAX) {
		return MCN_EINVAL;
	}
	MCN_MUST(me != NULL && (mask != NULL || len == 0));
	MCN_MUST(npeers == 0 || (peer_ids != NULL && peer_pubs != NULL));
	for (size_t i = 0; i < npeers; i++) {
		if (peer_ids[i] == my_id) {
			return MCN_EDUPLICATE;
		}
		for (size_t j = 0; j < i; j++) {
			if (peer_ids[j] == peer_ids[i]) {
				return MCN_EDUPLICATE;
			}
		}
	}
	if (len > 0) {
		memset(mask, 0, len * sizeof(uint64_t));
	}
	rv = MCN_ENOMEM;
	if ((ks = mcn_alloc(chunk * sizeof(uint64_t))) == NULL) {
		goto out;
	}
	rv = MCN_ECRYPTO;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		goto out;
	}
	for (size_t i = 0; i < npeers; i++) {
		int add = peer_ids[i] > my_id;

		rv = mcn_mask_pair_seed(seed, me, my_id, peer_pubs[i],
		    peer_ids[i], label, label_len);
		if (rv != MCN_OK) {
			goto out;
		}
		rv = msk_prg_start(ctx, seed);
		mcn_wipe(seed, sizeof(seed));
		if (rv != MCN_OK) {
			goto out;
		}
		for (size_t off = 0; off < len; off += chunk) {
			size_t c = len - off < chunk ? len - off : chunk;

			if ((rv = msk_prg_fill(ctx, ks, c)) != MCN_OK) {
				goto out;
			}
			if (add) {
				mcn_u64_vec_add(mask + off, ks, c);
			} else {
				mcn_u64_vec_sub(mask + off, ks, c);
			}
		}
	}
	rv = MCN_OK;
out:
	if (rv != MCN_OK) {
		mcn_wipe(mask, len * sizeof(uint64_t));
	}
	mcn_wipe(seed, sizeof(seed));
	mcn_free(ks, chunk * sizeof(uint64_t));
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}
