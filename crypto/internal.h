/*
 * crypto/internal.h - helpers shared by the crypto/ sources; not a public
 * header (nothing outside crypto/ includes it).
 *
 *  - the object header of every serialized key, share, ciphertext and
 *    partial decryption: "MCN", format version 0x01, a type byte, three zero
 *    bytes (MCN_SER_HDR_BYTES);
 *  - big-endian u16 fields;
 *  - the OpenMP idiom of the *_vec functions: the calling thread's index
 *    and "remember the first error of a parallel loop".
 */
#ifndef MCN_CRYPTO_INTERNAL_H
#define MCN_CRYPTO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "crypto/err.h"

#define MCN_SER_VERSION 0x01

static inline void
mcn_ser_put_hdr(uint8_t *buf, uint8_t type)
{
	memcpy(buf, "MCN", 3);
	buf[3] = MCN_SER_VERSION;
	buf[4] = type;
	buf[5] = buf[6] = buf[7] = 0;
}

/* MCN_EFORMAT for a short buffer, bad magic, type or padding;
 * MCN_EVERSION for another format version. */
static inline mcn_err
mcn_ser_check_hdr(const uint8_t *buf, size_t len, uint8_t type)
{
	if (len < 8 || memcmp(buf, "MCN", 3) != 0 || buf[4] != type ||
	    buf[5] != 0 || buf[6] != 0 || buf[7] != 0) {
		return MCN_EFORMAT;
	}
	return buf[3] == MCN_SER_VERSION ? MCN_OK : MCN_EVERSION;
}

static inline void
mcn_ser_put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline unsigned
mcn_ser_get16(const uint8_t *b)
{
	return ((unsigned)b[0] << 8) | b[1];
}

static inline unsigned
mcn_omp_thread(void)
{
#ifdef _OPENMP
	return (unsigned)omp_get_thread_num();
#else
	return 0;
#endif
}

/* Inside a parallel loop: keep the first error any iteration reported. */
static inline void
mcn_omp_first_err(mcn_err *first, mcn_err rv)
{
	if (rv == MCN_OK) {
		return;
	}
#ifdef _OPENMP
#pragma omp critical(mcn_first_err)
#endif
	if (*first == MCN_OK) {
		*first = rv;
	}
}

#endif
