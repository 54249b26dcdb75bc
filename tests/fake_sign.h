/*
 * tests/fake_sign.h - a TEST DOUBLE for proto/sign.h, shared by the codec
 * and protocol tests. Not X.509: a "certificate" is the ASCII string
 * "id|role" and a signature is HMAC-SHA256 over the message with a key
 * derived from the id (SHA-256("mcnt-key|" || id)); the verifier
 * recomputes it and checks the id and role of the "certificate".
 * node/pki.c implements the real callbacks. Include after test.h.
 */
#ifndef MCN_TESTS_FAKE_SIGN_H
#define MCN_TESTS_FAKE_SIGN_H

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto/mem.h"
#include "proto/sign.h"

struct mcnt_party {
	char id[MCN_PARTY_ID_MAX + 1];
	mcn_role role;
	uint8_t cert[64];
	size_t certlen;
	mcn_signer signer;
};

static const char *
mcnt_role_name(mcn_role r)
{
	return r == MCN_ROLE_NODE ? "node" :
	    r == MCN_ROLE_QUERIER ? "querier" :
	                            "admin";
}

static void
mcnt_key(uint8_t key[32], const char *id, size_t idlen)
{
	uint8_t buf[64];
	unsigned int n = 32;

	memcpy(buf, "mcnt-key|", 9);
	memcpy(buf + 9, id, idlen);
	EVP_Digest(buf, 9 + idlen, key, &n, EVP_sha256(), NULL);
}

static void
mcnt_hmac(uint8_t out[32], const char *id, size_t idlen, const uint8_t *msg,
    size_t len)
{
	uint8_t key[32];
	unsigned int n = 32;

	mcnt_key(key, id, idlen);
	HMAC(EVP_sha256(), key, 32, msg, len, out, &n);
}

static mcn_err
mcnt_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig,
    size_t *siglen)
{
	const struct mcnt_party *p = ctx;
	/* The key belongs to the certificate's id (a signer that claims
	 * another id still signs with the cert holder's key). */
	const char *bar = memchr(p->cert, '|', p->certlen);

	if (*siglen < 32 || bar == NULL) {
		return MCN_ECRYPTO;
	}
	mcnt_hmac(sig, (const char *)p->cert,
	    (size_t)(bar - (const char *)p->cert), msg, len);
	*siglen = 32;
	return MCN_OK;
}

static mcn_err
mcnt_verify(void *ctx, const char *sender, mcn_role role, const uint8_t *cert,
    size_t certlen, const uint8_t *msg, size_t len, const uint8_t *sig,
    size_t siglen, mcn_role *role_out)
{
	const char *bar = memchr(cert, '|', certlen);
	size_t idlen, rl;
	const char *rs;
	mcn_role cr;
	uint8_t want[32];

	(void)ctx;
	if (bar == NULL) {
		return MCN_ECERT;
	}
	idlen = (size_t)(bar - (const char *)cert);
	rs = bar + 1;
	rl = certlen - idlen - 1;
	if (rl == 4 && memcmp(rs, "node", 4) == 0) {
		cr = MCN_ROLE_NODE;
	} else if (rl == 7 && memcmp(rs, "querier", 7) == 0) {
		cr = MCN_ROLE_QUERIER;
	} else if (rl == 5 && memcmp(rs, "admin", 5) == 0) {
		cr = MCN_ROLE_ADMIN;
	} else {
		return MCN_ECERT;
	}
	if (strlen(sender) != idlen || memcmp(sender, cert, idlen) != 0 ||
	    (role != MCN_ROLE_ANY && role != cr)) {
		return MCN_ECERT;
	}
	*role_out = cr;
	mcnt_hmac(want, (const char *)cert, idlen, msg, len);
	return siglen == 32 && mcn_ct_memeq(want, sig, 32) ? MCN_OK : MCN_ESIG;
}

static const mcn_verifier mcnt_verifier = { mcnt_verify, NULL, NULL };

static void
mcnt_party_init(struct mcnt_party *p, const char *id, mcn_role role,
    const char *cert_id)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->role = role;
	p->certlen = (size_t)snprintf((char *)p->cert, sizeof(p->cert), "%s|%s",
	    cert_id != NULL ? cert_id : id, mcnt_role_name(role));
	p->signer.id = p->id;
	p->signer.role = role;
	p->signer.cert = p->cert;
	p->signer.certlen = p->certlen;
	p->signer.sign = mcnt_sign;
	p->signer.ctx = p;
}

#endif
