/*
 * node/pki.c - consortium CA, party certificates, envelope signatures and
 * the key files of the threshold and mask ceremonies.
 *
 * Certificates follow the profile in pki.h (RFC 5280 extensions, ECDSA
 * P-256 with SHA-256 as in RFC 5758 / FIPS 186-4). OpenSSL 3's X509 and
 * EVP APIs do the work; nothing deprecated is used.
 *
 * Envelope signatures (proto/sign.h): sign = ECDSA-SHA256 with my key,
 * DER-encoded (r, s). verify = (1) certificate checks, each failure
 * MCN_ECERT: DER of at most MCN_CERT_MAX bytes that parses completely,
 * X509_verify_cert against a store holding only the consortium CA at the
 * current time (so a foreign CA, an expired or not-yet-valid certificate
 * and a forged issuer signature all fail), not a CA itself, exactly one
 * CN holding a valid party id equal to the sender, exactly one OU holding
 * a role equal to the expected one; (2) the signature, MCN_ESIG.
 * Certificates that pass (1) are kept in a small table keyed by SHA-256 of
 * the DER, so the chain is verified once per sender and not per message;
 * validity dates are re-checked on every hit.
 *
 * Secrets: private keys (PEM buffers are read with mcn_file_read, which
 * wipes, and written through an OpenSSL secure-memory BIO, which cleanses
 * on free), threshold key shares and mask private keys (export buffers
 * are wiped after writing). The dealer's shares are freed (wiped) before
 * the ceremony reports success.
 */
#define _POSIX_C_SOURCE 200809L
#include "node/pki.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/mem.h"
#include "node/util.h"

#define PKI_BACKDATE_S 300 /* notBefore = now - 5 min: clock skew */
#define PKI_SERIAL_BYTES 16
#define PKI_ROLE_MAX 16

/* One verified certificate of the verifier's cache. */
typedef struct {
	int used;
	uint8_t hash[32];        /* SHA-256 of the DER */
	X509 *x;                 /* owned */
	EVP_PKEY *pk;            /* borrowed from x */
	char id[MCN_ID_MAX + 1]; /* subject CN */
	mcn_role role;           /* subject OU */
} pki_entry;

struct mcn_pki {
	X509 *ca;          /* the consortium CA (trust anchor) */
	X509_STORE *store; /* holds only ca */
	X509 *cert;        /* my certificate, NULL if trust-only */
	EVP_PKEY *key;     /* my private key (secret) */
	uint8_t *der;      /* my certificate, DER (mcn_alloc) */
	size_t derlen;
	char id[MCN_ID_MAX + 1];
	mcn_role role;
	mcn_signer signer;
	mcn_verifier verifier;
	pki_entry cache[MCN_PKI_CACHE];
	unsigned cache_next; /* round-robin replacement */
};

/* ---- roles and paths ------------------------------------------------- */

const char *
mcn_role_name(mcn_role r)
{
	switch (r) {
	case MCN_ROLE_ANY: return ("any");
	case MCN_ROLE_NODE: return ("node");
	case MCN_ROLE_QUERIER: return ("querier");
	case MCN_ROLE_ADMIN: return ("admin");
	}
	return ("?");
}

mcn_err
mcn_role_parse(const char *s, mcn_role *r)
{
	static const mcn_role roles[] = { MCN_ROLE_NODE, MCN_ROLE_QUERIER,
		MCN_ROLE_ADMIN };

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		if (strcmp(s, mcn_role_name(roles[i])) == 0) {
			*r = roles[i];
			return (MCN_OK);
		}
	}
	return (MCN_EINVAL);
}

mcn_err
mcn_path_join(char *out, size_t outlen, const char *dir, const char *name,
    const char *suffix)
{
	int n = snprintf(out, outlen, "%s/%s%s", dir, name,
	    suffix != NULL ? suffix : "");

	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = 0;
		return (MCN_ERANGE);
	}
	return (MCN_OK);
}

mcn_err
mcn_dir_make(const char *path, unsigned mode)
{
	char buf[4096];
	struct stat st;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return (MCN_ESYS | (n == 0 ? ENOENT : ENAMETOOLONG));
	/* Parents first, like mkdir -p (mode 0755 minus the umask). */
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = 0;
	for (size_t i = 1; i < n; i++) {
		if (buf[i] != '/' || buf[i - 1] == '/')
			continue;
		buf[i] = 0;
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return (MCN_ESYS | errno);
		buf[i] = '/';
	}
	if (mkdir(buf, (mode_t)mode) == 0)
		return (MCN_OK);
	if (errno != EEXIST)
		return (MCN_ESYS | errno);
	if (stat(buf, &st) != 0)
		return (MCN_ESYS | errno);
	return (S_ISDIR(st.st_mode) ? MCN_OK : (MCN_ESYS | ENOTDIR));
}

/* ---- small helpers ---------------------------------------------------- */

/* Message "<path>: <what>: <mcn_strerror(rv)>" (what may be NULL). */
static mcn_err
pki_fail(char *err, size_t errlen, const char *path, const char *what,
    mcn_err rv)
{
	if (what != NULL)
		mcn_msg(err, errlen, "%s: %s", path, what);
	else
		mcn_msg(err, errlen, "%s: %s", path, mcn_strerror(rv));
	ERR_clear_error();
	return (rv);
}

static int
pki_exists(const char *path)
{
	struct stat st;

	return (lstat(path, &st) == 0);
}

/* Never prompt for a passphrase: encrypted keys are not supported. */
static int
pki_nopass(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return (-1);
}

/* Reads a PEM file into a memory BIO over a wiping buffer. */
static mcn_err
pki_read_file(const char *path, uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
	mcn_err rv = mcn_file_read(path, MCN_PKI_FILE_MAX, buf, len);

	if (rv == MCN_ERANGE)
		return (pki_fail(err, errlen, path, "file too large", rv));
	if (rv != MCN_OK)
		return (pki_fail(err, errlen, path, NULL, rv));
	return (MCN_OK);
}

static mcn_err
pki_read_cert(X509 **out, const char *path, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	BIO *bio;
	mcn_err rv;

	*out = NULL;
	if ((rv = pki_read_file(path, &buf, &len, err, errlen)) != MCN_OK)
		return (rv);
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		mcn_file_free(buf, len);
		return (pki_fail(err, errlen, path, NULL, MCN_ENOMEM));
	}
	*out = PEM_read_bio_X509(bio, NULL, pki_nopass, NULL);
	BIO_free(bio);
	mcn_file_free(buf, len);
	if (*out == NULL) {
		return (pki_fail(err, errlen, path, "not a PEM certificate",
		    MCN_ECERT));
	}
	return (MCN_OK);
}

static mcn_err
pki_read_key(EVP_PKEY **out, const char *path, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	BIO *bio;
	mcn_err rv;

	*out = NULL;
	if ((rv = pki_read_file(path, &buf, &len, err, errlen)) != MCN_OK)
		return (rv);
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		mcn_file_free(buf, len);
		return (pki_fail(err, errlen, path, NULL, MCN_ENOMEM));
	}
	*out = PEM_read_bio_PrivateKey(bio, NULL, pki_nopass, NULL);
	BIO_free(bio);
	mcn_file_free(buf, len);
	if (*out == NULL) {
		return (pki_fail(err, errlen, path,
		    "not an unencrypted PEM private key", MCN_EKEY));
	}
	return (MCN_OK);
}

/* Writes key as PKCS#8 PEM, mode 0600, never replacing a file. The PEM
 * text lives in a secure-memory BIO, which cleanses it when freed. */
static mcn_err
pki_write_key(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data;
	long len;
	mcn_err rv;

	if (bio == NULL)
		return (pki_fail(err, errlen, path, NULL, MCN_ENOMEM));
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) !=
	        1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		return (pki_fail(err, errlen, path, "cannot encode the key",
		    MCN_ECRYPTO));
	}
	rv = mcn_file_write(path, data, (size_t)len, 0600, 1);
	BIO_free(bio);
	if (rv != MCN_OK)
		return (pki_fail(err, errlen, path, NULL, rv));
	return (MCN_OK);
}

static mcn_err
pki_write_cert(const char *path, X509 *x, char *err, size_t errlen)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	mcn_err rv;

	if (bio == NULL)
		return (pki_fail(err, errlen, path, NULL, MCN_ENOMEM));
	if (PEM_write_bio_X509(bio, x) != 1 ||
	    (len = BIO_get_mem_data(bio, &data)) <= 0) {
		BIO_free(bio);
		return (pki_fail(err, errlen, path,
		    "cannot encode the certificate", MCN_ECRYPTO));
	}
	rv = mcn_file_write(path, data, (size_t)len, 0644, 1);
	BIO_free(bio);
	if (rv != MCN_OK)
		return (pki_fail(err, errlen, path, NULL, rv));
	return (MCN_OK);
}

/* Writes the key, then the certificate; removes the key if the
 * certificate cannot be written, so a failure leaves nothing behind. */
static mcn_err
pki_write_pair(const char *cert_path, X509 *x, const char *key_path,
    EVP_PKEY *key, char *err, size_t errlen)
{
	mcn_err rv;

	if ((rv = pki_write_key(key_path, key, err, errlen)) != MCN_OK)
		return (rv);
	if ((rv = pki_write_cert(cert_path, x, err, errlen)) != MCN_OK)
		(void)unlink(key_path);
	return (rv);
}

/* Refuses to start if either output exists: keys are never overwritten,
 * and a certificate next to a foreign key would be a trap. */
static mcn_err
pki_check_new(const char *cert_path, const char *key_path, char *err,
    size_t errlen)
{
	if (pki_exists(key_path)) {
		return (pki_fail(err, errlen, key_path,
		    "exists; refusing to overwrite a key", MCN_ESYS | EEXIST));
	}
	if (pki_exists(cert_path)) {
		return (pki_fail(err, errlen, cert_path,
		    "exists; refusing to overwrite it", MCN_ESYS | EEXIST));
	}
	return (MCN_OK);
}

/* A fresh P-256 key from OpenSSL's CSPRNG (the one behind
 * mcn_rng_system()); named curve, uncompressed points. */
static EVP_PKEY *
pki_new_key(void)
{
	return (EVP_EC_gen("P-256"));
}

/* Serial: 16 random bytes, top bit cleared (positive), next bit set
 * (always 16 bytes long, never zero). */
static mcn_err
pki_set_serial(X509 *x)
{
	uint8_t b[PKI_SERIAL_BYTES];
	BIGNUM *bn;
	mcn_err rv;

	if ((rv = mcn_rng_bytes(mcn_rng_system(), b, sizeof(b))) != MCN_OK)
		return (rv);
	b[0] = (uint8_t)((b[0] & 0x7f) | 0x40);
	if ((bn = BN_bin2bn(b, (int)sizeof(b), NULL)) == NULL)
		return (MCN_ENOMEM);
	rv = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL ?
	    MCN_OK :
	    MCN_ECRYPTO;
	BN_free(bn);
	return (rv);
}

static mcn_err
pki_set_validity(X509 *x, unsigned days)
{
	if (X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_S) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ==
	        NULL) {
		return (MCN_ECRYPTO);
	}
	return (MCN_OK);
}

static mcn_err
pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return (MCN_ECRYPTO);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return (ok == 1 ? MCN_OK : MCN_ECRYPTO);
}

static int
pki_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MCN_PKI_NAME_MAX || s[n - 1] == ' ')
		return (0);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9');
		if (i == 0 && !alnum)
			return (0);
		if (!alnum && strchr(" _.-()&'", c) == NULL)
			return (0);
	}
	return (1);
}

/* The text of the only entry `nid` of name, as UTF-8, into out (cap
 * bytes, NUL-terminated). 0 if absent, repeated, too long or holding
 * a NUL. */
static int
pki_name_entry(const X509_NAME *name, int nid, char *out, size_t cap)
{
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	unsigned char *u = NULL;
	int n, ok = 0;

	if (i < 0 || X509_NAME_get_index_by_NID(name, nid, i) >= 0)
		return (0);
	n = ASN1_STRING_to_UTF8(&u,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (n > 0 && (size_t)n < cap && memchr(u, 0, (size_t)n) == NULL) {
		memcpy(out, u, (size_t)n);
		out[n] = 0;
		ok = 1;
	}
	OPENSSL_free(u);
	return (ok);
}

/* Party id (CN) and role (OU) of a party certificate. */
static int
pki_subject(X509 *x, char id[MCN_ID_MAX + 1], mcn_role *role)
{
	const X509_NAME *name = X509_get_subject_name(x);
	char ou[PKI_ROLE_MAX];

	return (pki_name_entry(name, NID_commonName, id, MCN_ID_MAX + 1) &&
	    mcn_id_valid(id) &&
	    pki_name_entry(name, NID_organizationalUnitName, ou, sizeof(ou)) &&
	    mcn_role_parse(ou, role) == MCN_OK);
}

static int
pki_is_ca(X509 *x)
{
	/* 1: basicConstraints CA:TRUE (keyUsage, if any, has keyCertSign) */
	return (X509_check_ca(x) == 1);
}

/* ---- the CA ------------------------------------------------------------ */

mcn_err
mcn_pki_ca_init(const char *cert_path, const char *key_path,
    const char *consortium_name, unsigned days, char *err, size_t errlen)
{
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	char cn[MCN_PKI_NAME_MAX + 8];
	mcn_err rv = MCN_ECRYPTO;

	if (!pki_name_valid(consortium_name)) {
		mcn_msg(err, errlen,
		    "consortium name must be 1..%d letters, digits, spaces "
		    "or _.-()&' starting with a letter or digit",
		    MCN_PKI_NAME_MAX);
		return (MCN_EINVAL);
	}
	if (days < 1 || days > MCN_PKI_DAYS_MAX) {
		mcn_msg(err, errlen, "days must be 1..%d", MCN_PKI_DAYS_MAX);
		return (MCN_EINVAL);
	}
	if ((rv = pki_check_new(cert_path, key_path, err, errlen)) != MCN_OK)
		return (rv);
	snprintf(cn, sizeof(cn), "%s CA", consortium_name);

	rv = MCN_ECRYPTO;
	if ((key = pki_new_key()) == NULL || (x = X509_new()) == NULL ||
	    (name = X509_NAME_new()) == NULL) {
		mcn_msg(err, errlen, "cannot create the CA key");
		goto out;
	}
	if (X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_ASC,
	        (const unsigned char *)consortium_name, -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_set_pubkey(x, key) != 1) {
		mcn_msg(err, errlen, "cannot build the CA certificate");
		goto out;
	}
	if ((rv = pki_set_serial(x)) != MCN_OK ||
	    (rv = pki_set_validity(x, days)) != MCN_OK) {
		mcn_msg(err, errlen, "cannot build the CA certificate");
		goto out;
	}
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if ((rv = pki_add_ext(x, &ctx, NID_basic_constraints,
	         "critical,CA:TRUE,pathlen:0")) != MCN_OK ||
	    (rv = pki_add_ext(x, &ctx, NID_key_usage,
	         "critical,keyCertSign,cRLSign")) != MCN_OK ||
	    (rv = pki_add_ext(x, &ctx, NID_subject_key_identifier, "hash")) !=
	        MCN_OK) {
		mcn_msg(err, errlen, "cannot add the CA extensions");
		goto out;
	}
	if (X509_sign(x, key, EVP_sha256()) <= 0) {
		rv = MCN_ECRYPTO;
		mcn_msg(err, errlen, "cannot sign the CA certificate");
		goto out;
	}
	rv = pki_write_pair(cert_path, x, key_path, key, err, errlen);
out:
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return (rv);
}

/* Loads the CA certificate and key for issuing: CA:TRUE, key matching. */
static mcn_err
pki_load_ca(X509 **ca, EVP_PKEY **key, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	mcn_err rv;

	*key = NULL;
	if ((rv = pki_read_cert(ca, cert_path, err, errlen)) != MCN_OK)
		return (rv);
	if (!pki_is_ca(*ca)) {
		rv = pki_fail(err, errlen, cert_path, "not a CA certificate",
		    MCN_ECERT);
		goto fail;
	}
	if ((rv = pki_read_key(key, key_path, err, errlen)) != MCN_OK)
		goto fail;
	if (X509_check_private_key(*ca, *key) != 1) {
		rv = pki_fail(err, errlen, key_path,
		    "is not the key of the CA certificate", MCN_EKEY);
		goto fail;
	}
	return (MCN_OK);
fail:
	X509_free(*ca);
	EVP_PKEY_free(*key);
	*ca = NULL;
	*key = NULL;
	return (rv);
}

mcn_err
mcn_pki_issue(const char *ca_cert_path, const char *ca_key_path, const char *id,
    mcn_role role, unsigned days, const char *cert_out, const char *key_out,
    char *err, size_t errlen)
{
	return (mcn_pki_issue_role(ca_cert_path, ca_key_path, id, role, NULL,
	    days, cert_out, key_out, err, errlen));
}


mcn_err
mcn_pki_issue_role(const char *ca_cert_path, const char *ca_key_path,
    const char *id, mcn_role role, const char *policy_role, unsigned days,
    const char *cert_out, const char *key_out, char *err, size_t errlen)
{
	X509 *ca = NULL, *x = NULL;
	EVP_PKEY *cakey = NULL, *key = NULL;
	X509_NAME *name = NULL;
	const X509_NAME *caname;
	X509_NAME_ENTRY *o;
	const ASN1_STRING *ostr;
	X509V3_CTX ctx;
	char san[MCN_ID_MAX + 32];
	mcn_err rv;

	if (!mcn_id_valid(id)) {
		mcn_msg(err, errlen,
		    "invalid party id (1..%d of A-Z a-z 0-9 "
		    "_ . -, not starting with . or -)",
		    MCN_ID_MAX);
		return (MCN_EINVAL);
	}
	if (role != MCN_ROLE_NODE && role != MCN_ROLE_QUERIER &&
	    role != MCN_ROLE_ADMIN) {
		mcn_msg(err, errlen, "role must be node, querier or admin");
		return (MCN_EINVAL);
	}
	if (policy_role != NULL &&
	    (role != MCN_ROLE_QUERIER || !mcn_rolename_valid(policy_role))) {
		mcn_msg(err, errlen,
		    "a policy role ([a-z][a-z0-9_-]{0,31}) is for querier "
		    "certificates only");
		return (MCN_EINVAL);
	}
	if (days < 1 || days > MCN_PKI_DAYS_MAX) {
		mcn_msg(err, errlen, "days must be 1..%d", MCN_PKI_DAYS_MAX);
		return (MCN_EINVAL);
	}
	if ((rv = pki_check_new(cert_out, key_out, err, errlen)) != MCN_OK)
		return (rv);
	if ((rv = pki_load_ca(&ca, &cakey, ca_cert_path, ca_key_path, err,
	         errlen)) != MCN_OK)
		return (rv);

	caname = X509_get_subject_name(ca);
	int oi = X509_NAME_get_index_by_NID(caname, NID_organizationName, -1);
	if (oi < 0) {
		rv = pki_fail(err, errlen, ca_cert_path,
		    "CA subject has no O (consortium name)", MCN_ECERT);
		goto out;
	}
	o = X509_NAME_get_entry(caname, oi);
	ostr = X509_NAME_ENTRY_get_data(o);

	rv = MCN_ECRYPTO;
	if ((key = pki_new_key()) == NULL || (x = X509_new()) == NULL ||
	    (name = X509_NAME_new()) == NULL) {
		mcn_msg(err, errlen, "cannot create the key");
		goto out;
	}
	if (X509_NAME_add_entry_by_NID(name, NID_organizationName,
	        ASN1_STRING_type(ostr), ASN1_STRING_get0_data(ostr),
	        ASN1_STRING_length(ostr), -1, 0) != 1 ||
	    X509_NAME_add_entry_by_NID(name, NID_organizationalUnitName,
	        MBSTRING_ASC, (const unsigned char *)mcn_role_name(role), -1,
	        -1, 0) != 1 ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
	        (const unsigned char *)id, -1, -1, 0) != 1 ||
	    (policy_role != NULL &&
	        X509_NAME_add_entry_by_NID(name, NID_title, MBSTRING_ASC,
	            (const unsigned char *)policy_role, -1, -1, 0) != 1) ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, caname) != 1 ||
	    X509_set_pubkey(x, key) != 1) {
		mcn_msg(err, errlen, "cannot build the certificate");
		goto out;
	}
	if ((rv = pki_set_serial(x)) != MCN_OK ||
	    (rv = pki_set_validity(x, days)) != MCN_OK) {
		mcn_msg(err, errlen, "cannot build the certificate");
		goto out;
	}
	snprintf(san, sizeof(san), "DNS:%s%s", id,
	    role == MCN_ROLE_NODE ? ",IP:127.0.0.1" : "");
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if ((rv = pki_add_ext(x, &ctx, NID_basic_constraints,
	         "critical,CA:FALSE")) != MCN_OK ||
	    (rv = pki_add_ext(x, &ctx, NID_key_usage,
	         "critical,digitalSignature,keyAgreement")) != MCN_OK ||
	    (rv = pki_add_ext(x, &ctx, NID_ext_key_usage,
	         "serverAuth,clientAuth")) != MCN_OK ||
	    (rv = pki_add_ext(x, &ctx, NID_subject_alt_name, san)) != MCN_OK ||
	    (rv = pki_add_ext(x, &ctx, NID_subject_key_identifier, "hash")) !=
	        MCN_OK ||
	    (rv = pki_add_ext(x, &ctx, NID_authority_key_identifier,
	         "keyid:always")) != MCN_OK) {
		mcn_msg(err, errlen, "cannot add the certificate extensions");
		goto out;
	}
	if (X509_sign(x, cakey, EVP_sha256()) <= 0) {
		rv = MCN_ECRYPTO;
		mcn_msg(err, errlen, "cannot sign the certificate");
		goto out;
	}
	rv = pki_write_pair(cert_out, x, key_out, key, err, errlen);
out:
	X509_NAME_free(name);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(cakey);
	ERR_clear_error();
	return (rv);
}

mcn_err
mcn_pki_cert_info(const char *cert_path, char *id, size_t idlen, mcn_role *role,
    char *err, size_t errlen)
{
	X509 *x;
	char cid[MCN_ID_MAX + 1];
	mcn_err rv;

	MCN_MUST(idlen >= MCN_ID_MAX + 1);
	id[0] = 0;
	if ((rv = pki_read_cert(&x, cert_path, err, errlen)) != MCN_OK)
		return (rv);
	if (pki_is_ca(x) || !pki_subject(x, cid, role)) {
		rv = pki_fail(err, errlen, cert_path,
		    "not a party certificate (subject CN = id, OU = role)",
		    MCN_ECERT);
	} else {
		memcpy(id, cid, strlen(cid) + 1);
	}
	X509_free(x);
	return (rv);
}

/* ---- identity, signer, verifier --------------------------------------- */

/* Chain check of x against the CA store at the current time. On failure
 * *why receives OpenSSL's (data-free) reason. */
static int
pki_chain_ok(mcn_pki *p, X509 *x, const char **why)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int ok = 0;

	*why = "out of memory";
	if (ctx == NULL)
		return (0);
	if (X509_STORE_CTX_init(ctx, p->store, x, NULL) == 1 &&
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY) == 1) {
		ok = X509_verify_cert(ctx) == 1;
		if (!ok) {
			*why = X509_verify_cert_error_string(
			    X509_STORE_CTX_get_error(ctx));
		}
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return (ok);
}

static mcn_err
pki_sign(void *vp, const uint8_t *msg, size_t len, uint8_t *sig, size_t *siglen)
{
	mcn_pki *p = vp;
	EVP_MD_CTX *md;
	size_t n = *siglen;
	mcn_err rv = MCN_ECRYPTO;

	MCN_MUST(*siglen >= MCN_SIG_MAX);
	if ((md = EVP_MD_CTX_new()) == NULL)
		return (MCN_ENOMEM);
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, p->key) == 1 &&
	    EVP_DigestSign(md, sig, &n, msg != NULL ? msg : (const uint8_t *)"",
	        len) == 1 &&
	    n <= MCN_SIG_MAX) {
		*siglen = n;
		rv = MCN_OK;
	}
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return (rv);
}

/* Finds or adds the verified entry of a DER certificate; NULL with *rv set
 * (MCN_ECERT, MCN_ENOMEM) if it does not pass. */
static pki_entry *
pki_cert_entry(mcn_pki *p, const uint8_t *cert, size_t certlen, mcn_err *rv)
{
	uint8_t h[32];
	unsigned hl = 0;
	const unsigned char *q = cert;
	const char *why;
	char id[MCN_ID_MAX + 1];
	mcn_role role;
	EVP_PKEY *pk;
	pki_entry *e;
	X509 *x;

	*rv = MCN_ECERT;
	if (EVP_Digest(cert, certlen, h, &hl, EVP_sha256(), NULL) != 1 ||
	    hl != sizeof(h)) {
		*rv = MCN_ENOMEM;
		return (NULL);
	}
	for (unsigned i = 0; i < MCN_PKI_CACHE; i++) {
		e = &p->cache[i];
		if (e->used && memcmp(e->hash, h, sizeof(h)) == 0) {
			/* Verified before; its dates (and the CA's) may have
			 * passed since. */
			if (X509_cmp_current_time(X509_get0_notBefore(e->x)) >=
			        0 ||
			    X509_cmp_current_time(X509_get0_notAfter(e->x)) <=
			        0 ||
			    X509_cmp_current_time(X509_get0_notAfter(p->ca)) <=
			        0)
				return (NULL);
			return (e);
		}
	}
	x = d2i_X509(NULL, &q, (long)certlen);
	if (x == NULL || q != cert + certlen) {
		X509_free(x);
		ERR_clear_error();
		return (NULL);
	}
	if (X509_check_ca(x) != 0 || !pki_chain_ok(p, x, &why) ||
	    !pki_subject(x, id, &role) || (pk = X509_get0_pubkey(x)) == NULL) {
		X509_free(x);
		ERR_clear_error();
		return (NULL);
	}
	e = &p->cache[p->cache_next];
	if (e->used)
		X509_free(e->x);
	e->used = 1;
	memcpy(e->hash, h, sizeof(h));
	e->x = x;
	e->pk = pk;
	memcpy(e->id, id, sizeof(id));
	e->role = role;
	p->cache_next = (p->cache_next + 1) % MCN_PKI_CACHE;
	*rv = MCN_OK;
	return (e);
}

/* mcn_verifier.policy_role: the subject title of a certificate the
 * verifier has accepted. */
static mcn_err
pki_policy_role(void *vp, const uint8_t *cert, size_t certlen, char *out,
    size_t outlen)
{
	const unsigned char *pp = cert;
	X509 *x;
	mcn_err rv = MCN_OK;
	(void)vp;

	out[0] = '\0';
	if (certlen > MCN_CERT_MAX ||
	    (x = d2i_X509(NULL, &pp, (long)certlen)) == NULL)
		return (MCN_ECERT);
	const X509_NAME *name = X509_get_subject_name(x);
	if (X509_NAME_get_index_by_NID(name, NID_title, -1) >= 0 &&
	    (!pki_name_entry(name, NID_title, out, outlen) ||
	        !mcn_rolename_valid(out))) {
		out[0] = '\0';
		rv = MCN_ECERT;
	}
	X509_free(x);
	return (rv);
}

static mcn_err
pki_verify(void *vp, const char *sender, mcn_role role, const uint8_t *cert,
    size_t certlen, const uint8_t *msg, size_t len, const uint8_t *sig,
    size_t siglen, mcn_role *role_out)
{
	mcn_pki *p = vp;
	pki_entry *e;
	EVP_MD_CTX *md;
	mcn_err rv;
	int ok;

	if (cert == NULL || certlen == 0 || certlen > MCN_CERT_MAX)
		return (MCN_ECERT);
	if ((e = pki_cert_entry(p, cert, certlen, &rv)) == NULL)
		return (rv);
	if (sender == NULL || strcmp(e->id, sender) != 0 ||
	    (role != MCN_ROLE_ANY && e->role != role))
		return (MCN_ECERT);
	if (sig == NULL || siglen == 0 || siglen > MCN_SIG_MAX)
		return (MCN_ESIG);
	if ((md = EVP_MD_CTX_new()) == NULL)
		return (MCN_ENOMEM);
	ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, e->pk) == 1 &&
	    EVP_DigestVerify(md, sig, siglen,
	        msg != NULL ? msg : (const uint8_t *)"", len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	if (!ok)
		return (MCN_ESIG);
	if (role_out != NULL)
		*role_out = e->role;
	return (MCN_OK);
}

void
mcn_pki_free(mcn_pki *p)
{
	if (p == NULL)
		return;
	for (unsigned i = 0; i < MCN_PKI_CACHE; i++) {
		if (p->cache[i].used)
			X509_free(p->cache[i].x);
	}
	X509_STORE_free(p->store);
	X509_free(p->ca);
	X509_free(p->cert);
	EVP_PKEY_free(p->key); /* OpenSSL cleanses the private scalar */
	mcn_free(p->der, p->derlen);
	mcn_free(p, sizeof(*p));
}

/* My certificate and key: chain, id/role, key match, DER copy. */
static mcn_err
pki_load_identity(mcn_pki *p, const char *cert_path, const char *key_path,
    char *err, size_t errlen)
{
	const char *why;
	unsigned char *der = NULL;
	int n;
	mcn_err rv;

	if ((rv = pki_read_cert(&p->cert, cert_path, err, errlen)) != MCN_OK)
		return (rv);
	if (X509_check_ca(p->cert) != 0) {
		return (pki_fail(err, errlen, cert_path,
		    "is a CA certificate, not a party certificate", MCN_ECERT));
	}
	if (!pki_chain_ok(p, p->cert, &why)) {
		mcn_msg(err, errlen, "%s: does not verify against the CA: %s",
		    cert_path, why);
		return (MCN_ECERT);
	}
	if (!pki_subject(p->cert, p->id, &p->role)) {
		return (pki_fail(err, errlen, cert_path,
		    "subject has no valid party id (CN) and role (OU)",
		    MCN_ECERT));
	}
	if ((rv = pki_read_key(&p->key, key_path, err, errlen)) != MCN_OK)
		return (rv);
	if (X509_check_private_key(p->cert, p->key) != 1) {
		mcn_msg(err, errlen, "%s: is not the key of %s", key_path,
		    cert_path);
		ERR_clear_error();
		return (MCN_EKEY);
	}
	if ((n = i2d_X509(p->cert, &der)) <= 0)
		return (pki_fail(err, errlen, cert_path, NULL, MCN_ECRYPTO));
	if ((size_t)n > MCN_CERT_MAX) {
		OPENSSL_free(der);
		return (pki_fail(err, errlen, cert_path,
		    "certificate larger than MCN_CERT_MAX", MCN_ECERT));
	}
	if ((p->der = mcn_alloc((size_t)n)) == NULL) {
		OPENSSL_free(der);
		return (pki_fail(err, errlen, cert_path, NULL, MCN_ENOMEM));
	}
	memcpy(p->der, der, (size_t)n);
	p->derlen = (size_t)n;
	OPENSSL_free(der);

	p->signer.id = p->id;
	p->signer.role = p->role;
	p->signer.cert = p->der;
	p->signer.certlen = p->derlen;
	p->signer.sign = pki_sign;
	p->signer.ctx = p;
	return (MCN_OK);
}

/* CRLs in the CA file (as node/net.c gives them to TLS): each must be
 * issued and signed by the CA; if there is any, every certificate is
 * checked against them (X509_V_FLAG_CRL_CHECK), so a revoked party's
 * envelopes are refused here too, also when they reach us relayed inside
 * a DECRYPT or through another TLS peer. */
static mcn_err
pki_load_crls(mcn_pki *p, const char *path, char *err, size_t errlen)
{
	STACK_OF(X509_INFO) *inf = NULL;
	uint8_t *buf;
	size_t len;
	BIO *bio;
	int ncrl = 0;
	mcn_err rv;

	if ((rv = pki_read_file(path, &buf, &len, err, errlen)) != MCN_OK)
		return (rv);
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		mcn_file_free(buf, len);
		return (pki_fail(err, errlen, path, NULL, MCN_ENOMEM));
	}
	inf = PEM_X509_INFO_read_bio(bio, NULL, pki_nopass, NULL);
	BIO_free(bio);
	mcn_file_free(buf, len);
	if (inf == NULL)
		return (pki_fail(err, errlen, path, "cannot parse the PEM file",
		    MCN_ECERT));
	rv = MCN_OK;
	for (int i = 0; i < sk_X509_INFO_num(inf) && rv == MCN_OK; i++) {
		X509_CRL *crl = sk_X509_INFO_value(inf, i)->crl;
		if (crl == NULL)
			continue;
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		        X509_get_subject_name(p->ca)) != 0 ||
		    X509_CRL_verify(crl, X509_get0_pubkey(p->ca)) != 1) {
			rv = pki_fail(err, errlen, path,
			    "holds a CRL not signed by the CA", MCN_ECERT);
		} else if (X509_STORE_add_crl(p->store, crl) != 1) {
			rv = pki_fail(err, errlen, path, NULL, MCN_ENOMEM);
		} else {
			ncrl++;
		}
	}
	if (rv == MCN_OK && ncrl > 0 &&
	    X509_STORE_set_flags(p->store, X509_V_FLAG_CRL_CHECK) != 1)
		rv = pki_fail(err, errlen, path, NULL, MCN_ENOMEM);
	sk_X509_INFO_pop_free(inf, X509_INFO_free);
	ERR_clear_error();
	return (rv);
}

mcn_err
mcn_pki_load(mcn_pki **out, const char *ca_path, const char *cert_path,
    const char *key_path, char *err, size_t errlen)
{
	mcn_pki *p;
	mcn_err rv;

	*out = NULL;
	if ((p = mcn_zalloc(sizeof(*p))) == NULL)
		return (pki_fail(err, errlen, ca_path, NULL, MCN_ENOMEM));
	p->role = MCN_ROLE_ANY;
	if ((rv = pki_read_cert(&p->ca, ca_path, err, errlen)) != MCN_OK)
		goto out;
	if (!pki_is_ca(p->ca) || X509_self_signed(p->ca, 1) != 1) {
		rv = pki_fail(err, errlen, ca_path,
		    "not a self-signed CA certificate", MCN_ECERT);
		goto out;
	}
	if ((p->store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(p->store, p->ca) != 1) {
		rv = pki_fail(err, errlen, ca_path, NULL, MCN_ENOMEM);
		goto out;
	}
	if ((rv = pki_load_crls(p, ca_path, err, errlen)) != MCN_OK)
		goto out;
	p->verifier.verify = pki_verify;
	p->verifier.policy_role = pki_policy_role;
	p->verifier.ctx = p;
	if (cert_path != NULL &&
	    (rv = pki_load_identity(p, cert_path, key_path, err, errlen)) !=
	        MCN_OK)
		goto out;
	*out = p;
	p = NULL;
	rv = MCN_OK;
out:
	mcn_pki_free(p);
	ERR_clear_error();
	return (rv);
}

const char *
mcn_pki_id(const mcn_pki *p)
{
	return (p->cert != NULL ? p->id : NULL);
}

mcn_role
mcn_pki_role(const mcn_pki *p)
{
	return (p->role);
}

const mcn_signer *
mcn_pki_signer(mcn_pki *p)
{
	return (p->cert != NULL ? &p->signer : NULL);
}

const mcn_verifier *
mcn_pki_verifier(mcn_pki *p)
{
	return (&p->verifier);
}

/* ---- threshold key ceremony ------------------------------------------- */

/* Armored-file errors with the file named. */
static mcn_err
pki_armor_fail(char *err, size_t errlen, const char *path, const char *label,
    mcn_err rv)
{
	if (rv == MCN_EFORMAT)
		mcn_msg(err, errlen, "%s: no valid %s block", path, label);
	else if (rv == MCN_ERANGE)
		mcn_msg(err, errlen, "%s: file too large", path);
	else
		mcn_msg(err, errlen, "%s: %s", path, mcn_strerror(rv));
	return (rv);
}

mcn_err
mcn_tpub_load(mcn_tpaillier_pub **pub, const char *path, char *err,
    size_t errlen)
{
	uint8_t *buf;
	size_t len;
	mcn_err rv;

	*pub = NULL;
	rv = mcn_armor_read_file(&buf, &len, MCN_TPUB_LABEL, path);
	if (rv != MCN_OK)
		return (pki_armor_fail(err, errlen, path, MCN_TPUB_LABEL, rv));
	if ((rv = mcn_tpaillier_pub_import(pub, buf, len)) != MCN_OK) {
		mcn_msg(err, errlen, "%s: not a valid threshold public key: %s",
		    path, mcn_strerror(rv));
	}
	mcn_file_free(buf, len);
	return (rv);
}

mcn_err
mcn_share_load(const mcn_tpaillier_pub *pub, mcn_tpaillier_share **sh,
    const char *path, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	mcn_err rv;

	*sh = NULL;
	rv = mcn_armor_read_file(&buf, &len, MCN_SHARE_LABEL, path);
	if (rv != MCN_OK)
		return (pki_armor_fail(err, errlen, path, MCN_SHARE_LABEL, rv));
	if ((rv = mcn_tpaillier_share_import(pub, sh, buf, len)) != MCN_OK) {
		mcn_msg(err, errlen,
		    "%s: not a valid key share of this consortium key: %s",
		    path, mcn_strerror(rv));
	}
	mcn_file_free(buf, len); /* wipes */
	return (rv);
}

/* Path of output k: k == n is consortium.pub, else ids[k].share. */
static mcn_err
pki_ceremony_path(char *out, size_t outlen, const char *dir,
    const char *const *ids, unsigned n, unsigned k)
{
	if (k == n)
		return (mcn_path_join(out, outlen, dir, MCN_TPUB_FILE, NULL));
	return (mcn_path_join(out, outlen, dir, ids[k], ".share"));
}

mcn_err
mcn_ceremony_check(const char *dir, const char *const *ids, unsigned n,
    unsigned t, unsigned bits, char *err, size_t errlen)
{
	char path[4096];

	if (n < 1 || n > MCN_TPAILLIER_MAX_PARTIES) {
		mcn_msg(err, errlen, "number of nodes must be 1..%d",
		    MCN_TPAILLIER_MAX_PARTIES);
		return (MCN_EINVAL);
	}
	if (t < 1 || t > n) {
		mcn_msg(err, errlen,
		    "threshold %u must be 1..%u (the number "
		    "of nodes)",
		    t, n);
		return (MCN_EINVAL);
	}
	if (bits < 1024 || bits > MCN_PAILLIER_BITS_MAX || bits % 16 != 0) {
		mcn_msg(err, errlen,
		    "key size %u must be a multiple of 16 in "
		    "1024..%d",
		    bits, MCN_PAILLIER_BITS_MAX);
		return (MCN_EINVAL);
	}
	for (unsigned i = 0; i < n; i++) {
		if (!mcn_id_valid(ids[i])) {
			mcn_msg(err, errlen, "node %u: invalid party id",
			    i + 1);
			return (MCN_EINVAL);
		}
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(ids[i], ids[j]) == 0) {
				mcn_msg(err, errlen,
				    "node id %s appears twice (positions %u "
				    "and %u)",
				    ids[i], j + 1, i + 1);
				return (MCN_EINVAL);
			}
		}
	}
	/* Every output must be new: find out before the long key search. */
	for (unsigned k = 0; k <= n; k++) {
		if (pki_ceremony_path(path, sizeof(path), dir, ids, n, k) !=
		    MCN_OK) {
			mcn_msg(err, errlen, "%s: path too long", dir);
			return (MCN_ERANGE);
		}
		if (pki_exists(path)) {
			return (pki_fail(err, errlen, path,
			    "exists; refusing to overwrite key material",
			    MCN_ESYS | EEXIST));
		}
	}
	return (MCN_OK);
}

/* Re-reads every written file: the public key must export to the same
 * bytes, and every share must import against it (v_i check) with its
 * index. */
static mcn_err
pki_ceremony_verify(const char *dir, const char *const *ids, unsigned n,
    const uint8_t *pubbytes, size_t publen, char *err, size_t errlen)
{
	mcn_tpaillier_pub *pub = NULL;
	mcn_tpaillier_share *sh = NULL;
	uint8_t *again = NULL;
	char path[4096];
	mcn_err rv;

	if ((rv = pki_ceremony_path(path, sizeof(path), dir, ids, n, n)) !=
	        MCN_OK ||
	    (rv = mcn_tpub_load(&pub, path, err, errlen)) != MCN_OK)
		goto out;
	rv = MCN_EFORMAT;
	if (mcn_tpaillier_pub_len(pub) != publen ||
	    (again = mcn_alloc(publen)) == NULL ||
	    mcn_tpaillier_pub_export(pub, again, publen) != MCN_OK ||
	    memcmp(again, pubbytes, publen) != 0) {
		mcn_msg(err, errlen, "%s: does not read back as written", path);
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if ((rv = pki_ceremony_path(path, sizeof(path), dir, ids, n,
		         i)) != MCN_OK ||
		    (rv = mcn_share_load(pub, &sh, path, err, errlen)) !=
		        MCN_OK)
			goto out;
		rv = mcn_tpaillier_share_index(sh) == i + 1 ? MCN_OK :
		                                              MCN_EFORMAT;
		mcn_tpaillier_share_free(sh);
		sh = NULL;
		if (rv != MCN_OK) {
			mcn_msg(err, errlen, "%s: share has the wrong index",
			    path);
			goto out;
		}
	}
out:
	mcn_free(again, publen);
	mcn_tpaillier_pub_free(pub);
	return (rv);
}

mcn_err
mcn_ceremony_write(const char *dir, const char *const *ids, unsigned n,
    unsigned t, unsigned bits, mcn_rng *rng, char *err, size_t errlen)
{
	mcn_tpaillier_pub *pub = NULL;
	mcn_tpaillier_share **shares = NULL;
	uint8_t *pubbytes = NULL, *buf = NULL;
	size_t publen = 0, buflen = 0;
	unsigned written = 0; /* files 0..written-1 of the order below */
	int pub_written = 0;
	char path[4096];
	mcn_err rv;

	if ((rv = mcn_ceremony_check(dir, ids, n, t, bits, err, errlen)) !=
	    MCN_OK)
		return (rv);
	if ((shares = mcn_zalloc(n * sizeof(*shares))) == NULL) {
		mcn_msg(err, errlen, "out of memory");
		return (MCN_ENOMEM);
	}
	if ((rv = mcn_tpaillier_deal(&pub, shares, bits, t, n, rng)) !=
	    MCN_OK) {
		mcn_msg(err, errlen, "key generation failed: %s",
		    mcn_strerror(rv));
		goto out;
	}

	/* The public key. */
	publen = mcn_tpaillier_pub_len(pub);
	if ((pubbytes = mcn_alloc(publen)) == NULL) {
		rv = MCN_ENOMEM;
		mcn_msg(err, errlen, "out of memory");
		goto out;
	}
	(void)pki_ceremony_path(path, sizeof(path), dir, ids, n, n);
	if ((rv = mcn_tpaillier_pub_export(pub, pubbytes, publen)) != MCN_OK ||
	    (rv = mcn_armor_write_file(path, MCN_TPUB_LABEL, pubbytes, publen,
	         0644, 1)) != MCN_OK) {
		pki_fail(err, errlen, path, NULL, rv);
		goto out;
	}
	pub_written = 1;

	/* The shares, each wiped from memory once written. */
	buflen = mcn_tpaillier_share_len(pub);
	if ((buf = mcn_alloc(buflen)) == NULL) {
		rv = MCN_ENOMEM;
		mcn_msg(err, errlen, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		(void)pki_ceremony_path(path, sizeof(path), dir, ids, n, i);
		rv = mcn_tpaillier_share_export(pub, shares[i], buf, buflen);
		if (rv == MCN_OK) {
			rv = mcn_armor_write_file(path, MCN_SHARE_LABEL, buf,
			    buflen, 0600, 1);
		}
		mcn_wipe(buf, buflen);
		mcn_tpaillier_share_free(shares[i]);
		shares[i] = NULL;
		if (rv != MCN_OK) {
			pki_fail(err, errlen, path, NULL, rv);
			goto out;
		}
		written = i + 1;
	}
	/* The dealer forgets: no share (nor p, q, d) is left in memory. */
	mcn_tpaillier_pub_free(pub);
	pub = NULL;

	rv = pki_ceremony_verify(dir, ids, n, pubbytes, publen, err, errlen);
out:
	if (rv != MCN_OK) {
		for (unsigned k = 0; k < written; k++) {
			(void)pki_ceremony_path(path, sizeof(path), dir, ids, n,
			    k);
			(void)unlink(path);
		}
		if (pub_written) {
			(void)pki_ceremony_path(path, sizeof(path), dir, ids, n,
			    n);
			(void)unlink(path);
		}
	}
	if (shares != NULL) {
		for (unsigned i = 0; i < n; i++)
			mcn_tpaillier_share_free(shares[i]);
		mcn_free(shares, n * sizeof(*shares));
	}
	mcn_free(buf, buflen);
	mcn_free(pubbytes, publen);
	mcn_tpaillier_pub_free(pub);
	return (rv);
}

/* ---- mask keys ---------------------------------------------------------- */

mcn_err
mcn_maskkey_create(uint8_t pub[MCN_X25519_BYTES], const char *path,
    mcn_rng *rng, char *err, size_t errlen)
{
	mcn_x25519_keypair kp;
	mcn_err rv;

	if (pki_exists(path)) {
		return (pki_fail(err, errlen, path,
		    "exists; refusing to overwrite a key", MCN_ESYS | EEXIST));
	}
	if ((rv = mcn_x25519_keygen(&kp, rng)) != MCN_OK) {
		mcn_msg(err, errlen, "key generation failed: %s",
		    mcn_strerror(rv));
		return (rv);
	}
	rv = mcn_armor_write_file(path, MCN_MASK_LABEL, kp.priv,
	    sizeof(kp.priv), 0600, 1);
	if (rv == MCN_OK)
		memcpy(pub, kp.pub, MCN_X25519_BYTES);
	else
		pki_fail(err, errlen, path, NULL, rv);
	mcn_wipe(&kp, sizeof(kp));
	return (rv);
}

mcn_err
mcn_maskkey_load(mcn_x25519_keypair *kp, const char *path, char *err,
    size_t errlen)
{
	uint8_t *buf;
	size_t len;
	mcn_err rv;

	memset(kp, 0, sizeof(*kp));
	rv = mcn_armor_read_file(&buf, &len, MCN_MASK_LABEL, path);
	if (rv != MCN_OK)
		return (pki_armor_fail(err, errlen, path, MCN_MASK_LABEL, rv));
	if (len != MCN_X25519_BYTES) {
		mcn_file_free(buf, len);
		mcn_msg(err, errlen, "%s: mask key must be %d bytes", path,
		    MCN_X25519_BYTES);
		return (MCN_EFORMAT);
	}
	memcpy(kp->priv, buf, MCN_X25519_BYTES);
	mcn_file_free(buf, len); /* wipes */
	if ((rv = mcn_x25519_public(kp->pub, kp->priv)) != MCN_OK) {
		mcn_wipe(kp, sizeof(*kp));
		mcn_msg(err, errlen, "%s: cannot derive the public key", path);
	}
	return (rv);
}
