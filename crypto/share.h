/*
 * crypto/share.h - secret sharing: additive shares mod 2^64 and Shamir t-of-n.
 *
 * Additive shares split a vector of u64 into nparties vectors that sum to it
 * (mod 2^64); all nparties are needed to recover it, and any nparties - 1 of
 * them are uniformly random. Shamir shares split one integer below a prime
 * so that any t of n shares recover it and t - 1 reveal nothing.
 *
 * Every share and every secret here is secret. Party indices, t, n and the
 * prime are public. None of these functions is a protocol: they do not
 * authenticate shares, so a tampered share goes undetected (see
 * mcn_shamir_combine). Everything is reentrant; nothing here is global.
 */
#ifndef MCN_CRYPTO_SHARE_H
#define MCN_CRYPTO_SHARE_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"
#include "crypto/rng.h"

/* ---- additive shares mod 2^64 -------------------------------------------- */

/* Splits secret[0..len) into nparties share vectors: shares[0..nparties-2]
 * are fresh uniform words from rng, shares[nparties-1] = secret - their sum.
 * shares[i] are caller-owned arrays of len words, pairwise distinct; secret
 * may alias shares[nparties-1] only. MCN_EINVAL if nparties < 2,
 * MCN_ERANDOM/MCN_ECRYPTO if rng fails (shares[0..nparties-2] are then
 * zeroed, shares[nparties-1] untouched). secret and all shares are secret. */
mcn_err mcn_additive_split(uint64_t *const *shares, const uint64_t *secret,
    size_t len, unsigned nparties, mcn_rng *rng) MCN_WUR;

/* out = sum of shares[0..nparties) element-wise, mod 2^64. out may alias
 * any one shares[i] exactly (not a partial overlap). nparties = 0 gives an
 * all-zero out. Cannot fail. Inputs and output are secret. */
void mcn_additive_combine(uint64_t *out, const uint64_t *const *shares,
    size_t len, unsigned nparties);

/* acc[i] += x[i] (resp. -=) mod 2^64 for i < len. x may equal acc. Branch
 * free and data-independent in timing; cannot fail. */
void mcn_u64_vec_add(uint64_t *acc, const uint64_t *x, size_t len);
void mcn_u64_vec_sub(uint64_t *acc, const uint64_t *x, size_t len);

/* ---- Shamir t-of-n over GF(p) -------------------------------------------- */

/* Largest n accepted by mcn_shamir_split; party indices are 1..n. */
#define MCN_SHAMIR_MAX_PARTIES 255u

/* The same limit, for bindings that cannot see macros. */
unsigned mcn_shamir_max_parties(void);

/* Deals a fresh random polynomial f of degree <= t-1 with f(0) = secret and
 * writes ys[i] = f(i+1) mod prime for i < n (party index i+1). ys[0..n) are
 * caller-initialized mpz_t; secret may alias one of them. Requires
 * 1 <= t <= n <= MCN_SHAMIR_MAX_PARTIES, n < prime, 0 <= secret < prime,
 * else MCN_EINVAL; MCN_ERANDOM/MCN_ECRYPTO if rng fails, MCN_ENOMEM only for
 * primes over 8192 bits (the rng's buffer); on error ys are 0 (an aliased
 * secret is kept). prime is public and must be prime (not tested here).
 * The secret, the coefficients (from rng, wiped) and ys are secret. */
mcn_err mcn_shamir_split(mpz_t *ys, const mpz_t secret, unsigned t, unsigned n,
    const mpz_t prime, mcn_rng *rng) MCN_WUR;

/* As mcn_shamir_split but with the polynomial given: f(x) = sum of
 * coeffs[j] x^j for j < t, coeffs[0] being the secret. For known-answer
 * tests and for dealers that draw coefficients themselves. Each coefficient
 * must lie in [0, prime), else MCN_EINVAL; same other checks. ys must not
 * alias coeffs. Inputs and outputs are secret. */
mcn_err mcn_shamir_split_poly(mpz_t *ys, const mpz_t *coeffs, unsigned t,
    unsigned n, const mpz_t prime) MCN_WUR;

/* Recovers secret = f(0) by Lagrange interpolation from k shares
 * (index[j], ys[j]). All k are validated; the first t are interpolated and
 * any further ones are ignored (not cross-checked). MCN_EINVAL if t == 0 or
 * prime < 2, MCN_ETOOFEW if k < t; then entry by entry: MCN_EPARTY for an
 * index 0 or >= prime, MCN_EINVAL for ys[j] outside [0, prime),
 * MCN_EDUPLICATE for an index seen before. prime is not tested for
 * primality; a composite one gives MCN_EINVAL if an inverse is missing.
 * secret may alias any ys[j] and is untouched on error. Shares and result
 * are secret. Shamir alone does not detect a wrong share: it yields a wrong
 * secret, not an error. */
mcn_err mcn_shamir_combine(mpz_t secret, const uint32_t *index, const mpz_t *ys,
    unsigned k, unsigned t, const mpz_t prime) MCN_WUR;

/* Sets out (initialized by the caller) to the default field prime, the
 * Mersenne prime 2^521 - 1: every 512-bit value (two 32-byte keys or seeds,
 * a SHA-512 digest) is below it. Public; cannot fail. */
void mcn_shamir_prime_default(mpz_t out);

#endif
