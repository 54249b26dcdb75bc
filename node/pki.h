/*
 * node/pki.h - the consortium PKI and key files of a party.
 *
 * X.509 (OpenSSL 3): a consortium CA issues every node, querier and admin
 * a certificate whose subject carries the party id (CN) and role (OU);
 * envelopes are signed with the certificate's key (ECDSA P-256, SHA-256)
 * and checked against the CA by the proto/sign.h callbacks implemented
 * here. NNG's TLS (mbedTLS 2.28) uses the same files, so the profile is
 * deliberately plain:
 *
 *   keys   EC P-256 (prime256v1, named curve, uncompressed points),
 *          unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"), mode 0600,
 *          never overwritten.
 *   CA     self-signed v3, subject O=<name>, CN=<name> CA;
 *          basicConstraints critical CA:TRUE, pathlen:0; keyUsage critical
 *          keyCertSign, cRLSign; subjectKeyIdentifier; ecdsa-with-SHA256.
 *   leaf   subject O=<CA's O>, OU=<node|querier|admin>, CN=<party id>;
 *          basicConstraints critical CA:FALSE; keyUsage critical
 *          digitalSignature, keyAgreement; extendedKeyUsage serverAuth,
 *          clientAuth; subjectAltName DNS:<id> (nodes also IP:127.0.0.1);
 *          authorityKeyIdentifier; ecdsa-with-SHA256.
 *   both   random positive 128-bit serial; notBefore = now - 5 minutes
 *          (clock skew between sites), notAfter = now + days.
 *
 * Threshold key ceremony and key files (armored with node/util.h):
 *   consortium.pub  "MCN THRESHOLD PUBLIC KEY"  mcn_tpaillier_pub_export, 0644
 *   <id>.share      "MCN THRESHOLD KEY SHARE"   mcn_tpaillier_share_export, 0600
 *   <id>.mask       "MCN MASK PRIVATE KEY"      32-byte X25519 private key, 0600
 *
 * Every function that can fail returns an mcn_err and, where it takes
 * err/errlen, writes a message naming the file and the problem (never key
 * material). Nothing here prints.
 */
#ifndef MCN_NODE_PKI_H
#define MCN_NODE_PKI_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"
#include "crypto/mask.h"
#include "crypto/rng.h"
#include "crypto/threshold.h"
#include "proto/sign.h"

#define MCN_PKI_CA_DAYS 3650   /* default CA validity */
#define MCN_PKI_LEAF_DAYS 825  /* default party certificate validity */
#define MCN_PKI_DAYS_MAX 36525 /* 100 years */
#define MCN_PKI_NAME_MAX 60    /* consortium name: CN "<name> CA" <= 64 */
#define MCN_PKI_CACHE 32       /* verified certificates kept by a verifier */
#define MCN_PKI_FILE_MAX 65536 /* largest PEM file read */

/* File names used inside the directories of the CLI commands. */
#define MCN_PKI_CA_CERT "ca.crt"
#define MCN_PKI_CA_KEY "ca.key"
#define MCN_TPUB_FILE "consortium.pub"
#define MCN_TPUB_LABEL "MCN THRESHOLD PUBLIC KEY"
#define MCN_SHARE_LABEL "MCN THRESHOLD KEY SHARE"
#define MCN_MASK_LABEL "MCN MASK PRIVATE KEY"
/* The same armor labels under the names node/cmd_network.c uses. */
#define MCN_ARMOR_TPUB MCN_TPUB_LABEL
#define MCN_ARMOR_TSHARE MCN_SHARE_LABEL
#define MCN_ARMOR_MASK MCN_MASK_LABEL

/* ---- roles ---------------------------------------------------------- */

/* "node", "querier", "admin"; "any" for MCN_ROLE_ANY; "?" otherwise. */
const char *mcn_role_name(mcn_role r);

/* Parses "node", "querier" or "admin" (exact, lower case) into *r.
 * MCN_EINVAL for anything else ("any" included: it is not a real role). */
mcn_err mcn_role_parse(const char *s, mcn_role *r) MCN_WUR;

/* ---- paths ---------------------------------------------------------- */

/* out = dir "/" name suffix (suffix may be NULL or ""). MCN_ERANGE if it
 * does not fit in outlen bytes (out is then ""). */
mcn_err mcn_path_join(char *out, size_t outlen, const char *dir,
    const char *name, const char *suffix) MCN_WUR;

/* Creates directory path with the given mode if it does not exist, and
 * any missing parents (0755 minus the umask), like mkdir -p. MCN_OK if it
 * exists and is a directory (its mode is left alone); MCN_ESYS|ENOTDIR if
 * it or a parent is something else; MCN_ESYS|errno. */
mcn_err mcn_dir_make(const char *path, unsigned mode) MCN_WUR;

/* ---- certificate authority ------------------------------------------ */

/* Creates a consortium CA: a new P-256 key at key_path (0600) and its
 * self-signed certificate at cert_path (0644), valid for `days` days
 * (1..MCN_PKI_DAYS_MAX). consortium_name: 1..MCN_PKI_NAME_MAX of ASCII
 * letters, digits, spaces and _.-()&', starting with a letter or digit
 * and not ending in a space. Refuses (MCN_ESYS|EEXIST)
 * if either file exists, before generating anything. MCN_EINVAL for a bad
 * name or days, MCN_ECRYPTO, MCN_ESYS|errno. On failure nothing is left
 * behind. */
mcn_err mcn_pki_ca_init(const char *cert_path, const char *key_path,
    const char *consortium_name, unsigned days, char *err,
    size_t errlen) MCN_WUR;

/* Issues a party certificate: loads the CA (certificate and key must
 * match, the certificate must be a CA), makes a new P-256 key at key_out
 * (0600) and a certificate at cert_out (0644) for party `id` with `role`
 * (not MCN_ROLE_ANY), valid for `days` days. MCN_EINVAL (bad id, role,
 * days), MCN_ECERT (CA certificate unusable or not a CA), MCN_EKEY (CA key
 * unreadable or not the certificate's), MCN_ESYS|EEXIST if either output
 * exists (checked first), MCN_ECRYPTO, MCN_ESYS|errno. On failure nothing
 * is left behind. */
mcn_err mcn_pki_issue(const char *ca_cert_path, const char *ca_key_path,
    const char *id, mcn_role role, unsigned days, const char *cert_out,
    const char *key_out, char *err, size_t errlen) MCN_WUR;

/* As mcn_pki_issue; a querier certificate may also carry a policy role
 * (subject title, [a-z][a-z0-9_-]{0,31}; NULL: none) that the nodes'
 * policies (node/policy.h) look up. MCN_EINVAL for a policy role on
 * another role's certificate or an invalid name. */
#define MCN_POLICY_ROLE_MAX 32
mcn_err mcn_pki_issue_role(const char *ca_cert_path, const char *ca_key_path,
    const char *id, mcn_role role, const char *policy_role, unsigned days,
    const char *cert_out, const char *key_out, char *err,
    size_t errlen) MCN_WUR;

/* Reads the party id (CN) and role (OU) of a certificate file, without
 * verifying it (for display). id receives at most idlen-1 characters
 * (idlen >= MCN_ID_MAX + 1). MCN_ECERT if the file is not a party
 * certificate (e.g. the CA's), MCN_ESYS|errno. */
mcn_err mcn_pki_cert_info(const char *cert_path, char *id, size_t idlen,
    mcn_role *role, char *err, size_t errlen) MCN_WUR;

/* ---- a party's trust store and identity ----------------------------- */

/* The consortium CA certificate (trust store) and, optionally, my own
 * certificate and private key. Opaque; free with mcn_pki_free. */
typedef struct mcn_pki mcn_pki;

/* Loads the CA certificate at ca_path (must be a self-signed CA) and, if
 * cert_path is not NULL, my certificate and the private key at key_path.
 * My certificate must verify against the CA now (a store holding only the
 * CA, any purpose), match the key, and carry a valid id (CN) and role
 * (OU). PEM CRLs in the CA file, which must be signed by the CA, are
 * enforced here and by the verifier, as the TLS layer does.
 * MCN_ECERT (CA or my certificate unusable, not verifying, or
 * without a valid id/role), MCN_EKEY (key file not a PEM private key, or
 * not the key of my certificate), MCN_ENOMEM,
 * MCN_ESYS|errno. */
mcn_err mcn_pki_load(mcn_pki **out, const char *ca_path, const char *cert_path,
    const char *key_path, char *err, size_t errlen) MCN_WUR;

/* Frees p (wiping the key); NULL is a no-op. The signer and verifier
 * returned below die with it. */
void mcn_pki_free(mcn_pki *p);

/* My party id and role; NULL and MCN_ROLE_ANY for a trust-only pki. */
const char *mcn_pki_id(const mcn_pki *p);
mcn_role mcn_pki_role(const mcn_pki *p);

/* The proto/sign.h signer of my identity (NULL for a trust-only pki):
 * ECDSA-SHA256 over msg with my key (DER signature, at most 72 bytes),
 * cert = my certificate in DER. Borrowed from p. sign() is thread-safe. */
const mcn_signer *mcn_pki_signer(mcn_pki *p);

/* The proto/sign.h verifier of this consortium, borrowed from p. verify()
 * rejects with MCN_ECERT a certificate that is empty, larger than
 * MCN_CERT_MAX, not exactly one DER certificate, not issued by the CA,
 * outside its validity now, a CA certificate, or whose CN is not `sender`
 * or whose OU is not `role` (unless MCN_ROLE_ANY); then MCN_ESIG if sig
 * (<= MCN_SIG_MAX bytes) is not a valid signature over msg. Verified
 * certificates are cached by SHA-256 of their DER (MCN_PKI_CACHE entries,
 * validity still checked on every use), so a known sender costs one ECDSA
 * verification. NOT thread-safe: call it from one thread at a time. */
const mcn_verifier *mcn_pki_verifier(mcn_pki *p);

/* ---- threshold key ceremony and key files --------------------------- */

/* The dealer of the consortium key: generates a `bits`-bit threshold
 * Paillier key (safe primes; bits >= 1024, multiple of 16) shared t-of-n
 * among the n parties ids[0..n) (valid, distinct; party ids[i] gets index
 * i + 1), writes dir/consortium.pub (0644) and dir/<id>.share (0600), all
 * exclusively (MCN_ESYS|EEXIST if any exists, checked before the key is
 * generated), wipes every share, then re-reads the files and imports them
 * to prove they are good. dir must exist. rng draws the sharing
 * polynomial (production: mcn_rng_system()). MCN_EINVAL (t, n, bits, ids),
 * MCN_ECRYPTO, MCN_ENOMEM, MCN_ESYS|errno, or an import error. On failure
 * the files written so far are removed. Runs mcn_ceremony_check first. */
/* The checks mcn_ceremony_write makes before generating anything (so a
 * CLI can report them before announcing a long key search): n, t, bits,
 * ids, and that no output file exists. MCN_EINVAL, MCN_ERANGE (path too
 * long), MCN_ESYS|EEXIST. */
mcn_err mcn_ceremony_check(const char *dir, const char *const *ids, unsigned n,
    unsigned t, unsigned bits, char *err, size_t errlen) MCN_WUR;

mcn_err mcn_ceremony_write(const char *dir, const char *const *ids, unsigned n,
    unsigned t, unsigned bits, mcn_rng *rng, char *err, size_t errlen) MCN_WUR;

/* Loads consortium.pub. Caller frees *pub with mcn_tpaillier_pub_free.
 * MCN_EFORMAT (armor), the import's error, MCN_ESYS|errno. */
mcn_err mcn_tpub_load(mcn_tpaillier_pub **pub, const char *path, char *err,
    size_t errlen) MCN_WUR;

/* Loads a share file and imports it against pub (which checks the key
 * fingerprint and v_i: MCN_EKEY/MCN_EKEYMISMATCH for a foreign or corrupt
 * share). Caller frees *sh with mcn_tpaillier_share_free. Buffers holding
 * the share are wiped. */
mcn_err mcn_share_load(const mcn_tpaillier_pub *pub, mcn_tpaillier_share **sh,
    const char *path, char *err, size_t errlen) MCN_WUR;

/* Generates an X25519 mask key pair with rng (production:
 * mcn_rng_system()), writes the private key to path (0600, exclusive:
 * MCN_ESYS|EEXIST) and returns the public key in pub. The private key is
 * wiped from memory. */
mcn_err mcn_maskkey_create(uint8_t pub[MCN_X25519_BYTES], const char *path,
    mcn_rng *rng, char *err, size_t errlen) MCN_WUR;

/* Loads a mask private key file into kp and derives kp->pub. Wipe kp with
 * mcn_wipe(kp, sizeof(*kp)) when done. MCN_EFORMAT (armor or not 32
 * bytes), MCN_ECRYPTO, MCN_ESYS|errno; kp is zeroed on error. */
mcn_err mcn_maskkey_load(mcn_x25519_keypair *kp, const char *path, char *err,
    size_t errlen) MCN_WUR;

#endif
