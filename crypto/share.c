/*
 * crypto/share.c - additive secret sharing mod 2^64 and Shamir t-of-n.
 *
 * Additive sharing. For a secret word s and n parties, draw r_0..r_{n-2}
 * uniformly from Z_{2^64} and set r_{n-1} = s - (r_0 + ... + r_{n-2}). Any
 * n - 1 of the r_i are independent and uniform whatever s is (the missing
 * one is a one-time pad), so they reveal nothing; all n sum to s. Sums of
 * shares are shares of sums, which is what the aggregation protocols use.
 *
 * Shamir sharing (A. Shamir, "How to share a secret", CACM 22(11), 1979).
 * Over GF(p), pick f(x) = s + a_1 x + ... + a_{t-1} x^{t-1} with a_j uniform
 * in [0, p), and give party i (1 <= i <= n < p) the value f(i). Any t points
 * determine f, so f(0) = s is recovered by Lagrange interpolation at 0:
 *
 *     s = sum_j y_j L_j(0),   L_j(0) = prod_{m != j} x_m / (x_m - x_j)
 *       = N * sum_j y_j / D_j  with  N = prod_m x_m,
 *                                    D_j = x_j * prod_{m != j} (x_m - x_j).
 *
 * so one inversion per share and no division by a secret value. With t - 1
 * points every secret is equally likely (perfect secrecy). The a_j are
 * uniform, so f may have degree < t - 1; that is part of the uniform
 * distribution and not a weakness.
 *
 * Evaluation is Horner's rule run over all n points at once, one
 * coefficient at a time from the top, so split draws each a_j, folds it into
 * every share and wipes it: no coefficient array is kept and nothing is
 * allocated outside GMP.
 *
 * Secret: s, the a_j, every y_i, and the running Horner and Lagrange sums.
 * Public: p, t, n, the indices and hence N, D_j and their inverses.
 * Shamir has no integrity: a wrong y_j silently gives a wrong s. Callers
 * that face active adversaries need verifiable sharing (Feldman/Pedersen
 * commitments) or t + 1 shares and a consistency check on top.
 *
 * Timing: GMP's mpz arithmetic is not constant-time, so operand sizes of
 * secret values can show in timing. The node's threat model is
 * honest-but-curious peers over a network, which do not observe per-call
 * timing of these local steps; mpn_sec_* would be the way to harden it.
 */
#include "crypto/share.h"

#include <string.h>

#include "crypto/mem.h"

/* ---- additive ------------------------------------------------------------ */

void
mcn_u64_vec_add(uint64_t *acc, const uint64_t *x, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		acc[i] += x[i];
	}
}

void
mcn_u64_vec_sub(uint64_t *acc, const uint64_t *x, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		acc[i] -= x[i];
	}
}

mcn_err
mcn_additive_split(uint64_t *const *shares, const uint64_t *secret, size_t len,
    unsigned nparties, mcn_rng *rng)
{
	uint64_t *last;
	mcn_err rv;

	if (nparties < 2 || len > SIZE_MAX / sizeof(uint64_t)) {
		return MCN_EINVAL;
	}
	MCN_MUST(shares != NULL && rng != NULL);
	if (len == 0) {
		return MCN_OK;
	}
	MCN_MUST(secret != NULL);
	last = shares[nparties - 1];
	/* The random shares first: secret may live in `last`. */
	for (unsigned i = 0; i + 1 < nparties; i++) {
		rv = mcn_rng_bytes(rng, shares[i], len * sizeof(uint64_t));
		if (rv != MCN_OK) {
			for (unsigned j = 0; j <= i; j++) {
				mcn_wipe(shares[j], len * sizeof(uint64_t));
			}
			return rv;
		}
	}
	if (last != secret) {
		memcpy(last, secret, len * sizeof(uint64_t));
	}
	for (unsigned i = 0; i + 1 < nparties; i++) {
		mcn_u64_vec_sub(last, shares[i], len);
	}
	return MCN_OK;
}

void
mcn_additive_combine(uint64_t *out, const uint64_t *const *shares, size_t len,
    unsigned nparties)
{
	/* Element by element so that out may be any one of the shares. */
	for (size_t k = 0; k < len; k++) {
		uint64_t s = 0;
		for (unsigned i = 0; i < nparties; i++) {
			s += shares[i][k];
		}
		out[k] = s;
	}
}

/* ---- Shamir -------------------------------------------------------------- */

unsigned
mcn_shamir_max_parties(void)
{
	return MCN_SHAMIR_MAX_PARTIES;
}

void
mcn_shamir_prime_default(mpz_t out)
{
	/*
	 * 2^521 - 1, the Mersenne prime M521 (Robinson, 1952; the field of
	 * NIST P-521). Chosen over 2^255 - 19 because the values mcn shares
	 * with Shamir are 32-byte X25519 keys and 256-bit seeds (Bonawitz et
	 * al. share both for dropout recovery), which may exceed 2^255 - 19;
	 * under M521 any 64-byte string fits, so callers never reduce or
	 * reject a key. The cost is 66-byte shares instead of 32.
	 */
	mpz_set_ui(out, 1);
	mpz_mul_2exp(out, out, 521);
	mpz_sub_ui(out, out, 1);
}

/* 1 if 0 <= x < prime. */
static int
shr_in_field(const mpz_t x, const mpz_t prime)
{
	return mpz_sgn(x) >= 0 && mpz_cmp(x, prime) < 0;
}

static mcn_err
shr_check_params(unsigned t, unsigned n, const mpz_t prime)
{
	if (t < 1 || t > n || n > MCN_SHAMIR_MAX_PARTIES ||
	    mpz_cmp_ui(prime, n) <= 0) {
		return MCN_EINVAL;
	}
	return MCN_OK;
}

/* One Horner step at every point: ys[i] = ys[i] * (i+1) + c mod prime. */
static void
shr_horner_step(mpz_t *ys, unsigned n, const mpz_t c, const mpz_t prime)
{
	for (unsigned i = 0; i < n; i++) {
		mpz_mul_ui(ys[i], ys[i], (unsigned long)i + 1);
		mpz_add(ys[i], ys[i], c);
		mpz_mod(ys[i], ys[i], prime);
	}
}

static void
shr_set_all(mpz_t *ys, unsigned n, const mpz_t c)
{
	for (unsigned i = 0; i < n; i++) {
		mpz_set(ys[i], c);
	}
}

mcn_err
mcn_shamir_split(mpz_t *ys, const mpz_t secret, unsigned t, unsigned n,
    const mpz_t prime, mcn_rng *rng)
{
	mpz_t s, c;
	mcn_err rv;

	if ((rv = shr_check_params(t, n, prime)) != MCN_OK) {
		return rv;
	}
	if (!shr_in_field(secret, prime)) {
		return MCN_EINVAL;
	}
	MCN_MUST(ys != NULL && rng != NULL);
	/* s: secret may be one of the ys, which Horner overwrites first. */
	mpz_init_set(s, secret);
	mpz_init(c);
	if (t == 1) {
		shr_set_all(ys, n, s);
		rv = MCN_OK;
		goto out;
	}
	if ((rv = mcn_rng_mpz_below(rng, c, prime)) != MCN_OK) { /* a_{t-1} */
		goto out;
	}
	shr_set_all(ys, n, c);
	for (unsigned j = t - 2; j >= 1; j--) { /* a_j */
		if ((rv = mcn_rng_mpz_below(rng, c, prime)) != MCN_OK) {
			goto out;
		}
		shr_horner_step(ys, n, c, prime);
	}
	shr_horner_step(ys, n, s, prime); /* a_0 */
	rv = MCN_OK;
out:
	if (rv != MCN_OK) {
		/* No partial polynomial survives; an aliased secret is kept. */
		for (unsigned i = 0; i < n; i++) {
			mcn_mpz_wipe(ys[i]);
			if (ys[i] == secret) {
				mpz_set(ys[i], s);
			}
		}
	}
	mcn_mpz_clear_secret(s, c, NULL);
	return rv;
}

mcn_err
mcn_shamir_split_poly(mpz_t *ys, const mpz_t *coeffs, unsigned t, unsigned n,
    const mpz_t prime)
{
	mcn_err rv;

	if ((rv = shr_check_params(t, n, prime)) != MCN_OK) {
		return rv;
	}
	MCN_MUST(ys != NULL && coeffs != NULL);
	for (unsigned j = 0; j < t; j++) {
		if (!shr_in_field(coeffs[j], prime)) {
			return MCN_EINVAL;
		}
	}
	shr_set_all(ys, n, coeffs[t - 1]);
	for (unsigned j = t - 1; j-- > 0;) {
		shr_horner_step(ys, n, coeffs[j], prime);
	}
	return MCN_OK;
}

/* Entry-by-entry validation of the k shares; see the header for the order. */
static mcn_err
shr_check_shares(const uint32_t *index, const mpz_t *ys, unsigned k,
    const mpz_t prime)
{
	for (unsigned j = 0; j < k; j++) {
		if (index[j] == 0 || mpz_cmp_ui(prime, index[j]) <= 0) {
			return MCN_EPARTY;
		}
		if (!shr_in_field(ys[j], prime)) {
			return MCN_EINVAL;
		}
		for (unsigned m = 0; m < j; m++) {
			if (index[m] == index[j]) {
				return MCN_EDUPLICATE;
			}
		}
	}
	return MCN_OK;
}

mcn_err
mcn_shamir_combine(mpz_t secret, const uint32_t *index, const mpz_t *ys,
    unsigned k, unsigned t, const mpz_t prime)
{
	mpz_t num, den, inv; /* public: functions of the indices only */
	mpz_t term, acc;     /* secret */
	mcn_err rv;

	if (t == 0 || mpz_cmp_ui(prime, 2) < 0) {
		return MCN_EINVAL;
	}
	if (k < t) {
		return MCN_ETOOFEW;
	}
	MCN_MUST(index != NULL && ys != NULL);
	if ((rv = shr_check_shares(index, ys, k, prime)) != MCN_OK) {
		return rv;
	}
	mpz_inits(num, den, inv, term, acc, NULL);
	mpz_set_ui(num, 1);
	for (unsigned j = 0; j < t; j++) {
		mpz_mul_ui(num, num, index[j]);
		mpz_mod(num, num, prime);
	}
	rv = MCN_OK;
	for (unsigned j = 0; j < t; j++) {
		unsigned long xj = index[j];

		/* D_j = x_j * prod_{m != j} (x_m - x_j) mod p. */
		mpz_set_ui(den, xj);
		for (unsigned m = 0; m < t; m++) {
			unsigned long xm = index[m];
			if (m == j) {
				continue;
			}
			if (xm > xj) {
				mpz_mul_ui(den, den, xm - xj);
			} else {
				mpz_mul_ui(den, den, xj - xm);
				mpz_neg(den, den);
			}
			mpz_mod(den, den, prime);
		}
		/* Distinct indices in [1, p) make D_j nonzero mod p, so a
		 * missing inverse means p is composite. */
		if (mpz_invert(inv, den, prime) == 0) {
			rv = MCN_EINVAL;
			goto out;
		}
		mpz_mul(term, ys[j], inv);
		mpz_add(acc, acc, term);
		mpz_mod(acc, acc, prime);
	}
	mpz_mul(acc, acc, num);
	mpz_mod(acc, acc, prime);
	mpz_set(secret, acc);
out:
	mpz_clears(num, den, inv, NULL);
	mcn_mpz_clear_secret(term, acc, NULL);
	return rv;
}
