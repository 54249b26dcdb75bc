/*
 * crypto/threshold.c - threshold Paillier (Shoup 2000; Damgård–Jurik 2001,
 * s = 1; Fouque–Poupard–Stern 2000).
 *
 * Dealer (trusted, run once at the consortium key ceremony):
 *   p = 2p'+1, q = 2q'+1 safe primes, n = pq, m = p'q', Delta = parties!.
 *   d with d = 0 mod m and d = 1 mod n (d = m (m^-1 mod n)).
 *   f(X) = d + a_1 X + ... + a_{t-1} X^{t-1} over Z_{nm}, a_j uniform;
 *   share s_i = f(i) mod nm for i = 1..parties.
 *   v a random square of Z*_{n^2}; verification keys v_i = v^(Delta s_i).
 *
 * Partial decryption of c by party i:  c_i = c^(2 Delta s_i) mod n^2, with
 *   a proof that log_{c^4}(c_i^2) = log_v(v_i) (Chaum–Pedersen, made
 *   non-interactive with Fiat–Shamir): r uniform of R bits, a = (c^4)^r,
 *   b = v^r, e = H(fp, i, c^4, c_i^2, v, v_i, a, b), z = r + e Delta s_i.
 *   R = 2|n| + |e| + |Delta| + 128, so z hides e Delta s_i statistically
 *   (2^-128). Verify: a = (c^4)^z (c_i^2)^-e, b = v^z v_i^-e, recompute e.
 *
 * Combination from a set S of t valid partials:
 *   lambda_i = Delta prod_{j in S, j != i} j / (j - i)   (an integer),
 *   c' = prod c_i^(2 lambda_i) = c^(4 Delta^2 d) = 1 + 4 Delta^2 M n mod n^2,
 *   M = L(c') (4 Delta^2)^-1 mod n with L(x) = (x - 1) / n.
 *
 * Secret: s_i, the proof randomness r and z before it is published (z is
 * public afterwards), the dealer's p, q, m, d and polynomial. Exponents that
 * involve s_i or r go through mpz_powm_sec; public exponents use mpz_powm
 * or, in batch verification, fixed-base tables (fbexp.h, variable time).
 */
#include "crypto/threshold.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "crypto/fbexp.h"
#include "crypto/internal.h"
#include "crypto/mem.h"

struct mcn_tpaillier_pub {
	mcn_paillier_pk *pk; /* owned: n, n^2, hs, fingerprint */
	unsigned t;          /* threshold */
	unsigned parties;    /* number of shares */
	unsigned rbits;      /* proof randomness length R */
	unsigned zbytes;     /* serialized length of z */
	mpz_t delta;         /* parties! */
	mpz_t v;             /* verification base (a square in Z*_{n^2}) */
	mpz_t *vi;           /* v^(Delta s_i), i = 1..parties at vi[i-1] */
	mpz_t inv4d2;        /* (4 Delta^2)^-1 mod n */
};

struct mcn_tpaillier_share {
	uint32_t index;                    /* 1..parties */
	uint8_t fp[MCN_PAILLIER_FP_BYTES]; /* key it belongs to */
	mpz_t s;                           /* s_i = f(i) mod nm (secret) */
};

static const char thr_tag[] = "mcn/tpaillier/proof/v1";

void
mcn_tpaillier_partial_init(mcn_tpaillier_partial *p)
{
	p->index = 0;
	mpz_inits(p->ci, p->e, p->z, NULL);
}

void
mcn_tpaillier_partial_clear(mcn_tpaillier_partial *p)
{
	mpz_clears(p->ci, p->e, p->z, NULL);
}

void
mcn_tpaillier_pub_free(mcn_tpaillier_pub *pub)
{
	if (pub == NULL) {
		return;
	}
	if (pub->vi != NULL) {
		for (unsigned i = 0; i < pub->parties; i++) {
			mpz_clear(pub->vi[i]);
		}
		mcn_free(pub->vi, pub->parties * sizeof(mpz_t));
	}
	mpz_clears(pub->delta, pub->v, pub->inv4d2, NULL);
	mcn_paillier_pk_free(pub->pk);
	mcn_free(pub, sizeof(*pub));
}

void
mcn_tpaillier_share_free(mcn_tpaillier_share *sh)
{
	if (sh == NULL) {
		return;
	}
	mcn_mpz_clear_secret(sh->s, NULL);
	mcn_free(sh, sizeof(*sh));
}

/* Allocates pub with t, parties, delta, rbits and vi[] initialised. */
static mcn_err
thr_pub_alloc(mcn_tpaillier_pub **out, unsigned bits, unsigned t,
    unsigned parties)
{
	mcn_tpaillier_pub *pub;

	*out = NULL;
	if ((pub = mcn_zalloc(sizeof(*pub))) == NULL) {
		return MCN_ENOMEM;
	}
	mpz_inits(pub->delta, pub->v, pub->inv4d2, NULL);
	pub->t = t;
	pub->parties = parties;
	mpz_fac_ui(pub->delta, parties);
	pub->rbits = 2 * bits + MCN_TPAILLIER_HASH_BITS +
	    (unsigned)mpz_sizeinbase(pub->delta, 2) + 128;
	pub->zbytes = (pub->rbits + 1 + 7) / 8;
	if ((pub->vi = mcn_alloc(parties * sizeof(mpz_t))) == NULL) {
		mcn_tpaillier_pub_free(pub);
		return MCN_ENOMEM;
	}
	for (unsigned i = 0; i < parties; i++) {
		mpz_init(pub->vi[i]);
	}
	*out = pub;
	return MCN_OK;
}

/* inv4d2 = (4 Delta^2)^-1 mod n; MCN_EKEY if not invertible. */
static mcn_err
thr_pub_finish(mcn_tpaillier_pub *pub)
{
	mpz_t x;
	int ok;

	mpz_init(x);
	mpz_mul(x, pub->delta, pub->delta);
	mpz_mul_ui(x, x, 4);
	ok = mpz_invert(pub->inv4d2, x, mcn_paillier_n(pub->pk)) != 0;
	mpz_clear(x);
	return ok ? MCN_OK : MCN_EKEY;
}

static int
thr_is_safe_prime(const mpz_t p)
{
	mpz_t pp;
	int ok;

	if (mpz_cmp_ui(p, 5) < 0 || mpz_probab_prime_p(p, 30) == 0) {
		return 0;
	}
	mpz_init(pp);
	mpz_sub_ui(pp, p, 1);
	mpz_fdiv_q_2exp(pp, pp, 1);
	ok = mpz_probab_prime_p(pp, 30) != 0;
	mpz_clear(pp);
	return ok;
}

mcn_err
mcn_tpaillier_deal_from_primes(mcn_tpaillier_pub **pub_out,
    mcn_tpaillier_share **shares, const mpz_t p, const mpz_t q, unsigned t,
    unsigned parties, mcn_rng *rng)
{
	mcn_tpaillier_pub *pub = NULL;
	mcn_paillier_pk *tpk = NULL;
	mcn_paillier_sk *tsk = NULL;
	mpz_t n, n2, m, nm, d, acc, x, *coef = NULL;
	unsigned bits;
	mcn_err rv;

	*pub_out = NULL;
	for (unsigned i = 0; i < parties; i++) {
		shares[i] = NULL;
	}
	if (t < 1 || t > parties || parties > MCN_TPAILLIER_MAX_PARTIES) {
		return MCN_EINVAL;
	}
	if (mpz_sizeinbase(p, 2) != mpz_sizeinbase(q, 2) ||
	    mpz_cmp(p, q) == 0 || !thr_is_safe_prime(p) ||
	    !thr_is_safe_prime(q)) {
		return MCN_EKEY;
	}
	mpz_inits(n, n2, m, nm, d, acc, x, NULL);
	/* The ordinary key pair gives n, hs and the DJN base; its secret
	 * half is freed (and wiped) at once. */
	if ((rv = mcn_paillier_from_primes(&tpk, &tsk, p, q, NULL, rng)) !=
	    MCN_OK) {
		goto out;
	}
	mpz_set(n, mcn_paillier_n(tpk));
	mpz_set(n2, mcn_paillier_n2(tpk));
	bits = mcn_paillier_bits(tpk);
	if ((rv = thr_pub_alloc(&pub, bits, t, parties)) != MCN_OK ||
	    (rv = mcn_paillier_pk_new(&pub->pk, n, mcn_paillier_hs(tpk))) !=
	        MCN_OK) {
		goto out;
	}
	mcn_paillier_sk_free(tsk);
	tsk = NULL;
	/* m = p'q', d = m (m^-1 mod n), modulus nm. */
	mpz_sub_ui(m, p, 1);
	mpz_fdiv_q_2exp(m, m, 1);
	mpz_sub_ui(x, q, 1);
	mpz_fdiv_q_2exp(x, x, 1);
	mpz_mul(m, m, x);
	mpz_mul(nm, n, m);
	if (mpz_invert(d, m, n) == 0) {
		rv = MCN_EKEY;
		goto out;
	}
	mpz_mul(d, d, m);
	if ((coef = mcn_alloc(t * sizeof(mpz_t))) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	for (unsigned j = 0; j < t; j++) {
		mpz_init(coef[j]);
	}
	mpz_set(coef[0], d);
	for (unsigned j = 1; j < t; j++) {
		if ((rv = mcn_rng_mpz_below(rng, coef[j], nm)) != MCN_OK) {
			goto out;
		}
	}
	/* v = r^2 for a random unit r of Z_{n^2}. */
	if ((rv = mcn_rng_mpz_unit(rng, x, n2)) != MCN_OK) {
		goto out;
	}
	mpz_powm_ui(pub->v, x, 2, n2);
	for (unsigned i = 1; i <= parties; i++) {
		mcn_tpaillier_share *sh;
		if ((sh = mcn_zalloc(sizeof(*sh))) == NULL) {
			rv = MCN_ENOMEM;
			goto out;
		}
		mpz_init(sh->s);
		shares[i - 1] = sh;
		sh->index = i;
		memcpy(sh->fp, mcn_paillier_fingerprint(pub->pk),
		    MCN_PAILLIER_FP_BYTES);
		/* Horner: f(i) mod nm */
		mpz_set(acc, coef[t - 1]);
		for (unsigned j = t - 1; j-- > 0;) {
			mpz_mul_ui(acc, acc, i);
			mpz_add(acc, acc, coef[j]);
			mpz_mod(acc, acc, nm);
		}
		mpz_set(sh->s, acc);
		mpz_mul(x, pub->delta, sh->s);
		if (mpz_sgn(x) == 0) {
			mpz_set_ui(pub->vi[i - 1], 1);
		} else {
			mpz_powm_sec(pub->vi[i - 1], pub->v, x, n2);
		}
	}
	if ((rv = thr_pub_finish(pub)) != MCN_OK) {
		goto out;
	}
	*pub_out = pub;
	pub = NULL;
	rv = MCN_OK;
out:
	if (coef != NULL) {
		for (unsigned j = 0; j < t; j++) {
			mcn_mpz_clear_secret(coef[j], NULL);
		}
		mcn_free(coef, t * sizeof(mpz_t));
	}
	if (rv != MCN_OK) {
		for (unsigned i = 0; i < parties; i++) {
			mcn_tpaillier_share_free(shares[i]);
			shares[i] = NULL;
		}
	}
	mcn_tpaillier_pub_free(pub);
	mcn_paillier_sk_free(tsk);
	mcn_mpz_clear_secret(m, nm, d, acc, x, NULL);
	mpz_clears(n, n2, NULL);
	return rv;
}

mcn_err
mcn_tpaillier_deal(mcn_tpaillier_pub **pub, mcn_tpaillier_share **shares,
    unsigned bits, unsigned t, unsigned parties, mcn_rng *rng)
{
	mpz_t p, q;
	mcn_err rv;

	*pub = NULL;
	if (bits < MCN_PAILLIER_BITS_MIN || bits > MCN_PAILLIER_BITS_MAX ||
	    bits % 16 != 0 || t < 1 || t > parties ||
	    parties > MCN_TPAILLIER_MAX_PARTIES) {
		return MCN_EINVAL;
	}
	mpz_inits(p, q, NULL);
	do {
		if ((rv = mcn_prime_generate(p, bits / 2, 1)) != MCN_OK ||
		    (rv = mcn_prime_generate(q, bits / 2, 1)) != MCN_OK) {
			break;
		}
		rv = mcn_tpaillier_deal_from_primes(pub, shares, p, q, t,
		    parties, rng);
	} while (rv == MCN_EKEY); /* p == q: draw again */
	mcn_mpz_clear_secret(p, q, NULL);
	return rv;
}

const mcn_paillier_pk *
mcn_tpaillier_pk(const mcn_tpaillier_pub *pub)
{
	return pub->pk;
}

mcn_paillier_pk *
mcn_tpaillier_pk_mut(mcn_tpaillier_pub *pub)
{
	return pub->pk;
}

unsigned
mcn_tpaillier_threshold(const mcn_tpaillier_pub *pub)
{
	return pub->t;
}

unsigned
mcn_tpaillier_parties(const mcn_tpaillier_pub *pub)
{
	return pub->parties;
}

uint32_t
mcn_tpaillier_share_index(const mcn_tpaillier_share *sh)
{
	return sh->index;
}

/* e = SHA-256(tag || fp || index || c4 || x || v || vi || a || b), where
 * every group element is written as 2L big-endian bytes. */
static mcn_err
thr_challenge(const mcn_tpaillier_pub *pub, uint32_t index, const mpz_t c4,
    const mpz_t x, const mpz_t a, const mpz_t b, mpz_t e)
{
	size_t L2 = 2 * (mcn_paillier_bits(pub->pk) / 8);
	uint8_t idx[4] = { (uint8_t)(index >> 24), (uint8_t)(index >> 16),
		(uint8_t)(index >> 8), (uint8_t)index };
	uint8_t dig[32];
	unsigned int dl = 0;
	mpz_srcptr vals[6] = { c4, x, pub->v, pub->vi[index - 1], a, b };
	uint8_t *buf;
	EVP_MD_CTX *ctx;
	mcn_err rv = MCN_ECRYPTO;

	if ((buf = mcn_alloc(L2)) == NULL) {
		return MCN_ENOMEM;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, thr_tag, sizeof(thr_tag) - 1) != 1 ||
	    EVP_DigestUpdate(ctx, mcn_paillier_fingerprint(pub->pk),
	        MCN_PAILLIER_FP_BYTES) != 1 ||
	    EVP_DigestUpdate(ctx, idx, sizeof(idx)) != 1) {
		goto out;
	}
	for (int k = 0; k < 6; k++) {
		mcn_mpz_to_bytes(buf, L2, vals[k]);
		if (EVP_DigestUpdate(ctx, buf, L2) != 1) {
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, dig, &dl) != 1 || dl != sizeof(dig)) {
		goto out;
	}
	mcn_mpz_from_bytes(e, dig, sizeof(dig));
	rv = MCN_OK;
out:
	EVP_MD_CTX_free(ctx);
	mcn_free(buf, L2);
	return rv;
}

mcn_err
mcn_tpaillier_partial_decrypt(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_share *sh, mcn_tpaillier_partial *out, const mpz_t c,
    mcn_rng *rng)
{
	mpz_srcptr n2 = mcn_paillier_n2(pub->pk);
	mpz_t exp, r, c4, x, a, b;
	mcn_err rv;

	if (!mcn_ct_memeq(sh->fp, mcn_paillier_fingerprint(pub->pk),
	        MCN_PAILLIER_FP_BYTES) ||
	    sh->index < 1 || sh->index > pub->parties) {
		return MCN_EKEYMISMATCH;
	}
	if ((rv = mcn_paillier_ct_validate(pub->pk, c)) != MCN_OK) {
		return rv;
	}
	mpz_inits(exp, r, c4, x, a, b, NULL);
	/* c_i = c^(2 Delta s_i) */
	mpz_mul(exp, pub->delta, sh->s);
	mpz_mul_2exp(exp, exp, 1);
	if (mpz_sgn(exp) == 0) {
		mpz_set_ui(out->ci, 1);
	} else {
		mpz_powm_sec(out->ci, c, exp, n2);
	}
	/* proof */
	mpz_powm_ui(c4, c, 4, n2);
	mpz_powm_ui(x, out->ci, 2, n2);
	if ((rv = mcn_rng_mpz_bits(rng, r, pub->rbits)) != MCN_OK) {
		goto out;
	}
	mpz_setbit(r, 0); /* powm_sec needs a positive exponent */
	mpz_powm_sec(a, c4, r, n2);
	mpz_powm_sec(b, pub->v, r, n2);
	if ((rv = thr_challenge(pub, sh->index, c4, x, a, b, out->e)) !=
	    MCN_OK) {
		goto out;
	}
	/* z = r + e Delta s_i (exp holds 2 Delta s_i) */
	mpz_fdiv_q_2exp(exp, exp, 1);
	mpz_mul(exp, exp, out->e);
	mpz_add(out->z, r, exp);
	out->index = sh->index;
out:
	mcn_mpz_clear_secret(exp, r, NULL);
	mpz_clears(c4, x, a, b, NULL);
	return rv;
}

/* The checks of mcn_tpaillier_verify that come before any
 * exponentiation: MCN_OK if the proof is to be computed. */
static mcn_err
thr_verify_check(const mcn_tpaillier_pub *pub, const mpz_t c,
    const mcn_tpaillier_partial *part)
{
	if (part->index < 1 || part->index > pub->parties) {
		return MCN_EPARTY;
	}
	if (mcn_paillier_ct_validate(pub->pk, c) != MCN_OK ||
	    mcn_paillier_ct_validate(pub->pk, part->ci) != MCN_OK) {
		return MCN_ECIPHERTEXT;
	}
	if (mpz_sgn(part->z) < 0 ||
	    mpz_sizeinbase(part->z, 2) > pub->rbits + 1 ||
	    mpz_sgn(part->e) < 0 ||
	    mpz_sizeinbase(part->e, 2) > MCN_TPAILLIER_HASH_BITS) {
		return MCN_EPROOF;
	}
	return MCN_OK;
}

/* The rest of mcn_tpaillier_verify for a checked part, given c4 = c^4 mod
 * n^2. tv, if not NULL, is a table of v and tc one of c4 (for exponents
 * of rbits + 1 bits): they give the same a and b as mpz_powm. */
static mcn_err
thr_verify_core(const mcn_tpaillier_pub *pub, const mpz_t c4,
    const mcn_tpaillier_partial *part, const mcn_fbexp *tv,
    const mcn_fbexp *tc)
{
	mpz_srcptr n2 = mcn_paillier_n2(pub->pk);
	mpz_t x, a, b, t1, ne, e2;
	mcn_err rv;

	mpz_inits(x, a, b, t1, ne, e2, NULL);
	mpz_powm_ui(x, part->ci, 2, n2);
	mpz_neg(ne, part->e);
	/* a = c4^z x^-e, b = v^z v_i^-e (x, v_i are units: inverses exist) */
	if (tc != NULL) {
		mcn_fbexp_pow(tc, a, part->z);
	} else {
		mpz_powm(a, c4, part->z, n2);
	}
	mpz_powm(t1, x, ne, n2);
	mpz_mul(a, a, t1);
	mpz_mod(a, a, n2);
	if (tv != NULL) {
		mcn_fbexp_pow(tv, b, part->z);
	} else {
		mpz_powm(b, pub->v, part->z, n2);
	}
	mpz_powm(t1, pub->vi[part->index - 1], ne, n2);
	mpz_mul(b, b, t1);
	mpz_mod(b, b, n2);
	if ((rv = thr_challenge(pub, part->index, c4, x, a, b, e2)) == MCN_OK &&
	    mpz_cmp(e2, part->e) != 0) {
		rv = MCN_EPROOF;
	}
	mpz_clears(x, a, b, t1, ne, e2, NULL);
	return rv;
}

mcn_err
mcn_tpaillier_verify(const mcn_tpaillier_pub *pub, const mpz_t c,
    const mcn_tpaillier_partial *part)
{
	mpz_t c4;
	mcn_err rv;

	if ((rv = thr_verify_check(pub, c, part)) != MCN_OK) {
		return rv;
	}
	mpz_init(c4);
	mpz_powm_ui(c4, c, 4, mcn_paillier_n2(pub->pk));
	rv = thr_verify_core(pub, c4, part, NULL, NULL);
	mpz_clear(c4);
	return rv;
}

mcn_err
mcn_tpaillier_combine(const mcn_tpaillier_pub *pub, mpz_t m, const mpz_t c,
    const mcn_tpaillier_partial *parts, size_t k, int verified, uint32_t *bad,
    size_t *nbad)
{
	mpz_srcptr n = mcn_paillier_n(pub->pk), n2 = mcn_paillier_n2(pub->pk);
	size_t use[MCN_TPAILLIER_MAX_PARTIES];
	size_t nuse = 0, nb = 0;
	uint8_t seen[MCN_TPAILLIER_MAX_PARTIES + 1];
	mpz_t acc, lam, num, den, t1;
	mcn_err rv;

	if (nbad != NULL) {
		*nbad = 0;
	}
	if ((rv = mcn_paillier_ct_validate(pub->pk, c)) != MCN_OK) {
		return rv;
	}
	/* Invalid partials are skipped and named, whatever index they claim
	 * (so a forged partial cannot block decryption); two valid partials
	 * of one party are a caller error. All k are examined. */
	memset(seen, 0, sizeof(seen));
	for (size_t i = 0; i < k; i++) {
		uint32_t idx = parts[i].index;
		mcn_err vr = MCN_OK;
		if (idx < 1 || idx > pub->parties) {
			vr = MCN_EPARTY;
		} else if (!verified) {
			vr = mcn_tpaillier_verify(pub, c, &parts[i]);
		} else if (mcn_paillier_ct_validate(pub->pk, parts[i].ci) !=
		    MCN_OK) {
			vr = MCN_ECIPHERTEXT;
		}
		if (vr != MCN_OK) {
			if (bad != NULL) {
				bad[nb] = idx;
			}
			nb++;
			continue;
		}
		if (seen[idx]) {
			if (nbad != NULL) {
				*nbad = nb;
			}
			return MCN_EDUPLICATE;
		}
		seen[idx] = 1;
		if (nuse < pub->t) {
			use[nuse++] = i;
		}
	}
	if (nbad != NULL) {
		*nbad = nb;
	}
	if (nuse < pub->t) {
		return MCN_ETOOFEW;
	}
	mpz_inits(acc, lam, num, den, t1, NULL);
	mpz_set_ui(acc, 1);
	for (size_t a = 0; a < nuse; a++) {
		long i = (long)parts[use[a]].index;
		/* lambda_i = Delta prod_{j != i} j / (j - i) */
		mpz_set(num, pub->delta);
		mpz_set_ui(den, 1);
		for (size_t b = 0; b < nuse; b++) {
			long j = (long)parts[use[b]].index;
			if (b == a) {
				continue;
			}
			mpz_mul_si(num, num, j);
			mpz_mul_si(den, den, j - i);
		}
		mpz_divexact(lam, num, den);
		mpz_mul_2exp(lam, lam, 1);
		mpz_powm(t1, parts[use[a]].ci, lam, n2);
		mpz_mul(acc, acc, t1);
		mpz_mod(acc, acc, n2);
	}
	/* M = L(acc) (4 Delta^2)^-1 mod n */
	mpz_sub_ui(acc, acc, 1);
	if (!mpz_divisible_p(acc, n)) {
		/* only reachable with verified != 0 and bad partials */
		rv = MCN_EPROOF;
	} else {
		mpz_divexact(acc, acc, n);
		mpz_mul(acc, acc, pub->inv4d2);
		mpz_mod(m, acc, n);
		rv = MCN_OK;
	}
	mpz_clears(acc, lam, num, den, t1, NULL);
	return rv;
}

/* mcn_tpaillier_partial_decrypt for count ciphertexts with the work of
 * each split in three: its three exponentiations, c^(2 Delta s_i),
 * (c^4)^r and v^r, are independent, so they run as separate OpenMP tasks
 * (on 2 cores a single partial decryption takes ~2/3 of the time). The
 * checks, the draw of r (from one generator, in order) and the
 * Fiat-Shamir challenge stay serial; the result is exactly what
 * mcn_tpaillier_partial_decrypt computes with the same r. */
static mcn_err
thr_pd_split(const mcn_tpaillier_pub *pub, const mcn_tpaillier_share *sh,
    mcn_tpaillier_partial *out, const mpz_t *c, size_t count, mcn_rng *rng)
{
	mpz_srcptr n2 = mcn_paillier_n2(pub->pk);
	const long cnt = (long)count;
	mpz_t *w; /* per ciphertext: exp, r, c4, a, b, x */
	mcn_err rv = MCN_OK;

	if (!mcn_ct_memeq(sh->fp, mcn_paillier_fingerprint(pub->pk),
	        MCN_PAILLIER_FP_BYTES) ||
	    sh->index < 1 || sh->index > pub->parties) {
		return MCN_EKEYMISMATCH;
	}
	for (size_t i = 0; i < count; i++) {
		if ((rv = mcn_paillier_ct_validate(pub->pk, c[i])) != MCN_OK) {
			return rv;
		}
	}
	if ((w = mcn_alloc(6 * count * sizeof(mpz_t))) == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t k = 0; k < 6 * count; k++) {
		mpz_init(w[k]);
	}
	for (size_t i = 0; i < count && rv == MCN_OK; i++) {
		mpz_ptr exp = w[6 * i], r = w[6 * i + 1], c4 = w[6 * i + 2];
		mpz_mul(exp, pub->delta, sh->s);
		mpz_mul_2exp(exp, exp, 1);
		mpz_powm_ui(c4, c[i], 4, n2);
		if ((rv = mcn_rng_mpz_bits(rng, r, pub->rbits)) == MCN_OK) {
			mpz_setbit(r, 0); /* powm_sec needs a positive exponent */
		}
	}
	if (rv == MCN_OK) {
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
		for (long k = 0; k < 3 * cnt; k++) {
			long i = k / 3;
			mpz_ptr exp = w[6 * i], r = w[6 * i + 1], c4 = w[6 * i + 2];
			switch (k % 3) {
			case 0: /* c_i = c^(2 Delta s_i) */
				if (mpz_sgn(exp) == 0) {
					mpz_set_ui(out[i].ci, 1);
				} else {
					mpz_powm_sec(out[i].ci, c[i], exp, n2);
				}
				break;
			case 1:
				mpz_powm_sec(w[6 * i + 3], c4, r, n2);
				break;
			default:
				mpz_powm_sec(w[6 * i + 4], pub->v, r, n2);
				break;
			}
		}
	}
	for (size_t i = 0; i < count && rv == MCN_OK; i++) {
		mpz_ptr exp = w[6 * i], r = w[6 * i + 1], c4 = w[6 * i + 2];
		mpz_ptr x = w[6 * i + 5];
		mpz_powm_ui(x, out[i].ci, 2, n2);
		if ((rv = thr_challenge(pub, sh->index, c4, x, w[6 * i + 3],
		         w[6 * i + 4], out[i].e)) != MCN_OK) {
			break;
		}
		/* z = r + e Delta s_i (exp holds 2 Delta s_i) */
		mpz_fdiv_q_2exp(exp, exp, 1);
		mpz_mul(exp, exp, out[i].e);
		mpz_add(out[i].z, r, exp);
		out[i].index = sh->index;
	}
	for (size_t i = 0; i < count; i++) {
		/* exp and r are secret (r hides s_i in z) */
		mcn_mpz_clear_secret(w[6 * i], w[6 * i + 1], NULL);
		for (size_t k = 2; k < 6; k++) {
			mpz_clear(w[6 * i + k]);
		}
	}
	mcn_free(w, 6 * count * sizeof(mpz_t));
	return rv;
}

mcn_err
mcn_tpaillier_partial_decrypt_vec(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_share *sh, mcn_tpaillier_partial *out, const mpz_t *c,
    size_t count, mcn_rng_pool *pool)
{
	mcn_err first = MCN_OK;
	const long cnt = (long)count;

	MCN_MUST(mcn_rng_pool_size(pool) >= mcn_threads_max());
	if (cnt < (long)mcn_threads_max()) {
		/* Fewer ciphertexts than threads (typically one): parallelize
		 * inside each partial decryption instead. */
		return thr_pd_split(pub, sh, out, c, count,
		    mcn_rng_pool_get(pool, 0));
	}
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (cnt > 1)
#endif
	for (long i = 0; i < cnt; i++) {
		mcn_err rv = mcn_tpaillier_partial_decrypt(pub, sh, &out[i],
		    c[i], mcn_rng_pool_get(pool, mcn_omp_thread()));
		mcn_omp_first_err(&first, rv);
	}
	return first;
}

/*
 * Batch verification with fixed-base tables (fbexp.h). Every proof needs
 * v^z and c4^z with z of rbits + 1 bits; the base v is the same for the
 * whole batch and the querier's batches hold each ciphertext once per
 * party (t times). So one Lim-Lee table of v is built per call, and one
 * of c4 per distinct ciphertext with enough proofs to pay for it
 * (mcn_fbexp_plan's cost model; at 2048 bits a table pays from 2 proofs
 * on: measured, build + 2 powers = 0.71 of 2 mpz_powm, 0.54 for 3, 0.3
 * for 6; at 512 bits from 3). With 6 parties x 8 ciphertexts at 2048
 * bits this makes the batch ~3x faster (bench_crypto verify_vec_48). Tables
 * are built in chunks of at most THR_VEC_BYTES (all tables of a chunk in
 * parallel), used read-only by the parallel verification of the chunk's
 * proofs, and freed. All exponents here are public. The results are
 * those of mcn_tpaillier_verify, proof by proof.
 */
#ifndef MCN_THR_VEC_BYTES /* overridable to test the chunking */
#define MCN_THR_VEC_BYTES ((size_t)8 << 20)
#endif
#define THR_VEC_BYTES MCN_THR_VEC_BYTES  /* all tables alive at once */
#define THR_VEC_VTAB ((size_t)2 << 20)   /* the table of v */
#define THR_VEC_CTAB ((size_t)1 << 20)   /* a table of one c4 */

/* A checked proof: its ciphertext, index, and group (or THR_NOGRP). */
struct thr_vref {
	mpz_srcptr c;
	size_t i;
	size_t g;
};
#define THR_NOGRP ((size_t)-1)

/* Proofs on one ciphertext with a table of c4. */
struct thr_vgrp {
	size_t first, n; /* their run in the sorted refs */
	unsigned h, v;
	size_t bytes;
	mpz_t c4;
	mcn_fbexp tab;
};

static int
thr_vref_cmp(const void *x, const void *y)
{
	const struct thr_vref *p = x, *q = y;
	int r = mpz_cmp(p->c, q->c);

	if (r != 0) {
		return r;
	}
	return (p->i > q->i) - (p->i < q->i);
}

/* Verifies the checked proofs without tables (small batches). */
static void
thr_verify_plain(const mcn_tpaillier_pub *pub, const mpz_t *c,
    const mcn_tpaillier_partial *parts, size_t count, mcn_err *status)
{
	const long cnt = (long)count;

#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (cnt > 1)
#endif
	for (long i = 0; i < cnt; i++) {
		if (status[i] == MCN_OK) {
			mpz_t c4;
			mpz_init(c4);
			mpz_powm_ui(c4, c[i], 4, mcn_paillier_n2(pub->pk));
			status[i] = thr_verify_core(pub, c4, &parts[i], NULL,
			    NULL);
			mpz_clear(c4);
		}
	}
}

/* Verifies refs [k0, k1) of group membership `g` (THR_NOGRP: those
 * without a table), with the table of v. */
static void
thr_verify_refs(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_partial *parts, mcn_err *status,
    const struct thr_vref *ref, size_t k0, size_t k1,
    const struct thr_vgrp *grp, int lone, const mcn_fbexp *tv)
{
	const long n = (long)(k1 - k0);

#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
#endif
	for (long k = 0; k < n; k++) {
		const struct thr_vref *r = &ref[k0 + (size_t)k];
		if ((r->g == THR_NOGRP) != lone) {
			continue;
		}
		if (lone) {
			mpz_t c4;
			mpz_init(c4);
			mpz_powm_ui(c4, r->c, 4, mcn_paillier_n2(pub->pk));
			status[r->i] = thr_verify_core(pub, c4, &parts[r->i],
			    tv, NULL);
			mpz_clear(c4);
		} else {
			status[r->i] = thr_verify_core(pub, grp[r->g].c4,
			    &parts[r->i], tv, &grp[r->g].tab);
		}
	}
}

mcn_err
mcn_tpaillier_verify_vec(const mcn_tpaillier_pub *pub, const mpz_t *c,
    const mcn_tpaillier_partial *parts, size_t count, mcn_err *status)
{
	mpz_srcptr n2 = mcn_paillier_n2(pub->pk);
	const unsigned zbits = pub->rbits + 1;
	const unsigned mbits = (unsigned)mpz_sizeinbase(n2, 2);
	const long cnt = (long)count;
	struct thr_vref *ref = NULL;
	struct thr_vgrp *grp = NULL;
	size_t np = 0, ng = 0, g0 = 0, vbytes = 0;
	unsigned vh, vv;
	int tv_built = 0;
	mcn_fbexp tv;
	mcn_err rv = MCN_OK;

	/* the checks, exactly those of mcn_tpaillier_verify */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) if (cnt > 1)
#endif
	for (long i = 0; i < cnt; i++) {
		status[i] = thr_verify_check(pub, c[i], &parts[i]);
	}
	for (size_t i = 0; i < count; i++) {
		np += status[i] == MCN_OK;
	}
	if (!mcn_fbexp_plan(&vh, &vv, &vbytes, zbits, mbits, np,
	        THR_VEC_VTAB)) {
		thr_verify_plain(pub, c, parts, count, status);
		goto out;
	}
	if ((ref = mcn_alloc(np * sizeof(*ref))) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	np = 0;
	for (size_t i = 0; i < count; i++) {
		if (status[i] == MCN_OK) {
			ref[np].c = c[i];
			ref[np].i = i;
			ref[np].g = THR_NOGRP;
			np++;
		}
	}
	qsort(ref, np, sizeof(*ref), thr_vref_cmp);
	/* groups of equal ciphertexts, twice: count, then fill */
	for (int pass = 0; pass < 2; pass++) {
		ng = 0;
		for (size_t k = 0, k1; k < np; k = k1) {
			unsigned h, v;
			size_t bytes;
			for (k1 = k + 1;
			     k1 < np && mpz_cmp(ref[k1].c, ref[k].c) == 0;
			     k1++) {
			}
			if (!mcn_fbexp_plan(&h, &v, &bytes, zbits, mbits,
			        k1 - k, THR_VEC_CTAB)) {
				continue;
			}
			if (pass == 1) {
				grp[ng].first = k;
				grp[ng].n = k1 - k;
				grp[ng].h = h;
				grp[ng].v = v;
				grp[ng].bytes = bytes;
				for (size_t j = k; j < k1; j++) {
					ref[j].g = ng;
				}
			}
			ng++;
		}
		if (pass == 0 && ng > 0 &&
		    (grp = mcn_zalloc(ng * sizeof(*grp))) == NULL) {
			rv = MCN_ENOMEM;
			goto out;
		}
	}
	/* chunks of groups whose tables fit, with the table of v */
	while (g0 < ng || !tv_built) {
		size_t g1 = g0, bytes = 0; /* beside the table of v */
		long ntask, first_grp;
		mcn_err brv = MCN_OK;
		while (g1 < ng && (g1 == g0 ||
		    vbytes + bytes + grp[g1].bytes <= THR_VEC_BYTES)) {
			bytes += grp[g1++].bytes;
		}
		first_grp = tv_built ? 0 : 1;
		ntask = first_grp + (long)(g1 - g0);
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (ntask > 1)
#endif
		for (long k = 0; k < ntask; k++) {
			mcn_err r;
			if (k < first_grp) {
				r = mcn_fbexp_init(&tv, pub->v, n2, zbits, vh,
				    vv);
			} else {
				struct thr_vgrp *G = &grp[g0 +
				    (size_t)(k - first_grp)];
				mpz_init(G->c4);
				mpz_powm_ui(G->c4, ref[G->first].c, 4, n2);
				r = mcn_fbexp_init(&G->tab, G->c4, n2, zbits,
				    G->h, G->v);
			}
			mcn_omp_first_err(&brv, r);
		}
		tv_built = 1;
		if (brv == MCN_OK && g1 > g0) {
			thr_verify_refs(pub, parts, status, ref,
			    grp[g0].first, grp[g1 - 1].first + grp[g1 - 1].n,
			    grp, 0, &tv);
		}
		for (size_t g = g0; g < g1; g++) {
			mcn_fbexp_clear(&grp[g].tab);
			mpz_clear(grp[g].c4);
		}
		g0 = g1;
		if (brv != MCN_OK) {
			rv = brv;
			goto out;
		}
	}
	/* the proofs on ciphertexts too rare for a table of their own */
	thr_verify_refs(pub, parts, status, ref, 0, np, grp, 1, &tv);
out:
	if (tv_built) {
		mcn_fbexp_clear(&tv);
	}
	mcn_free(grp, ng * sizeof(*grp));
	mcn_free(ref, np * sizeof(*ref));
	if (rv != MCN_OK) {
		for (size_t i = 0; i < count; i++) {
			status[i] = rv;
		}
		return rv;
	}
	for (size_t i = 0; i < count; i++) {
		if (status[i] != MCN_OK) {
			return status[i];
		}
	}
	return MCN_OK;
}

/* ---- serialization ---- */

enum { THR_T_PUB = 0x03, THR_T_SHARE = 0x04, THR_T_PART = 0x11 };

size_t
mcn_tpaillier_pub_len(const mcn_tpaillier_pub *pub)
{
	size_t L = mcn_paillier_bits(pub->pk) / 8;
	return MCN_SER_HDR_BYTES + 8 + MCN_PAILLIER_FP_BYTES + L + 2 * L +
	    2 * L + pub->parties * 2 * L;
}

size_t
mcn_tpaillier_share_len(const mcn_tpaillier_pub *pub)
{
	return MCN_SER_HDR_BYTES + 8 + MCN_PAILLIER_FP_BYTES +
	    2 * (mcn_paillier_bits(pub->pk) / 8);
}

size_t
mcn_tpaillier_partial_len(const mcn_tpaillier_pub *pub)
{
	return MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES + 4 +
	    2 * (mcn_paillier_bits(pub->pk) / 8) + 32 + pub->zbytes;
}

mcn_err
mcn_tpaillier_pub_export(const mcn_tpaillier_pub *pub, uint8_t *buf,
    size_t buflen)
{
	size_t L = mcn_paillier_bits(pub->pk) / 8;
	uint8_t *p = buf;

	if (buflen < mcn_tpaillier_pub_len(pub)) {
		return MCN_EINVAL;
	}
	mcn_ser_put_hdr(p, THR_T_PUB);
	p += MCN_SER_HDR_BYTES;
	mcn_ser_put16(p, mcn_paillier_bits(pub->pk));
	mcn_ser_put16(p + 2, pub->t);
	mcn_ser_put16(p + 4, pub->parties);
	mcn_ser_put16(p + 6, 0);
	p += 8;
	memcpy(p, mcn_paillier_fingerprint(pub->pk), MCN_PAILLIER_FP_BYTES);
	p += MCN_PAILLIER_FP_BYTES;
	mcn_mpz_to_bytes(p, L, mcn_paillier_n(pub->pk));
	p += L;
	mcn_mpz_to_bytes(p, 2 * L, mcn_paillier_hs(pub->pk));
	p += 2 * L;
	mcn_mpz_to_bytes(p, 2 * L, pub->v);
	p += 2 * L;
	for (unsigned i = 0; i < pub->parties; i++) {
		mcn_mpz_to_bytes(p, 2 * L, pub->vi[i]);
		p += 2 * L;
	}
	return MCN_OK;
}

mcn_err
mcn_tpaillier_pub_import(mcn_tpaillier_pub **out, const uint8_t *buf,
    size_t len)
{
	mcn_tpaillier_pub *pub = NULL;
	unsigned bits, t, parties;
	const uint8_t *p;
	size_t L;
	mpz_t n, hs;
	mcn_err rv;

	*out = NULL;
	if ((rv = mcn_ser_check_hdr(buf, len, THR_T_PUB)) != MCN_OK) {
		return rv;
	}
	if (len < MCN_SER_HDR_BYTES + 8 + MCN_PAILLIER_FP_BYTES) {
		return MCN_EFORMAT;
	}
	p = buf + MCN_SER_HDR_BYTES;
	bits = mcn_ser_get16(p);
	t = mcn_ser_get16(p + 2);
	parties = mcn_ser_get16(p + 4);
	if (mcn_ser_get16(p + 6) != 0 || bits < MCN_PAILLIER_BITS_MIN ||
	    bits > MCN_PAILLIER_BITS_MAX || bits % 16 != 0 || t < 1 ||
	    t > parties || parties > MCN_TPAILLIER_MAX_PARTIES) {
		return MCN_EFORMAT;
	}
	L = bits / 8;
	if (len !=
	    MCN_SER_HDR_BYTES + 8 + MCN_PAILLIER_FP_BYTES + 5 * L +
	        (size_t)parties * 2 * L) {
		return MCN_EFORMAT;
	}
	p += 8 + MCN_PAILLIER_FP_BYTES;
	mpz_inits(n, hs, NULL);
	mcn_mpz_from_bytes(n, p, L);
	mcn_mpz_from_bytes(hs, p + L, 2 * L);
	p += 3 * L;
	if (mpz_sizeinbase(n, 2) != bits) {
		rv = MCN_EKEY;
		goto out;
	}
	if ((rv = thr_pub_alloc(&pub, bits, t, parties)) != MCN_OK ||
	    (rv = mcn_paillier_pk_new(&pub->pk, n, hs)) != MCN_OK) {
		goto out;
	}
	if (!mcn_ct_memeq(mcn_paillier_fingerprint(pub->pk),
	        buf + MCN_SER_HDR_BYTES + 8, MCN_PAILLIER_FP_BYTES)) {
		rv = MCN_EKEYMISMATCH;
		goto out;
	}
	mcn_mpz_from_bytes(pub->v, p, 2 * L);
	p += 2 * L;
	/* v must be a unit square other than 1 (Jacobi symbol 1 mod n), or
	 * the proofs of correct decryption would be unsound. */
	rv = MCN_OK;
	if (mcn_paillier_ct_validate(pub->pk, pub->v) != MCN_OK ||
	    mpz_cmp_ui(pub->v, 1) == 0 ||
	    mpz_jacobi(pub->v, mcn_paillier_n(pub->pk)) != 1) {
		rv = MCN_EKEY;
	}
	for (unsigned i = 0; i < parties && rv == MCN_OK; i++, p += 2 * L) {
		mcn_mpz_from_bytes(pub->vi[i], p, 2 * L);
		if (mcn_paillier_ct_validate(pub->pk, pub->vi[i]) != MCN_OK ||
		    mpz_cmp_ui(pub->vi[i], 1) == 0) {
			rv = MCN_EKEY;
		}
	}
	if (rv == MCN_OK && (rv = thr_pub_finish(pub)) == MCN_OK) {
		*out = pub;
		pub = NULL;
	}
out:
	mcn_tpaillier_pub_free(pub);
	mpz_clears(n, hs, NULL);
	return rv;
}

mcn_err
mcn_tpaillier_share_export(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_share *sh, uint8_t *buf, size_t buflen)
{
	uint8_t *p = buf;

	if (buflen < mcn_tpaillier_share_len(pub) ||
	    !mcn_ct_memeq(sh->fp, mcn_paillier_fingerprint(pub->pk),
	        MCN_PAILLIER_FP_BYTES)) {
		return MCN_EINVAL;
	}
	mcn_ser_put_hdr(p, THR_T_SHARE);
	p += MCN_SER_HDR_BYTES;
	mcn_ser_put16(p, mcn_paillier_bits(pub->pk));
	mcn_ser_put16(p + 2, pub->t);
	mcn_ser_put16(p + 4, pub->parties);
	mcn_ser_put16(p + 6, sh->index);
	p += 8;
	memcpy(p, sh->fp, MCN_PAILLIER_FP_BYTES);
	p += MCN_PAILLIER_FP_BYTES;
	mcn_mpz_to_bytes(p, 2 * (mcn_paillier_bits(pub->pk) / 8), sh->s);
	return MCN_OK;
}

mcn_err
mcn_tpaillier_share_import(const mcn_tpaillier_pub *pub,
    mcn_tpaillier_share **out, const uint8_t *buf, size_t len)
{
	mcn_tpaillier_share *sh;
	const uint8_t *p;
	mpz_t x, chk;
	mcn_err rv;

	*out = NULL;
	if ((rv = mcn_ser_check_hdr(buf, len, THR_T_SHARE)) != MCN_OK) {
		return rv;
	}
	if (len != mcn_tpaillier_share_len(pub)) {
		return MCN_EFORMAT;
	}
	p = buf + MCN_SER_HDR_BYTES;
	if (!mcn_ct_memeq(p + 8, mcn_paillier_fingerprint(pub->pk),
	        MCN_PAILLIER_FP_BYTES) ||
	    mcn_ser_get16(p) != mcn_paillier_bits(pub->pk) ||
	    mcn_ser_get16(p + 2) != pub->t ||
	    mcn_ser_get16(p + 4) != pub->parties) {
		return MCN_EKEYMISMATCH;
	}
	if (mcn_ser_get16(p + 6) < 1 || mcn_ser_get16(p + 6) > pub->parties) {
		return MCN_EPARTY;
	}
	if ((sh = mcn_zalloc(sizeof(*sh))) == NULL) {
		return MCN_ENOMEM;
	}
	mpz_init(sh->s);
	sh->index = mcn_ser_get16(p + 6);
	memcpy(sh->fp, p + 8, MCN_PAILLIER_FP_BYTES);
	mcn_mpz_from_bytes(sh->s, p + 8 + MCN_PAILLIER_FP_BYTES,
	    2 * (mcn_paillier_bits(pub->pk) / 8));
	/* The share must match its published verification key. */
	mpz_inits(x, chk, NULL);
	mpz_mul(x, pub->delta, sh->s);
	if (mpz_sgn(x) == 0) {
		mpz_set_ui(chk, 1);
	} else {
		mpz_powm_sec(chk, pub->v, x, mcn_paillier_n2(pub->pk));
	}
	rv = mpz_cmp(chk, pub->vi[sh->index - 1]) == 0 ? MCN_OK : MCN_EKEY;
	mcn_mpz_clear_secret(x, chk, NULL);
	if (rv != MCN_OK) {
		mcn_tpaillier_share_free(sh);
		return rv;
	}
	*out = sh;
	return MCN_OK;
}

mcn_err
mcn_tpaillier_partial_export(const mcn_tpaillier_pub *pub,
    const mcn_tpaillier_partial *part, uint8_t *buf, size_t buflen)
{
	size_t L2 = 2 * (mcn_paillier_bits(pub->pk) / 8);
	uint8_t *p = buf;

	if (buflen < mcn_tpaillier_partial_len(pub) || part->index < 1 ||
	    part->index > pub->parties || mpz_sgn(part->ci) <= 0 ||
	    mpz_cmp(part->ci, mcn_paillier_n2(pub->pk)) >= 0 ||
	    mpz_sgn(part->e) < 0 || mpz_sizeinbase(part->e, 2) > 256 ||
	    mpz_sgn(part->z) < 0 ||
	    mpz_sizeinbase(part->z, 2) > 8 * (size_t)pub->zbytes) {
		return MCN_EINVAL;
	}
	mcn_ser_put_hdr(p, THR_T_PART);
	p += MCN_SER_HDR_BYTES;
	memcpy(p, mcn_paillier_fingerprint(pub->pk), MCN_PAILLIER_CT_FP_BYTES);
	p += MCN_PAILLIER_CT_FP_BYTES;
	mcn_ser_put16(p, part->index);
	mcn_ser_put16(p + 2, 0);
	p += 4;
	mcn_mpz_to_bytes(p, L2, part->ci);
	p += L2;
	mcn_mpz_to_bytes(p, 32, part->e);
	p += 32;
	mcn_mpz_to_bytes(p, pub->zbytes, part->z);
	return MCN_OK;
}

mcn_err
mcn_tpaillier_partial_import(const mcn_tpaillier_pub *pub,
    mcn_tpaillier_partial *part, const uint8_t *buf, size_t len)
{
	size_t L2 = 2 * (mcn_paillier_bits(pub->pk) / 8);
	const uint8_t *p;
	mcn_err rv;

	if ((rv = mcn_ser_check_hdr(buf, len, THR_T_PART)) != MCN_OK) {
		return rv;
	}
	if (len < MCN_SER_HDR_BYTES + MCN_PAILLIER_CT_FP_BYTES) {
		return MCN_EFORMAT;
	}
	p = buf + MCN_SER_HDR_BYTES;
	if (!mcn_ct_memeq(p, mcn_paillier_fingerprint(pub->pk),
	        MCN_PAILLIER_CT_FP_BYTES)) {
		return MCN_EKEYMISMATCH;
	}
	if (len != mcn_tpaillier_partial_len(pub) ||
	    mcn_ser_get16(p + MCN_PAILLIER_CT_FP_BYTES + 2) != 0) {
		return MCN_EFORMAT;
	}
	p += MCN_PAILLIER_CT_FP_BYTES;
	part->index = mcn_ser_get16(p);
	if (part->index < 1 || part->index > pub->parties) {
		return MCN_EPARTY;
	}
	p += 4;
	mcn_mpz_from_bytes(part->ci, p, L2);
	mcn_mpz_from_bytes(part->e, p + L2, 32);
	mcn_mpz_from_bytes(part->z, p + L2 + 32, pub->zbytes);
	return mcn_paillier_ct_validate(pub->pk, part->ci);
}
