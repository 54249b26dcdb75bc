/* tests/node/test_audit.c - node/audit.c: the hash-chained, signed audit
 * log (writing, verification after every kind of tampering, reopening,
 * failure injection, reading with filters) and `mcn audit` (node/
 * cmd_audit.c, included here and run in-process: the test links only
 * mcn_node_gov, whose headers are all the command needs). */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "node/audit.h"
#include "node/pki.h"
#include "node/util.h"

#include "node/cmd_audit.c"

#define NET MCN_TEST_DATA_DIR "/net/"
#define T0 UINT64_C(1700000000000) /* 2023-11-14T22:13:20.000Z */
#define HOUR6 UINT64_C(21600000)
#define ZERO64 \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* ---- fixture ----------------------------------------------------------- */

static char tdir[64];
static mcn_pki *pki_site1; /* test CA, node site1 (the log's owner) */
static mcn_pki *pki_ca;    /* test CA only: the verifier */
static mcn_pki *pki_alice; /* test CA, querier alice */
static mcn_pki *pki_other; /* foreign CA "other", its node "site1" */
static mcn_pki *pki_oca;   /* foreign CA only */

static void
fx_init(void)
{
	char err[MCN_ERRMSG] = "";

	if (tdir[0] != '\0')
		return;
	snprintf(tdir, sizeof(tdir), "/tmp/mcn-audit-XXXXXX");
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	if (mcn_pki_load(&pki_site1, NET "test/ca.crt", NET "test/site1.crt",
	        NET "test/site1.key", err, sizeof(err)) != MCN_OK ||
	    mcn_pki_load(&pki_ca, NET "test/ca.crt", NULL, NULL, err,
	        sizeof(err)) != MCN_OK ||
	    mcn_pki_load(&pki_alice, NET "test/ca.crt", NET "test/alice.crt",
	        NET "test/alice.key", err, sizeof(err)) != MCN_OK ||
	    mcn_pki_load(&pki_other, NET "other/ca.crt", NET "other/site1.crt",
	        NET "other/site1.key", err, sizeof(err)) != MCN_OK ||
	    mcn_pki_load(&pki_oca, NET "other/ca.crt", NULL, NULL, err,
	        sizeof(err)) != MCN_OK) {
		fprintf(stderr, "fixture: %s\n", err);
		exit(1);
	}
}

static void
fx_path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tdir, name);
}

/* ---- file helpers ------------------------------------------------------ */

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *b = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return (NULL);
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (b = malloc((size_t)n + 1)) != NULL) {
		*len = fread(b, 1, (size_t)n, f);
		b[*len] = '\0';
	}
	fclose(f);
	return (b);
}

static int
spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return (-1);
	ok = fwrite(data, 1, len, f) == len;
	return (fclose(f) == 0 && ok ? 0 : -1);
}

/* The lines of a log (without their '\n'). */
struct lines {
	char *l[128];
	size_t n;
};

static void
lines_read(struct lines *L, const char *path)
{
	size_t len;
	char *b = slurp(path, &len), *p, *nl;

	memset(L, 0, sizeof(*L));
	for (p = b; p != NULL && *p != '\0' && L->n < 128; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		L->l[L->n++] = strndup(p, (size_t)(nl - p));
	}
	free(b);
}

static void
lines_free(struct lines *L)
{
	for (size_t i = 0; i < L->n; i++)
		free(L->l[i]);
	L->n = 0;
}

/* Writes lines [0, n) with '\n' each. */
static void
lines_write(const struct lines *L, const char *path)
{
	FILE *f = fopen(path, "wb");

	for (size_t i = 0; f != NULL && i < L->n; i++)
		fprintf(f, "%s\n", L->l[i]);
	if (f != NULL)
		fclose(f);
}

static void
lines_set(struct lines *L, size_t i, char *s)
{
	free(L->l[i]);
	L->l[i] = s;
}

/* ---- the reference log ------------------------------------------------- */

static void
ev_for(mcn_audit_event *ev, uint64_t seq)
{
	memset(ev, 0, sizeof(*ev));
	ev->querier = seq % 2 == 0 ? "alice" : "bob";
	ev->role = "researcher";
	ev->query_id_hex = "00112233445566778899aabbccddeeff";
	ev->mode = "paillier";
	ev->query = "SELECT count() FROM patients WHERE age >= 40";
	switch (seq % 3) {
	case 0:
		ev->event = "refused";
		ev->decision = "refused";
		ev->reason = "budget exhausted";
		break;
	case 1:
		ev->event = "decrypt";
		ev->decision = "released";
		ev->bytes = 512;
		break;
	default:
		ev->event = "query";
		ev->decision = "contributed";
		ev->has_epsilon = 1;
		ev->epsilon = 0.1;
		ev->budget_spent = 0.1 * (double)seq;
		ev->values = 12;
		ev->bytes = 4096;
		ev->elapsed_ms = 37;
		break;
	}
}

/* Writes a log of exactly 20 records at path: start (seq 1), 18 events
 * (seq 2..19) from ev_for, stop (seq 20); record s is dated T0 + s * 6h.
 * Returns 0 on success. */
static int
mk_log(const char *path)
{
	char err[MCN_ERRMSG] = "";
	mcn_audit *a = NULL;
	mcn_audit_event ev;

	unlink(path);
	if (mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0 + HOUR6, err,
	        sizeof(err)) != MCN_OK) {
		fprintf(stderr, "mk_log: %s\n", err);
		return (-1);
	}
	for (uint64_t s = 2; s <= 19; s++) {
		ev_for(&ev, s);
		if (mcn_audit_append(a, &ev, T0 + s * HOUR6, err,
		        sizeof(err)) != MCN_OK) {
			fprintf(stderr, "mk_log: %s\n", err);
			mcn_audit_close(a, 0);
			return (-1);
		}
	}
	mcn_audit_close(a, T0 + 20 * HOUR6);
	return (0);
}

static mcn_err
vfy(const char *path, uint64_t *n, uint64_t *bad, char head[65], char *err,
    size_t errlen)
{
	return (mcn_audit_verify(path, mcn_pki_verifier(pki_ca), n, bad, head,
	    err, errlen));
}

static void
b64(char *out, const uint8_t *d, size_t n)
{
	EVP_EncodeBlock((unsigned char *)out, d, (int)n);
}

/* Returns a new line: prefix P (the part before ,"hash":") completed with
 * its hash and a signature by signer s. */
static char *
sign_prefix(const char *P, const mcn_signer *s)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t d[32], sig[MCN_SIG_MAX];
	size_t siglen = sizeof(sig);
	unsigned dl = 0;
	char hex[65], sb64[256], *out;
	size_t cap = strlen(P) + 512;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	EVP_DigestUpdate(md, MCN_AUDIT_TAG, strlen(MCN_AUDIT_TAG));
	EVP_DigestUpdate(md, P, strlen(P));
	EVP_DigestFinal_ex(md, d, &dl);
	EVP_MD_CTX_free(md);
	mcn_hex_encode(hex, d, 32);
	if (s->sign(s->ctx, d, 32, sig, &siglen) != MCN_OK)
		return (NULL);
	b64(sb64, sig, siglen);
	out = malloc(cap);
	snprintf(out, cap, "%s,\"hash\":\"%s\",\"sig\":\"%s\"}", P, hex, sb64);
	return (out);
}

/* The prefix P of a line (a new string). */
static char *
prefix_of(const char *line)
{
	const char *p = strstr(line, ",\"hash\":\"");

	return (p != NULL ? strndup(line, (size_t)(p - line)) : NULL);
}

static const char *
member(const char *line, const char *key, char *out, size_t cap)
{
	json_t *o = json_loads(line, 0, NULL);
	json_t *v = json_object_get(o, key);

	snprintf(out, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
	json_decref(o);
	return (out);
}

/* ---- tests: writing ---------------------------------------------------- */

static void
t_write_verify(void)
{
	char path[128], err[MCN_ERRMSG] = "", head[65], h2[65], want[1024];
	char h1[65], P[1024];
	mcn_audit *a = NULL;
	mcn_audit_event ev;
	struct lines L;
	uint64_t n = 99, bad = 99;
	struct stat st;
	json_t *o;

	fx_init();
	fx_path(path, sizeof(path), "w.log");
	unlink(path);
	REQUIRE_OK(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0 + 123,
	    err, sizeof(err)));
	CHECK_U64_EQ(mcn_audit_seq(a), 1);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);

	/* One record with every field, and strings that need escaping. */
	memset(&ev, 0, sizeof(ev));
	ev.event = "query";
	ev.querier = "alice";
	ev.role = "researcher";
	ev.query_id_hex = "00ff";
	ev.mode = "paillier";
	ev.query = "SELECT count() WHERE \"x\" \\ tab\there\n\x01 \xc3\xa9";
	ev.decision = "contributed";
	ev.reason = "ok";
	ev.has_epsilon = 1;
	ev.epsilon = 0.1;
	ev.budget_spent = 0.1 + 0.2;
	ev.values = 12;
	ev.bytes = 4096;
	ev.elapsed_ms = 37;
	REQUIRE_OK(mcn_audit_append(a, &ev, T0 + 1124, err, sizeof(err)));
	CHECK_U64_EQ(mcn_audit_seq(a), 2);

	/* invalid UTF-8 becomes U+FFFD; a lone "\xff" and an overlong '/' */
	memset(&ev, 0, sizeof(ev));
	ev.event = "refused";
	ev.reason = "bad \xff byte \xc0\xaf end";
	REQUIRE_OK(mcn_audit_append(a, &ev, T0 + 2000, err, sizeof(err)));
	CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 3);
	CHECK_U64_EQ(bad, 0);
	mcn_audit_head(a, h2);
	CHECK(strcmp(head, h2) == 0);

	lines_read(&L, path);
	CHECK(L.n == 3);
	if (L.n != 3) {
		mcn_audit_close(a, 0);
		lines_free(&L);
		return;
	}
	/* record 1: a start record carrying the certificate */
	{
		static const char start1[] =
		    "{\"seq\":1,\"time\":\"2023-11-14T22:13:20.123Z\","
		    "\"node\":\"site1\",\"event\":\"start\",\"prev\":\"" ZERO64
		    "\",\"cert\":\"MII";
		CHECK(strncmp(L.l[0], start1, strlen(start1)) == 0);
	}
	member(L.l[0], "hash", h1, sizeof(h1));
	/* record 2: the exact prefix, member order and escaping */
	snprintf(want, sizeof(want),
	    "{\"seq\":2,\"time\":\"2023-11-14T22:13:21.124Z\",\"node\":"
	    "\"site1\",\"event\":\"query\",\"prev\":\"%s\",\"querier\":"
	    "\"alice\",\"role\":\"researcher\",\"query_id\":\"00ff\","
	    "\"mode\":\"paillier\",\"query\":\"SELECT count() WHERE "
	    "\\\"x\\\" \\\\ tab\\there\\n\\u0001 \xc3\xa9\",\"decision\":"
	    "\"contributed\",\"reason\":\"ok\",\"epsilon\":0.1,"
	    "\"budget_spent\":0.30000000000000004,\"values\":12,\"bytes\":"
	    "4096,\"elapsed_ms\":37,\"hash\":\"",
	    h1);
	CHECK(strncmp(L.l[1], want, strlen(want)) == 0);
	/* the hash is SHA-256(tag || P): re-signing P gives the same hash */
	{
		char *pp = prefix_of(L.l[1]), *re;
		snprintf(P, sizeof(P), "%s", pp != NULL ? pp : "");
		re = sign_prefix(P, mcn_pki_signer(pki_site1));
		CHECK(re != NULL &&
		    strncmp(re, L.l[1], strlen(P) + 10 + 64) == 0);
		free(pp);
		free(re);
	}
	/* parsed values */
	o = json_loads(L.l[1], 0, NULL);
	CHECK(o != NULL &&
	    strcmp(json_string_value(json_object_get(o, "query")),
	        "SELECT count() WHERE \"x\" \\ tab\there\n\x01 "
	        "\xc3\xa9") == 0);
	CHECK(json_real_value(json_object_get(o, "budget_spent")) == 0.1 + 0.2);
	CHECK(json_integer_value(json_object_get(o, "bytes")) == 4096);
	json_decref(o);
	o = json_loads(L.l[2], 0, NULL);
	CHECK(o != NULL &&
	    strcmp(json_string_value(json_object_get(o, "reason")),
	        "bad \xef\xbf\xbd byte \xef\xbf\xbd\xef\xbf\xbd "
	        "end") == 0);
	CHECK(json_object_get(o, "epsilon") == NULL);
	CHECK(json_object_get(o, "cert") == NULL);
	json_decref(o);
	lines_free(&L);

	/* refused before anything is written: non-finite epsilon, a record
	 * over the line limit */
	{
		size_t len0, len1;
		char *before = slurp(path, &len0), *after, *big;

		memset(&ev, 0, sizeof(ev));
		ev.event = "query";
		ev.has_epsilon = 1;
		ev.epsilon = NAN;
		CHECK_ERR(mcn_audit_append(a, &ev, T0, err, sizeof(err)),
		    MCN_EINVAL);
		big = malloc(MCN_AUDIT_LINE_MAX + 10);
		memset(big, 'a', MCN_AUDIT_LINE_MAX + 9);
		big[MCN_AUDIT_LINE_MAX + 9] = '\0';
		ev.has_epsilon = 0;
		ev.query = big;
		CHECK_ERR(mcn_audit_append(a, &ev, T0, err, sizeof(err)),
		    MCN_ETOOBIG);
		free(big);
		after = slurp(path, &len1);
		CHECK(len0 == len1 && before != NULL && after != NULL &&
		    memcmp(before, after, len0) == 0);
		CHECK_U64_EQ(mcn_audit_seq(a), 3);
		free(before);
		free(after);
	}
	mcn_audit_close(a, T0 + 3000);
	CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 4);
	lines_read(&L, path);
	CHECK(L.n == 4 && strstr(L.l[3], "\"event\":\"stop\"") != NULL);
	lines_free(&L);
	unlink(path);
}

static void
t_reference_log(void)
{
	char path[128], err[MCN_ERRMSG] = "", head[65];
	uint64_t n = 0, bad = 99;
	struct lines L;

	fx_init();
	fx_path(path, sizeof(path), "ref.log");
	CHECK(mk_log(path) == 0);
	CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 20);
	CHECK_U64_EQ(bad, 0);
	CHECK(strlen(head) == 64 && strcmp(head, ZERO64) != 0);
	lines_read(&L, path);
	CHECK(L.n == 20);
	for (size_t i = 0; i < L.n; i++) {
		json_t *o = json_loads(L.l[i], 0, NULL);
		CHECK(o != NULL &&
		    json_integer_value(json_object_get(o, "seq")) ==
		        (json_int_t)(i + 1));
		json_decref(o);
	}
	lines_free(&L);
	/* an empty file is a valid empty log */
	fx_path(path, sizeof(path), "empty.log");
	CHECK(spit(path, "", 0) == 0);
	CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 0);
	CHECK(strcmp(head, ZERO64) == 0);
	unlink(path);
	/* a missing file */
	fx_path(path, sizeof(path), "missing.log");
	CHECK_ERR(vfy(path, &n, &bad, head, err, sizeof(err)),
	    MCN_ESYS | ENOENT);
}

/* ---- tests: tampering ---------------------------------------------------- */

/* Verifies the tampered lines L (written to a copy) and checks the error,
 * the bad line and a phrase of the message. */
static void
expect_bad(const struct lines *L, uint64_t want_line, const char *phrase,
    int line)
{
	char path[128], err[MCN_ERRMSG] = "", head[65], want[64];
	uint64_t n = 0, bad = 0;
	mcn_err rv;

	fx_path(path, sizeof(path), "tampered.log");
	lines_write(L, path);
	rv = vfy(path, &n, &bad, head, err, sizeof(err));
	mcnt_checks++;
	snprintf(want, sizeof(want),
	    "record at line %llu: ", (unsigned long long)want_line);
	if (rv != MCN_EDATA || bad != want_line || strstr(err, want) == NULL ||
	    strstr(err, phrase) == NULL ||
	    strncmp(err, path, strlen(path)) != 0)
		MCNT_FAIL("(from line %d) rv %d bad %llu err '%s', expected "
		          "line %llu '%s'",
		    line, (int)rv, (unsigned long long)bad, err,
		    (unsigned long long)want_line, phrase);
	unlink(path);
}

#define EXPECT_BAD(L, ln, phrase) expect_bad((L), (ln), (phrase), __LINE__)

static void
t_tamper(void)
{
	char path[128], cpy[128], err[MCN_ERRMSG] = "", head[65], saved[65];
	char h[65], *s, *p;
	uint64_t n = 0, bad = 0;
	struct lines L;

	fx_init();
	fx_path(path, sizeof(path), "ref.log");
	fx_path(cpy, sizeof(cpy), "copy.log");
	REQUIRE_OK(mk_log(path) == 0 ? MCN_OK : MCN_EINVAL);
	REQUIRE_OK(vfy(path, &n, &bad, saved, err, sizeof(err)));

	/* one byte of line 7's query text: "age >= 40" -> "age >= 50" */
	lines_read(&L, path);
	REQUIRE_OK(L.n == 20 ? MCN_OK : MCN_EINVAL);
	p = strstr(L.l[6], "age >= 40");
	CHECK(p != NULL);
	if (p != NULL)
		p[7] = '5';
	EXPECT_BAD(&L, 7, "hash does not match its content (record edited?)");
	lines_free(&L);

	/* a middle line deleted */
	lines_read(&L, path);
	free(L.l[9]);
	memmove(&L.l[9], &L.l[10], (L.n - 10) * sizeof(L.l[0]));
	L.n--;
	EXPECT_BAD(&L, 10, "seq 11 follows 9 (record deleted or reordered?)");
	lines_free(&L);

	/* the first line deleted */
	lines_read(&L, path);
	free(L.l[0]);
	memmove(&L.l[0], &L.l[1], (L.n - 1) * sizeof(L.l[0]));
	L.n--;
	EXPECT_BAD(&L, 1, "seq 2 at the start of the log");
	lines_free(&L);

	/* a copy of line 5 inserted after line 12 */
	lines_read(&L, path);
	memmove(&L.l[13], &L.l[12], (L.n - 12) * sizeof(L.l[0]));
	L.l[12] = strdup(L.l[4]);
	L.n++;
	EXPECT_BAD(&L, 13, "seq 5 follows 12");
	lines_free(&L);

	/* lines 8 and 9 swapped */
	lines_read(&L, path);
	s = L.l[7];
	L.l[7] = L.l[8];
	L.l[8] = s;
	EXPECT_BAD(&L, 8, "seq 9 follows 7");
	lines_free(&L);

	/* a line that is not JSON */
	lines_read(&L, path);
	lines_set(&L, 2, strdup("garbage"));
	EXPECT_BAD(&L, 3, "not JSON");
	lines_free(&L);

	/* an empty line */
	lines_read(&L, path);
	lines_set(&L, 4, strdup(""));
	EXPECT_BAD(&L, 5, "empty line");
	lines_free(&L);

	/* line 6 carries line 5's signature */
	lines_read(&L, path);
	{
		char sig5[256], sig6[256], *q, *nl;
		size_t cap;

		member(L.l[4], "sig", sig5, sizeof(sig5));
		member(L.l[5], "sig", sig6, sizeof(sig6));
		q = strstr(L.l[5], sig6);
		CHECK(q != NULL && strcmp(sig5, sig6) != 0);
		cap = strlen(L.l[5]) + strlen(sig5) + 8;
		nl = malloc(cap);
		snprintf(nl, cap, "%.*s%s\"}", (int)(q - L.l[5]), L.l[5], sig5);
		lines_set(&L, 5, nl);
	}
	EXPECT_BAD(&L, 6, "bad signature");
	lines_free(&L);

	/* line 6 edited, hash recomputed and signed by a different key: the
	 * foreign CA's "site1", and the querier alice */
	for (int k = 0; k < 2; k++) {
		char *pp, *q;
		lines_read(&L, path);
		pp = prefix_of(L.l[5]);
		q = pp != NULL ? strstr(pp, "age >= 40") : NULL;
		CHECK(q != NULL);
		if (q != NULL)
			q[7] = '9';
		lines_set(&L, 5,
		    sign_prefix(pp,
		        mcn_pki_signer(k == 0 ? pki_other : pki_alice)));
		free(pp);
		EXPECT_BAD(&L, 6, "bad signature");
		lines_free(&L);
	}

	/* a start record forged with the foreign CA's site1 certificate
	 * (seq, prev and hash all correct) */
	lines_read(&L, path);
	{
		const mcn_signer *o = mcn_pki_signer(pki_other);
		char *cb = malloc(o->certlen * 2 + 8), *P;
		size_t cap = o->certlen * 2 + 512;

		b64(cb, o->cert, o->certlen);
		P = malloc(cap);
		member(L.l[4], "hash", h, sizeof(h));
		snprintf(P, cap,
		    "{\"seq\":6,\"time\":\"2023-11-16T10:13:20.000Z\","
		    "\"node\":\"site1\",\"event\":\"start\",\"prev\":\"%s\","
		    "\"cert\":\"%s\"",
		    h, cb);
		lines_set(&L, 5, sign_prefix(P, o));
		free(P);
		free(cb);
		/* the records after it, signed by the forger too, so that only
		 * the certificate gives the forgery away */
		for (size_t i = 6; i < L.n; i++) {
			char *pp = prefix_of(L.l[i]), *r;
			member(L.l[i - 1], "hash", h, sizeof(h));
			r = strstr(pp, "\"prev\":\"");
			if (r != NULL)
				memcpy(r + 8, h, 64);
			lines_set(&L, i, sign_prefix(pp, o));
			free(pp);
		}
	}
	EXPECT_BAD(&L, 6, "its certificate is not a valid node certificate");
	lines_free(&L);

	/* the last line cut short */
	{
		size_t len;
		char *b = slurp(path, &len);
		CHECK(b != NULL && spit(cpy, b, len - 40) == 0);
		free(b);
		CHECK_ERR(vfy(cpy, &n, &bad, head, err, sizeof(err)),
		    MCN_EDATA);
		CHECK_U64_EQ(bad, 20);
		CHECK(strstr(err,
		          "record at line 20: partial line at end of "
		          "file") != NULL);
		/* only its newline missing */
		b = slurp(path, &len);
		CHECK(b != NULL && spit(cpy, b, len - 1) == 0);
		free(b);
		CHECK_ERR(vfy(cpy, &n, &bad, head, err, sizeof(err)),
		    MCN_EDATA);
		CHECK_U64_EQ(bad, 20);
	}

	/* the last line deleted: the chain alone cannot tell; the head can
	 * (it must be anchored outside the log, e.g. the server log) */
	lines_read(&L, path);
	member(L.l[18], "hash", h, sizeof(h));
	free(L.l[19]);
	L.n--;
	lines_write(&L, cpy);
	lines_free(&L);
	CHECK_OK(vfy(cpy, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 19);
	CHECK(strcmp(head, saved) != 0);
	CHECK(strcmp(head, h) == 0);

	/* the right log, the wrong consortium */
	CHECK_ERR(mcn_audit_verify(path, mcn_pki_verifier(pki_oca), &n, &bad,
	              head, err, sizeof(err)),
	    MCN_EDATA);
	CHECK_U64_EQ(bad, 1);
	CHECK(strstr(err, "its certificate is not a valid node") != NULL);

	/* the original is still fine */
	CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 20);
	CHECK(strcmp(head, saved) == 0);
	unlink(cpy);
}

/* ---- tests: reopening --------------------------------------------------- */

static void
t_reopen(void)
{
	char path[128], err[MCN_ERRMSG] = "", head[65], h[65];
	mcn_audit *a = NULL, *b = NULL;
	mcn_audit_event ev;
	mcn_signer other_id;
	struct lines L;
	uint64_t n = 0, bad = 0;
	size_t len;
	char *buf;

	fx_init();
	fx_path(path, sizeof(path), "reopen.log");
	REQUIRE_OK(mk_log(path) == 0 ? MCN_OK : MCN_EINVAL);
	REQUIRE_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	REQUIRE_OK(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1),
	    T0 + 30 * HOUR6, err, sizeof(err)));
	CHECK_U64_EQ(mcn_audit_seq(a), 21);
	/* a second writer is locked out */
	CHECK_ERR(mcn_audit_open(&b, path, mcn_pki_signer(pki_site1), T0, err,
	              sizeof(err)),
	    MCN_ESYS | EWOULDBLOCK);
	CHECK(b == NULL && strstr(err, "in use by another process") != NULL);
	ev_for(&ev, 22);
	REQUIRE_OK(mcn_audit_append(a, &ev, T0 + 31 * HOUR6, err, sizeof(err)));
	mcn_audit_head(a, h);
	mcn_audit_close(a, T0 + 32 * HOUR6);
	CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 23);
	lines_read(&L, path);
	CHECK(L.n == 23);
	if (L.n == 23) {
		char prev[65], h20[65];
		member(L.l[20], "prev", prev, sizeof(prev));
		member(L.l[19], "hash", h20, sizeof(h20));
		CHECK(strcmp(prev, h20) == 0);
		CHECK(strstr(L.l[20], "\"event\":\"start\"") != NULL &&
		    strstr(L.l[20], "\"cert\":\"MII") != NULL);
		member(L.l[21], "hash", prev, sizeof(prev));
		CHECK(strcmp(prev, h) == 0);
	}
	lines_free(&L);

	/* another node's identity cannot continue this log */
	other_id = *mcn_pki_signer(pki_site1);
	other_id.id = "site2";
	CHECK_ERR(mcn_audit_open(&a, path, &other_id, T0, err, sizeof(err)),
	    MCN_EDATA);
	CHECK(a == NULL &&
	    strstr(err,
	        "record at line 21: the log of another "
	        "node") != NULL);
	/* a querier's identity is refused outright */
	CHECK_ERR(mcn_audit_open(&a, path, mcn_pki_signer(pki_alice), T0, err,
	              sizeof(err)),
	    MCN_EINVAL);

	/* a partial last line: the node refuses to start */
	buf = slurp(path, &len);
	CHECK(buf != NULL && spit(path, buf, len - 30) == 0);
	CHECK_ERR(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0, err,
	              sizeof(err)),
	    MCN_EDATA);
	CHECK(a == NULL &&
	    strstr(err, "record at line 23: partial line at end of file") !=
	        NULL &&
	    strncmp(err, path, strlen(path)) == 0);
	/* nothing was appended */
	{
		size_t l2;
		char *b2 = slurp(path, &l2);
		CHECK(l2 == len - 30);
		free(b2);
	}

	/* the last record edited */
	lines_read(&L, path); /* 22 complete lines */
	CHECK(L.n == 22);
	if (L.n == 22) {
		char *p = strstr(L.l[21], "age >= 40");
		CHECK(p != NULL);
		if (p != NULL)
			p[7] = '1';
	}
	lines_write(&L, path);
	lines_free(&L);
	CHECK_ERR(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0, err,
	              sizeof(err)),
	    MCN_EDATA);
	CHECK(strstr(err, "record at line 22: hash does not match") != NULL);

	/* the last start record's signature replaced by another's */
	CHECK(spit(path, buf, len) == 0);
	lines_read(&L, path);
	{
		char s20[256], s21[256], *q, *nl;
		size_t cap;
		member(L.l[19], "sig", s20, sizeof(s20));
		member(L.l[20], "sig", s21, sizeof(s21));
		q = strstr(L.l[20], s21);
		cap = strlen(L.l[20]) + strlen(s20) + 8;
		nl = malloc(cap);
		snprintf(nl, cap, "%.*s%s\"}", (int)(q - L.l[20]), L.l[20],
		    s20);
		lines_set(&L, 20, nl);
	}
	lines_write(&L, path);
	lines_free(&L);
	CHECK_ERR(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0, err,
	              sizeof(err)),
	    MCN_EDATA);
	CHECK(strstr(err, "record at line 21: bad signature") != NULL);
	free(buf);

	/* an empty existing file is a new log */
	CHECK(spit(path, "", 0) == 0);
	REQUIRE_OK(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0, err,
	    sizeof(err)));
	CHECK_U64_EQ(mcn_audit_seq(a), 1);
	mcn_audit_close(a, T0);
	CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
	CHECK_U64_EQ(n, 2);
	unlink(path);
}

/* ---- tests: failures ---------------------------------------------------- */

static void
t_failures(void)
{
	char path[128], full[128], err[MCN_ERRMSG] = "", head[65];
	mcn_audit *a = NULL;
	mcn_audit_event ev;
	uint64_t n = 0, bad = 0;
	static const struct {
		int what, e;
	} inj[] = {
		{ MCN_AUDIT_FAIL_WRITE, ENOSPC },
		{ MCN_AUDIT_FAIL_WRITE, EIO },
		{ MCN_AUDIT_FAIL_SHORT, ENOSPC },
		{ MCN_AUDIT_FAIL_FSYNC, EIO },
	};

	fx_init();
	fx_path(path, sizeof(path), "fail.log");
	unlink(path);
	REQUIRE_OK(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0, err,
	    sizeof(err)));
	ev_for(&ev, 2);
	for (size_t i = 0; i < sizeof(inj) / sizeof(inj[0]); i++) {
		size_t l0, l1;
		char *before = slurp(path, &l0), *after, h0[65], h1[65];
		uint64_t s0 = mcn_audit_seq(a);

		mcn_audit_head(a, h0);
		mcn_audit_test_fail(inj[i].what, inj[i].e);
		CHECK_ERR(mcn_audit_append(a, &ev, T0 + 1, err, sizeof(err)),
		    (mcn_err)(MCN_ESYS | inj[i].e));
		CHECK(strstr(err, "cannot write an audit record") != NULL);
		after = slurp(path, &l1);
		CHECK(l0 == l1 && memcmp(before, after, l0) == 0);
		CHECK_U64_EQ(mcn_audit_seq(a), s0);
		mcn_audit_head(a, h1);
		CHECK(strcmp(h0, h1) == 0);
		free(before);
		free(after);
		/* the next append succeeds and the log is whole */
		CHECK_OK(mcn_audit_append(a, &ev, T0 + 2, err, sizeof(err)));
		CHECK_U64_EQ(mcn_audit_seq(a), s0 + 1);
		CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
		CHECK_U64_EQ(n, s0 + 1);
	}

	/* allocation failures: a clean MCN_ENOMEM, file unchanged */
	{
		unsigned long count, k;
		mcn_alloc_fail_at(0);
		CHECK_OK(mcn_audit_append(a, &ev, T0 + 3, err, sizeof(err)));
		count = mcn_alloc_fail_at(0);
		CHECK(count > 0);
		for (k = 1; k <= count; k++) {
			size_t l0, l1;
			char *before = slurp(path, &l0), *after;
			mcn_err rv;

			mcn_alloc_fail_at(k);
			rv = mcn_audit_append(a, &ev, T0 + 3, err, sizeof(err));
			mcn_alloc_fail_at(0);
			after = slurp(path, &l1);
			if (rv == MCN_OK) {
				CHECK(l1 > l0);
			} else {
				CHECK_ERR(rv, MCN_ENOMEM);
				CHECK(
				    l0 == l1 && memcmp(before, after, l0) == 0);
			}
			free(before);
			free(after);
		}
		CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
		CHECK_U64_EQ(n, mcn_audit_seq(a));
		/* and in the verifier */
		mcn_alloc_fail_at(0);
		CHECK_OK(vfy(path, &n, &bad, head, err, sizeof(err)));
		count = mcn_alloc_fail_at(0);
		for (k = 1; k <= count; k++) {
			mcn_err rv;
			mcn_alloc_fail_at(k);
			rv = vfy(path, &n, &bad, head, err, sizeof(err));
			mcn_alloc_fail_at(0);
			CHECK(rv == MCN_OK || rv == MCN_ENOMEM);
		}
	}

	/* a failed write that cannot be undone: the instance is failed */
	mcn_audit_test_fail(MCN_AUDIT_FAIL_TRUNCATE, ENOSPC);
	CHECK_ERR(mcn_audit_append(a, &ev, T0 + 4, err, sizeof(err)),
	    MCN_ESYS | ENOSPC);
	CHECK(strstr(err, "the audit log is unusable") != NULL);
	CHECK_ERR(mcn_audit_append(a, &ev, T0 + 5, err, sizeof(err)),
	    MCN_EDATA);
	n = mcn_audit_seq(a);
	mcn_audit_close(a, T0 + 6); /* its stop record fails too */
	CHECK_ERR(vfy(path, NULL, &bad, head, err, sizeof(err)), MCN_EDATA);
	CHECK_U64_EQ(bad, n + 1);
	CHECK(strstr(err, "partial line at end of file") != NULL);
	CHECK_ERR(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0, err,
	              sizeof(err)),
	    MCN_EDATA);
	unlink(path);

	/* /dev/full: opens, but the start record cannot be written */
	fx_path(full, sizeof(full), "full.log");
	unlink(full);
	CHECK(symlink("/dev/full", full) == 0);
	CHECK_ERR(mcn_audit_open(&a, full, mcn_pki_signer(pki_site1), T0, err,
	              sizeof(err)),
	    MCN_ESYS | ENOSPC);
	CHECK(a == NULL);
	unlink(full);

	/* a directory that does not exist */
	fx_path(path, sizeof(path), "nodir/x.log");
	CHECK_ERR(mcn_audit_open(&a, path, mcn_pki_signer(pki_site1), T0, err,
	              sizeof(err)),
	    MCN_ESYS | ENOENT);
	CHECK(strstr(err, "cannot open the audit log") != NULL);
}

/* ---- tests: reading and filters ------------------------------------------ */

struct collect {
	mcn_audit_filter f;
	uint64_t seqs[64];
	size_t n;
	size_t stop_after;
};

static int
collect_fn(void *ctx, uint64_t line, json_t *rec)
{
	struct collect *c = ctx;

	if (json_integer_value(json_object_get(rec, "seq")) != (json_int_t)line)
		return (1);
	if (mcn_audit_match(&c->f, rec) && c->n < 64)
		c->seqs[c->n++] = line;
	return (c->stop_after != 0 && c->n >= c->stop_after);
}

static size_t
count_where(const char *path, const mcn_audit_filter *f, uint64_t *first)
{
	struct collect c;
	char err[MCN_ERRMSG];

	memset(&c, 0, sizeof(c));
	c.f = *f;
	if (mcn_audit_each(path, collect_fn, &c, err, sizeof(err)) != MCN_OK)
		return ((size_t)-1);
	if (first != NULL)
		*first = c.n > 0 ? c.seqs[0] : 0;
	return (c.n);
}

static void
t_each_filter(void)
{
	char path[128], err[MCN_ERRMSG] = "";
	mcn_audit_filter f;
	struct collect c;
	uint64_t first = 0;
	size_t len;
	char *buf;

	fx_init();
	fx_path(path, sizeof(path), "ref.log");
	REQUIRE_OK(mk_log(path) == 0 ? MCN_OK : MCN_EINVAL);

	memset(&f, 0, sizeof(f));
	CHECK(count_where(path, &f, &first) == 20 && first == 1);
	f.querier = "alice";
	CHECK(count_where(path, &f, &first) == 9 && first == 2);
	f.decision = "refused";
	CHECK(count_where(path, &f, &first) == 3 && first == 6);
	memset(&f, 0, sizeof(f));
	f.event = "decrypt";
	CHECK(count_where(path, &f, &first) == 6 && first == 4);
	f.event = "start";
	CHECK(count_where(path, &f, &first) == 1 && first == 1);
	memset(&f, 0, sizeof(f));
	f.querier = "nobody";
	CHECK(count_where(path, &f, NULL) == 0);
	/* record s is dated T0 + s * 6h: 11-15 holds 1..4, 11-16 5..8, ... */
	memset(&f, 0, sizeof(f));
	f.since = "2023-11-16";
	f.until = "2023-11-17";
	CHECK(count_where(path, &f, &first) == 8 && first == 5);
	f.until = NULL;
	CHECK(count_where(path, &f, &first) == 16 && first == 5);
	f.since = NULL;
	f.until = "2023-11-15";
	CHECK(count_where(path, &f, &first) == 4 && first == 1);
	f.since = "2023-11-20";
	f.until = NULL;
	CHECK(count_where(path, &f, NULL) == 0);

	/* the callback stops the iteration */
	memset(&c, 0, sizeof(c));
	c.stop_after = 3;
	CHECK_OK(mcn_audit_each(path, collect_fn, &c, err, sizeof(err)));
	CHECK(c.n == 3 && c.seqs[2] == 3);

	/* a partial last line, a line that is not JSON */
	buf = slurp(path, &len);
	CHECK(buf != NULL && spit(path, buf, len - 5) == 0);
	memset(&c, 0, sizeof(c));
	CHECK_ERR(mcn_audit_each(path, collect_fn, &c, err, sizeof(err)),
	    MCN_EDATA);
	CHECK(c.n == 19 &&
	    strstr(err, "record at line 20: partial line at end of file") !=
	        NULL);
	CHECK(spit(path, "{\"seq\":1}\n[1]\n", 14) == 0);
	memset(&c, 0, sizeof(c));
	CHECK_ERR(mcn_audit_each(path, collect_fn, &c, err, sizeof(err)),
	    MCN_EDATA);
	CHECK(c.n == 1 &&
	    strstr(err, "record at line 2: not a JSON object") != NULL);
	free(buf);
	unlink(path);

	/* dates */
	CHECK(mcn_audit_date_valid("2024-02-29") == 1);
	CHECK(mcn_audit_date_valid("2000-02-29") == 1);
	CHECK(mcn_audit_date_valid("2023-12-31") == 1);
	CHECK(mcn_audit_date_valid("2023-02-29") == 0);
	CHECK(mcn_audit_date_valid("1900-02-29") == 0);
	CHECK(mcn_audit_date_valid("2024-13-01") == 0);
	CHECK(mcn_audit_date_valid("2024-00-10") == 0);
	CHECK(mcn_audit_date_valid("2024-04-31") == 0);
	CHECK(mcn_audit_date_valid("2024-1-01") == 0);
	CHECK(mcn_audit_date_valid("2024-01-01T") == 0);
	CHECK(mcn_audit_date_valid("2024/01/01") == 0);
	CHECK(mcn_audit_date_valid("") == 0);
}

/* ---- tests: the CLI -------------------------------------------------------- */

/* Runs cmd_audit_main with stdout and stderr captured into out/errb. */
static int
run_cli(char *out, size_t outcap, char *errb, size_t errcap, int argc,
    const char **argv)
{
	FILE *fo = tmpfile(), *fe = tmpfile();
	int so, se, rc;
	size_t n;

	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	rc = cmd_audit_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	rewind(fo);
	rewind(fe);
	n = fread(out, 1, outcap - 1, fo);
	out[n] = '\0';
	n = fread(errb, 1, errcap - 1, fe);
	errb[n] = '\0';
	fclose(fo);
	fclose(fe);
	return (rc);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return (n);
}

static void
t_cli(void)
{
	static char out[65536], errb[8192];
	char path[128], err[MCN_ERRMSG] = "", head[65], want[512];
	uint64_t n = 0, bad = 0;
	struct lines L;
	const char *ca = NET "test/ca.crt";

	fx_init();
	fx_path(path, sizeof(path), "cli.log");
	REQUIRE_OK(mk_log(path) == 0 ? MCN_OK : MCN_EINVAL);
	REQUIRE_OK(vfy(path, &n, &bad, head, err, sizeof(err)));

	{
		const char *argv[] = { "audit", "verify", "--log", path, "--ca",
			ca };
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 6, argv) ==
		    MCN_EXIT_OK);
		snprintf(want, sizeof(want),
		    "audit log %s: 20 records, chain and signatures valid, "
		    "head %s\n",
		    path, head);
		CHECK(strcmp(out, want) == 0);
		CHECK(errb[0] == '\0');
	}
	{
		const char *argv[] = { "audit", "verify", "--json", "--log",
			path, "--ca", ca };
		json_t *o;
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 7, argv) ==
		    MCN_EXIT_OK);
		o = json_loads(out, 0, NULL);
		CHECK(o != NULL && json_is_true(json_object_get(o, "valid")) &&
		    json_integer_value(json_object_get(o, "records")) == 20 &&
		    strcmp(json_string_value(json_object_get(o, "head")),
		        head) == 0);
		json_decref(o);
	}
	{
		const char *argv[] = { "audit", "show", "--log", path };
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 4, argv) ==
		    MCN_EXIT_OK);
		CHECK(count_lines(out) == 21); /* header + 20 */
		CHECK(strncmp(out, "   SEQ  TIME", 12) == 0);
		CHECK(strstr(errb, "20 of 20 records shown (not verified") !=
		    NULL);
		/* no certificates or signatures in the table */
		CHECK(strstr(out, "MII") == NULL);
	}
	{
		const char *argv[] = { "audit", "show", "--log", path,
			"--querier", "alice", "--decision", "refused",
			"--since", "2023-11-16", "--until", "2023-11-18" };
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 12, argv) ==
		    MCN_EXIT_OK);
		/* refused + alice: 6, 12, 18; 18 is dated 11-19 */
		CHECK(count_lines(out) == 3);
		CHECK(strstr(out, "budget exhausted") != NULL);
		CHECK(strstr(errb, "2 of 20 records shown") != NULL);
	}
	{
		const char *argv[] = { "audit", "show", "--log", path,
			"--event", "decrypt", "--json" };
		char *p, *nl;
		size_t k = 0;
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 7, argv) ==
		    MCN_EXIT_OK);
		CHECK(count_lines(out) == 6);
		for (p = out; (nl = strchr(p, '\n')) != NULL; p = nl + 1, k++) {
			json_t *o = json_loadb(p, (size_t)(nl - p), 0, NULL);
			CHECK(o != NULL &&
			    strcmp(
			        json_string_value(json_object_get(o, "event")),
			        "decrypt") == 0 &&
			    json_integer_value(json_object_get(o, "seq")) ==
			        (json_int_t)(4 + 3 * k));
			json_decref(o);
		}
	}

	/* a tampered log: exit 1 and the line named */
	lines_read(&L, path);
	{
		char *p = strstr(L.l[6], "age >= 40");
		if (p != NULL)
			p[7] = '5';
	}
	lines_write(&L, path);
	lines_free(&L);
	{
		const char *argv[] = { "audit", "verify", "--log", path, "--ca",
			ca };
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 6, argv) ==
		    MCN_EXIT_FAIL);
		snprintf(want, sizeof(want),
		    "audit log %s: record at line 7: hash does not match its "
		    "content (record edited?)\n",
		    path);
		CHECK(strcmp(errb, want) == 0);
		CHECK(out[0] == '\0');
	}
	{
		const char *argv[] = { "audit", "verify", "--log", path, "--ca",
			ca, "--json" };
		json_t *o;
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 7, argv) ==
		    MCN_EXIT_FAIL);
		o = json_loads(out, 0, NULL);
		CHECK(o != NULL && json_is_false(json_object_get(o, "valid")) &&
		    json_integer_value(json_object_get(o, "line")) == 7);
		json_decref(o);
	}

	/* usage errors */
	{
		const char *a1[] = { "audit" };
		const char *a2[] = { "audit", "frobnicate" };
		const char *a3[] = { "audit", "verify", "--log", path };
		const char *a4[] = { "audit", "show", "--log", path, "--since",
			"2023-02-30" };
		const char *a5[] = { "audit", "show", "--log" };
		const char *a6[] = { "audit", "show", "--log", path, "--log",
			path };
		const char *a7[] = { "audit", "show", "--bogus", "x" };
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 1, a1) ==
		    MCN_EXIT_USAGE);
		CHECK(strstr(errb, "usage: mcn audit verify") != NULL);
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 2, a2) ==
		    MCN_EXIT_USAGE);
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 4, a3) ==
		    MCN_EXIT_USAGE);
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 6, a4) ==
		    MCN_EXIT_USAGE);
		CHECK(strstr(errb, "dates are YYYY-MM-DD") != NULL);
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 3, a5) ==
		    MCN_EXIT_USAGE);
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 6, a6) ==
		    MCN_EXIT_USAGE);
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 4, a7) ==
		    MCN_EXIT_USAGE);
	}
	/* failures: a missing log, a bad CA file */
	{
		const char *a1[] = { "audit", "show", "--log",
			"/nonexistent/x" };
		const char *a2[] = { "audit", "verify", "--log", path, "--ca",
			"/nonexistent/ca.crt" };
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 4, a1) ==
		    MCN_EXIT_FAIL);
		CHECK(strstr(errb, "audit log /nonexistent/x: cannot read") !=
		    NULL);
		CHECK(run_cli(out, sizeof(out), errb, sizeof(errb), 6, a2) ==
		    MCN_EXIT_FAIL);
	}
	unlink(path);
}

static void
t_cleanup(void)
{
	fx_init();
	mcn_pki_free(pki_site1);
	mcn_pki_free(pki_ca);
	mcn_pki_free(pki_alice);
	mcn_pki_free(pki_other);
	mcn_pki_free(pki_oca);
	pki_site1 = pki_ca = pki_alice = pki_other = pki_oca = NULL;
	{
		DIR *d = opendir(tdir);
		struct dirent *de;
		char p[512];
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0) {
				snprintf(p, sizeof(p), "%s/%s", tdir,
				    de->d_name);
				unlink(p);
			}
		}
		if (d != NULL)
			closedir(d);
	}
	CHECK(rmdir(tdir) == 0);
	tdir[0] = '\0';
}

MCNT_MAIN({ "write_verify", t_write_verify },
    { "reference_log", t_reference_log }, { "tamper", t_tamper },
    { "reopen", t_reopen }, { "failures", t_failures },
    { "each_filter", t_each_filter }, { "cli", t_cli },
    { "cleanup", t_cleanup })
