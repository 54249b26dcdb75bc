/*
 * crypto/err.h - the one error type of mcn.
 *
 * Every fallible function in mcn returns an mcn_err. MCN_OK is zero; every
 * other value names one specific failure so that a caller (and a test) can
 * tell a tampered partial decryption from a ciphertext under the wrong key.
 * Programmer misuse (NULL key, t > n, ...) is not an error code: it aborts
 * through mcn_misuse(), as libsodium does.
 *
 * Error messages never contain data: mcn_strerror() returns a fixed string.
 */
#ifndef MCN_CRYPTO_ERR_H
#define MCN_CRYPTO_ERR_H

typedef enum {
	MCN_OK = 0,
	MCN_ENOMEM,      /* allocation failed */
	MCN_EINVAL,      /* an argument or input value is out of its domain */
	MCN_ESTATE,      /* operation not valid in the current state */
	MCN_EPROTO,      /* malformed message */
	MCN_ECRYPTO,     /* a library crypto primitive (OpenSSL) failed */
	MCN_ERANDOM,     /* the CSPRNG failed to deliver bytes */
	MCN_EFORMAT,     /* serialized object: bad magic, length or layout */
	MCN_EVERSION,    /* serialized object: unsupported format version */
	MCN_EKEYMISMATCH,/* object was made under another key (fingerprint) */
	MCN_ECIPHERTEXT, /* ciphertext outside Z*_{n^2}: c <= 0, c >= n^2 or gcd(c,n) != 1 */
	MCN_EPLAINTEXT,  /* plaintext outside [0, n) or outside a declared range */
	MCN_EKEY,        /* key material failed validation */
	MCN_EPROOF,      /* a zero-knowledge proof did not verify */
	MCN_ETOOFEW,     /* fewer valid shares/partials than the threshold */
	MCN_EDUPLICATE,  /* the same party index given twice */
	MCN_EPARTY,      /* party index out of range */
	MCN_EOVERFLOW,   /* packed/encoded value overflowed its slot (guard bits set) */
	MCN_ERANGE,      /* value outside the representable range of an encoding */
	MCN_ETIMEDOUT,
	MCN_ECLOSED,
	MCN_EPEER,       /* a peer failed or refused (see its error message) */
	MCN_ETOOBIG,     /* message above the size limit (checked before decoding) */
	MCN_ESIG,        /* signature missing or does not verify */
	MCN_ECERT,       /* certificate not from the consortium CA, expired, or
	                    its party id/role is not the one expected */
	MCN_EREPLAY,     /* a (sender, nonce) already seen */
	MCN_ESTALE,      /* timestamp outside the accepted clock window */
	MCN_EROUND,      /* message for another round or an unknown query */
	MCN_EREFUSED,    /* refused by the node's policy or checks */
	MCN_EQUERY,      /* query text invalid (syntax, names, types, values) */
	MCN_EDATA,       /* input data failed validation (CSV rows) */
	MCN_ENNG = 0x10000000, /* | nng error code */
	MCN_ESYS = 0x20000000, /* | errno */
} mcn_err;

/* A fixed, data-free description of err. Never NULL. Thread-safe. */
const char *mcn_strerror(mcn_err err);

/* Aborts the process with a message naming the misuse. For bugs only. */
void mcn_misuse(const char *what) __attribute__((noreturn));

#define MCN_MUST(cond) \
	do { if (!(cond)) mcn_misuse(#cond); } while (0)

#define MCN_WUR __attribute__((warn_unused_result))

#endif
