/*
 * crypto/noise.c - deterministic samplers for distributed discrete-Laplace
 * noise (see crypto/noise.h for the mechanism and its privacy argument).
 *
 * The chain, from bytes to a share:
 *
 *   key, label --HKDF-SHA256--> ChaCha20 key --keystream--> 64-bit words
 *   word --(top 53 bits, nonzero) * 2^-53--> U in (0, 1)
 *   U, U --Marsaglia polar method (1964)--> N(0, 1)
 *   N, U --Marsaglia and Tsang (2000)--> Gamma(s), s >= 1;
 *          Gamma(s) = Gamma(s + 1) * U^(1/s) for s < 1 (their section 6)
 *   lambda = Gamma(1/m) * a/(1 - a) --Poisson(lambda)--> P ~ NB(1/m, a)
 *          (the negative binomial is the gamma mixture of Poissons)
 *   share = P1 - P2, redrawn while |share| > B(scale)
 *
 * Poisson(lambda): inversion of the cdf for lambda < 10; Hoermann's PTRS
 * ("The transformed rejection method for generating Poisson random
 * variables", Insurance: Mathematics and Economics 12, 1993) for
 * 10 <= lambda <= 2^48, whose acceptance test needs log(lambda^k e^-lambda
 * / k!) without cancellation for lambda up to 2^48: we use Loader's
 * deviance bd0 and Stirling-series error term ("Fast and accurate
 * computation of binomial probabilities", 2000). Above 2^48 (only reached
 * for scales near MCN_NOISE_MAX_SCALE) lambda is split into j equal parts
 * <= 2^48 and the j independent Poisson draws are summed in int64, which is
 * exact, instead of a normal approximation.
 *
 * Determinism across machines: libm's exp/log differ between C libraries in
 * the last ulp, which would change a sample now and then. So this file
 * computes exp, log, sqrt and expm1 itself from IEEE-754 +, -, *, / (each
 * correctly rounded by the standard), range reduction by the exact
 * Cody-Waite split of ln 2 (as in fdlibm) and Taylor/atanh series. They are
 * accurate to a few ulp, which is all the samplers need; being the same
 * everywhere is what matters. (This also keeps mcn_crypto free of -lm.)
 *
 * Secrets: the generator state (ChaCha20 key schedule and buffered
 * keystream) is wiped by mcn_noise_free; samples are the caller's secrets.
 * Timing depends on the samples (rejection loops); the noise is combined
 * with the node's data before anyone sees it, and the network only ever
 * sees ciphertexts, so we accept that, like every DP sampler we know of.
 */
#include "crypto/noise.h"

#include <string.h>
#include <openssl/evp.h>

#include "crypto/mask.h"
#include "crypto/mem.h"

#define NZ_BUF_BYTES 512
#define NZ_PTRS_MAX 281474976710656.0 /* 2^48 */
#define NZ_SALT "mcn-noise-v1"

struct mcn_noise {
	EVP_CIPHER_CTX *ctx;       /* ChaCha20, key from HKDF (secret) */
	size_t pos;                /* next unread byte of buf */
	uint8_t buf[NZ_BUF_BYTES]; /* buffered keystream (secret) */
};

/* ---- portable elementary functions -------------------------------------- */

/* ln 2 = NZ_LN2_HI + NZ_LN2_LO; NZ_LN2_HI has 32 significant bits, so
 * k * NZ_LN2_HI is exact for |k| < 2^21 (fdlibm's split). */
static const double NZ_LN2_HI = 6.93147180369123816490e-01;
static const double NZ_LN2_LO = 1.90821492927058770002e-10;
static const double NZ_INV_LN2 = 1.44269504088896338700e+00;
static const double NZ_SQRT2 = 1.41421356237309514547e+00;

static uint64_t
nz_bits(double x)
{
	uint64_t b;

	memcpy(&b, &x, sizeof(b));
	return b;
}

static double
nz_from_bits(uint64_t b)
{
	double x;

	memcpy(&x, &b, sizeof(x));
	return x;
}

static int
nz_isfinite(double x)
{
	return x == x && x - x == 0.0;
}

/* 2^k for -1022 <= k <= 1023. */
static double
nz_pow2(int k)
{
	return nz_from_bits((uint64_t)(k + 1023) << 52);
}

double
mcn_noise_exp(double x)
{
	/* 1/j! for j = 0 .. 13: the Taylor remainder of exp(r) for
	 * |r| <= ln2/2 after degree 13 is below 2^-61. */
	static const double c[14] = { 1.0, 1.0, 1.0 / 2.0, 1.0 / 6.0,
		1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0,
		1.0 / 40320.0, 1.0 / 362880.0, 1.0 / 3628800.0,
		1.0 / 39916800.0, 1.0 / 479001600.0, 1.0 / 6227020800.0 };
	double t, r, p;
	int k;

	if (x != x) {
		return x;
	}
	if (x > 709.782712893384) {
		return __builtin_inf();
	}
	if (x < -745.1332191019412) {
		return 0.0;
	}
	t = x * NZ_INV_LN2;
	k = (int)(t >= 0 ? t + 0.5 : t - 0.5);
	/* x = k ln2 + r, |r| <= ~0.347, computed exactly up to LN2_LO's
	 * rounding (Cody and Waite). */
	r = (x - k * NZ_LN2_HI) - k * NZ_LN2_LO;
	p = c[13];
	for (int j = 12; j >= 0; j--) {
		p = p * r + c[j];
	}
	if (k > 1023) {
		p *= 2.0;
		k--;
	} else if (k < -1022) {
		p *= 0x1p-54;
		k += 54;
	}
	return p * nz_pow2(k);
}

double
mcn_noise_log(double x)
{
	uint64_t b;
	double m, f, s, z, tser, lm;
	int e = 0;

	if (x != x || x < 0) {
		return __builtin_nan("");
	}
	if (x == 0) {
		return -__builtin_inf();
	}
	if (!nz_isfinite(x)) {
		return x;
	}
	b = nz_bits(x);
	if ((b >> 52) == 0) { /* subnormal: scale into the normal range */
		x *= 0x1p54;
		e = -54;
		b = nz_bits(x);
	}
	e += (int)((b >> 52) & 0x7ff) - 1023;
	m = nz_from_bits((b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL);
	if (m > NZ_SQRT2) {
		m *= 0.5;
		e++;
	}
	/* m in [0.707, 1.415); f = m - 1 is exact (Sterbenz). With
	 * s = f / (2 + f), log(1 + f) = 2 atanh(s) = 2s + 2s T(s^2) where
	 * T(z) = z/3 + z^2/5 + ...; since 2s = f - s f this is
	 * f - s (f - 2T), which keeps full relative accuracy near m = 1. */
	f = m - 1.0;
	s = f / (2.0 + f);
	z = s * s; /* <= 0.0295: 12 terms leave < 2^-60 */
	tser = 1.0 / 25.0;
	for (int j = 11; j >= 1; j--) {
		tser = tser * z + 1.0 / (2 * j + 1);
	}
	tser *= z;
	lm = f - s * (f - 2.0 * tser);
	return e * NZ_LN2_HI + (lm + e * NZ_LN2_LO);
}

/* sqrt(x) for finite x > 0: exp(log(x) / 2) refined by two Newton steps. */
static double
nz_sqrt(double x)
{
	double y = mcn_noise_exp(0.5 * mcn_noise_log(x));

	y = 0.5 * (y + x / y);
	return 0.5 * (y + x / y);
}

/* exp(x) - 1 for x >= 0, accurate for small x too (Taylor below 0.5). */
static double
nz_expm1(double x)
{
	double sum, term;

	if (x >= 0.5) {
		return mcn_noise_exp(x) - 1.0;
	}
	sum = term = x;
	for (int j = 2; j < 40 && term > sum * 0x1p-60; j++) {
		term *= x / j;
		sum += term;
	}
	return sum;
}

/* floor(x) for |x| < 2^62, as an int64. */
static int64_t
nz_floor(double x)
{
	int64_t t = (int64_t)x; /* truncates toward zero */

	return (double)t > x ? t - 1 : t;
}

/* ---- the generator ------------------------------------------------------ */

mcn_err
mcn_noise_new(mcn_noise **out, const uint8_t key[32], const uint8_t *label,
    size_t labellen)
{
	static const uint8_t iv[16] = { 0 }; /* counter 0, nonce 0 */
	uint8_t lhash[32], ckey[32];
	unsigned int hlen = 0;
	mcn_noise *g = NULL;
	mcn_err rv = MCN_EINVAL;

	MCN_MUST(out != NULL);
	*out = NULL;
	if (key == NULL || (label == NULL && labellen > 0) ||
	    labellen > MCN_NOISE_MAX_LABEL) {
		return MCN_EINVAL;
	}
	if ((g = mcn_zalloc(sizeof(*g))) == NULL) {
		return MCN_ENOMEM;
	}
	g->pos = NZ_BUF_BYTES; /* empty */
	rv = MCN_ECRYPTO;
	if (EVP_Digest(labellen > 0 ? label : (const uint8_t *)"", labellen,
	        lhash, &hlen, EVP_sha256(), NULL) != 1 ||
	    hlen != sizeof(lhash)) {
		goto out;
	}
	if ((rv = mcn_hkdf_sha256(ckey, sizeof(ckey), key, MCN_NOISE_KEY_BYTES,
	         (const uint8_t *)NZ_SALT, sizeof(NZ_SALT) - 1, lhash,
	         sizeof(lhash))) != MCN_OK) {
		goto out;
	}
	rv = MCN_ECRYPTO;
	if ((g->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(g->ctx, EVP_chacha20(), NULL, ckey, iv) != 1) {
		goto out;
	}
	*out = g;
	g = NULL;
	rv = MCN_OK;
out:
	mcn_wipe(ckey, sizeof(ckey));
	mcn_wipe(lhash, sizeof(lhash));
	mcn_noise_free(g);
	return rv;
}

void
mcn_noise_free(mcn_noise *g)
{
	if (g == NULL) {
		return;
	}
	EVP_CIPHER_CTX_free(g->ctx); /* cleanses the key schedule */
	mcn_free(g, sizeof(*g));
}

/* The next 8 keystream bytes as a little-endian word (fixed byte order, so
 * the stream means the same on every machine). */
static mcn_err
nz_u64(mcn_noise *g, uint64_t *w)
{
	uint64_t v = 0;

	if (g->pos + 8 > NZ_BUF_BYTES) {
		int outl = 0;

		memset(g->buf, 0, NZ_BUF_BYTES);
		if (EVP_EncryptUpdate(g->ctx, g->buf, &outl, g->buf,
		        NZ_BUF_BYTES) != 1 ||
		    outl != NZ_BUF_BYTES) {
			mcn_wipe(g->buf, NZ_BUF_BYTES);
			return MCN_ECRYPTO;
		}
		g->pos = 0;
	}
	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | g->buf[g->pos + (size_t)i];
	}
	mcn_wipe(g->buf + g->pos, 8); /* consumed bytes do not linger */
	g->pos += 8;
	*w = v;
	return MCN_OK;
}

mcn_err
mcn_noise_uniform(mcn_noise *g, double *u)
{
	uint64_t w;
	mcn_err rv;

	MCN_MUST(g != NULL && u != NULL);
	do {
		if ((rv = nz_u64(g, &w)) != MCN_OK) {
			*u = 0;
			return rv;
		}
		w >>= 11;
	} while (w == 0);
	*u = (double)w * 0x1p-53; /* exact: w < 2^53 */
	return MCN_OK;
}

/* A standard normal by Marsaglia's polar method (Marsaglia and Bray 1964);
 * the second variate of the pair is discarded to keep the state minimal. */
static mcn_err
nz_normal(mcn_noise *g, double *out)
{
	double x, y, s;
	mcn_err rv;

	for (;;) {
		if ((rv = mcn_noise_uniform(g, &x)) != MCN_OK ||
		    (rv = mcn_noise_uniform(g, &y)) != MCN_OK) {
			return rv;
		}
		x = 2.0 * x - 1.0;
		y = 2.0 * y - 1.0;
		s = x * x + y * y;
		if (s < 1.0 && s > 0.0) {
			break;
		}
	}
	*out = x * nz_sqrt(-2.0 * mcn_noise_log(s) / s);
	return MCN_OK;
}

/* Gamma(shape, 1), shape >= 1: Marsaglia and Tsang, "A simple method for
 * generating gamma variables", ACM TOMS 26(3), 2000. */
static mcn_err
nz_gamma_ge1(mcn_noise *g, double shape, double *out)
{
	double d = shape - 1.0 / 3.0, c = 1.0 / nz_sqrt(9.0 * d);
	double x, v, u, x2;
	mcn_err rv;

	for (;;) {
		do {
			if ((rv = nz_normal(g, &x)) != MCN_OK) {
				return rv;
			}
			v = 1.0 + c * x;
		} while (v <= 0.0);
		v = v * v * v;
		if ((rv = mcn_noise_uniform(g, &u)) != MCN_OK) {
			return rv;
		}
		x2 = x * x;
		if (u < 1.0 - 0.0331 * x2 * x2) {
			break; /* the squeeze */
		}
		if (mcn_noise_log(u) <
		    0.5 * x2 + d * (1.0 - v + mcn_noise_log(v))) {
			break;
		}
	}
	*out = d * v;
	return MCN_OK;
}

/* Gamma(shape, 1) for any shape > 0. */
static mcn_err
nz_gamma1(mcn_noise *g, double shape, double *out)
{
	double u;
	mcn_err rv;

	if (shape >= 1.0) {
		return nz_gamma_ge1(g, shape, out);
	}
	/* Gamma(s) = Gamma(s + 1) * U^(1/s) (Marsaglia and Tsang, sec. 6);
	 * U^(1/s) as exp(log(U) / s), which may underflow to 0. */
	if ((rv = nz_gamma_ge1(g, shape + 1.0, out)) != MCN_OK ||
	    (rv = mcn_noise_uniform(g, &u)) != MCN_OK) {
		return rv;
	}
	*out *= mcn_noise_exp(mcn_noise_log(u) / shape);
	return MCN_OK;
}

mcn_err
mcn_noise_gamma(mcn_noise *g, double shape, double scale, double *out)
{
	mcn_err rv;

	MCN_MUST(g != NULL && out != NULL);
	*out = 0;
	if (!nz_isfinite(shape) || !(shape > 0) || !nz_isfinite(scale) ||
	    !(scale > 0)) {
		return MCN_EINVAL;
	}
	if ((rv = nz_gamma1(g, shape, out)) != MCN_OK) {
		*out = 0;
		return rv;
	}
	*out *= scale;
	if (!nz_isfinite(*out)) {
		*out = 0;
		return MCN_ERANGE;
	}
	return MCN_OK;
}

/* Poisson(lambda), 0 <= lambda < 10, by sequential search of the cdf. */
static mcn_err
nz_poisson_inv(mcn_noise *g, double lambda, int64_t *out)
{
	double u, p, cdf, p0 = mcn_noise_exp(-lambda);
	int64_t k;
	mcn_err rv;

	for (;;) {
		if ((rv = mcn_noise_uniform(g, &u)) != MCN_OK) {
			return rv;
		}
		p = cdf = p0;
		/* P(K > 200) < 1e-200 for lambda < 10; the cap only stops a
		 * u above the rounded cdf's limit, which is drawn again. */
		for (k = 0; u > cdf && k < 200; k++) {
			p *= lambda / (double)(k + 1);
			cdf += p;
		}
		if (k < 200) {
			*out = k;
			return MCN_OK;
		}
	}
}

/* Loader's bd0(x, np) = x log(x / np) + np - x, without cancellation when
 * x is near np (the series of x log(x/np) in v = (x - np) / (x + np)). */
static double
nz_bd0(double x, double np)
{
	double v, s, s1, ej;

	if (x - np < 0.1 * (x + np) && np - x < 0.1 * (x + np)) {
		v = (x - np) / (x + np);
		s = (x - np) * v;
		ej = 2.0 * x * v;
		v = v * v;
		for (int j = 1; j < 1000; j++) {
			ej *= v;
			s1 = s + ej / (2 * j + 1);
			if (s1 == s) {
				break;
			}
			s = s1;
		}
		return s;
	}
	return x * mcn_noise_log(x / np) + np - x;
}

/* log of the Poisson(lambda) pmf at the integer k >= 0, lambda >= 10. */
static double
nz_poisson_logpmf(double k, double lambda)
{
	static const double ln_sqrt_2pi = 9.18938533204672741780e-01;
	static const double s1 = 1.0 / 12, s3 = 1.0 / 360, s5 = 1.0 / 1260;
	static const double s7 = 1.0 / 1680, s9 = 1.0 / 1188;
	double fact = 1.0, nn, stirlerr;

	if (k < 30) {
		/* No harmful cancellation: k log(lambda), log k! < 1000. */
		for (int j = 2; j <= (int)k; j++) {
			fact *= j;
		}
		return -lambda + k * mcn_noise_log(lambda) -
		    mcn_noise_log(fact);
	}
	/* log k! = k log k - k + log(2 pi k)/2 + stirlerr(k), and the
	 * Stirling series for stirlerr to 1/k^9 has error < 1e-18 at
	 * k >= 30 (Loader 2000). */
	nn = 1.0 / (k * k);
	stirlerr = (s1 - (s3 - (s5 - (s7 - s9 * nn) * nn) * nn) * nn) / k;
	return -nz_bd0(k, lambda) - ln_sqrt_2pi - 0.5 * mcn_noise_log(k) -
	    stirlerr;
}

/* Poisson(lambda), 10 <= lambda <= 2^48: Hoermann's PTRS (1993), the
 * transformed rejection with squeeze, with his constants. */
static mcn_err
nz_poisson_ptrs(mcn_noise *g, double lambda, int64_t *out)
{
	double slam = nz_sqrt(lambda);
	double b = 0.931 + 2.53 * slam;
	double a = -0.059 + 0.02483 * b;
	double inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
	double v_r = 0.9277 - 3.6224 / (b - 2.0);
	double u, v, us, kd;
	int64_t k;
	mcn_err rv;

	for (;;) {
		if ((rv = mcn_noise_uniform(g, &u)) != MCN_OK ||
		    (rv = mcn_noise_uniform(g, &v)) != MCN_OK) {
			return rv;
		}
		u -= 0.5;
		us = 0.5 - (u < 0 ? -u : u); /* > 0: u is never 0 or 1 */
		kd = (2.0 * a / us + b) * u + lambda + 0.43;
		if (!(kd >= 0 && kd < 0x1p62)) {
			/* k < 0 is rejected by PTRS; k >= 2^62 (us near 0,
			 * possible only in the rejection region) has a pmf
			 * below 2^-1000 and would overflow the conversion. */
			continue;
		}
		k = nz_floor(kd);
		if (us >= 0.07 && v <= v_r) {
			break;
		}
		if (us < 0.013 && v > us) {
			continue;
		}
		if (mcn_noise_log(v * inv_alpha / (a / (us * us) + b)) <=
		    nz_poisson_logpmf((double)k, lambda)) {
			break;
		}
	}
	*out = k;
	return MCN_OK;
}

mcn_err
mcn_noise_poisson(mcn_noise *g, double lambda, int64_t *out)
{
	double part;
	int64_t j, sum = 0, k;
	mcn_err rv;

	MCN_MUST(g != NULL && out != NULL);
	*out = 0;
	if (lambda != lambda || lambda < 0) {
		return MCN_EINVAL;
	}
	if (lambda > MCN_NOISE_MAX_POISSON) {
		return MCN_ERANGE;
	}
	if (lambda == 0) {
		return MCN_OK;
	}
	if (lambda < 10.0) {
		return nz_poisson_inv(g, lambda, out);
	}
	if (lambda <= NZ_PTRS_MAX) {
		return nz_poisson_ptrs(g, lambda, out);
	}
	/* Poisson(lambda) = sum of j iid Poisson(lambda / j); j <= 2^14.
	 * The sum stays near lambda <= 2^62, far below INT64_MAX, but is
	 * checked anyway. */
	j = (int64_t)(lambda / NZ_PTRS_MAX) + 1;
	part = lambda / (double)j;
	for (int64_t i = 0; i < j; i++) {
		if ((rv = nz_poisson_ptrs(g, part, &k)) != MCN_OK) {
			return rv;
		}
		if (__builtin_add_overflow(sum, k, &sum)) {
			return MCN_ERANGE;
		}
	}
	*out = sum;
	return MCN_OK;
}

/* ---- shares ------------------------------------------------------------- */

static int
nz_scale_ok(double scale)
{
	return nz_isfinite(scale) && scale > 0 && scale <= MCN_NOISE_MAX_SCALE;
}

int64_t
mcn_noise_share_bound(double scale)
{
	/* 61 ln 2: P(|Z| > B) = 2 a^(B+1) / (1 + a) < 2^-60 iff
	 * (B + 1) / scale > 61 ln 2 - ln(1 + a). */
	static const double ln2_61 = 61 * 0.69314718055994530942;
	double a, v;
	int64_t b;

	if (scale == 0) {
		return 0;
	}
	if (!nz_scale_ok(scale)) {
		return MCN_NOISE_BOUND_CAP;
	}
	a = mcn_noise_exp(-1.0 / scale);
	v = scale * (ln2_61 - mcn_noise_log(1.0 + a));
	if (v >= 1e18) {
		return MCN_NOISE_BOUND_CAP; /* unreachable at scale <= 1e15 */
	}
	/* ceil(v (1 + 2^-40)) + 1: the relative slack covers the rounding
	 * of a, the log and the product (a few ulp of v, which is 8 at
	 * scale 1e15), the + 1 that of ceil for small v. */
	v *= 1.0 + 0x1p-40;
	b = nz_floor(v);
	if ((double)b < v) {
		b++;
	}
	b += 1;
	return b < 1 ? 1 : b;
}

mcn_err
mcn_noise_scale(double sensitivity, double epsilon, double *scale)
{
	double q;

	MCN_MUST(scale != NULL);
	*scale = 0;
	if (!nz_isfinite(sensitivity) || !(sensitivity > 0) ||
	    !nz_isfinite(epsilon) || !(epsilon > 0)) {
		return MCN_EINVAL;
	}
	q = sensitivity / epsilon;
	if (!nz_scale_ok(q)) {
		return MCN_EINVAL;
	}
	*scale = q;
	return MCN_OK;
}

/* P ~ NB(r, a) as Poisson(Gamma(r, theta)), theta = a / (1 - a).
 * MCN_ERANGE (a draw to be discarded) if lambda or P overflows. */
static mcn_err
nz_negbin(mcn_noise *g, double r, double theta, int64_t *out)
{
	double lambda;
	mcn_err rv;

	*out = 0;
	if ((rv = nz_gamma1(g, r, &lambda)) != MCN_OK) {
		return rv;
	}
	lambda *= theta;
	if (!(lambda <= MCN_NOISE_MAX_POISSON)) {
		return MCN_ERANGE;
	}
	return mcn_noise_poisson(g, lambda, out);
}

/* One share, parameters already checked. */
static mcn_err
nz_share(mcn_noise *g, double scale, unsigned nshares, int64_t *out)
{
	int64_t bound = mcn_noise_share_bound(scale), p1, p2, x;
	/* theta = a / (1 - a) = 1 / (exp(1/scale) - 1), by expm1 so that
	 * large scales (a within 1e-15 of 1) keep their precision. For tiny
	 * scales expm1 overflows and theta = 0: no noise, as a = 0. */
	double theta = 1.0 / nz_expm1(1.0 / scale);
	double r = 1.0 / (double)nshares;
	mcn_err rv;

	*out = 0;
	if (theta == 0) {
		return MCN_OK;
	}
	for (;;) {
		rv = nz_negbin(g, r, theta, &p1);
		if (rv == MCN_OK) {
			rv = nz_negbin(g, r, theta, &p2);
		}
		if (rv == MCN_ERANGE) {
			continue; /* an overflowing draw is beyond any bound */
		}
		if (rv != MCN_OK) {
			return rv;
		}
		x = p1 - p2; /* both in [0, 2^63): no overflow */
		if (x <= bound && x >= -bound) {
			break;
		}
	}
	*out = x;
	return MCN_OK;
}

mcn_err
mcn_noise_dlap_share(mcn_noise *g, double scale, unsigned nshares, int64_t *out)
{
	mcn_err rv;

	MCN_MUST(g != NULL && out != NULL);
	*out = 0;
	if (!nz_scale_ok(scale) || nshares < 1 ||
	    nshares > MCN_NOISE_MAX_SHARES) {
		return MCN_EINVAL;
	}
	if ((rv = nz_share(g, scale, nshares, out)) != MCN_OK) {
		*out = 0;
	}
	return rv;
}

mcn_err
mcn_noise_dlap_shares(mcn_noise *g, const double *scales, size_t n,
    unsigned nshares, int64_t *out)
{
	mcn_err rv = MCN_OK;

	MCN_MUST(g != NULL && (n == 0 || (scales != NULL && out != NULL)));
	if (n > 0) {
		memset(out, 0, n * sizeof(*out));
	}
	if (nshares < 1 || nshares > MCN_NOISE_MAX_SHARES) {
		return MCN_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (scales[i] != 0 && !nz_scale_ok(scales[i])) {
			return MCN_EINVAL;
		}
	}
	for (size_t i = 0; i < n && rv == MCN_OK; i++) {
		if (scales[i] != 0) {
			rv = nz_share(g, scales[i], nshares, &out[i]);
		}
	}
	if (rv != MCN_OK) {
		mcn_wipe(out, n * sizeof(*out));
	}
	return rv;
}
