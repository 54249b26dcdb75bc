/*
 * crypto/mem.h - memory for secrets: allocation, wiping, constant-time compare.
 *
 * mcn_crypto_init() must run once, before any GMP object exists: it installs
 * GMP memory functions whose free and realloc wipe the released block, so
 * that limbs left behind by GMP's own reallocations do not linger (the GMP
 * manual, "Custom Allocation"). It cannot cover GMP's alloca scratch space,
 * and GMP terminates the process on out-of-memory; both are accepted limits.
 *
 * mcn_alloc/mcn_free are used by every module for its own (non-GMP) memory.
 * They have a test mode that fails the N-th allocation so tests can check a
 * clean MCN_ENOMEM on every path (SQLite's malloc tests).
 */
#ifndef MCN_CRYPTO_MEM_H
#define MCN_CRYPTO_MEM_H

#include <stddef.h>
#include <stdint.h>
#include <gmp.h>

#include "crypto/err.h"

/* Installs the wiping GMP allocator and checks the OpenSSL library.
 * Idempotent; call before creating any mpz_t. Not thread-safe on first call. */
mcn_err mcn_crypto_init(void) MCN_WUR;

/* Allocation. mcn_alloc returns NULL on failure (or injected failure).
 * mcn_zalloc zero-fills. mcn_free(p, size) wipes size bytes then frees;
 * NULL is a no-op. */
void *mcn_alloc(size_t size);
void *mcn_zalloc(size_t size);
void mcn_free(void *p, size_t size);
/* A copy of s from mcn_alloc (NULL on failure), and its release (wipes;
 * NULL is a no-op). */
char *mcn_strdup(const char *s);
void mcn_strfree(const char *s);

/* Test mode: the n-th mcn_alloc from now on (1 = the next one) returns NULL,
 * and only that one. n = 0 disables injection. Returns how many allocations
 * were made since the last call (so a test can loop n = 1..count). */
unsigned long mcn_alloc_fail_at(unsigned long n);

/* Wipes len bytes at p in a way the compiler will not remove. */
void mcn_wipe(void *p, size_t len);

/* Wipes every allocated limb of x (not only the used ones). x stays valid
 * and equal to 0. */
void mcn_mpz_wipe(mpz_t x);

/* Wipes then clears each of the NULL-terminated list of mpz_t pointers. */
void mcn_mpz_clear_secret(mpz_ptr x, ...);

/* Constant-time equality of two byte strings of the same length: 1 if equal. */
int mcn_ct_memeq(const void *a, const void *b, size_t len);

#endif
