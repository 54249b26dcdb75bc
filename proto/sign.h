/*
 * proto/sign.h - how envelopes are signed and checked, as callbacks.
 *
 * Every envelope carries the sender's X.509 certificate (DER) and a
 * signature by its key over the envelope's other fields. proto/ and
 * protocols/ do not know X.509: node/pki.c implements these callbacks
 * with OpenSSL (ECDSA P-256 / SHA-256, certificate chained to the
 * consortium CA, party id in the subject CN, role in the subject OU), and
 * in-process tests may implement them with their own keys.
 */
#ifndef MCN_PROTO_SIGN_H
#define MCN_PROTO_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"

#define MCN_PARTY_ID_MAX 32 /* same as MCN_ID_MAX in node/util.h */
#define MCN_SIG_MAX 160     /* largest signature in bytes */
#define MCN_CERT_MAX 8192   /* largest DER certificate accepted */

/* Roles, as written in certificates (subject OU = "node" etc.). */
typedef enum {
	MCN_ROLE_ANY = 0, /* verifier argument only: accept any role */
	MCN_ROLE_NODE = 1,
	MCN_ROLE_QUERIER = 2,
	MCN_ROLE_ADMIN = 3,
} mcn_role;

typedef struct mcn_signer {
	const char *id;        /* my party id */
	mcn_role role;         /* my role */
	const uint8_t *cert;   /* my certificate, DER */
	size_t certlen;
	/* Signs msg. *siglen: in = capacity (>= MCN_SIG_MAX), out = length.
	 * Returns MCN_OK, MCN_ECRYPTO. Thread-safe if ctx is. */
	mcn_err (*sign)(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig,
	    size_t *siglen);
	void *ctx;
} mcn_signer;

typedef struct mcn_verifier {
	/* Checks that cert chains to the consortium CA and is valid now, that
	 * its party id equals `sender` and its role equals `role` (unless
	 * MCN_ROLE_ANY; *role_out receives the certificate's role), and that
	 * sig is a valid signature by its key over msg. Returns MCN_OK,
	 * MCN_ECERT (bad/foreign/expired certificate, id or role mismatch),
	 * MCN_ESIG (signature invalid), MCN_ENOMEM. */
	mcn_err (*verify)(void *ctx, const char *sender, mcn_role role,
	    const uint8_t *cert, size_t certlen, const uint8_t *msg, size_t len,
	    const uint8_t *sig, size_t siglen, mcn_role *role_out);
	void *ctx;
	/* Optional (NULL: none): copies the policy role a querier
	 * certificate carries (node/pki.h: subject title; "" when it has
	 * none) into out (outlen >= MCN_PARTY_ID_MAX + 1). Called by the
	 * codec only after verify() accepted the certificate. MCN_ECERT if
	 * the attribute is malformed, MCN_ENOMEM. */
	mcn_err (*policy_role)(void *ctx, const uint8_t *cert, size_t certlen,
	    char *out, size_t outlen);
} mcn_verifier;

#endif
