/*
 * crypto/mask.h - pairwise zero-sum masks for secure aggregation.
 *
 * Each party holds an X25519 key pair and knows every peer's public key and
 * id. For a query label, each pair derives a common seed (X25519 + HKDF),
 * expands it with ChaCha20 into a vector, and the lower id adds it while
 * the higher id subtracts it. A party sends input + mask; the masks of all
 * parties sum to zero mod 2^64, so the server learns only the sum
 * (Bonawitz et al., CCS 2017, without the dropout recovery layer).
 *
 * Secret: private keys, shared secrets, seeds, masks. Public: public keys,
 * ids, labels. All functions are reentrant and thread-safe (no global
 * state beyond OpenSSL's own).
 */
#ifndef MCN_CRYPTO_MASK_H
#define MCN_CRYPTO_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"
#include "crypto/rng.h"

#define MCN_X25519_BYTES 32
#define MCN_MASK_SEED_BYTES 32

/* Longest label accepted by mcn_mask_pair_seed / mcn_mask_zero_sum. */
#define MCN_MASK_LABEL_MAX 512u

/* Longest HKDF info accepted by mcn_hkdf_sha256: the smallest cap any
 * OpenSSL has enforced (1.1.1: 1024; 3.0.0-3.0.7: 2048; later: 32 KiB), so
 * results do not depend on the installed version. */
#define MCN_HKDF_INFO_MAX 1024u

/* Longest PRG output: the 32-bit ChaCha20 block counter of RFC 8439 allows
 * 2^32 blocks of 64 bytes, i.e. 2^35 words. */
#define MCN_PRG_MAX_WORDS ((uint64_t)1 << 35)

/* An X25519 key pair (RFC 7748). priv is secret: wipe the whole struct with
 * mcn_wipe(kp, sizeof(*kp)) when done. priv is stored unclamped, as drawn;
 * X25519 clamps it on every use. */
typedef struct {
	uint8_t pub[MCN_X25519_BYTES];
	uint8_t priv[MCN_X25519_BYTES];
} mcn_x25519_keypair;

/* Fills kp with a fresh key pair, priv drawn from rng (production: the
 * system rng). MCN_ERANDOM if rng fails, MCN_ECRYPTO if OpenSSL fails; on
 * error kp is zeroed. */
mcn_err mcn_x25519_keygen(mcn_x25519_keypair *kp, mcn_rng *rng) MCN_WUR;

/* pub = X25519(priv, 9), the public key of priv (secret input). pub may not
 * overlap priv. MCN_ECRYPTO if OpenSSL fails (pub is then zeroed). */
mcn_err mcn_x25519_public(uint8_t pub[MCN_X25519_BYTES],
    const uint8_t priv[MCN_X25519_BYTES]) MCN_WUR;

/* out = X25519(priv, peer_pub), the raw Diffie-Hellman secret (secret:
 * never use it as a key directly; hash it, as mcn_mask_pair_seed does).
 * MCN_EKEY if the result is all zero (peer_pub of small order) or the
 * derivation fails; MCN_ECRYPTO for other OpenSSL failures. On error out
 * is zeroed. */
mcn_err mcn_x25519_shared(uint8_t out[MCN_X25519_BYTES],
    const uint8_t priv[MCN_X25519_BYTES],
    const uint8_t peer_pub[MCN_X25519_BYTES]) MCN_WUR;

/* HKDF-SHA256 (RFC 5869): out[0..outlen) = Expand(Extract(salt, ikm), info).
 * saltlen = 0 means the RFC's default all-zero salt; salt/info may be NULL
 * when their length is 0. MCN_EINVAL unless 1 <= outlen <= 255 * 32,
 * ikmlen >= 1 and infolen <= MCN_HKDF_INFO_MAX; MCN_ECRYPTO if OpenSSL
 * fails (out then zeroed). ikm and out are secret. */
mcn_err mcn_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *ikm,
    size_t ikmlen, const uint8_t *salt, size_t saltlen, const uint8_t *info,
    size_t infolen) MCN_WUR;

/* The seed shared by parties my_id and peer_id for one label:
 * HKDF-SHA256(ikm = X25519(me->priv, peer_pub), salt = "mcn-mask-v1",
 * info = label || be32(lo id) || be32(hi id) || pub(lo) || pub(hi)). Both
 * ends get the same seed; a new label gives an independent one. me->pub
 * must be me->priv's public key. MCN_EINVAL if my_id == peer_id or
 * label_len > MCN_MASK_LABEL_MAX, MCN_EKEY for a small-order peer_pub,
 * MCN_ECRYPTO if OpenSSL fails; seed is zeroed on error. Seed is secret. */
mcn_err mcn_mask_pair_seed(uint8_t seed[MCN_MASK_SEED_BYTES],
    const mcn_x25519_keypair *me, uint32_t my_id,
    const uint8_t peer_pub[MCN_X25519_BYTES], uint32_t peer_id,
    const uint8_t *label, size_t label_len) MCN_WUR;

/* out[0..len) = the ChaCha20 (RFC 8439) keystream under key seed, nonce 0,
 * block counter from 0, read as little-endian u64 words. Deterministic.
 * MCN_EINVAL if len > MCN_PRG_MAX_WORDS, MCN_ECRYPTO if OpenSSL fails (out
 * then zeroed). Allocates nothing of its own. seed and out are secret. */
mcn_err mcn_prg_u64(uint64_t *out, size_t len,
    const uint8_t seed[MCN_MASK_SEED_BYTES]) MCN_WUR;

/* mask = sum over peers with id > my_id of PRG(seed) minus the sum over
 * peers with id < my_id, mod 2^64, seed = mcn_mask_pair_seed(...label).
 * If every party of a set calls this with all the others as peers, the
 * masks sum to 0. peer_pubs[i] belongs to peer_ids[i]. MCN_EDUPLICATE for
 * a repeated peer id or one equal to my_id; MCN_EINVAL for a label or len
 * too long; MCN_EKEY/MCN_ECRYPTO as in mcn_mask_pair_seed; MCN_ENOMEM.
 * On error mask is zeroed. mask is secret (it hides the input). */
mcn_err mcn_mask_zero_sum(uint64_t *mask, size_t len,
    const mcn_x25519_keypair *me, uint32_t my_id, const uint32_t *peer_ids,
    const uint8_t (*peer_pubs)[MCN_X25519_BYTES], size_t npeers,
    const uint8_t *label, size_t label_len) MCN_WUR;

#endif
