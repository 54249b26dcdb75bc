/*
 * crypto/rng.h - random numbers for mcn.
 *
 * Two kinds of generator behind one opaque type:
 *  - mcn_rng_system(): OpenSSL's CSPRNG (RAND_priv_bytes). The only source
 *    used for keys, encryption randomness, shares and masks in production.
 *    Stateless and thread-safe; one object may be shared by all threads.
 *  - mcn_rng_test_new(seed): a deterministic ChaCha20 keystream, for tests and
 *    benchmarks only (repeatable inputs). Not thread-safe: give each thread
 *    its own through an mcn_rng_pool.
 *
 * All mpz outputs drawn here are secret unless the caller publishes them;
 * temporaries are wiped.
 */
#ifndef MCN_CRYPTO_RNG_H
#define MCN_CRYPTO_RNG_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"

typedef struct mcn_rng mcn_rng;

/* The process-wide CSPRNG. Never fails to return; never free it (free is a
 * no-op for it). */
mcn_rng *mcn_rng_system(void);

/* A deterministic generator from a 32-byte seed. FOR TESTS AND BENCHMARKS
 * ONLY. Returns MCN_ENOMEM or MCN_ECRYPTO. */
mcn_err mcn_rng_test_new(mcn_rng **out, const uint8_t seed[32]) MCN_WUR;

/* Frees a generator, wiping its state. NULL and the system rng are no-ops. */
void mcn_rng_free(mcn_rng *rng);

/* 1 if rng is the deterministic test generator. */
int mcn_rng_is_test(const mcn_rng *rng);

/* len random bytes into buf. MCN_ERANDOM if the CSPRNG fails. */
mcn_err mcn_rng_bytes(mcn_rng *rng, void *buf, size_t len) MCN_WUR;

/* Uniform integer in [0, 2^bits). */
mcn_err mcn_rng_mpz_bits(mcn_rng *rng, mpz_t out, unsigned long bits) MCN_WUR;

/* Uniform integer in [0, bound), bound > 0, by rejection sampling. */
mcn_err mcn_rng_mpz_below(mcn_rng *rng, mpz_t out, const mpz_t bound) MCN_WUR;

/* Uniform element of Z*_n (1 <= out < n, gcd(out, n) = 1), by rejection. */
mcn_err mcn_rng_mpz_unit(mcn_rng *rng, mpz_t out, const mpz_t n) MCN_WUR;

/*
 * A pool of per-thread generators for OpenMP batch functions. For the system
 * rng every slot is the system rng; for a test rng each slot is a child
 * seeded from the parent (deterministic for a given thread count).
 */
typedef struct mcn_rng_pool mcn_rng_pool;

mcn_err mcn_rng_pool_new(mcn_rng_pool **out, mcn_rng *parent,
    unsigned nthreads) MCN_WUR;
void mcn_rng_pool_free(mcn_rng_pool *pool);
unsigned mcn_rng_pool_size(const mcn_rng_pool *pool);
mcn_rng *mcn_rng_pool_get(mcn_rng_pool *pool, unsigned thread);

/* Number of threads batch functions use (omp_get_max_threads(), or 1). */
unsigned mcn_threads_max(void);

#endif
