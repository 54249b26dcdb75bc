/*
 * crypto/mem.c - wiping allocators for GMP and for mcn's own memory.
 */
#include "crypto/mem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

static unsigned long mem_fail_at; /* 0: no injection */
static unsigned long mem_count;   /* allocations since mcn_alloc_fail_at */
static int mem_inited;

void
mcn_wipe(void *p, size_t len)
{
	if (p != NULL && len > 0) {
		OPENSSL_cleanse(p, len);
	}
}

static void *
mem_gmp_alloc(size_t size)
{
	void *p = malloc(size);
	if (p == NULL) {
		mcn_misuse("GMP allocation failed (out of memory)");
	}
	return p;
}

static void
mem_gmp_free(void *p, size_t size)
{
	mcn_wipe(p, size);
	free(p);
}

static void *
mem_gmp_realloc(void *old, size_t old_size, size_t new_size)
{
	void *p = mem_gmp_alloc(new_size);
	if (old != NULL) {
		memcpy(p, old, old_size < new_size ? old_size : new_size);
		mem_gmp_free(old, old_size);
	}
	return p;
}

mcn_err
mcn_crypto_init(void)
{
	if (mem_inited) {
		return MCN_OK;
	}
	mp_set_memory_functions(mem_gmp_alloc, mem_gmp_realloc, mem_gmp_free);
	if (OPENSSL_init_crypto(0, NULL) != 1) {
		return MCN_ECRYPTO;
	}
	mem_inited = 1;
	return MCN_OK;
}

unsigned long
mcn_alloc_fail_at(unsigned long n)
{
	unsigned long c = __atomic_exchange_n(&mem_count, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mem_fail_at, n, __ATOMIC_SEQ_CST);
	return c;
}

void *
mcn_alloc(size_t size)
{
	unsigned long c = __atomic_add_fetch(&mem_count, 1, __ATOMIC_SEQ_CST);
	unsigned long f = __atomic_load_n(&mem_fail_at, __ATOMIC_SEQ_CST);
	if (f != 0 && c == f) {
		return NULL;
	}
	return malloc(size == 0 ? 1 : size);
}

void *
mcn_zalloc(size_t size)
{
	void *p = mcn_alloc(size);
	if (p != NULL) {
		memset(p, 0, size == 0 ? 1 : size);
	}
	return p;
}

void
mcn_free(void *p, size_t size)
{
	if (p == NULL) {
		return;
	}
	mcn_wipe(p, size);
	free(p);
}

void
mcn_mpz_wipe(mpz_t x)
{
	/* _mp_alloc limbs are owned by x whether or not they are in use. */
	mcn_wipe(x->_mp_d, (size_t)x->_mp_alloc * sizeof(mp_limb_t));
	x->_mp_size = 0;
}

void
mcn_mpz_clear_secret(mpz_ptr x, ...)
{
	va_list ap;

	va_start(ap, x);
	while (x != NULL) {
		mcn_mpz_wipe(x);
		mpz_clear(x);
		x = va_arg(ap, mpz_ptr);
	}
	va_end(ap);
}

int
mcn_ct_memeq(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

char *
mcn_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = mcn_alloc(n);
	if (p != NULL)
		memcpy(p, s, n);
	return (p);
}

void
mcn_strfree(const char *s)
{
	if (s != NULL)
		mcn_free((void *)(uintptr_t)s, strlen(s) + 1);
}
