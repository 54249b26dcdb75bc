/*
 * crypto/rng.c - the CSPRNG wrapper and the deterministic test generator.
 *
 * The system generator is OpenSSL 3's default DRBG (RAND_priv_bytes, the
 * instance OpenSSL reserves for private values), thread-safe by design.
 * The test generator is ChaCha20 (RFC 8439) keyed by the seed with a zero
 * nonce, run through OpenSSL's EVP interface; it exists so that tests and
 * benchmarks are repeatable and must never be used for real keys.
 */
#include "crypto/rng.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "crypto/mem.h"

struct mcn_rng {
	int is_test;
	EVP_CIPHER_CTX *ctx; /* test only: ChaCha20 keystream */
};

static struct mcn_rng rng_system_obj = { 0, NULL };

mcn_rng *
mcn_rng_system(void)
{
	return &rng_system_obj;
}

mcn_err
mcn_rng_test_new(mcn_rng **out, const uint8_t seed[32])
{
	uint8_t iv[16] = { 0 };
	mcn_rng *r;

	*out = NULL;
	if ((r = mcn_zalloc(sizeof(*r))) == NULL) {
		return MCN_ENOMEM;
	}
	r->is_test = 1;
	if ((r->ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(r->ctx, EVP_chacha20(), NULL, seed, iv) != 1) {
		EVP_CIPHER_CTX_free(r->ctx);
		mcn_free(r, sizeof(*r));
		return MCN_ECRYPTO;
	}
	*out = r;
	return MCN_OK;
}

void
mcn_rng_free(mcn_rng *rng)
{
	if (rng == NULL || rng == &rng_system_obj) {
		return;
	}
	EVP_CIPHER_CTX_free(rng->ctx); /* cleanses its key schedule */
	mcn_free(rng, sizeof(*rng));
}

int
mcn_rng_is_test(const mcn_rng *rng)
{
	return rng->is_test;
}

mcn_err
mcn_rng_bytes(mcn_rng *rng, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (!rng->is_test) {
		while (len > 0) {
			int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
			if (RAND_priv_bytes(p, chunk) != 1) {
				return MCN_ERANDOM;
			}
			p += chunk;
			len -= (size_t)chunk;
		}
		return MCN_OK;
	}
	memset(buf, 0, len);
	while (len > 0) {
		int chunk = len > (1u << 30) ? (1 << 30) : (int)len;
		int outl = 0;
		if (EVP_EncryptUpdate(rng->ctx, p, &outl, p, chunk) != 1 ||
		    outl != chunk) {
			return MCN_ECRYPTO;
		}
		p += chunk;
		len -= (size_t)chunk;
	}
	return MCN_OK;
}

mcn_err
mcn_rng_mpz_bits(mcn_rng *rng, mpz_t out, unsigned long bits)
{
	size_t nbytes = (bits + 7) / 8;
	uint8_t stackbuf[1024];
	uint8_t *buf = stackbuf;
	mcn_err rv;

	if (bits == 0) {
		mpz_set_ui(out, 0);
		return MCN_OK;
	}
	if (nbytes > sizeof(stackbuf) && (buf = mcn_alloc(nbytes)) == NULL) {
		return MCN_ENOMEM;
	}
	if ((rv = mcn_rng_bytes(rng, buf, nbytes)) == MCN_OK) {
		if (bits % 8 != 0) {
			buf[0] &= (uint8_t)((1u << (bits % 8)) - 1);
		}
		mpz_import(out, nbytes, 1, 1, 1, 0, buf);
	}
	if (buf == stackbuf) {
		mcn_wipe(buf, nbytes);
	} else {
		mcn_free(buf, nbytes);
	}
	return rv;
}

mcn_err
mcn_rng_mpz_below(mcn_rng *rng, mpz_t out, const mpz_t bound)
{
	unsigned long bits;
	mcn_err rv;

	MCN_MUST(mpz_sgn(bound) > 0);
	bits = mpz_sizeinbase(bound, 2);
	/* Each draw succeeds with probability > 1/2. */
	do {
		if ((rv = mcn_rng_mpz_bits(rng, out, bits)) != MCN_OK) {
			return rv;
		}
	} while (mpz_cmp(out, bound) >= 0);
	return MCN_OK;
}

mcn_err
mcn_rng_mpz_unit(mcn_rng *rng, mpz_t out, const mpz_t n)
{
	mpz_t g;
	mcn_err rv;

	MCN_MUST(mpz_cmp_ui(n, 1) > 0);
	mpz_init(g);
	for (;;) {
		if ((rv = mcn_rng_mpz_below(rng, out, n)) != MCN_OK) {
			break;
		}
		if (mpz_sgn(out) == 0) {
			continue;
		}
		mpz_gcd(g, out, n);
		if (mpz_cmp_ui(g, 1) == 0) {
			break;
		}
	}
	mcn_mpz_clear_secret(g, NULL);
	return rv;
}

struct mcn_rng_pool {
	unsigned n;
	mcn_rng **rngs;
};

mcn_err
mcn_rng_pool_new(mcn_rng_pool **out, mcn_rng *parent, unsigned nthreads)
{
	mcn_rng_pool *p;
	mcn_err rv = MCN_OK;

	*out = NULL;
	if (nthreads == 0) {
		nthreads = 1;
	}
	if ((p = mcn_zalloc(sizeof(*p))) == NULL) {
		return MCN_ENOMEM;
	}
	p->n = nthreads;
	if ((p->rngs = mcn_zalloc(nthreads * sizeof(mcn_rng *))) == NULL) {
		mcn_free(p, sizeof(*p));
		return MCN_ENOMEM;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		uint8_t seed[32];
		if (!parent->is_test) {
			p->rngs[i] = parent;
			continue;
		}
		if ((rv = mcn_rng_bytes(parent, seed, sizeof(seed))) ==
		    MCN_OK) {
			rv = mcn_rng_test_new(&p->rngs[i], seed);
		}
		mcn_wipe(seed, sizeof(seed));
		if (rv != MCN_OK) {
			mcn_rng_pool_free(p);
			return rv;
		}
	}
	*out = p;
	return MCN_OK;
}

void
mcn_rng_pool_free(mcn_rng_pool *pool)
{
	if (pool == NULL) {
		return;
	}
	for (unsigned i = 0; i < pool->n; i++) {
		mcn_rng_free(pool->rngs[i]);
	}
	mcn_free(pool->rngs, pool->n * sizeof(mcn_rng *));
	mcn_free(pool, sizeof(*pool));
}

unsigned
mcn_rng_pool_size(const mcn_rng_pool *pool)
{
	return pool->n;
}

mcn_rng *
mcn_rng_pool_get(mcn_rng_pool *pool, unsigned thread)
{
	MCN_MUST(thread < pool->n);
	return pool->rngs[thread];
}

unsigned
mcn_threads_max(void)
{
#ifdef _OPENMP
	int t = omp_get_max_threads();
	return t > 0 ? (unsigned)t : 1;
#else
	return 1;
#endif
}
