/*
 * crypto/paillier.h - the Paillier cryptosystem (Paillier, EUROCRYPT 1999)
 * with g = n + 1, CRT decryption, and a fast fixed-base encryption path
 * after Damgård, Jurik and Nielsen ("A generalization of Paillier's
 * public-key system with applications to electronic voting", Int. J. Inf.
 * Secur. 9(6), 2010, section 4: r^n replaced by (h^n)^a mod n^2 with a short
 * random exponent a).
 *
 * Ciphertexts are plain mpz_t values in [1, n^2). Values received from
 * elsewhere MUST pass mcn_paillier_ct_validate() (or come through
 * mcn_paillier_ct_import(), which validates) before any other function sees
 * them; homomorphic operations do not re-validate, so that ct+ct stays a
 * single modular multiplication.
 *
 * Secret inputs: the secret key, plaintexts, and encryption randomness.
 * Public: the public key, ciphertexts, scalars given to ep_mul.
 *
 * Thread safety: keys are immutable after creation (and after
 * mcn_paillier_precompute); every function taking const keys may run
 * concurrently. Single-element functions are serial; *_vec functions use
 * OpenMP with one generator per thread from an mcn_rng_pool.
 */
#ifndef MCN_CRYPTO_PAILLIER_H
#define MCN_CRYPTO_PAILLIER_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"
#include "crypto/rng.h"

#define MCN_PAILLIER_BITS_DEFAULT 2048
#define MCN_PAILLIER_BITS_MIN 256 /* small keys exist for tests only */
#define MCN_PAILLIER_BITS_MAX 8192
#define MCN_PAILLIER_FP_BYTES 32 /* SHA-256 key fingerprint */
#define MCN_PAILLIER_CT_FP_BYTES \
	16                     /* fingerprint prefix carried per ciphertext */
#define MCN_PAILLIER_COMB_H 12 /* default comb: blocks per exponent */
#define MCN_PAILLIER_COMB_V 8  /* default comb: sub-blocks per block */

typedef struct mcn_paillier_pk mcn_paillier_pk; /* opaque, public */
typedef struct mcn_paillier_sk
    mcn_paillier_sk; /* opaque, secret: p, q, CRT values */

/* Generates a key with an n of exactly `bits` bits (a multiple of 16,
 * 256..8192; use 2048, 3072 or 4096 in production) from two primes of
 * bits/2 bits drawn by OpenSSL's CSPRNG. rng draws the DJN base h. Caller frees both outputs.
 * MCN_EINVAL for bad bits, MCN_ECRYPTO, MCN_ENOMEM. */
mcn_err mcn_paillier_keygen(mcn_paillier_pk **pk, mcn_paillier_sk **sk,
    unsigned bits, mcn_rng *rng) MCN_WUR;

/* Builds the key pair from given primes p, q (secret; for known-answer tests
 * and for the threshold dealer). h (the DJN base, public, in Z*_n) may be
 * NULL, then it is drawn from rng. MCN_EKEY if p, q are not distinct odd
 * probable primes of equal size with gcd(pq, (p-1)(q-1)) = 1 and |pq| =
 * 2|p| a multiple of 16 (the serialized layout). */
mcn_err mcn_paillier_from_primes(mcn_paillier_pk **pk, mcn_paillier_sk **sk,
    const mpz_t p, const mpz_t q, const mpz_t h, mcn_rng *rng) MCN_WUR;

/* A public key from n and hs = h^n mod n^2 (public values). Validates n odd,
 * of supported size, composite, not a perfect square, no prime factor below
 * 2^16, and hs a unit of Z*_{n^2} other than 1 (that hs is an n-th power
 * cannot be checked without the factors: a bad hs from the dealer breaks
 * decryption of fast-path ciphertexts). MCN_EKEY on failure. */
mcn_err mcn_paillier_pk_new(mcn_paillier_pk **pk, const mpz_t n,
    const mpz_t hs) MCN_WUR;

/* Frees, wiping every limb. NULL is a no-op. */
void mcn_paillier_pk_free(mcn_paillier_pk *pk);
void mcn_paillier_sk_free(mcn_paillier_sk *sk);

/* The public key a secret key belongs to (borrowed; lives as long as sk). */
const mcn_paillier_pk *mcn_paillier_sk_pk(const mcn_paillier_sk *sk);

/* Accessors (borrowed, read-only). */
unsigned mcn_paillier_bits(const mcn_paillier_pk *pk);
mpz_srcptr mcn_paillier_n(const mcn_paillier_pk *pk);
mpz_srcptr mcn_paillier_n2(const mcn_paillier_pk *pk);
mpz_srcptr mcn_paillier_hs(const mcn_paillier_pk *pk);
const uint8_t *mcn_paillier_fingerprint(const mcn_paillier_pk *pk);
/* Plaintext bits that are always < n: bitlength(n) - 1 (for packing). */
unsigned mcn_paillier_plaintext_bits(const mcn_paillier_pk *pk);

/* Builds the Lim-Lee fixed-base comb table for the fast encryption path:
 * h blocks (1..14) and v sub-blocks (1..32), v * (2^h - 1) entries of
 * |n^2| bits. Defaults h = 12, v = 8: 16 MiB for a 2048-bit key, 24 MiB at
 * 3072, 32 MiB at 4096; ~96 multiplications per 2048-bit encryption.
 * Without a table, mcn_paillier_encrypt uses constant-time mpz_powm_sec.
 * Not thread-safe with respect to other uses of the same pk. */
mcn_err mcn_paillier_precompute(mcn_paillier_pk *pk, unsigned h,
    unsigned v) MCN_WUR;
int mcn_paillier_has_table(const mcn_paillier_pk *pk);
/* Frees the table (back to the constant-time path). */
void mcn_paillier_drop_table(mcn_paillier_pk *pk);
size_t mcn_paillier_table_bytes(const mcn_paillier_pk *pk);

/* Exponent length of the DJN short exponent a (bits). */
unsigned mcn_paillier_djn_exp_bits(const mcn_paillier_pk *pk);

/* c = (1 + m n) * hs^a mod n^2, a uniform in [0, 2^(bits/2)) from rng.
 * m must be in [0, n) (secret). Table lookups are indexed by the digits of
 * the secret a: see the README on cache-timing; without a table the path is
 * mpz_powm_sec (constant time). MCN_EPLAINTEXT, MCN_ERANDOM. */
mcn_err mcn_paillier_encrypt(const mcn_paillier_pk *pk, mpz_t c, const mpz_t m,
    mcn_rng *rng) MCN_WUR;

/* Textbook encryption c = (1 + m n) * r^n mod n^2 with r uniform in Z*_n. */
mcn_err mcn_paillier_encrypt_plain(const mcn_paillier_pk *pk, mpz_t c,
    const mpz_t m, mcn_rng *rng) MCN_WUR;

/* Encryption with caller-given randomness r in Z*_n (known-answer tests). */
mcn_err mcn_paillier_encrypt_r(const mcn_paillier_pk *pk, mpz_t c,
    const mpz_t m, const mpz_t r) MCN_WUR;

/* CRT decryption (constant-time exponentiations). Validates c first:
 * MCN_ECIPHERTEXT. m receives the plaintext in [0, n) (secret). */
mcn_err mcn_paillier_decrypt(const mcn_paillier_sk *sk, mpz_t m,
    const mpz_t c) MCN_WUR;

/* MCN_OK iff 0 < c < n^2 and gcd(c, n) = 1, else MCN_ECIPHERTEXT. */
mcn_err mcn_paillier_ct_validate(const mcn_paillier_pk *pk,
    const mpz_t c) MCN_WUR;

/* Homomorphic operations on validated ciphertexts; out may alias inputs.
 *  ee_add: E(a)*E(b) -> E(a+b)      ep_add: E(a), m -> E(a+m)   (m mod n)
 *  ep_mul: E(a), k -> E(k*a)        (k public, any sign; reduced mod n)
 *  rerandomize: E(a) -> E(a) with fresh randomness. */
void mcn_paillier_ee_add(const mcn_paillier_pk *pk, mpz_t out, const mpz_t a,
    const mpz_t b);
void mcn_paillier_ep_add(const mcn_paillier_pk *pk, mpz_t out, const mpz_t a,
    const mpz_t m);
void mcn_paillier_ep_mul(const mcn_paillier_pk *pk, mpz_t out, const mpz_t a,
    const mpz_t k);
mcn_err mcn_paillier_rerandomize(const mcn_paillier_pk *pk, mpz_t out,
    const mpz_t a, mcn_rng *rng) MCN_WUR;

/* Batch versions, OpenMP-parallel over elements (serial without OpenMP).
 * pool supplies one generator per thread (mcn_rng_pool_size >= threads).
 * On error some outputs may be written; the first error is returned. */
mcn_err mcn_paillier_encrypt_vec(const mcn_paillier_pk *pk, mpz_t *c,
    const mpz_t *m, size_t count, mcn_rng_pool *pool) MCN_WUR;
mcn_err mcn_paillier_decrypt_vec(const mcn_paillier_sk *sk, mpz_t *m,
    const mpz_t *c, size_t count) MCN_WUR;
void mcn_paillier_ee_add_vec(const mcn_paillier_pk *pk, mpz_t *out,
    const mpz_t *a, const mpz_t *b, size_t count);
mcn_err mcn_paillier_ct_validate_vec(const mcn_paillier_pk *pk, const mpz_t *c,
    size_t count) MCN_WUR;

/*
 * Serialization (big-endian, versioned). Every object starts with a 8-byte
 * header: magic "MCN" 0x01 (format version 1), a type byte, three zero bytes.
 *
 *  public key  (type 0x01): u16 bits, u16 0, fingerprint[32],
 *                           n[L], hs[2L]                 L = bits/8
 *  secret key  (type 0x02): u16 bits, u16 0, fingerprint[32],
 *                           p[L/2], q[L/2], h[L]
 *  ciphertext  (type 0x10): fingerprint[0..16), c[2L]
 *
 * fingerprint = SHA-256("mcn/paillier/pk/v1" || u16 bits || n[L]).
 * Import checks magic, version, type, lengths, the fingerprint, and the
 * values (MCN_EFORMAT, MCN_EVERSION, MCN_EKEY, MCN_EKEYMISMATCH,
 * MCN_ECIPHERTEXT). *_len functions give the exact sizes.
 */
#define MCN_SER_HDR_BYTES 8
size_t mcn_paillier_pk_len(const mcn_paillier_pk *pk);
size_t mcn_paillier_sk_len(const mcn_paillier_sk *sk);
size_t mcn_paillier_ct_len(const mcn_paillier_pk *pk);

/* Write exactly *_len bytes into buf (buflen must be >= that): MCN_EINVAL. */
mcn_err mcn_paillier_pk_export(const mcn_paillier_pk *pk, uint8_t *buf,
    size_t buflen) MCN_WUR;
mcn_err mcn_paillier_sk_export(const mcn_paillier_sk *sk, uint8_t *buf,
    size_t buflen) MCN_WUR;
mcn_err mcn_paillier_ct_export(const mcn_paillier_pk *pk, uint8_t *buf,
    size_t buflen, const mpz_t c) MCN_WUR;

mcn_err mcn_paillier_pk_import(mcn_paillier_pk **pk, const uint8_t *buf,
    size_t len) MCN_WUR;
mcn_err mcn_paillier_sk_import(mcn_paillier_sk **sk, const uint8_t *buf,
    size_t len) MCN_WUR;
/* Rejects a ciphertext made under another key (MCN_EKEYMISMATCH) and one
 * outside Z*_{n^2} (MCN_ECIPHERTEXT). */
mcn_err mcn_paillier_ct_import(const mcn_paillier_pk *pk, mpz_t c,
    const uint8_t *buf, size_t len) MCN_WUR;

/* Helpers shared with the threshold module: fixed-length big-endian. */
void mcn_mpz_to_bytes(uint8_t *out, size_t len, const mpz_t x);
void mcn_mpz_from_bytes(mpz_t x, const uint8_t *in, size_t len);

/* Generates a (safe when `safe`) prime of exactly `bits` bits with OpenSSL's
 * CSPRNG (BN_generate_prime_ex2). Secret. */
mcn_err mcn_prime_generate(mpz_t p, unsigned bits, int safe) MCN_WUR;

#endif
