/*
 * crypto/box.h - authenticated encryption from one consortium node to
 * another under their long-term X25519 keys (the mask keys).
 *
 * Construction (static-static Diffie-Hellman + AEAD, as NaCl's crypto_box
 * but with standard IETF parts): key = HKDF-SHA256 (RFC 5869) of the
 * X25519 (RFC 7748) shared secret, salt "mcn-box-v1", info = be32(label
 * length) || label || be32(sender id) || be32(recipient id) || pub(sender)
 * || pub(recipient);
 * box = nonce (12 random bytes) || ChaCha20-Poly1305 (RFC 8439) of the
 * plaintext with that nonce and no additional data. The key depends on the
 * direction and the label, so a box cannot be replayed as one for another
 * query, purpose or pair; only the two parties can make or open it, so a
 * box that opens was made by the sender (or by the recipient itself).
 *
 * Secret: private keys, plaintexts. Reentrant and thread-safe.
 */
#ifndef MCN_CRYPTO_BOX_H
#define MCN_CRYPTO_BOX_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"
#include "crypto/mask.h"
#include "crypto/rng.h"

#define MCN_BOX_NONCE_BYTES 12
#define MCN_BOX_TAG_BYTES 16
#define MCN_BOX_OVERHEAD (MCN_BOX_NONCE_BYTES + MCN_BOX_TAG_BYTES)
#define MCN_BOX_MAX_PLAIN ((size_t)1 << 30) /* plaintext bytes */

/* Seals pt[0..ptlen) from party my_id (key pair me) to party peer_id
 * (public key peer_pub) under label (1..MCN_MASK_LABEL_MAX bytes). out
 * must hold ptlen + MCN_BOX_OVERHEAD bytes; the nonce comes from rng.
 * MCN_EINVAL (ids equal, ptlen or label out of range), MCN_EKEY
 * (small-order peer key), MCN_ERANDOM, MCN_ECRYPTO. */
mcn_err mcn_box_seal(uint8_t *out, const uint8_t *pt, size_t ptlen,
    const mcn_x25519_keypair *me, uint32_t my_id,
    const uint8_t peer_pub[MCN_X25519_BYTES], uint32_t peer_id,
    const uint8_t *label, size_t label_len, mcn_rng *rng) MCN_WUR;

/* Opens box[0..boxlen) sent by peer_id to me (my_id) under label into pt
 * (boxlen - MCN_BOX_OVERHEAD bytes). MCN_EFORMAT if boxlen <
 * MCN_BOX_OVERHEAD, MCN_ECIPHERTEXT if the tag does not verify (wrong
 * sender, recipient, label, or tampered: pt is then zeroed), MCN_EINVAL,
 * MCN_EKEY, MCN_ECRYPTO. */
mcn_err mcn_box_open(uint8_t *pt, const uint8_t *box, size_t boxlen,
    const mcn_x25519_keypair *me, uint32_t my_id,
    const uint8_t peer_pub[MCN_X25519_BYTES], uint32_t peer_id,
    const uint8_t *label, size_t label_len) MCN_WUR;

#endif
