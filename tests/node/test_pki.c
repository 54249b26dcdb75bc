/* tests/node/test_pki.c - node/pki.c: CA, certificates, the envelope
 * signer/verifier, the threshold key ceremony and mask key files. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/paillier.h"
#include "node/pki.h"
#include "node/util.h"

/* ---- fixture: a temp dir with CA "Test Net", node site1, querier alice,
 * and a foreign CA "Other" that also issued a "site1" node certificate. */

struct fx {
	char dir[64];
	char ca_crt[128], ca_key[128];
	char s1_crt[128], s1_key[128];
	char al_crt[128], al_key[128];
	char oca_crt[128], oca_key[128];
	char os1_crt[128], os1_key[128];
};

static void
fx_path(char *out, const struct fx *f, const char *name)
{
	snprintf(out, 128, "%s/%s", f->dir, name);
}

static int
fx_init(struct fx *f)
{
	char err[MCN_ERRMSG] = "";

	snprintf(f->dir, sizeof(f->dir), "/tmp/mcn-pki-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	fx_path(f->ca_crt, f, "ca.crt");
	fx_path(f->ca_key, f, "ca.key");
	fx_path(f->s1_crt, f, "site1.crt");
	fx_path(f->s1_key, f, "site1.key");
	fx_path(f->al_crt, f, "alice.crt");
	fx_path(f->al_key, f, "alice.key");
	fx_path(f->oca_crt, f, "other-ca.crt");
	fx_path(f->oca_key, f, "other-ca.key");
	fx_path(f->os1_crt, f, "other-site1.crt");
	fx_path(f->os1_key, f, "other-site1.key");
	if (mcn_pki_ca_init(f->ca_crt, f->ca_key, "Test Net", 30, err,
	        sizeof(err)) != MCN_OK ||
	    mcn_pki_issue(f->ca_crt, f->ca_key, "site1", MCN_ROLE_NODE, 30,
	        f->s1_crt, f->s1_key, err, sizeof(err)) != MCN_OK ||
	    mcn_pki_issue(f->ca_crt, f->ca_key, "alice", MCN_ROLE_QUERIER, 30,
	        f->al_crt, f->al_key, err, sizeof(err)) != MCN_OK ||
	    mcn_pki_ca_init(f->oca_crt, f->oca_key, "Other", 30, err,
	        sizeof(err)) != MCN_OK ||
	    mcn_pki_issue(f->oca_crt, f->oca_key, "site1", MCN_ROLE_NODE, 30,
	        f->os1_crt, f->os1_key, err, sizeof(err)) != MCN_OK) {
		fprintf(stderr, "fixture: %s\n", err);
		return -1;
	}
	return 0;
}

/* Removes the fixture dir (plain files only). */
static void
fx_done(struct fx *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *de;
	char path[512];

	if (d == NULL) {
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			snprintf(path, sizeof(path), "%s/%s", f->dir,
			    de->d_name);
			unlink(path);
		}
	}
	closedir(d);
	rmdir(f->dir);
}

static int
fx_count(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			n++;
		}
	}
	closedir(d);
	return n;
}

static unsigned
file_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		return 0xffffffffu;
	}
	return (unsigned)(st.st_mode & 07777);
}

static int
file_starts(const char *path, const char *prefix)
{
	uint8_t *buf;
	size_t len;
	int ok;

	if (mcn_file_read(path, 1 << 16, &buf, &len) != MCN_OK) {
		return 0;
	}
	ok = len >= strlen(prefix) && memcmp(buf, prefix, strlen(prefix)) == 0;
	mcn_file_free(buf, len);
	return ok;
}

static X509 *
load_x509(const char *path)
{
	FILE *fp = fopen(path, "r");
	X509 *x;

	if (fp == NULL) {
		return NULL;
	}
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *k;

	if (fp == NULL) {
		return NULL;
	}
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	return k;
}

/* DER of a PEM certificate file into buf; returns the length or 0. */
static size_t
der_of(const char *path, uint8_t *buf, size_t cap)
{
	X509 *x = load_x509(path);
	unsigned char *p = buf;
	int n;

	if (x == NULL) {
		return 0;
	}
	n = i2d_X509(x, NULL);
	if (n <= 0 || (size_t)n > cap) {
		X509_free(x);
		return 0;
	}
	n = i2d_X509(x, &p);
	X509_free(x);
	return (size_t)n;
}

/* Signs msg with the private key at key_path (ECDSA-SHA256, DER). */
static size_t
sign_with(const char *key_path, const uint8_t *msg, size_t len, uint8_t *sig,
    size_t cap)
{
	EVP_PKEY *k = load_key(key_path);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = cap;

	if (k == NULL || md == NULL ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, &n, msg, len) != 1) {
		n = 0;
	}
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(k);
	return n;
}

static int
name_is(const X509_NAME *nm, int nid, const char *want)
{
	char buf[128];

	return X509_NAME_get_text_by_NID(nm, nid, buf, sizeof(buf)) ==
	    (int)strlen(want) &&
	    strcmp(buf, want) == 0;
}

static int
san_count(X509 *x, int type, const char *want)
{
	GENERAL_NAMES *g =
	    X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = 0;

	for (int i = 0; g != NULL && i < sk_GENERAL_NAME_num(g); i++) {
		GENERAL_NAME *e = sk_GENERAL_NAME_value(g, i);
		if (e->type != type) {
			continue;
		}
		if (type == GEN_DNS) {
			const ASN1_IA5STRING *s = e->d.dNSName;
			n += (size_t)ASN1_STRING_length(s) == strlen(want) &&
			    memcmp(ASN1_STRING_get0_data(s), want,
			        strlen(want)) == 0;
		} else if (type == GEN_IPADD) {
			const ASN1_OCTET_STRING *s = e->d.iPAddress;
			n += ASN1_STRING_length(s) == 4 &&
			    memcmp(ASN1_STRING_get0_data(s), want, 4) == 0;
		}
	}
	GENERAL_NAMES_free(g);
	return n;
}

static int
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	return i >= 0 ? X509_EXTENSION_get_critical(X509_get_ext(x, i)) : -1;
}

/* Checks the parts of the profile that mbedTLS and our verifier rely on. */
static void
test_profile(void)
{
	struct fx f;
	X509 *ca, *s1, *al;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	CHECK(file_mode(f.ca_key) == 0600);
	CHECK(file_mode(f.s1_key) == 0600);
	CHECK(file_mode(f.al_key) == 0600);
	CHECK(file_mode(f.ca_crt) == 0644);
	CHECK(file_mode(f.s1_crt) == 0644);
	CHECK(file_starts(f.ca_key, "-----BEGIN PRIVATE KEY-----\n"));
	CHECK(file_starts(f.s1_key, "-----BEGIN PRIVATE KEY-----\n"));
	CHECK(file_starts(f.s1_crt, "-----BEGIN CERTIFICATE-----\n"));

	ca = load_x509(f.ca_crt);
	s1 = load_x509(f.s1_crt);
	al = load_x509(f.al_crt);
	CHECK(ca != NULL && s1 != NULL && al != NULL);
	if (ca == NULL || s1 == NULL || al == NULL) {
		goto out;
	}
	/* CA */
	CHECK(X509_get_version(ca) == X509_VERSION_3);
	CHECK(name_is(X509_get_subject_name(ca), NID_organizationName,
	    "Test Net"));
	CHECK(
	    name_is(X509_get_subject_name(ca), NID_commonName, "Test Net CA"));
	CHECK(X509_NAME_cmp(X509_get_subject_name(ca),
	          X509_get_issuer_name(ca)) == 0);
	CHECK(X509_check_ca(ca) == 1);
	CHECK(X509_self_signed(ca, 1) == 1);
	CHECK(ext_critical(ca, NID_basic_constraints) == 1);
	CHECK(ext_critical(ca, NID_key_usage) == 1);
	CHECK(X509_get_key_usage(ca) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	CHECK(X509_get_pathlen(ca) == 0);
	CHECK(X509_get0_subject_key_id(ca) != NULL);
	CHECK(X509_get_signature_nid(ca) == NID_ecdsa_with_SHA256);
	/* P-256 keys */
	char grp[32];
	size_t gl;
	CHECK(EVP_PKEY_get_group_name(X509_get0_pubkey(ca), grp, sizeof(grp),
	          &gl) == 1 &&
	    strcmp(grp, "prime256v1") == 0);
	CHECK(EVP_PKEY_get_group_name(X509_get0_pubkey(s1), grp, sizeof(grp),
	          &gl) == 1 &&
	    strcmp(grp, "prime256v1") == 0);
	/* serials: positive, 16 bytes, distinct */
	BIGNUM *b1 = ASN1_INTEGER_to_BN(X509_get0_serialNumber(ca), NULL);
	BIGNUM *b2 = ASN1_INTEGER_to_BN(X509_get0_serialNumber(s1), NULL);
	CHECK(b1 != NULL && b2 != NULL && !BN_is_negative(b1) &&
	    BN_num_bytes(b1) == 16 && BN_num_bytes(b2) == 16 &&
	    BN_cmp(b1, b2) != 0);
	BN_free(b1);
	BN_free(b2);
	/* validity: CA 30 days from now (backdated 5 minutes) */
	int days, secs;
	CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(ca),
	          X509_get0_notAfter(ca)) == 1 &&
	    days == 30 && secs == 300);

	/* node leaf */
	CHECK(X509_get_version(s1) == X509_VERSION_3);
	CHECK(name_is(X509_get_subject_name(s1), NID_organizationName,
	    "Test Net"));
	CHECK(name_is(X509_get_subject_name(s1), NID_organizationalUnitName,
	    "node"));
	CHECK(name_is(X509_get_subject_name(s1), NID_commonName, "site1"));
	CHECK(X509_NAME_cmp(X509_get_issuer_name(s1),
	          X509_get_subject_name(ca)) == 0);
	CHECK(X509_check_ca(s1) == 0);
	CHECK(ext_critical(s1, NID_basic_constraints) == 1);
	CHECK(ext_critical(s1, NID_key_usage) == 1);
	CHECK(ext_critical(s1, NID_ext_key_usage) == 0);
	CHECK(X509_get_key_usage(s1) ==
	    (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT));
	CHECK(X509_get_extended_key_usage(s1) ==
	    (XKU_SSL_SERVER | XKU_SSL_CLIENT));
	CHECK(san_count(s1, GEN_DNS, "site1") == 1);
	CHECK(san_count(s1, GEN_IPADD, "\x7f\0\0\x01") == 1);
	CHECK(X509_get0_authority_key_id(s1) != NULL &&
	    ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(s1),
	        X509_get0_subject_key_id(ca)) == 0);
	CHECK(X509_get_signature_nid(s1) == NID_ecdsa_with_SHA256);
	CHECK(X509_verify(s1, X509_get0_pubkey(ca)) == 1);
	CHECK(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(s1),
	          X509_get0_notAfter(s1)) == 1 &&
	    days == 30 && secs == 300);

	/* querier leaf: no IP SAN */
	CHECK(name_is(X509_get_subject_name(al), NID_organizationalUnitName,
	    "querier"));
	CHECK(san_count(al, GEN_DNS, "alice") == 1);
	CHECK(san_count(al, GEN_IPADD, "\x7f\0\0\x01") == 0);

	/* cert_info */
	char id[MCN_ID_MAX + 1], err[MCN_ERRMSG];
	mcn_role role = MCN_ROLE_ANY;
	CHECK_OK(mcn_pki_cert_info(f.al_crt, id, sizeof(id), &role, err,
	    sizeof(err)));
	CHECK(strcmp(id, "alice") == 0 && role == MCN_ROLE_QUERIER);
	CHECK_ERR(mcn_pki_cert_info(f.ca_crt, id, sizeof(id), &role, err,
	              sizeof(err)),
	    MCN_ECERT);
	CHECK(strstr(err, "ca.crt") != NULL);
	CHECK_ERR(mcn_pki_cert_info(f.s1_key, id, sizeof(id), &role, err,
	              sizeof(err)),
	    MCN_ECERT);
out:
	X509_free(ca);
	X509_free(s1);
	X509_free(al);
	fx_done(&f);
}

static void
test_refuse_overwrite(void)
{
	struct fx f;
	char err[MCN_ERRMSG], p[128];
	uint8_t *before, *after;
	size_t lb, la;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	int files = fx_count(f.dir);
	REQUIRE_OK(mcn_file_read(f.ca_key, 1 << 16, &before, &lb));

	/* a second CA into the same files */
	CHECK_ERR(mcn_pki_ca_init(f.ca_crt, f.ca_key, "Test Net", 30, err,
	              sizeof(err)),
	    MCN_ESYS | EEXIST);
	CHECK(strstr(err, "ca.key") != NULL);
	REQUIRE_OK(mcn_file_read(f.ca_key, 1 << 16, &after, &la));
	CHECK(la == lb && memcmp(before, after, la) == 0);
	mcn_file_free(after, la);
	mcn_file_free(before, lb);

	/* a party key that exists */
	fx_path(p, &f, "new.crt");
	CHECK_ERR(mcn_pki_issue(f.ca_crt, f.ca_key, "site1", MCN_ROLE_NODE, 30,
	              p, f.s1_key, err, sizeof(err)),
	    MCN_ESYS | EEXIST);
	/* only the certificate exists: refused too, no key left behind */
	fx_path(p, &f, "new.key");
	CHECK_ERR(mcn_pki_issue(f.ca_crt, f.ca_key, "site1", MCN_ROLE_NODE, 30,
	              f.s1_crt, p, err, sizeof(err)),
	    MCN_ESYS | EEXIST);
	CHECK(access(p, F_OK) != 0);
	/* CA cert only (key missing) */
	fx_path(p, &f, "missing.key");
	CHECK_ERR(mcn_pki_ca_init(f.ca_crt, p, "X", 30, err, sizeof(err)),
	    MCN_ESYS | EEXIST);
	CHECK(access(p, F_OK) != 0);
	CHECK(fx_count(f.dir) == files);
	fx_done(&f);
}

static void
test_bad_args(void)
{
	struct fx f;
	char err[MCN_ERRMSG], c[128], k[128];
	mcn_role r = MCN_ROLE_ANY;

	CHECK(strcmp(mcn_role_name(MCN_ROLE_NODE), "node") == 0);
	CHECK(strcmp(mcn_role_name(MCN_ROLE_QUERIER), "querier") == 0);
	CHECK(strcmp(mcn_role_name(MCN_ROLE_ADMIN), "admin") == 0);
	CHECK(strcmp(mcn_role_name(MCN_ROLE_ANY), "any") == 0);
	CHECK(strcmp(mcn_role_name((mcn_role)9), "?") == 0);
	CHECK_OK(mcn_role_parse("node", &r));
	CHECK(r == MCN_ROLE_NODE);
	CHECK_OK(mcn_role_parse("querier", &r));
	CHECK(r == MCN_ROLE_QUERIER);
	CHECK_OK(mcn_role_parse("admin", &r));
	CHECK(r == MCN_ROLE_ADMIN);
	CHECK_ERR(mcn_role_parse("any", &r), MCN_EINVAL);
	CHECK_ERR(mcn_role_parse("Node", &r), MCN_EINVAL);
	CHECK_ERR(mcn_role_parse("", &r), MCN_EINVAL);
	CHECK(r == MCN_ROLE_ADMIN);

	CHECK_ERR(mcn_path_join(c, 10, "/tmp", "abc", ".key"), MCN_ERANGE);
	CHECK(c[0] == 0);
	CHECK_OK(mcn_path_join(c, 14, "/tmp", "abc", ".key"));
	CHECK(strcmp(c, "/tmp/abc.key") == 0);
	CHECK_OK(mcn_path_join(c, sizeof(c), "d", "consortium.pub", NULL));
	CHECK(strcmp(c, "d/consortium.pub") == 0);

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	int files = fx_count(f.dir);
	fx_path(c, &f, "x.crt");
	fx_path(k, &f, "x.key");
	static const char *names[] = {
		"", " lead", "trail ", "a/b", "a,b", "a=b", "x\n", "-x",
		"0123456789012345678901234567890123456789012345678901234567890"
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK_ERR(mcn_pki_ca_init(c, k, names[i], 30, err, sizeof(err)),
		    MCN_EINVAL);
	}
	CHECK_ERR(mcn_pki_ca_init(c, k, "ok", 0, err, sizeof(err)), MCN_EINVAL);
	CHECK_ERR(
	    mcn_pki_ca_init(c, k, "ok", MCN_PKI_DAYS_MAX + 1, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_pki_issue(f.ca_crt, f.ca_key, "-bad", MCN_ROLE_NODE, 30,
	              c, k, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_pki_issue(f.ca_crt, f.ca_key, "a b", MCN_ROLE_NODE, 30, c,
	              k, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_pki_issue(f.ca_crt, f.ca_key, "bob", MCN_ROLE_ANY, 30, c,
	              k, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_pki_issue(f.ca_crt, f.ca_key, "bob", MCN_ROLE_NODE, 0, c,
	              k, err, sizeof(err)),
	    MCN_EINVAL);
	/* issuing with a leaf as the CA, or the wrong CA key */
	CHECK_ERR(mcn_pki_issue(f.s1_crt, f.s1_key, "bob", MCN_ROLE_NODE, 30, c,
	              k, err, sizeof(err)),
	    MCN_ECERT);
	CHECK_ERR(mcn_pki_issue(f.ca_crt, f.oca_key, "bob", MCN_ROLE_NODE, 30,
	              c, k, err, sizeof(err)),
	    MCN_EKEY);
	CHECK(strstr(err, "other-ca.key") != NULL);
	fx_path(k, &f, "none.key");
	CHECK_ERR(mcn_pki_issue(f.ca_crt, k, "bob", MCN_ROLE_NODE, 30, c, f.dir,
	              err, sizeof(err)),
	    MCN_ESYS | EEXIST); /* key_out (the dir) exists */
	CHECK_ERR(mcn_pki_issue(f.ca_crt, k, "bob", MCN_ROLE_NODE, 30, c, c,
	              err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(fx_count(f.dir) == files);
	fx_done(&f);
}

static void
test_load(void)
{
	struct fx f;
	char err[MCN_ERRMSG];
	mcn_pki *p = NULL;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	CHECK_OK(
	    mcn_pki_load(&p, f.ca_crt, f.s1_crt, f.s1_key, err, sizeof(err)));
	if (p != NULL) {
		const mcn_signer *s = mcn_pki_signer(p);
		uint8_t der[4096];
		size_t dl = der_of(f.s1_crt, der, sizeof(der));
		CHECK(strcmp(mcn_pki_id(p), "site1") == 0);
		CHECK(mcn_pki_role(p) == MCN_ROLE_NODE);
		CHECK(s != NULL && strcmp(s->id, "site1") == 0 &&
		    s->role == MCN_ROLE_NODE && s->certlen == dl &&
		    memcmp(s->cert, der, dl) == 0 && s->sign != NULL);
		CHECK(mcn_pki_verifier(p) != NULL &&
		    mcn_pki_verifier(p)->verify != NULL);
		mcn_pki_free(p);
	}
	/* trust only */
	CHECK_OK(mcn_pki_load(&p, f.ca_crt, NULL, NULL, err, sizeof(err)));
	if (p != NULL) {
		CHECK(mcn_pki_id(p) == NULL);
		CHECK(mcn_pki_role(p) == MCN_ROLE_ANY);
		CHECK(mcn_pki_signer(p) == NULL);
		CHECK(mcn_pki_verifier(p) != NULL);
		mcn_pki_free(p);
	}
	mcn_pki_free(NULL);

	/* key not matching the certificate */
	p = (mcn_pki *)&f; /* must be reset to NULL on failure */
	CHECK_ERR(
	    mcn_pki_load(&p, f.ca_crt, f.s1_crt, f.al_key, err, sizeof(err)),
	    MCN_EKEY);
	CHECK(p == NULL);
	CHECK(strstr(err, "alice.key") != NULL);
	/* my certificate from another CA */
	CHECK_ERR(
	    mcn_pki_load(&p, f.ca_crt, f.os1_crt, f.os1_key, err, sizeof(err)),
	    MCN_ECERT);
	CHECK(strstr(err, "other-site1.crt") != NULL);
	/* the CA as my certificate */
	CHECK_ERR(
	    mcn_pki_load(&p, f.ca_crt, f.ca_crt, f.ca_key, err, sizeof(err)),
	    MCN_ECERT);
	/* a leaf as the CA */
	CHECK_ERR(mcn_pki_load(&p, f.s1_crt, NULL, NULL, err, sizeof(err)),
	    MCN_ECERT);
	/* files that are not what they should be */
	CHECK_ERR(mcn_pki_load(&p, f.ca_key, NULL, NULL, err, sizeof(err)),
	    MCN_ECERT);
	CHECK_ERR(
	    mcn_pki_load(&p, f.ca_crt, f.s1_crt, f.s1_crt, err, sizeof(err)),
	    MCN_EKEY);
	char none[128];
	fx_path(none, &f, "none.crt");
	CHECK_ERR(mcn_pki_load(&p, none, NULL, NULL, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(strstr(err, "none.crt") != NULL);
	CHECK_ERR(mcn_pki_load(&p, f.ca_crt, f.s1_crt, none, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(p == NULL);
	fx_done(&f);
}

static mcn_err
vfy(mcn_pki *p, const char *sender, mcn_role role, const uint8_t *cert,
    size_t certlen, const uint8_t *msg, size_t len, const uint8_t *sig,
    size_t siglen, mcn_role *role_out)
{
	const mcn_verifier *v = mcn_pki_verifier(p);

	return v->verify(v->ctx, sender, role, cert, certlen, msg, len, sig,
	    siglen, role_out);
}

static void
test_sign_verify(void)
{
	struct fx f;
	char err[MCN_ERRMSG];
	mcn_pki *me = NULL, *peer = NULL;
	static const uint8_t msg[] = "envelope header and body";
	uint8_t sig[MCN_SIG_MAX], bad[MCN_SIG_MAX + 8], m2[sizeof(msg)];
	uint8_t big[MCN_CERT_MAX + 1];
	size_t siglen = sizeof(sig);
	mcn_role ro = MCN_ROLE_ANY;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	REQUIRE_OK(
	    mcn_pki_load(&me, f.ca_crt, f.s1_crt, f.s1_key, err, sizeof(err)));
	REQUIRE_OK(mcn_pki_load(&peer, f.ca_crt, f.al_crt, f.al_key, err,
	    sizeof(err)));
	const mcn_signer *s = mcn_pki_signer(me);
	REQUIRE_OK(s->sign(s->ctx, msg, sizeof(msg), sig, &siglen));
	CHECK(siglen >= 8 && siglen <= 72 && sig[0] == 0x30);

	/* the peer checks my envelope, twice (second from the cache) */
	for (int i = 0; i < 2; i++) {
		ro = MCN_ROLE_ANY;
		CHECK_OK(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen,
		    msg, sizeof(msg), sig, siglen, &ro));
		CHECK(ro == MCN_ROLE_NODE);
	}
	ro = MCN_ROLE_ADMIN;
	CHECK_OK(vfy(peer, "site1", MCN_ROLE_ANY, s->cert, s->certlen, msg,
	    sizeof(msg), sig, siglen, &ro));
	CHECK(ro == MCN_ROLE_NODE);
	CHECK_OK(vfy(peer, "site1", MCN_ROLE_ANY, s->cert, s->certlen, msg,
	    sizeof(msg), sig, siglen, NULL));
	/* I can check my own, and a trust-only pki can too */
	CHECK_OK(vfy(me, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	    sizeof(msg), sig, siglen, NULL));
	mcn_pki *trust = NULL;
	REQUIRE_OK(
	    mcn_pki_load(&trust, f.ca_crt, NULL, NULL, err, sizeof(err)));
	CHECK_OK(vfy(trust, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	    sizeof(msg), sig, siglen, NULL));

	/* wrong sender id, wrong role */
	ro = MCN_ROLE_ADMIN;
	CHECK_ERR(vfy(peer, "site2", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), sig, siglen, &ro),
	    MCN_ECERT);
	CHECK(ro == MCN_ROLE_ADMIN); /* untouched on failure */
	CHECK_ERR(vfy(peer, "Site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_QUERIER, s->cert, s->certlen, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_ADMIN, s->cert, s->certlen, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);

	/* tampered message and signature */
	memcpy(m2, msg, sizeof(msg));
	m2[3] ^= 1;
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, m2,
	              sizeof(m2), sig, siglen, NULL),
	    MCN_ESIG);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg) - 1, sig, siglen, NULL),
	    MCN_ESIG);
	memcpy(bad, sig, siglen);
	bad[siglen - 1] ^= 0x40;
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), bad, siglen, NULL),
	    MCN_ESIG);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), sig, siglen - 1, NULL),
	    MCN_ESIG);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), sig, 0, NULL),
	    MCN_ESIG);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), NULL, 0, NULL),
	    MCN_ESIG);
	memset(bad, 0, sizeof(bad));
	memcpy(bad, sig, siglen);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), bad, MCN_SIG_MAX + 1, NULL),
	    MCN_ESIG);
	/* alice's signature presented with site1's certificate */
	size_t al = sign_with(f.al_key, msg, sizeof(msg), bad, sizeof(bad));
	CHECK(al > 0);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg,
	              sizeof(msg), bad, al, NULL),
	    MCN_ESIG);

	/* certificate from a foreign CA, same id and role, valid signature */
	uint8_t der[4096];
	size_t dl = der_of(f.os1_crt, der, sizeof(der));
	size_t ol = sign_with(f.os1_key, msg, sizeof(msg), bad, sizeof(bad));
	CHECK(dl > 0 && ol > 0);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, der, dl, msg, sizeof(msg),
	              bad, ol, NULL),
	    MCN_ECERT);
	/* the CA certificate itself, with a CA signature */
	dl = der_of(f.ca_crt, der, sizeof(der));
	ol = sign_with(f.ca_key, msg, sizeof(msg), bad, sizeof(bad));
	CHECK_ERR(vfy(peer, "Test Net CA", MCN_ROLE_ANY, der, dl, msg,
	              sizeof(msg), bad, ol, NULL),
	    MCN_ECERT);

	/* garbage, truncated, trailing bytes, empty, oversized */
	memset(big, 0x30, sizeof(big));
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, big, 100, msg, sizeof(msg),
	              sig, siglen, NULL),
	    MCN_ECERT);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen - 1,
	              msg, sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);
	memcpy(big, s->cert, s->certlen);
	big[s->certlen] = 0;
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, big, s->certlen + 1, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, big, MCN_CERT_MAX + 1, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, 0, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, NULL, 0, msg, sizeof(msg),
	              sig, siglen, NULL),
	    MCN_ECERT);
	/* a certificate whose issuer signature is broken (last byte) */
	memcpy(big, s->cert, s->certlen);
	big[s->certlen - 2] ^= 0x01;
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, big, s->certlen, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);

	/* empty message */
	siglen = sizeof(sig);
	REQUIRE_OK(s->sign(s->ctx, NULL, 0, sig, &siglen));
	CHECK_OK(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, NULL, 0,
	    sig, siglen, NULL));
	CHECK_ERR(vfy(peer, "site1", MCN_ROLE_NODE, s->cert, s->certlen, msg, 1,
	              sig, siglen, NULL),
	    MCN_ESIG);

	/* the querier signs, the node checks */
	const mcn_signer *qs = mcn_pki_signer(peer);
	siglen = sizeof(sig);
	REQUIRE_OK(qs->sign(qs->ctx, msg, sizeof(msg), sig, &siglen));
	CHECK_OK(vfy(me, "alice", MCN_ROLE_QUERIER, qs->cert, qs->certlen, msg,
	    sizeof(msg), sig, siglen, &ro));
	CHECK(ro == MCN_ROLE_QUERIER);
	CHECK_ERR(vfy(me, "alice", MCN_ROLE_NODE, qs->cert, qs->certlen, msg,
	              sizeof(msg), sig, siglen, NULL),
	    MCN_ECERT);

	mcn_pki_free(trust);
	mcn_pki_free(me);
	mcn_pki_free(peer);
	fx_done(&f);
}

/* More senders than cache slots: entries are replaced and still verify. */
static void
test_cache_many(void)
{
	enum { N = MCN_PKI_CACHE + 5 };
	struct fx f;
	char err[MCN_ERRMSG], c[128], k[128], id[16];
	static const uint8_t msg[] = "m";
	static uint8_t der[N][1024], sig[N][MCN_SIG_MAX];
	size_t dl[N], sl[N];
	mcn_pki *v = NULL;
	unsigned bad = 0;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "q%d", i);
		snprintf(c, sizeof(c), "%s/q%d.crt", f.dir, i);
		snprintf(k, sizeof(k), "%s/q%d.key", f.dir, i);
		REQUIRE_OK(mcn_pki_issue(f.ca_crt, f.ca_key, id,
		    MCN_ROLE_QUERIER, 1, c, k, err, sizeof(err)));
		dl[i] = der_of(c, der[i], sizeof(der[i]));
		sl[i] = sign_with(k, msg, sizeof(msg), sig[i], MCN_SIG_MAX);
		bad += dl[i] == 0 || sl[i] == 0;
	}
	CHECK(bad == 0);
	REQUIRE_OK(mcn_pki_load(&v, f.ca_crt, NULL, NULL, err, sizeof(err)));
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(id, sizeof(id), "q%d", i);
			bad += vfy(v, id, MCN_ROLE_QUERIER, der[i], dl[i], msg,
			           sizeof(msg), sig[i], sl[i], NULL) != MCN_OK;
			/* a cached certificate under another sender name */
			bad += vfy(v, i == 0 ? "q1" : "q0", MCN_ROLE_QUERIER,
			           der[i], dl[i], msg, sizeof(msg), sig[i],
			           sl[i], NULL) != MCN_ECERT;
			/* someone else's signature with this certificate */
			bad += vfy(v, id, MCN_ROLE_QUERIER, der[i], dl[i], msg,
			           sizeof(msg), sig[(i + 1) % N],
			           sl[(i + 1) % N], NULL) != MCN_ESIG;
		}
	}
	CHECK(bad == 0);
	mcn_pki_free(v);
	fx_done(&f);
}

/* A certificate that chains to the CA but has expired, and one not yet
 * valid: built here with OpenSSL and the CA key, as mcn_pki_issue cannot
 * make them. */
static size_t
make_dated(struct fx *f, long nb_s, long na_s, uint8_t *der, size_t cap,
    uint8_t *sig, size_t *siglen)
{
	X509 *ca = load_x509(f->ca_crt), *x = X509_new();
	EVP_PKEY *cak = load_key(f->ca_key), *k = EVP_EC_gen("P-256");
	X509_NAME *nm = X509_NAME_new();
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	static const uint8_t msg[] = "dated";
	unsigned char *p = der;
	size_t n = 0;

	if (ca == NULL || x == NULL || cak == NULL || k == NULL || nm == NULL ||
	    md == NULL) {
		goto out;
	}
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC,
	    (const unsigned char *)"Test Net", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "OU", MBSTRING_ASC,
	    (const unsigned char *)"node", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"old", -1, -1, 0);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 77);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509_gmtime_adj(X509_getm_notBefore(x), nb_s);
	X509_gmtime_adj(X509_getm_notAfter(x), na_s);
	X509_set_pubkey(x, k);
	if (X509_sign(x, cak, EVP_sha256()) <= 0 ||
	    i2d_X509(x, NULL) > (int)cap) {
		goto out;
	}
	n = (size_t)i2d_X509(x, &p);
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
	    EVP_DigestSign(md, sig, siglen, msg, sizeof(msg)) != 1) {
		n = 0;
	}
out:
	EVP_MD_CTX_free(md);
	X509_NAME_free(nm);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cak);
	X509_free(x);
	X509_free(ca);
	return n;
}

static void
test_expired(void)
{
	struct fx f;
	char err[MCN_ERRMSG];
	uint8_t der[2048], sig[MCN_SIG_MAX];
	static const uint8_t msg[] = "dated";
	size_t dl, sl;
	mcn_pki *v = NULL;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	REQUIRE_OK(mcn_pki_load(&v, f.ca_crt, NULL, NULL, err, sizeof(err)));
	/* control: currently valid, same construction */
	sl = sizeof(sig);
	dl = make_dated(&f, -3600, 3600, der, sizeof(der), sig, &sl);
	CHECK(dl > 0);
	CHECK_OK(vfy(v, "old", MCN_ROLE_NODE, der, dl, msg, sizeof(msg), sig,
	    sl, NULL));
	/* expired an hour ago */
	sl = sizeof(sig);
	dl = make_dated(&f, -7200, -3600, der, sizeof(der), sig, &sl);
	CHECK(dl > 0);
	CHECK_ERR(vfy(v, "old", MCN_ROLE_NODE, der, dl, msg, sizeof(msg), sig,
	              sl, NULL),
	    MCN_ECERT);
	/* valid from tomorrow */
	sl = sizeof(sig);
	dl = make_dated(&f, 86400, 2 * 86400, der, sizeof(der), sig, &sl);
	CHECK(dl > 0);
	CHECK_ERR(vfy(v, "old", MCN_ROLE_NODE, der, dl, msg, sizeof(msg), sig,
	              sl, NULL),
	    MCN_ECERT);
	mcn_pki_free(v);
	fx_done(&f);
}

/* Writes ca_path's certificate followed by a CRL signed with issuer_key
 * that revokes the certificate at revoked_crt, into out. 0 on success. */
static int
write_ca_with_crl(const char *ca_crt, const char *issuer_key,
    const char *revoked_crt, const char *out)
{
	X509 *ca = load_x509(ca_crt), *rx = load_x509(revoked_crt);
	EVP_PKEY *k = load_key(issuer_key);
	X509_CRL *crl = X509_CRL_new();
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_TIME *now = ASN1_TIME_new(), *next = ASN1_TIME_new();
	FILE *fp = NULL;
	int rv = -1;

	if (ca == NULL || rx == NULL || k == NULL || crl == NULL || r == NULL ||
	    now == NULL || next == NULL) {
		goto out;
	}
	X509_gmtime_adj(now, -60);
	X509_gmtime_adj(next, 86400);
	if (X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, now) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1 ||
	    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(rx)) != 1 ||
	    X509_REVOKED_set_revocationDate(r, now) != 1 ||
	    X509_CRL_add0_revoked(crl, r) != 1) {
		goto out;
	}
	r = NULL; /* owned by crl */
	if (X509_CRL_sort(crl) != 1 || X509_CRL_sign(crl, k, EVP_sha256()) <= 0 ||
	    (fp = fopen(out, "w")) == NULL || PEM_write_X509(fp, ca) != 1 ||
	    PEM_write_X509_CRL(fp, crl) != 1) {
		goto out;
	}
	rv = 0;
out:
	if (fp != NULL && fclose(fp) != 0) {
		rv = -1;
	}
	X509_REVOKED_free(r);
	X509_CRL_free(crl);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	EVP_PKEY_free(k);
	X509_free(rx);
	X509_free(ca);
	return rv;
}

/* A CRL in the CA file (which TLS enforces) is enforced by the envelope
 * verifier too: a revoked party's signed envelope must not get in by
 * being relayed (inside a DECRYPT, or sent on by another TLS peer). */
static void
test_revoked(void)
{
	struct fx f;
	char err[MCN_ERRMSG], eve_crt[128], eve_key[128], cacrl[128];
	char badcrl[128];
	static const uint8_t msg[] = "envelope";
	uint8_t der[MCN_CERT_MAX], sig[MCN_SIG_MAX];
	uint8_t ader[MCN_CERT_MAX], asig[MCN_SIG_MAX];
	size_t dl, sl, adl, asl;
	mcn_pki *plain = NULL, *crl = NULL, *bad = NULL;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	fx_path(eve_crt, &f, "eve.crt");
	fx_path(eve_key, &f, "eve.key");
	fx_path(cacrl, &f, "ca-crl.pem");
	fx_path(badcrl, &f, "ca-badcrl.pem");
	REQUIRE_OK(mcn_pki_issue(f.ca_crt, f.ca_key, "eve", MCN_ROLE_QUERIER,
	    30, eve_crt, eve_key, err, sizeof(err)));
	REQUIRE_OK(write_ca_with_crl(f.ca_crt, f.ca_key, eve_crt, cacrl) == 0 ?
	        MCN_OK :
	        MCN_EINVAL);
	dl = der_of(eve_crt, der, sizeof(der));
	sl = sign_with(eve_key, msg, sizeof(msg), sig, sizeof(sig));
	adl = der_of(f.al_crt, ader, sizeof(ader));
	asl = sign_with(f.al_key, msg, sizeof(msg), asig, sizeof(asig));
	CHECK(dl > 0 && sl > 0 && adl > 0 && asl > 0);

	/* control: without the CRL eve is a valid querier */
	REQUIRE_OK(
	    mcn_pki_load(&plain, f.ca_crt, NULL, NULL, err, sizeof(err)));
	CHECK_OK(vfy(plain, "eve", MCN_ROLE_QUERIER, der, dl, msg, sizeof(msg),
	    sig, sl, NULL));
	/* with it: eve is refused, alice (not revoked) and site1 still pass */
	REQUIRE_OK(mcn_pki_load(&crl, cacrl, f.s1_crt, f.s1_key, err,
	    sizeof(err)));
	CHECK_ERR(vfy(crl, "eve", MCN_ROLE_QUERIER, der, dl, msg, sizeof(msg),
	              sig, sl, NULL),
	    MCN_ECERT);
	CHECK_OK(vfy(crl, "alice", MCN_ROLE_QUERIER, ader, adl, msg,
	    sizeof(msg), asig, asl, NULL));
	/* eve cannot even load her identity against that trust store */
	mcn_pki *ev = NULL;
	CHECK_ERR(mcn_pki_load(&ev, cacrl, eve_crt, eve_key, err, sizeof(err)),
	    MCN_ECERT);
	CHECK(ev == NULL);
	/* a CRL signed by another CA is a configuration error */
	REQUIRE_OK(write_ca_with_crl(f.ca_crt, f.oca_key, eve_crt, badcrl) == 0 ?
	        MCN_OK :
	        MCN_EINVAL);
	CHECK_ERR(mcn_pki_load(&bad, badcrl, NULL, NULL, err, sizeof(err)),
	    MCN_ECERT);
	CHECK(strstr(err, "CRL not signed by the CA") != NULL);
	mcn_pki_free(plain);
	mcn_pki_free(crl);
	mcn_pki_free(bad);
	fx_done(&f);
}

/* ---- threshold key ceremony ---- */

static void
test_ceremony(void)
{
	char dir[64], err[MCN_ERRMSG], p[128];
	static const char *const ids[] = { "site1", "site2", "site3" };
	mcn_tpaillier_pub *pub = NULL;
	mcn_tpaillier_share *sh[3] = { NULL, NULL, NULL };
	mcn_tpaillier_partial part[2];
	mcn_rng *rng = mcnt_rng(11);
	mpz_t m, c, out;

	snprintf(dir, sizeof(dir), "/tmp/mcn-cer-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	/* argument checks happen before any key generation */
	static const char *const dup[] = { "a", "b", "a" };
	static const char *const badid[] = { "a", "-b" };
	CHECK_ERR(
	    mcn_ceremony_write(dir, ids, 3, 0, 1024, rng, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(
	    mcn_ceremony_write(dir, ids, 3, 4, 1024, rng, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(
	    mcn_ceremony_write(dir, ids, 0, 0, 1024, rng, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(
	    mcn_ceremony_write(dir, ids, 3, 2, 1008, rng, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(
	    mcn_ceremony_write(dir, ids, 3, 2, 1032, rng, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(
	    mcn_ceremony_write(dir, dup, 3, 2, 1024, rng, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(strstr(err, "twice") != NULL);
	CHECK_ERR(
	    mcn_ceremony_write(dir, badid, 2, 2, 1024, rng, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(fx_count(dir) == 0);

	REQUIRE_OK(
	    mcn_ceremony_write(dir, ids, 3, 2, 1024, rng, err, sizeof(err)));
	CHECK(fx_count(dir) == 4);
	snprintf(p, sizeof(p), "%s/consortium.pub", dir);
	CHECK(file_mode(p) == 0644);
	CHECK(file_starts(p, "-----BEGIN MCN THRESHOLD PUBLIC KEY-----\n"));
	REQUIRE_OK(mcn_tpub_load(&pub, p, err, sizeof(err)));
	CHECK(mcn_tpaillier_threshold(pub) == 2);
	CHECK(mcn_tpaillier_parties(pub) == 3);
	CHECK(mcn_paillier_bits(mcn_tpaillier_pk(pub)) == 1024);
	for (unsigned i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s.share", dir, ids[i]);
		CHECK(file_mode(p) == 0600);
		CHECK(file_starts(p,
		    "-----BEGIN MCN THRESHOLD KEY SHARE-----\n"));
		CHECK_OK(mcn_share_load(pub, &sh[i], p, err, sizeof(err)));
		CHECK(
		    sh[i] != NULL && mcn_tpaillier_share_index(sh[i]) == i + 1);
	}

	/* allocation failures while loading the key files */
	{
		mcn_tpaillier_pub *pb = NULL;
		mcn_tpaillier_share *sx = NULL;
		unsigned long count, bad = 0;
		char ps[128];
		snprintf(p, sizeof(p), "%s/consortium.pub", dir);
		snprintf(ps, sizeof(ps), "%s/site2.share", dir);
		(void)mcn_alloc_fail_at(0);
		REQUIRE_OK(mcn_tpub_load(&pb, p, err, sizeof(err)));
		REQUIRE_OK(mcn_share_load(pb, &sx, ps, err, sizeof(err)));
		count = mcn_alloc_fail_at(0);
		mcn_tpaillier_share_free(sx);
		mcn_tpaillier_pub_free(pb);
		CHECK(count >= 2);
		for (unsigned long n = 1; n <= count; n++) {
			pb = NULL;
			sx = NULL;
			(void)mcn_alloc_fail_at(n);
			mcn_err rv = mcn_tpub_load(&pb, p, err, sizeof(err));
			if (rv == MCN_OK) {
				rv = mcn_share_load(pb, &sx, ps, err,
				    sizeof(err));
			}
			(void)mcn_alloc_fail_at(0);
			bad += rv != MCN_ENOMEM || sx != NULL;
			mcn_tpaillier_share_free(sx);
			mcn_tpaillier_pub_free(pb);
		}
		CHECK(bad == 0);
	}

	/* a second ceremony into the same directory is refused at once */
	CHECK_ERR(
	    mcn_ceremony_write(dir, ids, 3, 2, 1024, rng, err, sizeof(err)),
	    MCN_ESYS | EEXIST);
	CHECK(strstr(err, "consortium.pub") != NULL ||
	    strstr(err, "site1.share") != NULL);
	/* new ids but an existing consortium.pub: nothing is written */
	static const char *const other[] = { "x1", "x2" };
	CHECK_ERR(
	    mcn_ceremony_write(dir, other, 2, 1, 1024, rng, err, sizeof(err)),
	    MCN_ESYS | EEXIST);
	CHECK(fx_count(dir) == 4);

	/* decrypt E(m) with shares 1 and 3 */
	mpz_inits(m, c, out, NULL);
	mpz_set_ui(m, 1234567);
	mcn_tpaillier_partial_init(&part[0]);
	mcn_tpaillier_partial_init(&part[1]);
	if (sh[0] != NULL && sh[2] != NULL) {
		CHECK_OK(
		    mcn_paillier_encrypt(mcn_tpaillier_pk(pub), c, m, rng));
		CHECK_OK(mcn_tpaillier_partial_decrypt(pub, sh[0], &part[0], c,
		    rng));
		CHECK_OK(mcn_tpaillier_partial_decrypt(pub, sh[2], &part[1], c,
		    rng));
		CHECK_OK(
		    mcn_tpaillier_combine(pub, out, c, part, 2, 0, NULL, NULL));
		CHECK_MPZ_EQ(out, m);
		/* one share is not enough */
		CHECK_ERR(
		    mcn_tpaillier_combine(pub, out, c, part, 1, 0, NULL, NULL),
		    MCN_ETOOFEW);
	}
	mcn_tpaillier_partial_clear(&part[0]);
	mcn_tpaillier_partial_clear(&part[1]);
	mpz_clears(m, c, out, NULL);

	/* a share file with a flipped bit in s_i fails its v_i check; a
	 * share file under the public-key label is refused by the armor */
	uint8_t *raw;
	size_t rawlen;
	snprintf(p, sizeof(p), "%s/site2.share", dir);
	REQUIRE_OK(mcn_armor_read_file(&raw, &rawlen, MCN_SHARE_LABEL, p));
	raw[rawlen - 1] ^= 1;
	char p2[128];
	snprintf(p2, sizeof(p2), "%s/bad.share", dir);
	CHECK_OK(
	    mcn_armor_write_file(p2, MCN_SHARE_LABEL, raw, rawlen, 0600, 1));
	mcn_tpaillier_share *tmp = NULL;
	CHECK_ERR(mcn_share_load(pub, &tmp, p2, err, sizeof(err)), MCN_EKEY);
	CHECK(tmp == NULL && strstr(err, "bad.share") != NULL);
	unlink(p2);
	CHECK_OK(
	    mcn_armor_write_file(p2, MCN_TPUB_LABEL, raw, rawlen, 0600, 1));
	mcn_file_free(raw, rawlen);
	CHECK_ERR(mcn_share_load(pub, &tmp, p2, err, sizeof(err)), MCN_EFORMAT);
	mcn_tpaillier_pub *pub2 = NULL;
	CHECK_ERR(mcn_tpub_load(&pub2, p2, err, sizeof(err)), MCN_EFORMAT);
	CHECK(pub2 == NULL); /* a share is not a public key */
	unlink(p2);
	snprintf(p2, sizeof(p2), "%s/none.share", dir);
	CHECK_ERR(mcn_share_load(pub, &tmp, p2, err, sizeof(err)),
	    MCN_ESYS | ENOENT);

	for (unsigned i = 0; i < 3; i++) {
		mcn_tpaillier_share_free(sh[i]);
	}
	mcn_tpaillier_pub_free(pub);
	mcn_rng_free(rng);
	struct fx f;
	snprintf(f.dir, sizeof(f.dir), "%s", dir);
	fx_done(&f);
}

static void
test_maskkey(void)
{
	char dir[64], err[MCN_ERRMSG], p[128];
	uint8_t pub[MCN_X25519_BYTES], pub2[MCN_X25519_BYTES], *raw;
	size_t rawlen;
	mcn_x25519_keypair kp;
	mcn_rng *rng = mcnt_rng(5);

	snprintf(dir, sizeof(dir), "/tmp/mcn-msk-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(p, sizeof(p), "%s/site1.mask", dir);
	REQUIRE_OK(mcn_maskkey_create(pub, p, rng, err, sizeof(err)));
	CHECK(file_mode(p) == 0600);
	CHECK(file_starts(p, "-----BEGIN MCN MASK PRIVATE KEY-----\n"));
	CHECK_OK(mcn_maskkey_load(&kp, p, err, sizeof(err)));
	CHECK(memcmp(kp.pub, pub, sizeof(pub)) == 0);
	REQUIRE_OK(mcn_armor_read_file(&raw, &rawlen, MCN_MASK_LABEL, p));
	CHECK(rawlen == MCN_X25519_BYTES &&
	    memcmp(raw, kp.priv, MCN_X25519_BYTES) == 0);
	CHECK_OK(mcn_x25519_public(pub2, raw));
	CHECK(memcmp(pub2, pub, sizeof(pub)) == 0);
	mcn_file_free(raw, rawlen);
	mcn_wipe(&kp, sizeof(kp));

	/* never overwritten */
	CHECK_ERR(mcn_maskkey_create(pub2, p, rng, err, sizeof(err)),
	    MCN_ESYS | EEXIST);
	CHECK_OK(mcn_maskkey_load(&kp, p, err, sizeof(err)));
	CHECK(memcmp(kp.pub, pub, sizeof(pub)) == 0);

	/* wrong length, wrong label, missing */
	snprintf(p, sizeof(p), "%s/short.mask", dir);
	REQUIRE_OK(mcn_armor_write_file(p, MCN_MASK_LABEL, pub, 31, 0600, 1));
	CHECK_ERR(mcn_maskkey_load(&kp, p, err, sizeof(err)), MCN_EFORMAT);
	CHECK(kp.priv[0] == 0 && kp.pub[0] == 0 &&
	    memcmp(kp.priv, kp.priv + 1, 31) == 0);
	CHECK(strstr(err, "short.mask") != NULL);
	snprintf(p, sizeof(p), "%s/label.mask", dir);
	REQUIRE_OK(mcn_armor_write_file(p, MCN_SHARE_LABEL, pub, 32, 0600, 1));
	CHECK_ERR(mcn_maskkey_load(&kp, p, err, sizeof(err)), MCN_EFORMAT);
	snprintf(p, sizeof(p), "%s/none.mask", dir);
	CHECK_ERR(mcn_maskkey_load(&kp, p, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
	mcn_rng_free(rng);
	struct fx f;
	snprintf(f.dir, sizeof(f.dir), "%s", dir);
	CHECK(fx_count(dir) == 3);
	fx_done(&f);
}

/* Every mcn_alloc failure on the load paths gives a clean MCN_ENOMEM (and,
 * under ASan, no leak). */
static void
test_alloc_failures(void)
{
	struct fx f;
	char err[MCN_ERRMSG], p[128];
	mcn_pki *k = NULL;
	mcn_x25519_keypair kp;
	uint8_t pub[MCN_X25519_BYTES];
	unsigned long count, bad = 0;
	mcn_rng *rng = mcnt_rng(3);

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	(void)mcn_alloc_fail_at(0);
	REQUIRE_OK(
	    mcn_pki_load(&k, f.ca_crt, f.s1_crt, f.s1_key, err, sizeof(err)));
	count = mcn_alloc_fail_at(0);
	mcn_pki_free(k);
	CHECK(count >= 4); /* pki, three files, DER */
	for (unsigned long n = 1; n <= count; n++) {
		(void)mcn_alloc_fail_at(n);
		k = (mcn_pki *)&f;
		mcn_err rv = mcn_pki_load(&k, f.ca_crt, f.s1_crt, f.s1_key, err,
		    sizeof(err));
		(void)mcn_alloc_fail_at(0);
		bad += rv != MCN_ENOMEM || k != NULL;
		if (rv == MCN_OK) {
			mcn_pki_free(k);
		}
	}
	CHECK(bad == 0);

	fx_path(p, &f, "x.mask");
	REQUIRE_OK(mcn_maskkey_create(pub, p, rng, err, sizeof(err)));
	(void)mcn_alloc_fail_at(0);
	REQUIRE_OK(mcn_maskkey_load(&kp, p, err, sizeof(err)));
	count = mcn_alloc_fail_at(0);
	CHECK(count >= 1);
	for (unsigned long n = 1; n <= count; n++) {
		(void)mcn_alloc_fail_at(n);
		mcn_err rv = mcn_maskkey_load(&kp, p, err, sizeof(err));
		(void)mcn_alloc_fail_at(0);
		bad += rv != MCN_ENOMEM;
	}
	CHECK(bad == 0);
	mcn_wipe(&kp, sizeof(kp));
	mcn_rng_free(rng);
	fx_done(&f);
}

static void
test_dir_make(void)
{
	char dir[64], p[128];

	snprintf(dir, sizeof(dir), "/tmp/mcn-dir-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK_OK(mcn_dir_make(p, 0700));
	CHECK(file_mode(p) == 0700);
	CHECK_OK(mcn_dir_make(p, 0700)); /* exists */
	snprintf(p, sizeof(p), "%s/file", dir);
	REQUIRE_OK(mcn_file_write(p, "x", 1, 0644, 1));
	CHECK_ERR(mcn_dir_make(p, 0700), MCN_ESYS | ENOTDIR);
	snprintf(p, sizeof(p), "%s/file/b", dir);
	CHECK_ERR(mcn_dir_make(p, 0700), MCN_ESYS | ENOTDIR);
	snprintf(p, sizeof(p), "%s/a//b/", dir);
	CHECK_OK(mcn_dir_make(p, 0700));
	snprintf(p, sizeof(p), "%s/a/b", dir);
	CHECK(file_mode(p) == 0700);
	CHECK_ERR(mcn_dir_make("", 0700), MCN_ESYS | ENOENT);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/a", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/sub", dir);
	rmdir(p);
	struct fx f;
	snprintf(f.dir, sizeof(f.dir), "%s", dir);
	fx_done(&f);
}


/* A querier certificate may carry a policy role (subject title) that the
 * verifier reports; a node certificate may not; invalid names refused. */
static void
test_policy_role(void)
{
	struct fx f;
	char err[MCN_ERRMSG], c[128], k[128], out[MCN_PARTY_ID_MAX + 1];
	mcn_pki *me = NULL, *node = NULL;

	REQUIRE_OK(fx_init(&f) == 0 ? MCN_OK : MCN_EINVAL);
	fx_path(c, &f, "bob.crt");
	fx_path(k, &f, "bob.key");
	CHECK_ERR(mcn_pki_issue_role(f.ca_crt, f.ca_key, "bob", MCN_ROLE_NODE,
	              "researcher", 30, c, k, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(strstr(err, "querier certificates only") != NULL);
	CHECK_ERR(mcn_pki_issue_role(f.ca_crt, f.ca_key, "bob",
	              MCN_ROLE_QUERIER, "Researcher", 30, c, k, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK_ERR(mcn_pki_issue_role(f.ca_crt, f.ca_key, "bob",
	              MCN_ROLE_QUERIER, "", 30, c, k, err, sizeof(err)),
	    MCN_EINVAL);
	CHECK(access(c, F_OK) != 0 && access(k, F_OK) != 0);
	REQUIRE_OK(mcn_pki_issue_role(f.ca_crt, f.ca_key, "bob",
	    MCN_ROLE_QUERIER, "feasibility-2", 30, c, k, err, sizeof(err)));
	CHECK(mcn_rolename_valid("a") && mcn_rolename_valid("x_y-z9") &&
	    !mcn_rolename_valid("9a") && !mcn_rolename_valid("a b") &&
	    !mcn_rolename_valid("abcdefghijabcdefghijabcdefghijabc"));

	REQUIRE_OK(mcn_pki_load(&me, f.ca_crt, c, k, err, sizeof(err)));
	REQUIRE_OK(
	    mcn_pki_load(&node, f.ca_crt, f.s1_crt, f.s1_key, err, sizeof(err)));
	const mcn_signer *s = mcn_pki_signer(me);
	const mcn_verifier *v = mcn_pki_verifier(node);
	REQUIRE_OK(v->policy_role != NULL ? MCN_OK : MCN_EINVAL);
	CHECK_OK(v->policy_role(v->ctx, s->cert, s->certlen, out, sizeof(out)));
	CHECK(strcmp(out, "feasibility-2") == 0);
	/* alice has none */
	mcn_pki *al = NULL;
	REQUIRE_OK(
	    mcn_pki_load(&al, f.ca_crt, f.al_crt, f.al_key, err, sizeof(err)));
	const mcn_signer *sa = mcn_pki_signer(al);
	strcpy(out, "x");
	CHECK_OK(v->policy_role(v->ctx, sa->cert, sa->certlen, out, sizeof(out)));
	CHECK(out[0] == '\0');
	/* not a certificate */
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	CHECK_ERR(v->policy_role(v->ctx, junk, sizeof(junk), out, sizeof(out)),
	    MCN_ECERT);
	mcn_pki_free(al);
	mcn_pki_free(me);
	mcn_pki_free(node);
	fx_done(&f);
}

MCNT_MAIN({ "profile", test_profile },
    { "refuse_overwrite", test_refuse_overwrite },
    { "bad_args", test_bad_args }, { "load", test_load },
    { "sign_verify", test_sign_verify }, { "cache_many", test_cache_many },
    { "expired", test_expired }, { "revoked", test_revoked },
    { "ceremony", test_ceremony },
    { "maskkey", test_maskkey }, { "alloc_failures", test_alloc_failures },
    { "dir_make", test_dir_make }, { "policy_role", test_policy_role })
