/*
 * crypto/box.c - node-to-node authenticated encryption (crypto/box.h).
 *
 * k = HKDF-SHA256(ikm = X25519(a, B), salt = "mcn-box-v1",
 *                 info = be32(|label|) || label || be32(from) || be32(to)
 *                        || A || B)
 * box = N || ChaCha20-Poly1305_k(N, pt)     (RFC 7748, 5869, 8439)
 * with A, B the sender's and recipient's public keys. Both ends compute
 * the same k (X25519 is symmetric; the info orders the keys by direction),
 * and the direction is part of k, so a box from A to B never opens as one
 * from B to A. Static-static: the recipient could forge a box "from" the
 * sender to itself; this authenticates the sender to third parties (the
 * relaying querier), not to the recipient.
 */
#include "crypto/box.h"

#include <string.h>
#include <openssl/evp.h>

#include "crypto/mem.h"

static const uint8_t box_salt[] = { 'm', 'c', 'n', '-', 'b', 'o', 'x', '-',
	'v', '1' };

static void
box_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* The key of the box from (from, from_pub) to (to, to_pub); me is one of
 * the two. */
static mcn_err
box_key(uint8_t key[32], const mcn_x25519_keypair *me,
    const uint8_t peer_pub[MCN_X25519_BYTES], uint32_t from, uint32_t to,
    const uint8_t *from_pub, const uint8_t *to_pub, const uint8_t *label,
    size_t label_len)
{
	uint8_t info[4 + MCN_MASK_LABEL_MAX + 8 + 2 * MCN_X25519_BYTES];
	uint8_t dh[MCN_X25519_BYTES];
	mcn_err rv;

	if (from == to || label_len == 0 || label_len > MCN_MASK_LABEL_MAX) {
		return MCN_EINVAL;
	}
	box_be32(info, (uint32_t)label_len); /* labels never run together */
	memcpy(info + 4, label, label_len);
	box_be32(info + 4 + label_len, from);
	box_be32(info + 4 + label_len + 4, to);
	memcpy(info + 4 + label_len + 8, from_pub, MCN_X25519_BYTES);
	memcpy(info + 4 + label_len + 8 + MCN_X25519_BYTES, to_pub,
	    MCN_X25519_BYTES);
	if ((rv = mcn_x25519_shared(dh, me->priv, peer_pub)) == MCN_OK) {
		rv = mcn_hkdf_sha256(key, 32, dh, sizeof(dh), box_salt,
		    sizeof(box_salt), info,
		    4 + label_len + 8 + 2 * MCN_X25519_BYTES);
	}
	mcn_wipe(dh, sizeof(dh));
	return rv;
}

/* One ChaCha20-Poly1305 pass: enc = 1 seals in -> out and writes tag,
 * enc = 0 opens and checks tag. */
static mcn_err
box_aead(int enc, uint8_t *out, const uint8_t *in, size_t len,
    const uint8_t key[32], const uint8_t nonce[MCN_BOX_NONCE_BYTES],
    uint8_t tag[MCN_BOX_TAG_BYTES])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	mcn_err rv = MCN_ECRYPTO;
	int n = 0;

	if (ctx == NULL) {
		return MCN_ECRYPTO;
	}
	if (EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL,
	        enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
	        MCN_BOX_NONCE_BYTES, NULL) != 1 ||
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) != 1) {
		goto out;
	}
	/* EVP takes int lengths: feed at most 1 GiB at a time. */
	for (size_t off = 0; off < len;) {
		size_t chunk = len - off < ((size_t)1 << 30) ? len - off :
		                                               ((size_t)1 << 30);
		if (EVP_CipherUpdate(ctx, out + off, &n, in + off, (int)chunk) !=
		        1 ||
		    (size_t)n != chunk) {
			goto out;
		}
		off += chunk;
	}
	if (!enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
	                MCN_BOX_TAG_BYTES, tag) != 1) {
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + len, &n) != 1) {
		rv = enc ? MCN_ECRYPTO : MCN_ECIPHERTEXT;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
	               MCN_BOX_TAG_BYTES, tag) != 1) {
		goto out;
	}
	rv = MCN_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return rv;
}

mcn_err
mcn_box_seal(uint8_t *out, const uint8_t *pt, size_t ptlen,
    const mcn_x25519_keypair *me, uint32_t my_id,
    const uint8_t peer_pub[MCN_X25519_BYTES], uint32_t peer_id,
    const uint8_t *label, size_t label_len, mcn_rng *rng)
{
	uint8_t key[32];
	mcn_err rv;

	MCN_MUST(out != NULL && me != NULL && peer_pub != NULL && rng != NULL);
	MCN_MUST(pt != NULL || ptlen == 0);
	if (ptlen > MCN_BOX_MAX_PLAIN) {
		return MCN_EINVAL;
	}
	if ((rv = box_key(key, me, peer_pub, my_id, peer_id, me->pub, peer_pub,
	         label, label_len)) != MCN_OK) {
		return rv;
	}
	if ((rv = mcn_rng_bytes(rng, out, MCN_BOX_NONCE_BYTES)) == MCN_OK) {
		rv = box_aead(1, out + MCN_BOX_NONCE_BYTES, pt, ptlen, key, out,
		    out + MCN_BOX_NONCE_BYTES + ptlen);
	}
	mcn_wipe(key, sizeof(key));
	return rv;
}

mcn_err
mcn_box_open(uint8_t *pt, const uint8_t *box, size_t boxlen,
    const mcn_x25519_keypair *me, uint32_t my_id,
    const uint8_t peer_pub[MCN_X25519_BYTES], uint32_t peer_id,
    const uint8_t *label, size_t label_len)
{
	uint8_t key[32], tag[MCN_BOX_TAG_BYTES];
	size_t len;
	mcn_err rv;

	MCN_MUST(box != NULL && me != NULL && peer_pub != NULL);
	if (boxlen < MCN_BOX_OVERHEAD) {
		return MCN_EFORMAT;
	}
	len = boxlen - MCN_BOX_OVERHEAD;
	MCN_MUST(pt != NULL || len == 0);
	if ((rv = box_key(key, me, peer_pub, peer_id, my_id, peer_pub, me->pub,
	         label, label_len)) != MCN_OK) {
		return rv;
	}
	memcpy(tag, box + MCN_BOX_NONCE_BYTES + len, MCN_BOX_TAG_BYTES);
	rv = box_aead(0, pt, box + MCN_BOX_NONCE_BYTES, len, key, box, tag);
	mcn_wipe(key, sizeof(key));
	if (rv != MCN_OK && len > 0) {
		mcn_wipe(pt, len);
	}
	return rv;
}
