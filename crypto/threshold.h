/*
 * crypto/threshold.h - threshold Paillier, t-of-n, s = 1, after Shoup
 * ("Practical threshold signatures", EUROCRYPT 2000) as adapted to Paillier
 * by Damgård and Jurik ("A generalisation, a simplification and some
 * applications of Paillier's probabilistic public-key system", PKC 2001,
 * section 4; and Fouque–Poupard–Stern, FC 2000).
 *
 * A trusted dealer (the consortium key ceremony) generates n = p q from safe
 * primes, Shamir-shares the decryption exponent d among `parties` parties
 * with threshold t, publishes verification keys, and forgets p, q and d.
 * Each party's partial decryption carries a non-interactive proof
 * (Fiat–Shamir) that it used its share; anyone can verify a partial, and
 * any t valid partials combine to the plaintext.
 *
 * Secret: a party's share s_i and the proof randomness. Public: everything
 * in mcn_tpaillier_pub, partial decryptions and proofs, ciphertexts.
 * Objects are immutable after creation; functions on const objects are
 * thread-safe. Party indices are 1..parties.
 */
#ifndef MCN_CRYPTO_THRESHOLD_H
#define MCN_CRYPTO_THRESHOLD_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"
#include "crypto/paillier.h"
#include "crypto/rng.h"

#define MCN_TPAILLIER_MAX_PARTIES 128
#define MCN_TPAILLIER_HASH_BITS 256 /* Fiat–Shamir challenge length */

typedef struct mcn_tpaillier_pub mcn_tpaillier_pub;     /* public, opaque */
typedef struct mcn_tpaillier_share mcn_tpaillier_share; /* secret, opaque */

/* A partial decryption of c by party `index` with its proof (e, z):
 * ci = c^(2 Delta s_i) mod n^2, e = H(...), z = r + e Delta s_i. Public.
 * Initialize with mcn_tpaillier_partial_init, clear with _clear. */
typedef struct {
	uint32_t index;
	mpz_t ci;
	mpz_t e;
	mpz_t z;
} mcn_tpaillier_partial;

void mcn_tpaillier_partial_init(mcn_tpaillier_partial *p);
void mcn_tpaillier_partial_clear(mcn_tpaillier_partial *p);

/* The dealer: generates a key of `bits` bits from two safe primes (OpenSSL
 * CSPRNG), and `parties` shares with threshold t (1 <= t <= parties <=
 * MCN_TPAILLIER_MAX_PARTIES; bits a multiple of 16). shares[] receives `parties` objects, party
 * i + 1 in shares[i]. rng draws the polynomial, v and h. The dealer's
 * secrets are wiped before return. Caller frees all outputs.
 * MCN_EINVAL, MCN_ECRYPTO, MCN_ENOMEM. */
mcn_err mcn_tpaillier_deal(mcn_tpaillier_pub **pub,
    mcn_tpaillier_share **shares, unsigned bits, unsigned t, unsigned parties,
    mcn_rng *rng) MCN_WUR;

/* Same from given safe primes p = 2p'+1, q = 2q'+1 (tests and checked-in
 * test keys). MCN_EKEY if they are not distinct safe primes of equal size. */
mcn_err mcn_tpaillier_deal_from_primes(mcn_tpaillier_pub **pub,
    mcn_tpaillier_share **shares, const mpz_t p, const mpz_t q, unsigned t,
    unsigned parties, mcn_rng *rng) MCN_WUR;

void mcn_tpaillier_pub_free(mcn_tpaillier_pub *pub);    /* NULL ok */
void mcn_tpaillier_share_free(mcn_tpaillier_share *sh); /* wipes; NULL ok */

/* Borrowed views. The pk inside pub may be given a fast-encryption table
 * with mcn_paillier_precompute(mcn_tpaillier_pk_mut(pub), ...). */
const mcn_paillier_pk *mcn_tpaillier_pk(const mcn_tpaillier_pub *pub);
mcn_paillier_pk *mcn_tpaillier_pk_mut(mcn_tpaillier_pub *pub);
unsigned mcn_tpaillier_threshold(const mcn_tpaillier_pub *pub);
unsigned mcn_tpaillier_parties(const mcn_tpaillier_pub *pub);
uint32_t mcn_tpaillier_share_index(const mcn_tpaillier_share *sh);

/* Party sh computes its partial decryption of c with a proof of correct
 * decryption. Validates c (MCN_ECIPHERTEXT) and that sh carries pub's key
 * fingerprint (MCN_EKEYMISMATCH; a share of another dealing of the same n
 * is only caught by verification, or at share import against v_i).
 * Secret input: sh. */
mcn_err mcn_tpaillier_partial_decrypt(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_share *sh, mcn_tpaillier_partial *out, const mpz_t c,
    mcn_rng *rng) MCN_WUR;

/* Verifies one partial for ciphertext c: MCN_OK, MCN_EPARTY (index out of
 * range), MCN_ECIPHERTEXT (c or ci outside Z*_{n^2}), MCN_EPROOF. */
mcn_err mcn_tpaillier_verify(const mcn_tpaillier_pub *pub, const mpz_t c,
    const mcn_tpaillier_partial *part) MCN_WUR;

/* Combines partials of c into the plaintext m in [0, n). Every partial is
 * verified unless `verified` is nonzero (the caller already did); invalid
 * ones are skipped and their indices written to bad[] (room for k entries)
 * with *nbad set, so every tampered partial is named (all k are examined)
 * and none can block decryption. The first t valid ones are used.
 * MCN_EDUPLICATE if two *valid* partials share an index, MCN_ETOOFEW if
 * fewer than t valid partials remain, MCN_ECIPHERTEXT for a bad c.
 * bad/nbad may be NULL. */
mcn_err mcn_tpaillier_combine(const mcn_tpaillier_pub *pub, mpz_t m,
    const mpz_t c, const mcn_tpaillier_partial *parts, size_t k, int verified,
    uint32_t *bad, size_t *nbad) MCN_WUR;

/* Batch: party sh partial-decrypts count ciphertexts (OpenMP). */
mcn_err mcn_tpaillier_partial_decrypt_vec(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_share *sh, mcn_tpaillier_partial *out, const mpz_t *c,
    size_t count, mcn_rng_pool *pool) MCN_WUR;

/* Batch verify: status[i] receives the result for parts[i] against c[i]
 * (the same result mcn_tpaillier_verify gives). Returns MCN_OK if all
 * verified, else the first error; MCN_ENOMEM (every status set to it) if
 * its working memory cannot be allocated. Proofs that share a ciphertext,
 * and all proofs for the common base v, use Lim-Lee fixed-base tables
 * (crypto/fbexp.h) when that is cheaper: up to 8 MiB of tables per call,
 * about 3x faster for t parties x several ciphertexts. */
mcn_err mcn_tpaillier_verify_vec(const mcn_tpaillier_pub *pub, const mpz_t *c,
    const mcn_tpaillier_partial *parts, size_t count, mcn_err *status) MCN_WUR;

/*
 * Serialization (big-endian; 8-byte header "MCN" 0x01, type, 0, 0, 0):
 *  pub     (type 0x03): u16 bits, u16 t, u16 parties, u16 0,
 *                       fingerprint[32], n[L], hs[2L], v[2L],
 *                       v_1..v_parties [2L each]
 *  share   (type 0x04): u16 bits, u16 t, u16 parties, u16 index,
 *                       fingerprint[32], s_i[2L]
 *  partial (type 0x11): fingerprint[0..16), u16 index, u16 0,
 *                       ci[2L], e[32], z[Z]   Z: see mcn_tpaillier_partial_len
 * Import checks layout, sizes, fingerprints and ranges; a share import
 * also checks v^(Delta s_i) == v_i against pub (MCN_EKEY) so a corrupted
 * or foreign share file is caught at load, not at the first query.
 */
size_t mcn_tpaillier_pub_len(const mcn_tpaillier_pub *pub);
size_t mcn_tpaillier_share_len(const mcn_tpaillier_pub *pub);
size_t mcn_tpaillier_partial_len(const mcn_tpaillier_pub *pub);

mcn_err mcn_tpaillier_pub_export(const mcn_tpaillier_pub *pub, uint8_t *buf,
    size_t buflen) MCN_WUR;
mcn_err mcn_tpaillier_pub_import(mcn_tpaillier_pub **pub, const uint8_t *buf,
    size_t len) MCN_WUR;
mcn_err mcn_tpaillier_share_export(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_share *sh, uint8_t *buf, size_t buflen) MCN_WUR;
mcn_err mcn_tpaillier_share_import(const mcn_tpaillier_pub *pub,
    mcn_tpaillier_share **sh, const uint8_t *buf, size_t len) MCN_WUR;
mcn_err mcn_tpaillier_partial_export(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_partial *part, uint8_t *buf, size_t buflen) MCN_WUR;
mcn_err mcn_tpaillier_partial_import(const mcn_tpaillier_pub *pub,
    mcn_tpaillier_partial *part, const uint8_t *buf, size_t len) MCN_WUR;

#endif
