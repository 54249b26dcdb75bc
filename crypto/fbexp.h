/*
 * crypto/fbexp.h - fixed-base exponentiation with a precomputed table, for
 * PUBLIC exponents only (internal to crypto/; variable time: the sequence
 * of multiplications depends on the exponent's bits).
 *
 * The Lim-Lee comb (C. H. Lim, P. J. Lee, "More flexible exponentiation
 * with precomputation", CRYPTO '94): an exponent of at most L bits is cut
 * into h rows of a = ceil(L/h) bits, and the a columns into v sub-blocks
 * of b = ceil(a/v) columns. The table holds, for each sub-block j and
 * each h-bit column pattern I, prod_i g^(I_i 2^(i a + j b)); a power is
 * then b - 1 squarings and at most v b (about a) multiplications.
 *
 * Cost model, in modular multiplications (M; a squaring is ~0.7 M with
 * mpz_mul + mpz_mod at 4096 bits; a plain mpz_powm of L bits is ~0.7 L M):
 *   build  ~ 0.7 ((h - 1) a + (v - 1) b) + v (2^h - h - 1)
 *   power  ~ 0.7 (b - 1) + v b (1 - 2^-h)
 *   memory   v 2^h residues.
 * For L = 4502 (2048-bit threshold Paillier proofs), h = 8, v = 4: build
 * ~ 1.3 mpz_powm, each power ~ 0.2 mpz_powm, 512 KiB.
 * mcn_fbexp_plan picks (h, v) for a given number of powers.
 *
 * A table is read-only after init: mcn_fbexp_pow may run concurrently on
 * one table.
 */
#ifndef MCN_CRYPTO_FBEXP_H
#define MCN_CRYPTO_FBEXP_H

#include <stddef.h>
#include <gmp.h>

#include "crypto/err.h"

#define MCN_FBEXP_H_MAX 12
#define MCN_FBEXP_V_MAX 16

typedef struct {
	mpz_t mod;          /* modulus (a copy) */
	unsigned max_bits;  /* L */
	unsigned h, v;      /* rows, sub-blocks actually used */
	unsigned a, b;      /* columns, columns per sub-block */
	size_t ntab;        /* v << h */
	mpz_t *tab;         /* tab[(j << h) | I]; tab[j << h] unused (1) */
} mcn_fbexp;

/* Builds the table of base (reduced mod mod) for exponents of at most
 * max_bits bits, h rows and v sub-blocks (1 <= h <= MCN_FBEXP_H_MAX,
 * 1 <= v <= MCN_FBEXP_V_MAX, max_bits >= 1, mod > 1; MCN_MUST otherwise;
 * v is lowered when fewer sub-blocks suffice). MCN_OK or MCN_ENOMEM
 * (the entry array comes from mcn_alloc). Whatever the result, T must be
 * released with mcn_fbexp_clear. */
mcn_err mcn_fbexp_init(mcn_fbexp *T, const mpz_t base, const mpz_t mod,
    unsigned max_bits, unsigned h, unsigned v) MCN_WUR;

/* out = base^e mod mod for 0 <= e < 2^max_bits (MCN_MUST otherwise).
 * out may not alias e. */
void mcn_fbexp_pow(const mcn_fbexp *T, mpz_t out, const mpz_t e);

/* Frees the table; also after a failed init. */
void mcn_fbexp_clear(mcn_fbexp *T);

/* Bytes held by the table (its residues and their array). */
size_t mcn_fbexp_bytes(const mcn_fbexp *T);

/* Chooses (h, v) minimizing the modelled cost of building a table and
 * computing `uses` powers with it, for exponents of max_bits bits and
 * tables of at most max_bytes (mcn_fbexp_bytes) for residues of mod_bits
 * bits. Returns 1 with *h, *v and *bytes (the table's size) set if that
 * cost is below 0.8 times that of `uses` plain mpz_powm calls (the table
 * pays), else 0. */
int mcn_fbexp_plan(unsigned *h, unsigned *v, size_t *bytes,
    unsigned max_bits, unsigned mod_bits, size_t uses, size_t max_bytes);

#endif
