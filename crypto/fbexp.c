/*
 * crypto/fbexp.c - Lim-Lee fixed-base comb exponentiation (Lim & Lee,
 * "More flexible exponentiation with precomputation", CRYPTO '94) for
 * public exponents; see fbexp.h for the layout and the cost model.
 *
 * With rows of a bits, the exponent bit at position i a + c (row i,
 * column c) selects g^(2^(i a + c)). Column c = j b + k (sub-block j,
 * offset k) contributes G_j[I_c]^(2^k) where I_c collects the column's
 * h bits and G_j[I] = prod_i g^(I_i 2^(i a + j b)). So
 *   g^e = prod_{k=b-1..0} ( prod_j G_j[I_{j b + k}] )^(2^k),
 * evaluated by Horner's rule: b - 1 squarings in all.
 */
#include "crypto/fbexp.h"

#include "crypto/mem.h"

/* Model constants, measured on mpz_mul + mpz_mod at 4096 bits (Debian 12
 * GMP 6.2): a squaring costs 0.71 multiplication, a plain mpz_powm of L
 * bits 0.71 L multiplications (GMP's REDC makes its steps cheaper). */
#define FB_SQR 0.71
#define FB_POWM_PER_BIT 0.71

static unsigned
fb_ceil_div(unsigned x, unsigned y)
{
	return (x + y - 1) / y;
}

/* The highest set bit of x > 0, as a mask. */
static unsigned
fb_top(unsigned x)
{
	while (x & (x - 1)) {
		x &= x - 1;
	}
	return x;
}

mcn_err
mcn_fbexp_init(mcn_fbexp *T, const mpz_t base, const mpz_t mod,
    unsigned max_bits, unsigned h, unsigned v)
{
	mpz_t cur, tmp;
	unsigned pos;

	MCN_MUST(h >= 1 && h <= MCN_FBEXP_H_MAX);
	MCN_MUST(v >= 1 && v <= MCN_FBEXP_V_MAX);
	MCN_MUST(max_bits >= 1 && mpz_cmp_ui(mod, 1) > 0);
	T->max_bits = max_bits;
	T->h = h;
	T->a = fb_ceil_div(max_bits, h);
	if (v > T->a) {
		v = T->a;
	}
	T->b = fb_ceil_div(T->a, v);
	/* only the non-empty sub-blocks: then (v - 1) b < a */
	T->v = fb_ceil_div(T->a, T->b);
	T->ntab = (size_t)T->v << h;
	if ((T->tab = mcn_alloc(T->ntab * sizeof(mpz_t))) == NULL) {
		T->ntab = 0;
		mpz_init(T->mod);
		return MCN_ENOMEM;
	}
	mpz_init_set(T->mod, mod);
	for (size_t k = 0; k < T->ntab; k++) {
		mpz_init(T->tab[k]);
	}
	mpz_inits(cur, tmp, NULL);
	/* the single-bit entries: g^(2^(i a + j b)), positions increasing */
	mpz_mod(cur, base, mod);
	pos = 0;
	for (unsigned i = 0; i < h; i++) {
		for (unsigned j = 0; j < T->v; j++) {
			unsigned want = i * T->a + j * T->b;
			for (; pos < want; pos++) {
				mpz_mul(tmp, cur, cur);
				mpz_mod(cur, tmp, mod);
			}
			mpz_set(T->tab[((size_t)j << h) | (1u << i)], cur);
		}
	}
	/* the other patterns: drop the top bit, multiply by its entry */
	for (unsigned j = 0; j < T->v; j++) {
		mpz_t *G = T->tab + ((size_t)j << h);
		mpz_set_ui(G[0], 1);
		for (unsigned I = 3; I < (1u << h); I++) {
			unsigned top = fb_top(I);
			if (I == top) {
				continue;
			}
			mpz_mul(tmp, G[I ^ top], G[top]);
			mpz_mod(G[I], tmp, mod);
		}
	}
	mpz_clears(cur, tmp, NULL);
	return MCN_OK;
}

void
mcn_fbexp_pow(const mcn_fbexp *T, mpz_t out, const mpz_t e)
{
	const unsigned h = T->h, a = T->a, b = T->b;
	mpz_t acc, tmp;
	int one = 1; /* acc == 1 so far: skip its squarings, set not multiply */

	MCN_MUST(out != e && mpz_sgn(e) >= 0 &&
	    mpz_sizeinbase(e, 2) <= T->max_bits);
	mpz_inits(acc, tmp, NULL);
	mpz_set_ui(acc, 1);
	for (unsigned k = b; k-- > 0;) {
		if (!one) {
			mpz_mul(tmp, acc, acc);
			mpz_mod(acc, tmp, T->mod);
		}
		for (unsigned j = 0; j < T->v; j++) {
			unsigned col = j * b + k, I = 0;
			if (col >= a) {
				continue;
			}
			for (unsigned i = 0; i < h; i++) {
				mp_bitcnt_t bit = (mp_bitcnt_t)i * a + col;
				I |= (unsigned)mpz_tstbit(e, bit) << i;
			}
			if (I == 0) {
				continue;
			}
			if (one) {
				mpz_set(acc, T->tab[((size_t)j << h) | I]);
				one = 0;
			} else {
				mpz_mul(tmp, acc, T->tab[((size_t)j << h) | I]);
				mpz_mod(acc, tmp, T->mod);
			}
		}
	}
	mpz_mod(out, acc, T->mod); /* 1 mod mod for e = 0 */
	mpz_clears(acc, tmp, NULL);
}

void
mcn_fbexp_clear(mcn_fbexp *T)
{
	if (T->tab != NULL) {
		for (size_t k = 0; k < T->ntab; k++) {
			mpz_clear(T->tab[k]);
		}
		mcn_free(T->tab, T->ntab * sizeof(mpz_t));
		T->tab = NULL;
	}
	T->ntab = 0;
	mpz_clear(T->mod);
}

size_t
mcn_fbexp_bytes(const mcn_fbexp *T)
{
	return T->ntab * (sizeof(mpz_t) +
	    mpz_size(T->mod) * sizeof(mp_limb_t));
}

int
mcn_fbexp_plan(unsigned *hp, unsigned *vp, size_t *bytes, unsigned max_bits,
    unsigned mod_bits, size_t uses, size_t max_bytes)
{
	const size_t entry = sizeof(mpz_t) +
	    fb_ceil_div(mod_bits, GMP_NUMB_BITS) * sizeof(mp_limb_t);
	double best = -1;

	MCN_MUST(max_bits >= 1);
	for (unsigned h = 1; h <= MCN_FBEXP_H_MAX; h++) {
		for (unsigned v = 1; v <= MCN_FBEXP_V_MAX; v *= 2) {
			unsigned a = fb_ceil_div(max_bits, h), b, vv;
			double build, pow, cost;
			if (v > a) {
				break;
			}
			b = fb_ceil_div(a, v);
			vv = fb_ceil_div(a, b);
			if (((size_t)vv << h) * entry > max_bytes) {
				continue;
			}
			build = FB_SQR * ((h - 1) * a + (vv - 1) * b) +
			    vv * ((1u << h) - h - 1);
			pow = FB_SQR * (b - 1) +
			    vv * b * (1.0 - 1.0 / (1u << h));
			cost = build + (double)uses * pow;
			if (best < 0 || cost < best) {
				best = cost;
				*hp = h;
				*vp = v;
				*bytes = ((size_t)vv << h) * entry;
			}
		}
	}
	return best >= 0 &&
	    best < 0.8 * (double)uses * FB_POWM_PER_BIT * max_bits;
}
