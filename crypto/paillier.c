/*
 * crypto/paillier.c - Paillier with g = n + 1, CRT decryption and the
 * Damgård–Jurik–Nielsen fixed-base encryption.
 *
 * Maths (Paillier 1999, with the usual g = n + 1 simplification):
 *   n = p q, |p| = |q|;  E(m; r) = (1 + m n) r^n mod n^2.
 *   (1 + n)^m = 1 + m n mod n^2, so no exponentiation is spent on m, and
 *   (1 + m n) R mod n^2 = R + n ((m R) mod n)  -- one multiplication mod n.
 *
 * Fast encryption (DJN 2010, section 4.2 of the journal version): publish
 *   h = -x^2 mod n for random x in Z*_n, and hs = h^n mod n^2. Encrypt with
 *   R = hs^a, a uniform in [0, 2^ceil(|n|/2)). DJN argue the resulting
 *   ciphertexts are indistinguishable from textbook ones under DCRA plus
 *   the assumption that a random |n|/2-bit exponent of h is hard to tell from
 *   a full one (a "short exponent" assumption, cf. Koshiba–Kurosawa, PKC
 *   2004, for its relation to factoring). We use exactly the paper's
 *   |n|/2 length; nothing shorter. Because hs is fixed, hs^a is a product of
 *   precomputed powers. We use the comb of Lim and Lee ("More flexible
 *   exponentiation with precomputation", CRYPTO 1994): the e-bit exponent
 *   is cut into h blocks of a = ceil(e/h) bits and each block into v
 *   sub-blocks of b = ceil(a/v) bits; with v (2^h - 1) precomputed products
 *   an exponentiation costs b - 1 squarings and about a multiplications.
 *   2048-bit n, e = 1024, h = 12, v = 8: a = 86, b = 11, so ~96 modular
 *   multiplications instead of ~1,200 for a 1024-bit sliding window, with a
 *   table of 8 * 4095 entries of 512 bytes (16 MiB).
 *
 * CRT decryption: m_p = L_p(c^(p-1) mod p^2) h_p mod p with L_p(x) = (x-1)/p
 *   and h_p = L_p((1+n)^(p-1) mod p^2)^-1 mod p; same for q; then Garner's
 *   CRT. The two exponentiations have secret exponents and use mpz_powm_sec.
 *
 * Secret: p, q, h_p, h_q, q^-1 mod p, the CRT halves, plaintexts, r and a.
 * All are wiped after last use; keys are wiped on free.
 */
#include "crypto/paillier.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/evp.h>

#include "crypto/internal.h"
#include "crypto/mem.h"

struct mcn_paillier_pk {
	unsigned bits;     /* bit length of n */
	mpz_t n;           /* the modulus */
	mpz_t n2;          /* n^2 */
	mpz_t hs;          /* DJN base h^n mod n^2 */
	unsigned exp_bits; /* DJN exponent length ceil(bits/2) */
	uint8_t fp[MCN_PAILLIER_FP_BYTES]; /* SHA-256 fingerprint of n */
	/* Lim-Lee comb table (NULL: none): the exponent is cut into h blocks
	 * of a bits, each block into v sub-blocks of b bits; table[j][u-1] =
	 * prod_{i in bits of u} hs^(2^(i a + j b)), j < v, 1 <= u < 2^h. */
	unsigned h, v, a, b;
	mpz_t *table;
};

struct mcn_paillier_sk {
	mcn_paillier_pk *pk; /* owned */
	mpz_t p, q;          /* the primes */
	mpz_t p2, q2;        /* p^2, q^2 */
	mpz_t pm1, qm1;      /* p - 1, q - 1 (the CRT exponents) */
	mpz_t hp, hq;        /* L_p((1+n)^(p-1) mod p^2)^-1 mod p, same for q */
	mpz_t qinv;          /* q^-1 mod p (Garner) */
	mpz_t h;             /* DJN base h in Z*_n (kept to re-derive hs) */
};

static const char pai_fp_tag[] = "mcn/paillier/pk/v1";

void
mcn_mpz_to_bytes(uint8_t *out, size_t len, const mpz_t x)
{
	size_t sz = (mpz_sizeinbase(x, 2) + 7) / 8;
	size_t written = 0;

	MCN_MUST(mpz_sgn(x) >= 0 && (mpz_sgn(x) == 0 || sz <= len));
	memset(out, 0, len);
	if (mpz_sgn(x) != 0) {
		mpz_export(out + (len - sz), &written, 1, 1, 1, 0, x);
	}
}

void
mcn_mpz_from_bytes(mpz_t x, const uint8_t *in, size_t len)
{
	mpz_import(x, len, 1, 1, 1, 0, in);
}

mcn_err
mcn_prime_generate(mpz_t p, unsigned bits, int safe)
{
	BIGNUM *bn = BN_secure_new();
	BN_CTX *ctx = BN_CTX_secure_new();
	unsigned char *buf = NULL;
	int len = 0;
	mcn_err rv = MCN_ECRYPTO;

	if (bn == NULL || ctx == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	/* OpenSSL draws from its CSPRNG and sets the top two bits, so that
	 * the product of two such primes has exactly 2*bits bits. */
	if (BN_generate_prime_ex2(bn, (int)bits, safe, NULL, NULL, NULL, ctx) !=
	        1 ||
	    BN_num_bits(bn) != (int)bits) {
		goto out;
	}
	len = BN_num_bytes(bn);
	if ((buf = mcn_alloc((size_t)len)) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	if (BN_bn2bin(bn, buf) != len) {
		goto out;
	}
	mcn_mpz_from_bytes(p, buf, (size_t)len);
	rv = MCN_OK;
out:
	mcn_free(buf, buf ? (size_t)len : 0);
	BN_CTX_free(ctx);
	BN_clear_free(bn);
	return rv;
}

static mcn_err
pai_fingerprint(uint8_t fp[MCN_PAILLIER_FP_BYTES], unsigned bits, const mpz_t n)
{
	size_t L = (bits + 7) / 8;
	uint8_t hdr[2] = { (uint8_t)(bits >> 8), (uint8_t)bits };
	uint8_t *nb;
	unsigned int outl = 0;
	EVP_MD_CTX *ctx;
	mcn_err rv = MCN_ECRYPTO;

	if ((nb = mcn_alloc(L)) == NULL) {
		return MCN_ENOMEM;
	}
	mcn_mpz_to_bytes(nb, L, n);
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, pai_fp_tag, sizeof(pai_fp_tag) - 1) == 1 &&
	    EVP_DigestUpdate(ctx, hdr, 2) == 1 &&
	    EVP_DigestUpdate(ctx, nb, L) == 1 &&
	    EVP_DigestFinal_ex(ctx, fp, &outl) == 1 &&
	    outl == MCN_PAILLIER_FP_BYTES) {
		rv = MCN_OK;
	}
	EVP_MD_CTX_free(ctx);
	mcn_free(nb, L);
	return rv;
}

/* Checks n: odd, of a supported size, composite, not a square, and without
 * prime factors below 2^16 (cheap sanity; a real proof of well-formedness is
 * the dealer's responsibility). */
static mcn_err
pai_check_modulus(const mpz_t n)
{
	size_t bits = mpz_sizeinbase(n, 2);
	mcn_err rv = MCN_OK;
	mpz_t g, prim;

	if (mpz_sgn(n) <= 0 || mpz_even_p(n) || bits < MCN_PAILLIER_BITS_MIN ||
	    bits > MCN_PAILLIER_BITS_MAX || bits % 16 != 0 ||
	    mpz_perfect_square_p(n) || mpz_probab_prime_p(n, 5) != 0) {
		return MCN_EKEY;
	}
	mpz_inits(g, prim, NULL);
	mpz_primorial_ui(prim, 1u << 16);
	mpz_gcd(g, n, prim);
	if (mpz_cmp_ui(g, 1) != 0) {
		rv = MCN_EKEY;
	}
	mpz_clears(g, prim, NULL);
	return rv;
}

static mcn_paillier_pk *
pai_pk_alloc(void)
{
	mcn_paillier_pk *pk = mcn_zalloc(sizeof(*pk));

	if (pk != NULL) {
		mpz_inits(pk->n, pk->n2, pk->hs, NULL);
	}
	return pk;
}

static void
pai_table_free(mcn_paillier_pk *pk)
{
	size_t cnt;

	if (pk->table == NULL) {
		return;
	}
	cnt = (size_t)pk->v * (((size_t)1 << pk->h) - 1);
	for (size_t i = 0; i < cnt; i++) {
		mpz_clear(pk->table[i]);
	}
	mcn_free(pk->table, cnt * sizeof(mpz_t));
	pk->table = NULL;
	pk->h = pk->v = pk->a = pk->b = 0;
}

void
mcn_paillier_pk_free(mcn_paillier_pk *pk)
{
	if (pk == NULL) {
		return;
	}
	pai_table_free(pk);
	mpz_clears(pk->n, pk->n2, pk->hs, NULL);
	mcn_free(pk, sizeof(*pk));
}

void
mcn_paillier_sk_free(mcn_paillier_sk *sk)
{
	if (sk == NULL) {
		return;
	}
	mcn_paillier_pk_free(sk->pk);
	mcn_mpz_clear_secret(sk->p, sk->q, sk->p2, sk->q2, sk->pm1, sk->qm1,
	    sk->hp, sk->hq, sk->qinv, sk->h, NULL);
	mcn_free(sk, sizeof(*sk));
}

mcn_err
mcn_paillier_pk_new(mcn_paillier_pk **out, const mpz_t n, const mpz_t hs)
{
	mcn_paillier_pk *pk;
	mcn_err rv;

	*out = NULL;
	if ((rv = pai_check_modulus(n)) != MCN_OK) {
		return rv;
	}
	if ((pk = pai_pk_alloc()) == NULL) {
		return MCN_ENOMEM;
	}
	pk->bits = (unsigned)mpz_sizeinbase(n, 2);
	pk->exp_bits = (pk->bits + 1) / 2;
	mpz_set(pk->n, n);
	mpz_mul(pk->n2, n, n);
	mpz_set(pk->hs, hs);
	if (mcn_paillier_ct_validate(pk, hs) != MCN_OK ||
	    mpz_cmp_ui(hs, 1) == 0) {
		rv = MCN_EKEY;
	} else {
		rv = pai_fingerprint(pk->fp, pk->bits, n);
	}
	if (rv != MCN_OK) {
		mcn_paillier_pk_free(pk);
		return rv;
	}
	*out = pk;
	return MCN_OK;
}

/* L_p(x) = (x - 1) / p, exact. */
static void
pai_L(mpz_t out, const mpz_t x, const mpz_t p)
{
	mpz_sub_ui(out, x, 1);
	mpz_divexact(out, out, p);
}

mcn_err
mcn_paillier_from_primes(mcn_paillier_pk **pk_out, mcn_paillier_sk **sk_out,
    const mpz_t p, const mpz_t q, const mpz_t h_in, mcn_rng *rng)
{
	mcn_paillier_sk *sk = NULL;
	mpz_t n, hs, t, phi;
	mcn_err rv = MCN_EKEY;

	*pk_out = NULL;
	*sk_out = NULL;
	MCN_MUST(h_in != NULL || rng != NULL);
	mpz_inits(n, hs, t, phi, NULL);
	if (mpz_cmp(p, q) == 0 ||
	    mpz_sizeinbase(p, 2) != mpz_sizeinbase(q, 2) || mpz_even_p(p) ||
	    mpz_even_p(q) || mpz_probab_prime_p(p, 30) == 0 ||
	    mpz_probab_prime_p(q, 30) == 0) {
		goto out;
	}
	mpz_mul(n, p, q);
	/* serialization stores p and q in |n|/2 bytes each */
	if (mpz_sizeinbase(n, 2) != 2 * mpz_sizeinbase(p, 2) ||
	    mpz_sizeinbase(n, 2) % 16 != 0) {
		goto out;
	}
	mpz_sub_ui(t, p, 1);
	mpz_sub_ui(phi, q, 1);
	mpz_mul(phi, phi, t);
	mpz_gcd(t, n, phi);
	if (mpz_cmp_ui(t, 1) != 0) {
		goto out;
	}
	if ((sk = mcn_zalloc(sizeof(*sk))) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	mpz_inits(sk->p, sk->q, sk->p2, sk->q2, sk->pm1, sk->qm1, sk->hp,
	    sk->hq, sk->qinv, sk->h, NULL);
	mpz_set(sk->p, p);
	mpz_set(sk->q, q);
	mpz_mul(sk->p2, p, p);
	mpz_mul(sk->q2, q, q);
	mpz_sub_ui(sk->pm1, p, 1);
	mpz_sub_ui(sk->qm1, q, 1);
	/* (1+n)^(p-1) mod p^2 = 1 + (p-1) n mod p^2 */
	mpz_mul(t, sk->pm1, n);
	mpz_add_ui(t, t, 1);
	mpz_mod(t, t, sk->p2);
	pai_L(t, t, p);
	if (mpz_invert(sk->hp, t, p) == 0) {
		goto out;
	}
	mpz_mul(t, sk->qm1, n);
	mpz_add_ui(t, t, 1);
	mpz_mod(t, t, sk->q2);
	pai_L(t, t, q);
	if (mpz_invert(sk->hq, t, q) == 0 || mpz_invert(sk->qinv, q, p) == 0) {
		goto out;
	}
	/* DJN: h = -x^2 mod n for a random unit x (a generator of the
	 * squares' subgroup with overwhelming probability), hs = h^n mod n^2. */
	if (h_in != NULL) {
		mpz_gcd(t, h_in, n);
		if (mpz_sgn(h_in) <= 0 || mpz_cmp(h_in, n) >= 0 ||
		    mpz_cmp_ui(t, 1) != 0) {
			goto out;
		}
		mpz_set(sk->h, h_in);
	} else {
		if ((rv = mcn_rng_mpz_unit(rng, t, n)) != MCN_OK) {
			goto out;
		}
		mpz_mul(t, t, t);
		mpz_neg(t, t);
		mpz_mod(sk->h, t, n);
		rv = MCN_EKEY;
	}
	mpz_mul(t, n, n);
	mpz_powm(hs, sk->h, n, t);
	if ((rv = mcn_paillier_pk_new(&sk->pk, n, hs)) != MCN_OK) {
		goto out;
	}
	*pk_out = sk->pk;
	*sk_out = sk;
	sk = NULL;
	rv = MCN_OK;
out:
	if (sk != NULL) {
		mcn_paillier_sk_free(sk);
	}
	mcn_mpz_clear_secret(t, phi, NULL);
	mpz_clears(n, hs, NULL);
	return rv;
}

mcn_err
mcn_paillier_keygen(mcn_paillier_pk **pk, mcn_paillier_sk **sk, unsigned bits,
    mcn_rng *rng)
{
	mpz_t p, q;
	mcn_err rv;

	*pk = NULL;
	*sk = NULL;
	if (bits < MCN_PAILLIER_BITS_MIN || bits > MCN_PAILLIER_BITS_MAX ||
	    bits % 16 != 0) {
		return MCN_EINVAL;
	}
	mpz_inits(p, q, NULL);
	do {
		if ((rv = mcn_prime_generate(p, bits / 2, 0)) != MCN_OK ||
		    (rv = mcn_prime_generate(q, bits / 2, 0)) != MCN_OK) {
			break;
		}
		rv = mcn_paillier_from_primes(pk, sk, p, q, NULL, rng);
	} while (rv == MCN_EKEY); /* p == q or gcd(n, phi) != 1: retry */
	mcn_mpz_clear_secret(p, q, NULL);
	return rv;
}

const mcn_paillier_pk *
mcn_paillier_sk_pk(const mcn_paillier_sk *sk)
{
	return sk->pk;
}

unsigned
mcn_paillier_bits(const mcn_paillier_pk *pk)
{
	return pk->bits;
}

mpz_srcptr
mcn_paillier_n(const mcn_paillier_pk *pk)
{
	return pk->n;
}

mpz_srcptr
mcn_paillier_n2(const mcn_paillier_pk *pk)
{
	return pk->n2;
}

mpz_srcptr
mcn_paillier_hs(const mcn_paillier_pk *pk)
{
	return pk->hs;
}

const uint8_t *
mcn_paillier_fingerprint(const mcn_paillier_pk *pk)
{
	return pk->fp;
}

unsigned
mcn_paillier_plaintext_bits(const mcn_paillier_pk *pk)
{
	return pk->bits - 1;
}

unsigned
mcn_paillier_djn_exp_bits(const mcn_paillier_pk *pk)
{
	return pk->exp_bits;
}

int
mcn_paillier_has_table(const mcn_paillier_pk *pk)
{
	return pk->table != NULL;
}

void
mcn_paillier_drop_table(mcn_paillier_pk *pk)
{
	pai_table_free(pk);
}

size_t
mcn_paillier_table_bytes(const mcn_paillier_pk *pk)
{
	if (pk->table == NULL) {
		return 0;
	}
	return (size_t)pk->v * (((size_t)1 << pk->h) - 1) * (2 * pk->bits / 8);
}

mcn_err
mcn_paillier_precompute(mcn_paillier_pk *pk, unsigned h, unsigned v)
{
	const size_t per = ((size_t)1 << h) - 1;
	unsigned a, b;
	size_t cnt;
	mpz_t *g0, *row;

	if (h < 1 || h > 14 || v < 1 || v > 32) {
		return MCN_EINVAL;
	}
	pai_table_free(pk);
	a = (pk->exp_bits + h - 1) / h; /* bits per block */
	b = (a + v - 1) / v;            /* bits per sub-block */
	cnt = (size_t)v * per;
	if ((pk->table = mcn_alloc(cnt * sizeof(mpz_t))) == NULL) {
		return MCN_ENOMEM;
	}
	pk->h = h;
	pk->v = v;
	pk->a = a;
	pk->b = b;
	/* Row 0: G[0][u] = prod_{i in u} hs^(2^(i a)), built incrementally:
	 * G[0][u] = G[0][u without its top bit] * hs^(2^(top a)). */
	g0 = pk->table;
	for (unsigned i = 0; i < h; i++) {
		size_t top = (size_t)1 << i;
		mpz_init2(g0[top - 1], 2 * pk->bits);
		if (i == 0) {
			mpz_set(g0[0], pk->hs);
		} else {
			/* hs^(2^(i a)) = (hs^(2^((i-1) a)))^(2^a) */
			mpz_set(g0[top - 1], g0[(top >> 1) - 1]);
			for (unsigned k = 0; k < a; k++) {
				mpz_mul(g0[top - 1], g0[top - 1], g0[top - 1]);
				mpz_mod(g0[top - 1], g0[top - 1], pk->n2);
			}
		}
		for (size_t u = top + 1; u < 2 * top; u++) {
			mpz_init2(g0[u - 1], 2 * pk->bits);
			mpz_mul(g0[u - 1], g0[u - top - 1], g0[top - 1]);
			mpz_mod(g0[u - 1], g0[u - 1], pk->n2);
		}
	}
	/* Row j: G[j][u] = G[j-1][u]^(2^b). */
	for (unsigned j = 1; j < v; j++) {
		row = pk->table + (size_t)j * per;
		for (size_t u = 0; u < per; u++) {
			mpz_init2(row[u], 2 * pk->bits);
			mpz_set(row[u], row[u - per]);
			for (unsigned k = 0; k < b; k++) {
				mpz_mul(row[u], row[u], row[u]);
				mpz_mod(row[u], row[u], pk->n2);
			}
		}
	}
	return MCN_OK;
}

/* R = hs^a mod n^2 for the secret short exponent e (Lim-Lee comb). */
static void
pai_hs_pow(const mcn_paillier_pk *pk, mpz_t R, const mpz_t e, mpz_t tmp)
{
	const size_t per = ((size_t)1 << pk->h) - 1;
	mp_limb_t limbs[MCN_PAILLIER_BITS_MAX / 2 / GMP_NUMB_BITS + 2];
	size_t nl = mpz_size(e);
	mpz_t dummy;

	if (pk->table == NULL) {
		if (mpz_sgn(e) == 0) { /* powm_sec needs e > 0 */
			mpz_set_ui(R, 1);
		} else {
			mpz_powm_sec(R, pk->hs, e, pk->n2);
		}
		return;
	}
	MCN_MUST(nl <= sizeof(limbs) / sizeof(limbs[0]));
	memset(limbs, 0, sizeof(limbs));
	for (size_t i = 0; i < nl; i++) {
		limbs[i] = mpz_getlimbn(e, (mp_size_t)i);
	}
	/* The number of multiplications does not depend on the digits: a zero
	 * digit multiplies into a dummy. (Which table entry is read still
	 * does: see the README on cache timing.) */
	mpz_init2(dummy, 2 * pk->bits);
	mpz_set_ui(R, 1);
	for (unsigned k = pk->b; k-- > 0;) {
		if (k + 1 < pk->b) {
			mpz_mul(tmp, R, R);
			mpz_mod(R, tmp, pk->n2);
		}
		for (unsigned j = 0; j < pk->v; j++) {
			unsigned off = j * pk->b + k;
			size_t u = 0;
			if (off >= pk->a) {
				continue; /* public: depends on h, v only */
			}
			for (unsigned i = 0; i < pk->h; i++) {
				unsigned bit = i * pk->a + off;
				if (bit < pk->exp_bits) {
					u |= (size_t)((limbs[bit /
					                   GMP_NUMB_BITS] >>
					                  (bit %
					                      GMP_NUMB_BITS)) &
					         1)
					    << i;
				}
			}
			const mpz_t *g =
			    &pk->table[(size_t)j * per + (u == 0 ? 0 : u - 1)];
			mpz_mul(tmp, R, *g);
			mpz_mod(u == 0 ? dummy : R, tmp, pk->n2);
		}
	}
	mcn_wipe(limbs, sizeof(limbs));
	mcn_mpz_clear_secret(dummy, NULL);
}

/* c = (1 + m n) R mod n^2 = R + n ((m R) mod n). */
static void
pai_finish(const mcn_paillier_pk *pk, mpz_t c, const mpz_t m, const mpz_t R,
    mpz_t tmp)
{
	mpz_mul(tmp, m, R);
	mpz_mod(tmp, tmp, pk->n);
	mpz_mul(tmp, tmp, pk->n);
	mpz_add(c, R, tmp);
	if (mpz_cmp(c, pk->n2) >= 0) {
		mpz_sub(c, c, pk->n2);
	}
}

static mcn_err
pai_check_pt(const mcn_paillier_pk *pk, const mpz_t m)
{
	if (mpz_sgn(m) < 0 || mpz_cmp(m, pk->n) >= 0) {
		return MCN_EPLAINTEXT;
	}
	return MCN_OK;
}

mcn_err
mcn_paillier_encrypt(const mcn_paillier_pk *pk, mpz_t c, const mpz_t m,
    mcn_rng *rng)
{
	mpz_t a, R, tmp;
	mcn_err rv;

	if ((rv = pai_check_pt(pk, m)) != MCN_OK) {
		return rv;
	}
	mpz_init2(a, pk->exp_bits);
	mpz_init2(R, 2 * pk->bits);
	mpz_init2(tmp, 4 * pk->bits);
	if ((rv = mcn_rng_mpz_bits(rng, a, pk->exp_bits)) == MCN_OK) {
		pai_hs_pow(pk, R, a, tmp);
		pai_finish(pk, c, m, R, tmp);
	}
	mcn_mpz_clear_secret(a, R, tmp, NULL);
	return rv;
}

mcn_err
mcn_paillier_encrypt_r(const mcn_paillier_pk *pk, mpz_t c, const mpz_t m,
    const mpz_t r)
{
	mpz_t R, tmp;
	mcn_err rv;

	if ((rv = pai_check_pt(pk, m)) != MCN_OK) {
		return rv;
	}
	mpz_inits(R, tmp, NULL);
	mpz_gcd(tmp, r, pk->n);
	if (mpz_sgn(r) <= 0 || mpz_cmp(r, pk->n) >= 0 ||
	    mpz_cmp_ui(tmp, 1) != 0) {
		rv = MCN_EINVAL;
	} else {
		/* r is secret: constant-time powm (n > 0, n^2 odd). */
		mpz_powm_sec(R, r, pk->n, pk->n2);
		pai_finish(pk, c, m, R, tmp);
	}
	mcn_mpz_clear_secret(R, tmp, NULL);
	return rv;
}

mcn_err
mcn_paillier_encrypt_plain(const mcn_paillier_pk *pk, mpz_t c, const mpz_t m,
    mcn_rng *rng)
{
	mpz_t r;
	mcn_err rv;

	mpz_init(r);
	if ((rv = mcn_rng_mpz_unit(rng, r, pk->n)) == MCN_OK) {
		rv = mcn_paillier_encrypt_r(pk, c, m, r);
	}
	mcn_mpz_clear_secret(r, NULL);
	return rv;
}

mcn_err
mcn_paillier_ct_validate(const mcn_paillier_pk *pk, const mpz_t c)
{
	mpz_t g;
	int ok;

	if (mpz_sgn(c) <= 0 || mpz_cmp(c, pk->n2) >= 0) {
		return MCN_ECIPHERTEXT;
	}
	mpz_init(g);
	mpz_gcd(g, c, pk->n);
	ok = mpz_cmp_ui(g, 1) == 0;
	mpz_clear(g);
	return ok ? MCN_OK : MCN_ECIPHERTEXT;
}

/* One CRT half: out = L_p(c^(p-1) mod p^2) h_p mod p. */
static void
pai_dec_half(mpz_t out, const mpz_t c, const mpz_t p, const mpz_t p2,
    const mpz_t pm1, const mpz_t hp, mpz_t tmp)
{
	mpz_mod(tmp, c, p2);
	mpz_powm_sec(out, tmp, pm1, p2);
	pai_L(tmp, out, p);
	mpz_mul(out, tmp, hp);
	mpz_mod(out, out, p);
}

mcn_err
mcn_paillier_decrypt(const mcn_paillier_sk *sk, mpz_t m, const mpz_t c)
{
	mpz_t mp, mq, tmp;
	mcn_err rv;

	if ((rv = mcn_paillier_ct_validate(sk->pk, c)) != MCN_OK) {
		return rv;
	}
	mpz_init2(mp, 2 * sk->pk->bits);
	mpz_init2(mq, 2 * sk->pk->bits);
	mpz_init2(tmp, 2 * sk->pk->bits);
	pai_dec_half(mp, c, sk->p, sk->p2, sk->pm1, sk->hp, tmp);
	pai_dec_half(mq, c, sk->q, sk->q2, sk->qm1, sk->hq, tmp);
	/* Garner: m = mq + q ((mp - mq) q^-1 mod p) */
	mpz_sub(tmp, mp, mq);
	mpz_mul(tmp, tmp, sk->qinv);
	mpz_mod(tmp, tmp, sk->p);
	mpz_mul(tmp, tmp, sk->q);
	mpz_add(m, tmp, mq);
	mcn_mpz_clear_secret(mp, mq, tmp, NULL);
	return MCN_OK;
}

void
mcn_paillier_ee_add(const mcn_paillier_pk *pk, mpz_t out, const mpz_t a,
    const mpz_t b)
{
	mpz_mul(out, a, b);
	mpz_mod(out, out, pk->n2);
}

void
mcn_paillier_ep_add(const mcn_paillier_pk *pk, mpz_t out, const mpz_t a,
    const mpz_t m)
{
	mpz_t mm, tmp;

	mpz_inits(mm, tmp, NULL);
	mpz_mod(mm, m, pk->n);
	pai_finish(pk, out, mm, a, tmp);
	mcn_mpz_clear_secret(mm, tmp, NULL);
}

void
mcn_paillier_ep_mul(const mcn_paillier_pk *pk, mpz_t out, const mpz_t a,
    const mpz_t k)
{
	mpz_t kk;

	/* E(a)^k with k reduced mod n: (1+n)^(a k) depends on a k mod n only,
	 * and r^(n k) stays an n-th power. */
	mpz_init(kk);
	mpz_mod(kk, k, pk->n);
	mpz_powm(out, a, kk, pk->n2);
	mpz_clear(kk);
}

mcn_err
mcn_paillier_rerandomize(const mcn_paillier_pk *pk, mpz_t out, const mpz_t a,
    mcn_rng *rng)
{
	mpz_t zero, e0;
	mcn_err rv;

	/* E(a) * E(0) with fresh randomness */
	mpz_inits(zero, e0, NULL);
	if ((rv = mcn_paillier_encrypt(pk, e0, zero, rng)) == MCN_OK) {
		mcn_paillier_ee_add(pk, out, a, e0);
	}
	mcn_mpz_clear_secret(e0, NULL);
	mpz_clear(zero);
	return rv;
}

/* ---- batch ---- */

mcn_err
mcn_paillier_encrypt_vec(const mcn_paillier_pk *pk, mpz_t *c, const mpz_t *m,
    size_t count, mcn_rng_pool *pool)
{
	mcn_err first = MCN_OK;
	const long cnt = (long)count;

	MCN_MUST(mcn_rng_pool_size(pool) >= mcn_threads_max());
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (cnt > 1)
#endif
	for (long i = 0; i < cnt; i++) {
		mcn_rng *rng = mcn_rng_pool_get(pool, mcn_omp_thread());
		mcn_err rv = mcn_paillier_encrypt(pk, c[i], m[i], rng);
		mcn_omp_first_err(&first, rv);
	}
	return first;
}

mcn_err
mcn_paillier_decrypt_vec(const mcn_paillier_sk *sk, mpz_t *m, const mpz_t *c,
    size_t count)
{
	mcn_err first = MCN_OK;
	const long cnt = (long)count;

#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (cnt > 1)
#endif
	for (long i = 0; i < cnt; i++) {
		mcn_err rv = mcn_paillier_decrypt(sk, m[i], c[i]);
		mcn_omp_first_err(&first, rv);
	}
	return first;
}

void
mcn_paillier_ee_add_vec(const mcn_paillier_pk *pk, mpz_t *out, const mpz_t *a,
    const mpz_t *b, size_t count)
{
	const long cnt = (long)count;

#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (cnt >= 64)
#endif
	for (long i = 0; i < cnt; i++) {
		mcn_paillier_ee_add(pk, out[i], a[i], b[i]);
	}
}

mcn_err
mcn_paillier_ct_validate_vec(const mcn_paillier_pk *pk, const mpz_t *c,
    size_t count)
{
	int bad = 0;
	const long cnt = (long)count;

#ifdef _OPENMP
#pragma omp parallel for schedule(static) reduction(| : bad) if (cnt >= 16)
#endif
	for (long i = 0; i < cnt; i++) {
		bad |= mcn_paillier_ct_validate(pk, c[i]) != MCN_OK;
	}
	return bad ? MCN_ECIPHERTEXT : MCN_OK;
}

/* ---- serialization ---- */

enum { PAI_T_PK = 0x01, PAI_T_SK = 0x02, PAI_T_CT = 0x10 };

size_t
mcn_paillier_pk_len(const mcn_paillier_pk *pk)
{
	return MCN_SER_HDR_BYTES + 4 + MCN_PAILLIER_FP_BYTES +
	    3 * (pk->bits / 8);
}

size_t
mcn_paillier_sk_len(const mcn_paillier_sk *sk)
{
	return MCN_SER_HDR_BYTES + 4 + MCN_PAILLIER_FP_BYTES +
	    2 * (sk->pk->bits / 8);
}

size_t
mcn_paillier_ct_len(const mcn_paillier_pk *pk)
{
	return MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES +
	    2 * (pk->bits / 8);
}

mcn_err
mcn_paillier_pk_export(const mcn_paillier_pk *pk, uint8_t *buf, size_t buflen)
{
	size_t L = pk->bits / 8;
	uint8_t *p = buf;

	if (buflen < mcn_paillier_pk_len(pk)) {
		return MCN_EINVAL;
	}
	mcn_ser_put_hdr(p, PAI_T_PK);
	p += MCN_SER_HDR_BYTES;
	*p++ = (uint8_t)(pk->bits >> 8);
	*p++ = (uint8_t)pk->bits;
	*p++ = 0;
	*p++ = 0;
	memcpy(p, pk->fp, MCN_PAILLIER_FP_BYTES);
	p += MCN_PAILLIER_FP_BYTES;
	mcn_mpz_to_bytes(p, L, pk->n);
	mcn_mpz_to_bytes(p + L, 2 * L, pk->hs);
	return MCN_OK;
}

/* Parses the common "bits, 0, fingerprint" prefix of key objects. */
static mcn_err
pai_get_keyhdr(const uint8_t *buf, size_t len, uint8_t type, unsigned *bits,
    const uint8_t **fp, const uint8_t **body)
{
	mcn_err rv;

	if ((rv = mcn_ser_check_hdr(buf, len, type)) != MCN_OK) {
		return rv;
	}
	if (len < MCN_SER_HDR_BYTES + 4 + MCN_PAILLIER_FP_BYTES) {
		return MCN_EFORMAT;
	}
	buf += MCN_SER_HDR_BYTES;
	*bits = ((unsigned)buf[0] << 8) | buf[1];
	if (buf[2] != 0 || buf[3] != 0 || *bits < MCN_PAILLIER_BITS_MIN ||
	    *bits > MCN_PAILLIER_BITS_MAX || *bits % 16 != 0) {
		return MCN_EFORMAT;
	}
	*fp = buf + 4;
	*body = buf + 4 + MCN_PAILLIER_FP_BYTES;
	return MCN_OK;
}

mcn_err
mcn_paillier_pk_import(mcn_paillier_pk **out, const uint8_t *buf, size_t len)
{
	unsigned bits;
	const uint8_t *fp, *body;
	mpz_t n, hs;
	mcn_err rv;

	*out = NULL;
	if ((rv = pai_get_keyhdr(buf, len, PAI_T_PK, &bits, &fp, &body)) !=
	    MCN_OK) {
		return rv;
	}
	if (len !=
	    MCN_SER_HDR_BYTES + 4 + MCN_PAILLIER_FP_BYTES +
	        3 * (size_t)(bits / 8)) {
		return MCN_EFORMAT;
	}
	mpz_inits(n, hs, NULL);
	mcn_mpz_from_bytes(n, body, bits / 8);
	mcn_mpz_from_bytes(hs, body + bits / 8, 2 * (bits / 8));
	if (mpz_sizeinbase(n, 2) != bits) {
		rv = MCN_EKEY;
	} else if ((rv = mcn_paillier_pk_new(out, n, hs)) == MCN_OK &&
	    !mcn_ct_memeq((*out)->fp, fp, MCN_PAILLIER_FP_BYTES)) {
		mcn_paillier_pk_free(*out);
		*out = NULL;
		rv = MCN_EKEYMISMATCH;
	}
	mpz_clears(n, hs, NULL);
	return rv;
}

mcn_err
mcn_paillier_sk_export(const mcn_paillier_sk *sk, uint8_t *buf, size_t buflen)
{
	size_t L = sk->pk->bits / 8;
	uint8_t *p = buf;

	if (buflen < mcn_paillier_sk_len(sk)) {
		return MCN_EINVAL;
	}
	mcn_ser_put_hdr(p, PAI_T_SK);
	p += MCN_SER_HDR_BYTES;
	*p++ = (uint8_t)(sk->pk->bits >> 8);
	*p++ = (uint8_t)sk->pk->bits;
	*p++ = 0;
	*p++ = 0;
	memcpy(p, sk->pk->fp, MCN_PAILLIER_FP_BYTES);
	p += MCN_PAILLIER_FP_BYTES;
	mcn_mpz_to_bytes(p, L / 2, sk->p);
	mcn_mpz_to_bytes(p + L / 2, L / 2, sk->q);
	mcn_mpz_to_bytes(p + L, L, sk->h);
	return MCN_OK;
}

mcn_err
mcn_paillier_sk_import(mcn_paillier_sk **out, const uint8_t *buf, size_t len)
{
	unsigned bits;
	const uint8_t *fp, *body;
	mcn_paillier_pk *pk = NULL;
	mpz_t p, q, h;
	size_t L;
	mcn_err rv;

	*out = NULL;
	if ((rv = pai_get_keyhdr(buf, len, PAI_T_SK, &bits, &fp, &body)) !=
	    MCN_OK) {
		return rv;
	}
	L = bits / 8;
	if (len != MCN_SER_HDR_BYTES + 4 + MCN_PAILLIER_FP_BYTES + 2 * L) {
		return MCN_EFORMAT;
	}
	mpz_inits(p, q, h, NULL);
	mcn_mpz_from_bytes(p, body, L / 2);
	mcn_mpz_from_bytes(q, body + L / 2, L / 2);
	mcn_mpz_from_bytes(h, body + L, L);
	rv = mcn_paillier_from_primes(&pk, out, p, q, h, NULL);
	if (rv == MCN_OK &&
	    (pk->bits != bits ||
	        !mcn_ct_memeq(pk->fp, fp, MCN_PAILLIER_FP_BYTES))) {
		mcn_paillier_sk_free(*out);
		*out = NULL;
		rv = MCN_EKEYMISMATCH;
	}
	mcn_mpz_clear_secret(p, q, h, NULL);
	return rv;
}

mcn_err
mcn_paillier_ct_export(const mcn_paillier_pk *pk, uint8_t *buf, size_t buflen,
    const mpz_t c)
{
	if (buflen < mcn_paillier_ct_len(pk) || mpz_sgn(c) <= 0 ||
	    mpz_cmp(c, pk->n2) >= 0) {
		return MCN_EINVAL;
	}
	mcn_ser_put_hdr(buf, PAI_T_CT);
	memcpy(buf + MCN_SER_HDR_BYTES, pk->fp, MCN_PAILLIER_CT_FP_BYTES);
	mcn_mpz_to_bytes(buf + MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES,
	    2 * (pk->bits / 8), c);
	return MCN_OK;
}

mcn_err
mcn_paillier_ct_import(const mcn_paillier_pk *pk, mpz_t c, const uint8_t *buf,
    size_t len)
{
	mcn_err rv;

	if ((rv = mcn_ser_check_hdr(buf, len, PAI_T_CT)) != MCN_OK) {
		return rv;
	}
	if (len < MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES) {
		return MCN_EFORMAT;
	}
	if (!mcn_ct_memeq(buf + MCN_SER_HDR_BYTES, pk->fp,
	        MCN_PAILLIER_CT_FP_BYTES)) {
		return MCN_EKEYMISMATCH;
	}
	if (len != mcn_paillier_ct_len(pk)) {
		return MCN_EFORMAT;
	}
	mcn_mpz_from_bytes(c,
	    buf + MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES,
	    2 * (pk->bits / 8));
	return mcn_paillier_ct_validate(pk, c);
}
