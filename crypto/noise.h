/*
 * crypto/noise.h - distributed discrete-Laplace noise, one share per node.
 *
 * The mechanism. The geometric mechanism of Ghosh, Roughgarden and
 * Sundararajan (2009, "Universally utility-maximizing privacy mechanisms")
 * adds to an integer query of L1 sensitivity D a discrete Laplace (two-sided
 * geometric) variable Z with
 *     P(Z = z) = (1 - a) / (1 + a) * a^|z|,   a = exp(-1/scale),
 * and is epsilon-DP for scale = D / epsilon (mcn_noise_scale).
 *
 * Sharing it. Z = G1 - G2 with G1, G2 iid Geometric(1 - a) on {0, 1, ...},
 * which is the negative binomial NB(r = 1, a). The negative binomial is
 * infinitely divisible: NB(1, a) is the sum of m iid NB(1/m, a) (Polya)
 * variables. So if each of m parties adds
 *     X_i = P1_i - P2_i,   P1_i, P2_i iid NB(1/m, a),
 * the sum X_1 + ... + X_m is exactly discrete Laplace(scale), and no party
 * knows more than its own share (which alone is far from enough noise).
 * (Goryczka and Xiong, "A comprehensive comparison of multiparty secure
 * additions with differential privacy", 2015, use the same decomposition.)
 *
 * Truncation. A share is drawn again while |X_i| > B = mcn_noise_share_bound
 * (scale), so every share, and hence every sum of k shares, is bounded
 * (|sum| <= k * B) and fits a packed slot. B is set from the tail of the
 * full discrete Laplace, P(|Z| > B) < 2^-60. A share's tail is lighter:
 * P(|X_i| > t) / P(|Z| > t) <= 1 (computed exactly for 1/m = 1/2, 1/10,
 * 1/1024 at several scales and t up to 40 scale; it falls like t^(1/m-1)),
 * and even the crude symmetrization bound (Z = X_i + an independent
 * symmetric variable, so P(|Z| > t) >= P(|X_i| > t) / 2) gives < 2^-59.
 * So each truncated share is within total variation 2^-59 of the exact
 * one, and the released value is (epsilon, delta)-DP with delta <=
 * (1 + e^epsilon) m 2^-59, which we treat as zero.
 *
 * Determinism. The noise of a node for a query is a function of (node
 * secret key, label) only, where the caller's label names the normalized
 * query and the data version: asking the same question again returns the
 * same noise, so averaging repeated answers gains nothing. The generator is
 * ChaCha20 (RFC 8439) keyed by HKDF-SHA256 (RFC 5869) of the key and label.
 * All real arithmetic is IEEE-754 binary64 +, -, *, / together with the
 * portable mcn_noise_exp/mcn_noise_log below (no libm), so one (key, label)
 * gives the same samples on every IEEE-754 platform, provided the compiler
 * does not contract a*b+c into fused multiply-adds (x86-64 without -march
 * flags never does; elsewhere build crypto/ with -ffp-contract=off).
 *
 * Secrets: the key, the generator state and every sample (a share reveals
 * part of the noise). None of these functions prints or logs. One generator
 * must not be used by two threads at once; distinct generators may.
 */
#ifndef MCN_CRYPTO_NOISE_H
#define MCN_CRYPTO_NOISE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"

#define MCN_NOISE_KEY_BYTES 32
#define MCN_NOISE_MAX_LABEL 4096u
#define MCN_NOISE_MAX_SHARES 1024u
/* Largest accepted noise scale (sensitivity / epsilon). */
#define MCN_NOISE_MAX_SCALE 1e15
/* Largest Poisson mean mcn_noise_poisson accepts (2^62). */
#define MCN_NOISE_MAX_POISSON 4611686018427387904.0
/* The cap of mcn_noise_share_bound. */
#define MCN_NOISE_BOUND_CAP (INT64_MAX / 2)

typedef struct mcn_noise mcn_noise;

/*
 * A noise generator for (key, label): its ChaCha20 key is
 *     HKDF-SHA256(ikm = key, salt = "mcn-noise-v1",
 *                 info = SHA-256(label))
 * (the label is hashed first because OpenSSL's HKDF caps info at 1024
 * bytes). key: 32 secret bytes, not retained. label: labellen bytes, may be
 * NULL only when labellen == 0. *out is NULL on failure.
 * MCN_EINVAL (NULL key, NULL label with labellen > 0, labellen >
 * MCN_NOISE_MAX_LABEL), MCN_ENOMEM, MCN_ECRYPTO (OpenSSL failed).
 */
mcn_err mcn_noise_new(mcn_noise **out, const uint8_t key[32],
    const uint8_t *label, size_t labellen) MCN_WUR;

/* Wipes the generator state, then frees it. NULL is a no-op. */
void mcn_noise_free(mcn_noise *g);

/*
 * One party's share of discrete-Laplace(scale) noise split among nshares
 * parties: *out = P1 - P2 with P1, P2 iid NB(1/nshares, exp(-1/scale)),
 * redrawn while |*out| > mcn_noise_share_bound(scale). The sum of the
 * nshares parties' shares is discrete Laplace(scale) (see the top comment).
 * scale: finite, 0 < scale <= MCN_NOISE_MAX_SCALE; nshares: 1 ..
 * MCN_NOISE_MAX_SHARES; else MCN_EINVAL and *out = 0. MCN_ECRYPTO if the
 * keystream fails (*out = 0). The result is secret.
 */
mcn_err mcn_noise_dlap_share(mcn_noise *g, double scale, unsigned nshares,
    int64_t *out) MCN_WUR;

/*
 * out[i] = a share (as mcn_noise_dlap_share) for scales[i], i = 0 .. n-1,
 * drawn in index order from g; scales[i] == 0 gives out[i] = 0 and draws
 * nothing. Every scale is checked before anything is drawn: on MCN_EINVAL
 * (a bad scale or nshares) or MCN_ECRYPTO out[0..n) is all zero. out must
 * not alias scales. n == 0 is allowed.
 */
mcn_err mcn_noise_dlap_shares(mcn_noise *g, const double *scales, size_t n,
    unsigned nshares, int64_t *out) MCN_WUR;

/*
 * B(scale): an integer with P(|share| > B) < 2^-60 for every nshares.
 * The tail of a share is lighter than the full discrete Laplace's (see the
 * top comment), so B is taken from P(|Z| > B) = 2 a^(B+1) / (1 + a) <
 * 2^-60: B = ceil(scale * (61 ln 2 - ln(1 + a)) * (1 + 2^-40)) + 1, the
 * slack covering rounding. B >= 1 for scale > 0, non-decreasing in scale,
 * about 60 ln 2 * scale = 41.6 scale for scale >= 10, capped at
 * MCN_NOISE_BOUND_CAP (never reached for scale <= MCN_NOISE_MAX_SCALE).
 * Since mcn_noise_dlap_share redraws beyond B, |share| <= B always, so the
 * sum of any k shares satisfies |sum| <= k * B (the caller must check that
 * k * B does not overflow its type). scale == 0 (no noise) gives 0; a
 * negative, NaN, infinite or > MCN_NOISE_MAX_SCALE scale gives the cap.
 * Pure function; thread-safe.
 */
int64_t mcn_noise_share_bound(double scale);

/*
 * scale = sensitivity / epsilon. sensitivity: finite, > 0; epsilon: finite,
 * > 0; the quotient must be <= MCN_NOISE_MAX_SCALE. Else MCN_EINVAL and
 * *scale = 0.
 */
mcn_err mcn_noise_scale(double sensitivity, double epsilon,
    double *scale) MCN_WUR;

/* ---- lower-level samplers (exposed for tests) ---------------------------
 * Each consumes g's stream; each returns MCN_ECRYPTO if the keystream fails
 * and, for the parameter checks stated, MCN_EINVAL. Outputs are secret. */

/* *u uniform in the open interval (0, 1): a nonzero 53-bit keystream word k
 * as k * 2^-53 (a zero word is skipped). */
mcn_err mcn_noise_uniform(mcn_noise *g, double *u) MCN_WUR;

/* *out ~ Gamma(shape, scale) (mean shape * scale): Marsaglia and Tsang
 * (2000), with Gamma(s) = Gamma(s + 1) * U^(1/s) for s < 1. shape and scale
 * finite and > 0, else MCN_EINVAL. May underflow to 0 for tiny shapes. */
mcn_err mcn_noise_gamma(mcn_noise *g, double shape, double scale,
    double *out) MCN_WUR;

/* *out ~ Poisson(lambda), exactly (up to double rounding) for every lambda
 * in [0, MCN_NOISE_MAX_POISSON]: inversion below 10, Hoermann's PTRS from
 * 10 to 2^48, and above that a sum of independent Poisson(lambda / j) parts
 * (the Poisson family is closed under sums). MCN_EINVAL for a negative or
 * NaN lambda, MCN_ERANGE for a larger one (*out = 0). */
mcn_err mcn_noise_poisson(mcn_noise *g, double lambda, int64_t *out) MCN_WUR;

/* ---- portable elementary functions ---------------------------------------
 * exp and natural log built from IEEE-754 binary64 +, -, *, / only (so the
 * samplers give identical results on every platform; see top comment).
 * Accurate to a few ulp; exp overflows to +inf above ~709.78 and underflows
 * to 0 below ~-745.1; log(0) = -inf, log(x < 0) = log(NaN) = NaN.
 * Pure functions; thread-safe. */
double mcn_noise_exp(double x);
double mcn_noise_log(double x);

#endif
