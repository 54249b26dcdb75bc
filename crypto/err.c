/* crypto/err.c - error strings and the misuse trap. */
#include "crypto/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
mcn_strerror(mcn_err err)
{
	static __thread char buf[64];

	switch (err) {
	case MCN_OK: return "success";
	case MCN_ENOMEM: return "out of memory";
	case MCN_EINVAL: return "invalid argument";
	case MCN_ESTATE: return "invalid state for this operation";
	case MCN_EPROTO: return "malformed message";
	case MCN_ECRYPTO: return "cryptographic library failure";
	case MCN_ERANDOM: return "random number generator failure";
	case MCN_EFORMAT: return "malformed serialized object";
	case MCN_EVERSION: return "unsupported serialization version";
	case MCN_EKEYMISMATCH: return "object belongs to a different key";
	case MCN_ECIPHERTEXT: return "invalid ciphertext (not in Z*_{n^2})";
	case MCN_EPLAINTEXT: return "plaintext out of range";
	case MCN_EKEY: return "invalid key material";
	case MCN_EPROOF: return "proof of correct decryption failed";
	case MCN_ETOOFEW:
		return "fewer valid partial decryptions than the threshold";
	case MCN_EDUPLICATE: return "duplicate party index";
	case MCN_EPARTY: return "party index out of range";
	case MCN_EOVERFLOW: return "packed slot overflow (guard bits set)";
	case MCN_ERANGE: return "value outside the encodable range";
	case MCN_ETIMEDOUT: return "timed out";
	case MCN_ECLOSED: return "closed";
	case MCN_EPEER: return "peer error";
	case MCN_ETOOBIG: return "message too large";
	case MCN_ESIG: return "missing or invalid signature";
	case MCN_ECERT: return "certificate not valid for this consortium, party or role";
	case MCN_EREPLAY: return "replayed message";
	case MCN_ESTALE: return "message timestamp outside the accepted window";
	case MCN_EROUND: return "message for an unknown query or another round";
	case MCN_EREFUSED: return "refused by policy";
	case MCN_EQUERY: return "invalid query";
	case MCN_EDATA: return "input data failed validation";
	default: break;
	}
	if (err & MCN_ESYS) {
		return strerror((int)(err & ~MCN_ESYS));
	}
	if (err & MCN_ENNG) {
		snprintf(buf, sizeof(buf), "transport error %d",
		    (int)(err & ~MCN_ENNG));
		return buf;
	}
	snprintf(buf, sizeof(buf), "unknown error %d", (int)err);
	return buf;
}

void
mcn_misuse(const char *what)
{
	fprintf(stderr, "mcn: API misuse: %s\n", what);
	abort();
}
