/*
 * node/audit.c - the append-only, hash-chained, signed audit log (format
 * and contracts in node/audit.h).
 *
 * Design. A record is a line P || ,"hash":"H","sig":"S"}\n with
 * H = SHA-256("mcn/audit/v1\n" || P) and S = ECDSA-P256-SHA256(H) by the
 * node's certificate key; P names the previous record's H ("prev"). This
 * is a plain hash chain (a Merkle-Damgard-style linked list, as in
 * Schneier and Kelsey, "Secure Audit Logs to Support Computer Forensics",
 * 1999, minus their evolving MAC keys: our records are signed with the
 * node's certificate key instead, so anyone holding the consortium CA can
 * verify them). Signing every record, not only the head, lets a verifier
 * name the first record that was tampered with.
 *
 * Durability and fail-closed writing. One write(2) of the whole line on an
 * O_APPEND descriptor, then fsync(2); the caller acts only after that
 * returned MCN_OK. On failure the file is cut back to its last good length
 * so that a later append continues a well-formed log; if even that fails,
 * the instance refuses all further appends. The file is flock()ed so that
 * two node processes cannot interleave records.
 *
 * Reading. Lines are read with a bounded buffer (MCN_AUDIT_LINE_MAX), so a
 * corrupt file without newlines cannot make the reader allocate without
 * bound. Only messages about positions and kinds of damage are produced,
 * never field contents.
 */
#define _GNU_SOURCE
#include "node/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/mem.h"
#include "node/util.h"

#define AUDIT_ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_SPLIT ",\"hash\":\""
#define AUDIT_SIG_MID "\",\"sig\":\""
#define AUDIT_START_MARK ",\"event\":\"start\",\"prev\":\""

struct mcn_audit {
	pthread_mutex_t mu;
	int fd;
	int failed;    /* a failed append could not be undone */
	off_t size;    /* file length after the last good record */
	uint64_t seq;  /* last record's seq */
	char head[65]; /* last record's hash */
	char *path;    /* for messages */
	size_t pathlen;
	const mcn_signer *signer;
};

/* ---- messages --------------------------------------------------------- */

static void audit_msg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
audit_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- failure injection ----------------------------------------------- */

static int audit_inj_what;
static int audit_inj_errno;
static int audit_inj_fail_truncate; /* armed by MCN_AUDIT_FAIL_TRUNCATE */

void
mcn_audit_test_fail(int what, int errno_value)
{
	audit_inj_what = what;
	audit_inj_errno = errno_value;
	audit_inj_fail_truncate = 0;
}

static ssize_t
audit_write_once(int fd, const char *p, size_t n)
{
	switch (audit_inj_what) {
	case MCN_AUDIT_FAIL_WRITE:
		audit_inj_what = 0;
		errno = audit_inj_errno;
		return (-1);
	case MCN_AUDIT_FAIL_TRUNCATE:
		audit_inj_fail_truncate = 1;
		/* FALLTHROUGH */
	case MCN_AUDIT_FAIL_SHORT:
		/* Half now; the continuation fails. */
		audit_inj_what = MCN_AUDIT_FAIL_WRITE;
		return (write(fd, p, n / 2 > 0 ? n / 2 : 1));
	default: return (write(fd, p, n));
	}
}

static int
audit_fsync(int fd)
{
	if (audit_inj_what == MCN_AUDIT_FAIL_FSYNC) {
		audit_inj_what = 0;
		errno = audit_inj_errno;
		return (-1);
	}
	return (fsync(fd));
}

static int
audit_truncate(int fd, off_t len)
{
	if (audit_inj_fail_truncate) {
		audit_inj_fail_truncate = 0;
		errno = EIO;
		return (-1);
	}
	return (ftruncate(fd, len));
}

/* ---- a growing line buffer ------------------------------------------- */

typedef struct {
	char *p;
	size_t len, cap;
	int oom;
} abuf;

static void
ab_free(abuf *b)
{
	mcn_free(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
}

static void
ab_put(abuf *b, const void *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		char *q;

		while (b->len + n + 1 > cap)
			cap *= 2;
		if ((q = mcn_alloc(cap)) == NULL) {
			b->oom = 1;
			return;
		}
		if (b->len > 0)
			memcpy(q, b->p, b->len);
		mcn_free(b->p, b->cap);
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
ab_lit(abuf *b, const char *s)
{
	ab_put(b, s, strlen(s));
}

static void
ab_u64(abuf *b, uint64_t v)
{
	char t[24];

	snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
	ab_lit(b, t);
}

/* The shortest of %.15g / %.17g that reads back as x (x finite). */
static void
ab_double(abuf *b, double x)
{
	char t[40];

	snprintf(t, sizeof(t), "%.15g", x);
	if (strtod(t, NULL) != x)
		snprintf(t, sizeof(t), "%.17g", x);
	ab_lit(b, t);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included;
 * RFC 3629 section 4). */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp, min;

	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return (0);
	}
	if (n < len)
		return (0);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (len);
}

/* A JSON string (RFC 8259 section 7): quotes, escapes for '"', '\\' and
 * control characters, valid UTF-8 copied, invalid bytes as U+FFFD. */
static void
ab_jstr(abuf *b, const char *s)
{
	static const char hx[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;

	ab_lit(b, "\"");
	while (i < n) {
		unsigned char c = u[i];
		size_t run = i, k;

		/* copy a run of plain bytes in one go */
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 &&
		    u[run] != '"' && u[run] != '\\')
			run++;
		if (run > i) {
			ab_put(b, u + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			ab_put(b, e, 2);
			i++;
		} else if (c == '\n') {
			ab_lit(b, "\\n");
			i++;
		} else if (c == '\t') {
			ab_lit(b, "\\t");
			i++;
		} else if (c == '\r') {
			ab_lit(b, "\\r");
			i++;
		} else if (c < 0x20) {
			char e[6] = { '\\', 'u', '0', '0', hx[c >> 4],
				hx[c & 15] };
			ab_put(b, e, 6);
			i++;
		} else if ((k = utf8_len(u + i, n - i)) > 0) {
			ab_put(b, u + i, k);
			i += k;
		} else {
			ab_lit(b, "\\ufffd");
			i++;
		}
	}
	ab_lit(b, "\"");
}

/* ---- base64 (RFC 4648 section 4, with padding) ------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
ab_b64(abuf *b, const uint8_t *d, size_t n)
{
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (uint32_t)d[i + 1] << 8;
		if (left > 2)
			v |= d[i + 2];
		q[0] = b64_alphabet[(v >> 18) & 63];
		q[1] = b64_alphabet[(v >> 12) & 63];
		q[2] = left > 1 ? b64_alphabet[(v >> 6) & 63] : '=';
		q[3] = left > 2 ? b64_alphabet[v & 63] : '=';
		ab_put(b, q, 4);
	}
}

static int
b64_val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64_alphabet, c)) == NULL)
		return (-1);
	return ((int)(p - b64_alphabet));
}

/* Strict decoding of n chars at s into out (capacity cap): length a
 * multiple of 4, '=' only as final padding, unused bits zero. Returns the
 * decoded length, or -1. */
static long
b64_decode(uint8_t *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	if (n == 0 || n % 4 != 0)
		return (-1);
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		uint32_t w;

		for (int j = 0; j < 4; j++) {
			if (s[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[j] = b64_val(s[i + j])) < 0)
				return (-1);
		}
		w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) |
		    ((uint32_t)v[2] << 6) | (uint32_t)v[3];
		if ((pad == 2 && (w & 0xffff) != 0) ||
		    (pad == 1 && (w & 0xff) != 0))
			return (-1);
		if (o + 3 - (size_t)pad > cap)
			return (-1);
		out[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)w;
	}
	return ((long)o);
}

/* ---- hashing and signatures ------------------------------------------- */

/* d = SHA-256(MCN_AUDIT_TAG || p[0..n)). */
static mcn_err
audit_digest(uint8_t d[32], const char *p, size_t n)
{
	EVP_MD_CTX *md;
	unsigned dl = 0;
	int ok;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return (MCN_ENOMEM);
	ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(md, MCN_AUDIT_TAG, strlen(MCN_AUDIT_TAG)) == 1 &&
	    EVP_DigestUpdate(md, p, n) == 1 &&
	    EVP_DigestFinal_ex(md, d, &dl) == 1 && dl == 32;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return (ok ? MCN_OK : MCN_ECRYPTO);
}

/* Checks sig over d with the public key of DER certificate cert (no CA
 * check: that is mcn_audit_verify's job). 1 if valid, 0 if not. */
static int
audit_sig_ok(const uint8_t *cert, size_t certlen, const uint8_t d[32],
    const uint8_t *sig, size_t siglen)
{
	const unsigned char *q = cert;
	X509 *x = d2i_X509(NULL, &q, (long)certlen);
	EVP_PKEY *pk;
	EVP_MD_CTX *md = NULL;
	int ok = 0;

	if (x != NULL && q == cert + certlen &&
	    (pk = X509_get0_pubkey(x)) != NULL &&
	    (md = EVP_MD_CTX_new()) != NULL)
		ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) ==
		        1 &&
		    EVP_DigestVerify(md, sig, siglen, d, 32) == 1;
	EVP_MD_CTX_free(md);
	X509_free(x);
	ERR_clear_error();
	return (ok);
}

/* ---- parsing one record line ------------------------------------------ */

typedef struct {
	json_t *obj;
	uint64_t seq;
	const char *node, *event, *prev, *hash, *time;
	uint8_t digest[32]; /* recomputed from the line */
	int hash_ok;        /* hash member == hex(digest) */
	uint8_t sig[MCN_SIG_MAX];
	size_t siglen;
	uint8_t *cert; /* start records: decoded certificate (mcn_alloc) */
	size_t certlen;
} arec;

static void
arec_clear(arec *r)
{
	json_decref(r->obj);
	mcn_free(r->cert, r->certlen);
	memset(r, 0, sizeof(*r));
}

static int
is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return (0);
	for (int i = 0; i < 64; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	}
	return (1);
}

static const char *
arec_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return (json_is_string(v) ? json_string_value(v) : NULL);
}

/* Parses and checks the form of one line (without its '\n') into r and
 * recomputes its hash. Returns MCN_OK with r->hash_ok telling whether the
 * hash matches; MCN_EDATA with `why` describing a malformed record;
 * MCN_ENOMEM, MCN_ECRYPTO. r must be zeroed; arec_clear it in every
 * case. */
static mcn_err
arec_parse(arec *r, const char *line, size_t len, char *why, size_t whylen)
{
	static const char *const opt_str[] = { "querier", "role", "query_id",
		"mode", "query", "decision", "reason" };
	static const char *const opt_num[] = { "epsilon", "budget_spent" };
	static const char *const opt_int[] = { "values", "bytes",
		"elapsed_ms" };
	uint8_t tmpcert[MCN_CERT_MAX];
	json_error_t je;
	json_t *v;
	const char *split = NULL, *tail, *sig, *certs;
	char hex[65];
	size_t sl = strlen(AUDIT_SPLIT), taillen;
	long n;

	if (len == 0) {
		audit_msg(why, whylen, "empty line (not JSON)");
		return (MCN_EDATA);
	}
	r->obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (r->obj == NULL) {
		audit_msg(why, whylen, "not JSON (column %d)", je.column);
		return (MCN_EDATA);
	}
	if (!json_is_object(r->obj)) {
		audit_msg(why, whylen, "not a JSON object");
		return (MCN_EDATA);
	}
	v = json_object_get(r->obj, "seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		audit_msg(why, whylen, "missing or malformed \"seq\"");
		return (MCN_EDATA);
	}
	r->seq = (uint64_t)json_integer_value(v);
	if ((r->time = arec_str(r->obj, "time")) == NULL) {
		audit_msg(why, whylen, "missing or malformed \"time\"");
		return (MCN_EDATA);
	}
	if ((r->node = arec_str(r->obj, "node")) == NULL ||
	    !mcn_id_valid(r->node)) {
		audit_msg(why, whylen, "missing or malformed \"node\"");
		return (MCN_EDATA);
	}
	if ((r->event = arec_str(r->obj, "event")) == NULL ||
	    r->event[0] == '\0') {
		audit_msg(why, whylen, "missing or malformed \"event\"");
		return (MCN_EDATA);
	}
	if ((r->prev = arec_str(r->obj, "prev")) == NULL ||
	    !is_hex64(r->prev)) {
		audit_msg(why, whylen, "missing or malformed \"prev\"");
		return (MCN_EDATA);
	}
	if ((r->hash = arec_str(r->obj, "hash")) == NULL ||
	    !is_hex64(r->hash)) {
		audit_msg(why, whylen, "missing or malformed \"hash\"");
		return (MCN_EDATA);
	}
	if ((sig = arec_str(r->obj, "sig")) == NULL ||
	    (n = b64_decode(r->sig, sizeof(r->sig), sig, strlen(sig))) <= 0) {
		audit_msg(why, whylen, "missing or malformed \"sig\"");
		return (MCN_EDATA);
	}
	r->siglen = (size_t)n;
	for (size_t i = 0; i < sizeof(opt_str) / sizeof(opt_str[0]); i++) {
		v = json_object_get(r->obj, opt_str[i]);
		if (v != NULL && !json_is_string(v)) {
			audit_msg(why, whylen, "malformed \"%s\"", opt_str[i]);
			return (MCN_EDATA);
		}
	}
	for (size_t i = 0; i < sizeof(opt_num) / sizeof(opt_num[0]); i++) {
		v = json_object_get(r->obj, opt_num[i]);
		if (v != NULL && !json_is_number(v)) {
			audit_msg(why, whylen, "malformed \"%s\"", opt_num[i]);
			return (MCN_EDATA);
		}
	}
	for (size_t i = 0; i < sizeof(opt_int) / sizeof(opt_int[0]); i++) {
		v = json_object_get(r->obj, opt_int[i]);
		if (v != NULL &&
		    (!json_is_integer(v) || json_integer_value(v) < 0)) {
			audit_msg(why, whylen, "malformed \"%s\"", opt_int[i]);
			return (MCN_EDATA);
		}
	}
	v = json_object_get(r->obj, "cert");
	if (v != NULL) {
		if (!json_is_string(v) || strcmp(r->event, "start") != 0) {
			audit_msg(why, whylen, "malformed \"cert\"");
			return (MCN_EDATA);
		}
		certs = json_string_value(v);
		n = b64_decode(tmpcert, sizeof(tmpcert), certs, strlen(certs));
		if (n <= 0) {
			audit_msg(why, whylen, "malformed \"cert\"");
			return (MCN_EDATA);
		}
		if ((r->cert = mcn_alloc((size_t)n)) == NULL)
			return (MCN_ENOMEM);
		memcpy(r->cert, tmpcert, (size_t)n);
		r->certlen = (size_t)n;
	} else if (strcmp(r->event, "start") == 0) {
		audit_msg(why, whylen, "start record without \"cert\"");
		return (MCN_EDATA);
	}

	/* The split: the last `,"hash":"` (it cannot occur inside a JSON
	 * string); the tail must be exactly hash and sig as written. */
	for (const char *p = line; p + sl <= line + len; p++) {
		p = memmem(p, (size_t)(line + len - p), AUDIT_SPLIT, sl);
		if (p == NULL)
			break;
		split = p;
	}
	tail = split != NULL ? split + sl : NULL;
	taillen = tail != NULL ? (size_t)(line + len - tail) : 0;
	if (tail == NULL ||
	    taillen != 64 + strlen(AUDIT_SIG_MID) + strlen(sig) + 2 ||
	    memcmp(tail, r->hash, 64) != 0 ||
	    memcmp(tail + 64, AUDIT_SIG_MID, strlen(AUDIT_SIG_MID)) != 0 ||
	    memcmp(tail + 64 + strlen(AUDIT_SIG_MID), sig, strlen(sig)) != 0 ||
	    memcmp(line + len - 2, "\"}", 2) != 0) {
		audit_msg(why, whylen,
		    "\"hash\" and \"sig\" are not the last members as written");
		return (MCN_EDATA);
	}
	if (audit_digest(r->digest, line, (size_t)(split - line)) != MCN_OK)
		return (MCN_ECRYPTO);
	mcn_hex_encode(hex, r->digest, sizeof(r->digest));
	r->hash_ok = strcmp(hex, r->hash) == 0;
	return (MCN_OK);
}

/* ---- a bounded line reader -------------------------------------------- */

typedef struct {
	int fd;
	char *buf;
	size_t cap, start, end;
	off_t base; /* file offset of buf[0] */
	int eof;
	uint64_t lineno; /* number of the line last returned */
} lreader;

static mcn_err
lr_init(lreader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = MCN_AUDIT_LINE_MAX + 1;
	if ((r->buf = mcn_alloc(r->cap)) == NULL)
		return (MCN_ENOMEM);
	return (MCN_OK);
}

static void
lr_done(lreader *r)
{
	mcn_free(r->buf, r->cap);
	r->buf = NULL;
}

enum { LR_LINE, LR_PARTIAL, LR_END, LR_TOOLONG, LR_ERROR };

/* Next line: LR_LINE (line, len without '\n', *off its file offset),
 * LR_PARTIAL (last line without '\n'), LR_END, LR_TOOLONG, or LR_ERROR
 * (*e = errno). r->lineno counts the lines returned. */
static int
lr_next(lreader *r, const char **line, size_t *len, off_t *off, int *e)
{
	for (;;) {
		char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
		ssize_t n;

		if (nl != NULL) {
			*line = r->buf + r->start;
			*len = (size_t)(nl - *line);
			*off = r->base + (off_t)r->start;
			r->start = (size_t)(nl - r->buf) + 1;
			r->lineno++;
			return (LR_LINE);
		}
		if (r->start == 0 && r->end == r->cap) {
			r->lineno++;
			return (LR_TOOLONG);
		}
		if (r->eof) {
			if (r->end == r->start)
				return (LR_END);
			*line = r->buf + r->start;
			*len = r->end - r->start;
			*off = r->base + (off_t)r->start;
			r->start = r->end;
			r->lineno++;
			return (LR_PARTIAL);
		}
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->base += (off_t)r->start;
			r->end -= r->start;
			r->start = 0;
		}
		n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*e = errno;
			return (LR_ERROR);
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

/* ---- writing ----------------------------------------------------------- */

static void
audit_time(char out[80], uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (unsigned)(ms % 1000));
}

/* Builds the complete line (with '\n') of the next record in b and its
 * hash in hash_out; a "start" event also carries the certificate. */
static mcn_err
audit_build(abuf *b, const mcn_audit *a, const mcn_audit_event *ev,
    uint64_t now_ms, char hash_out[65], char *err, size_t errlen)
{
	const mcn_signer *s = a->signer;
	uint8_t d[32], sig[MCN_SIG_MAX];
	size_t siglen = sizeof(sig);
	char tbuf[80];
	mcn_err rv;

	audit_time(tbuf, now_ms);
	ab_lit(b, "{\"seq\":");
	ab_u64(b, a->seq + 1);
	ab_lit(b, ",\"time\":\"");
	ab_lit(b, tbuf);
	ab_lit(b, "\",\"node\":");
	ab_jstr(b, s->id);
	ab_lit(b, ",\"event\":");
	ab_jstr(b, ev->event);
	ab_lit(b, ",\"prev\":\"");
	ab_lit(b, a->head);
	ab_lit(b, "\"");
#define AUDIT_OPT_STR(name, val)                     \
	do {                                         \
		if ((val) != NULL) {                 \
			ab_lit(b, ",\"" name "\":"); \
			ab_jstr(b, (val));           \
		}                                    \
	} while (0)
	AUDIT_OPT_STR("querier", ev->querier);
	AUDIT_OPT_STR("role", ev->role);
	AUDIT_OPT_STR("query_id", ev->query_id_hex);
	AUDIT_OPT_STR("mode", ev->mode);
	AUDIT_OPT_STR("query", ev->query);
	AUDIT_OPT_STR("decision", ev->decision);
	AUDIT_OPT_STR("reason", ev->reason);
#undef AUDIT_OPT_STR
	if (ev->has_epsilon) {
		ab_lit(b, ",\"epsilon\":");
		ab_double(b, ev->epsilon);
		ab_lit(b, ",\"budget_spent\":");
		ab_double(b, ev->budget_spent);
	}
	if (ev->values != 0) {
		ab_lit(b, ",\"values\":");
		ab_u64(b, ev->values);
	}
	if (ev->bytes != 0) {
		ab_lit(b, ",\"bytes\":");
		ab_u64(b, ev->bytes);
	}
	if (ev->elapsed_ms != 0) {
		ab_lit(b, ",\"elapsed_ms\":");
		ab_u64(b, ev->elapsed_ms);
	}
	if (strcmp(ev->event, "start") == 0) {
		ab_lit(b, ",\"cert\":\"");
		ab_b64(b, s->cert, s->certlen);
		ab_lit(b, "\"");
	}
	if (b->oom)
		return (MCN_ENOMEM);
	if ((rv = audit_digest(d, b->p, b->len)) != MCN_OK)
		return (rv);
	if ((rv = s->sign(s->ctx, d, sizeof(d), sig, &siglen)) != MCN_OK) {
		audit_msg(err, errlen, "%s: cannot sign an audit record (%s)",
		    a->path, mcn_strerror(rv));
		return (rv);
	}
	mcn_hex_encode(hash_out, d, sizeof(d));
	ab_lit(b, AUDIT_SPLIT);
	ab_lit(b, hash_out);
	ab_lit(b, AUDIT_SIG_MID);
	ab_b64(b, sig, siglen);
	ab_lit(b, "\"}\n");
	if (b->oom)
		return (MCN_ENOMEM);
	if (b->len - 1 > MCN_AUDIT_LINE_MAX) {
		audit_msg(err, errlen,
		    "%s: audit record of %zu bytes is longer than %d bytes",
		    a->path, b->len - 1, MCN_AUDIT_LINE_MAX);
		return (MCN_ETOOBIG);
	}
	return (MCN_OK);
}

/* Writes line (len bytes) and fsyncs; on failure cuts the file back to
 * a->size, or marks the instance failed if that is impossible. */
static mcn_err
audit_write(mcn_audit *a, const char *line, size_t len, char *err,
    size_t errlen)
{
	size_t done = 0;
	int e = 0, wrote_fail = 0;

	while (done < len) {
		ssize_t n = audit_write_once(a->fd, line + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			wrote_fail = 1;
			break;
		}
		if (n == 0) {
			e = EIO;
			wrote_fail = 1;
			break;
		}
		done += (size_t)n;
	}
	if (e == 0 && audit_fsync(a->fd) != 0)
		e = errno != 0 ? errno : EIO;
	if (e == 0) {
		a->size += (off_t)len;
		return (MCN_OK);
	}
	/* A write that failed with nothing written left the file as it
	 * was; anything else is undone. */
	if (!(wrote_fail && done == 0) &&
	    (audit_truncate(a->fd, a->size) != 0 || fsync(a->fd) != 0)) {
		a->failed = 1;
		audit_msg(err, errlen,
		    "%s: cannot write an audit record (%s) nor undo the "
		    "partial write (%s); the audit log is unusable",
		    a->path, strerror(e), strerror(errno));
		return (MCN_ESYS | e);
	}
	audit_msg(err, errlen, "%s: cannot write an audit record (%s)", a->path,
	    strerror(e));
	return (MCN_ESYS | e);
}

/* Appends with the lock held. */
static mcn_err
audit_append_locked(mcn_audit *a, const mcn_audit_event *ev, uint64_t now_ms,
    char *err, size_t errlen)
{
	abuf b = { 0 };
	char hash[65];
	mcn_err rv;

	if (a->failed) {
		audit_msg(err, errlen,
		    "%s: the audit log failed earlier; no record can be "
		    "written",
		    a->path);
		return (MCN_EDATA);
	}
	if (ev->has_epsilon &&
	    (!isfinite(ev->epsilon) || !isfinite(ev->budget_spent))) {
		audit_msg(err, errlen, "%s: epsilon or budget not finite",
		    a->path);
		return (MCN_EINVAL);
	}
	if ((rv = audit_build(&b, a, ev, now_ms, hash, err, errlen)) !=
	    MCN_OK) {
		if (rv == MCN_ENOMEM)
			audit_msg(err, errlen, "%s: out of memory", a->path);
		goto out;
	}
	if ((rv = audit_write(a, b.p, b.len, err, errlen)) != MCN_OK)
		goto out;
	a->seq++;
	memcpy(a->head, hash, sizeof(a->head));
out:
	ab_free(&b);
	return (rv);
}

mcn_err
mcn_audit_append(mcn_audit *a, const mcn_audit_event *ev, uint64_t now_ms,
    char *err, size_t errlen)
{
	mcn_err rv;

	MCN_MUST(a != NULL && ev != NULL && ev->event != NULL);
	MCN_MUST(ev->event[0] != '\0' && strcmp(ev->event, "start") != 0);
	pthread_mutex_lock(&a->mu);
	rv = audit_append_locked(a, ev, now_ms, err, errlen);
	pthread_mutex_unlock(&a->mu);
	return (rv);
}

/* The mutex is not part of the instance's logical state: lock it through
 * a const pointer so that readers see a record's seq and head together. */
static pthread_mutex_t *
audit_mu(const mcn_audit *a)
{
	return ((pthread_mutex_t *)&a->mu);
}

uint64_t
mcn_audit_seq(const mcn_audit *a)
{
	uint64_t s;

	pthread_mutex_lock(audit_mu(a));
	s = a->seq;
	pthread_mutex_unlock(audit_mu(a));
	return (s);
}

void
mcn_audit_head(const mcn_audit *a, char hex[65])
{
	pthread_mutex_lock(audit_mu(a));
	memcpy(hex, a->head, 65);
	pthread_mutex_unlock(audit_mu(a));
}

/* ---- opening ------------------------------------------------------------ */

/* Reads the line at file offset off (len bytes, known to be a complete
 * line) into a new buffer. */
static mcn_err
audit_pread_line(int fd, off_t off, size_t len, char **out)
{
	char *p = mcn_alloc(len + 1);
	size_t got = 0;

	*out = NULL;
	if (p == NULL)
		return (MCN_ENOMEM);
	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			mcn_free(p, len + 1);
			return (MCN_ESYS | e);
		}
		got += (size_t)n;
	}
	p[len] = '\0';
	*out = p;
	return (MCN_OK);
}

/* Checks one tail record of an existing log (see mcn_audit_open). For the
 * start record, cert/certlen is NULL and its own certificate is used and
 * returned in *start (kept parsed for the last record's check). */
static mcn_err
audit_check_tail(mcn_audit *a, int fd, off_t off, size_t len, uint64_t lineno,
    arec *r, const arec *start, char *err, size_t errlen)
{
	char why[160] = "", *line = NULL;
	const uint8_t *cert;
	size_t certlen;
	mcn_err rv;

	if ((rv = audit_pread_line(fd, off, len, &line)) != MCN_OK) {
		audit_msg(err, errlen, "%s: cannot read (%s)", a->path,
		    mcn_strerror(rv));
		return (rv);
	}
	rv = arec_parse(r, line, len, why, sizeof(why));
	mcn_free(line, len + 1);
	if (rv == MCN_OK && !r->hash_ok) {
		snprintf(why, sizeof(why),
		    "hash does not match its content (record edited?)");
		rv = MCN_EDATA;
	}
	if (rv == MCN_OK && r->seq != lineno) {
		snprintf(why, sizeof(why), "seq %llu on line %llu",
		    (unsigned long long)r->seq, (unsigned long long)lineno);
		rv = MCN_EDATA;
	}
	if (rv == MCN_OK && strcmp(r->node, a->signer->id) != 0) {
		snprintf(why, sizeof(why), "the log of another node");
		rv = MCN_EDATA;
	}
	if (rv == MCN_OK && start == NULL && strcmp(r->event, "start") != 0) {
		snprintf(why, sizeof(why), "not a start record");
		rv = MCN_EDATA;
	}
	if (rv == MCN_OK) {
		cert = start != NULL ? start->cert : r->cert;
		certlen = start != NULL ? start->certlen : r->certlen;
		if (!audit_sig_ok(cert, certlen, r->digest, r->sig,
		        r->siglen)) {
			snprintf(why, sizeof(why), "bad signature");
			rv = MCN_EDATA;
		}
	}
	if (rv == MCN_EDATA)
		audit_msg(err, errlen,
		    "%s: record at line %llu: %s; the node will not append "
		    "to this log (run `mcn audit verify`)",
		    a->path, (unsigned long long)lineno, why);
	else if (rv != MCN_OK)
		audit_msg(err, errlen, "%s: %s", a->path, mcn_strerror(rv));
	return (rv);
}

/* Scans an existing, non-empty log and sets a->seq and a->head. */
static mcn_err
audit_resume(mcn_audit *a, char *err, size_t errlen)
{
	lreader lr;
	const char *line;
	size_t len, last_len = 0, start_len = 0;
	off_t off, last_off = 0, start_off = 0;
	uint64_t last_no = 0, start_no = 0;
	arec st = { 0 }, last = { 0 };
	size_t ml = strlen(AUDIT_START_MARK);
	int k, e = 0;
	mcn_err rv;

	if ((rv = lr_init(&lr, a->fd)) != MCN_OK) {
		audit_msg(err, errlen, "%s: out of memory", a->path);
		return (rv);
	}
	while ((k = lr_next(&lr, &line, &len, &off, &e)) == LR_LINE) {
		last_off = off;
		last_len = len;
		last_no = lr.lineno;
		if (memmem(line, len, AUDIT_START_MARK, ml) != NULL) {
			start_off = off;
			start_len = len;
			start_no = lr.lineno;
		}
	}
	rv = MCN_EDATA;
	if (k == LR_ERROR) {
		audit_msg(err, errlen, "%s: cannot read (%s)", a->path,
		    strerror(e));
		rv = MCN_ESYS | e;
		goto out;
	}
	if (k == LR_TOOLONG || k == LR_PARTIAL) {
		audit_msg(err, errlen,
		    "%s: record at line %llu: %s; the node will not append "
		    "to this log (run `mcn audit verify`)",
		    a->path, (unsigned long long)lr.lineno,
		    k == LR_TOOLONG ? "line too long" :
		                      "partial line at end of file");
		goto out;
	}
	if (start_no == 0) {
		audit_msg(err, errlen,
		    "%s: no start record; the node will not append to this "
		    "log (run `mcn audit verify`)",
		    a->path);
		goto out;
	}
	if ((rv = audit_check_tail(a, a->fd, start_off, start_len, start_no,
	         &st, NULL, err, errlen)) != MCN_OK)
		goto out;
	if ((rv = audit_check_tail(a, a->fd, last_off, last_len, last_no, &last,
	         &st, err, errlen)) != MCN_OK)
		goto out;
	a->seq = last.seq;
	memcpy(a->head, last.hash, sizeof(a->head));
	rv = MCN_OK;
out:
	arec_clear(&st);
	arec_clear(&last);
	lr_done(&lr);
	return (rv);
}

/* fsync of the directory holding path, so a new file's entry is durable. */
static int
audit_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = -1;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return (-1);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(dir);
	return (rc);
}

mcn_err
mcn_audit_open(mcn_audit **out, const char *path, const mcn_signer *signer,
    uint64_t now_ms, char *err, size_t errlen)
{
	mcn_audit *a = NULL;
	mcn_audit_event ev;
	struct stat st;
	int mu_ok = 0;
	mcn_err rv;

	MCN_MUST(out != NULL && path != NULL && signer != NULL);
	*out = NULL;
	if (signer->id == NULL || !mcn_id_valid(signer->id) ||
	    signer->role != MCN_ROLE_NODE || signer->cert == NULL ||
	    signer->certlen == 0 || signer->certlen > MCN_CERT_MAX ||
	    signer->sign == NULL) {
		audit_msg(err, errlen,
		    "%s: the audit log needs a node's identity", path);
		return (MCN_EINVAL);
	}
	if ((a = mcn_zalloc(sizeof(*a))) == NULL)
		goto nomem;
	a->fd = -1;
	a->signer = signer;
	memcpy(a->head, AUDIT_ZERO_HASH, sizeof(a->head));
	a->pathlen = strlen(path) + 1;
	if ((a->path = mcn_alloc(a->pathlen)) == NULL)
		goto nomem;
	memcpy(a->path, path, a->pathlen);
	if (pthread_mutex_init(&a->mu, NULL) != 0)
		goto nomem;
	mu_ok = 1;

	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		rv = MCN_ESYS | errno;
		audit_msg(err, errlen, "%s: cannot open the audit log (%s)",
		    path, strerror(errno));
		goto fail;
	}
	if (flock(a->fd, LOCK_EX | LOCK_NB) != 0) {
		rv = MCN_ESYS | errno;
		audit_msg(err, errlen, "%s: %s", path,
		    errno == EWOULDBLOCK ?
		        "the audit log is in use by another process" :
		        strerror(errno));
		goto fail;
	}
	if (fstat(a->fd, &st) != 0) {
		rv = MCN_ESYS | errno;
		audit_msg(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		rv = MCN_ESYS | EISDIR;
		audit_msg(err, errlen, "%s: is a directory", path);
		goto fail;
	}
	a->size = S_ISREG(st.st_mode) ? st.st_size : 0;
	if (a->size > 0 && (rv = audit_resume(a, err, errlen)) != MCN_OK)
		goto fail;

	memset(&ev, 0, sizeof(ev));
	ev.event = "start";
	pthread_mutex_lock(&a->mu);
	rv = audit_append_locked(a, &ev, now_ms, err, errlen);
	pthread_mutex_unlock(&a->mu);
	if (rv != MCN_OK)
		goto fail;
	if (a->seq == 1 && S_ISREG(st.st_mode) && audit_sync_dir(path) != 0) {
		rv = MCN_ESYS | errno;
		audit_msg(err, errlen, "%s: cannot sync its directory (%s)",
		    path, strerror(errno));
		goto fail;
	}
	*out = a;
	return (MCN_OK);

nomem:
	rv = MCN_ENOMEM;
	audit_msg(err, errlen, "%s: out of memory", path);
fail:
	if (a != NULL) {
		if (a->fd >= 0)
			close(a->fd); /* releases the flock */
		if (mu_ok)
			pthread_mutex_destroy(&a->mu);
		mcn_free(a->path, a->pathlen);
		mcn_free(a, sizeof(*a));
	}
	return (rv);
}

void
mcn_audit_close(mcn_audit *a, uint64_t now_ms)
{
	mcn_audit_event ev;

	if (a == NULL)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.event = "stop";
	pthread_mutex_lock(&a->mu);
	(void)audit_append_locked(a, &ev, now_ms, NULL, 0);
	pthread_mutex_unlock(&a->mu);
	(void)flock(a->fd, LOCK_UN);
	close(a->fd);
	pthread_mutex_destroy(&a->mu);
	mcn_free(a->path, a->pathlen);
	mcn_free(a, sizeof(*a));
}

/* ---- reading a whole log ----------------------------------------------- */

static mcn_err
audit_open_read(int *fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		int e = errno;
		audit_msg(err, errlen, "%s: cannot read (%s)", path,
		    strerror(e));
		return (MCN_ESYS | e);
	}
	if (fstat(*fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = errno;
		if (e == 0 || S_ISDIR(st.st_mode))
			e = EISDIR;
		audit_msg(err, errlen, "%s: cannot read (%s)", path,
		    strerror(e));
		close(*fd);
		*fd = -1;
		return (MCN_ESYS | e);
	}
	return (MCN_OK);
}

/* The message and code of a reader result other than LR_LINE/LR_END. */
static mcn_err
audit_lr_fail(int k, int e, const char *path, uint64_t lineno, char *err,
    size_t errlen)
{
	if (k == LR_ERROR) {
		audit_msg(err, errlen, "%s: cannot read (%s)", path,
		    strerror(e));
		return (MCN_ESYS | e);
	}
	audit_msg(err, errlen, "%s: record at line %llu: %s", path,
	    (unsigned long long)lineno,
	    k == LR_TOOLONG ? "line longer than the limit" :
	                      "partial line at end of file");
	return (MCN_EDATA);
}

mcn_err
mcn_audit_verify(const char *path, const mcn_verifier *v, uint64_t *nrecords,
    uint64_t *bad_seq, char head[65], char *err, size_t errlen)
{
	lreader lr = { 0 };
	const char *line;
	size_t len;
	off_t off;
	char prev[65] = AUDIT_ZERO_HASH, node[MCN_ID_MAX + 1] = "";
	char why[200];
	uint8_t *cert = NULL;
	size_t certlen = 0;
	uint64_t n = 0, start_line = 0;
	arec r = { 0 };
	int k, e = 0, fd = -1;
	mcn_err rv;

	MCN_MUST(path != NULL && v != NULL && v->verify != NULL);
	if (nrecords != NULL)
		*nrecords = 0;
	if (bad_seq != NULL)
		*bad_seq = 0;
	if (head != NULL)
		head[0] = '\0';
	if ((rv = audit_open_read(&fd, path, err, errlen)) != MCN_OK)
		return (rv);
	if ((rv = lr_init(&lr, fd)) != MCN_OK) {
		audit_msg(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		mcn_err vr;

		k = lr_next(&lr, &line, &len, &off, &e);
		if (k == LR_END)
			break;
		if (k != LR_LINE) {
			rv = audit_lr_fail(k, e, path, lr.lineno, err, errlen);
			if (rv == MCN_EDATA && bad_seq != NULL)
				*bad_seq = lr.lineno;
			goto out;
		}
		arec_clear(&r);
		why[0] = '\0';
		rv = arec_parse(&r, line, len, why, sizeof(why));
		if (rv != MCN_OK && rv != MCN_EDATA) {
			audit_msg(err, errlen, "%s: %s", path,
			    mcn_strerror(rv));
			goto out;
		}
		if (rv == MCN_OK && !r.hash_ok) {
			snprintf(why, sizeof(why),
			    "hash does not match its "
			    "content (record edited?)");
			rv = MCN_EDATA;
		}
		if (rv == MCN_OK && r.seq != n + 1) {
			if (n == 0)
				snprintf(why, sizeof(why),
				    "seq %llu at the start of the log (records "
				    "deleted?)",
				    (unsigned long long)r.seq);
			else
				snprintf(why, sizeof(why),
				    "seq %llu follows %llu (record deleted or "
				    "reordered?)",
				    (unsigned long long)r.seq,
				    (unsigned long long)n);
			rv = MCN_EDATA;
		}
		if (rv == MCN_OK && strcmp(r.prev, prev) != 0) {
			if (n == 0)
				snprintf(why, sizeof(why),
				    "prev of the first record is not zero");
			else
				snprintf(why, sizeof(why),
				    "prev does not match line %llu's hash "
				    "(record inserted, deleted or reordered?)",
				    (unsigned long long)n);
			rv = MCN_EDATA;
		}
		if (rv == MCN_OK && n > 0 && strcmp(r.node, node) != 0) {
			snprintf(why, sizeof(why),
			    "node differs from the records before it");
			rv = MCN_EDATA;
		}
		if (rv == MCN_OK && n == 0 && strcmp(r.event, "start") != 0) {
			snprintf(why, sizeof(why),
			    "the first record is not a start record");
			rv = MCN_EDATA;
		}
		if (rv == MCN_OK) {
			int is_start = r.cert != NULL;
			vr = v->verify(v->ctx, r.node, MCN_ROLE_NODE,
			    is_start ? r.cert : cert,
			    is_start ? r.certlen : certlen, r.digest,
			    sizeof(r.digest), r.sig, r.siglen, NULL);
			if (vr == MCN_ENOMEM) {
				rv = vr;
				audit_msg(err, errlen, "%s: out of memory",
				    path);
				goto out;
			}
			if (vr == MCN_ECERT && is_start)
				snprintf(why, sizeof(why),
				    "its certificate is not a valid node "
				    "certificate of this consortium for "
				    "this node");
			else if (vr == MCN_ECERT)
				snprintf(why, sizeof(why),
				    "the certificate of the start record at "
				    "line %llu is not valid now (expired?)",
				    (unsigned long long)start_line);
			else if (vr != MCN_OK)
				snprintf(why, sizeof(why), "bad signature");
			if (vr != MCN_OK)
				rv = MCN_EDATA;
		}
		if (rv != MCN_OK) {
			audit_msg(err, errlen, "%s: record at line %llu: %s",
			    path, (unsigned long long)lr.lineno, why);
			if (bad_seq != NULL)
				*bad_seq = lr.lineno;
			goto out;
		}
		if (r.cert != NULL) {
			mcn_free(cert, certlen);
			cert = r.cert;
			certlen = r.certlen;
			r.cert = NULL;
			r.certlen = 0;
			start_line = lr.lineno;
		}
		if (n == 0)
			snprintf(node, sizeof(node), "%s", r.node);
		memcpy(prev, r.hash, sizeof(prev));
		n++;
	}
	if (nrecords != NULL)
		*nrecords = n;
	if (head != NULL)
		memcpy(head, prev, sizeof(prev));
	rv = MCN_OK;
out:
	arec_clear(&r);
	mcn_free(cert, certlen);
	lr_done(&lr);
	if (fd >= 0)
		close(fd);
	return (rv);
}

mcn_err
mcn_audit_each(const char *path,
    int (*fn)(void *ctx, uint64_t line, json_t *rec), void *ctx, char *err,
    size_t errlen)
{
	lreader lr = { 0 };
	const char *line;
	size_t len;
	off_t off;
	json_error_t je;
	json_t *o;
	int k, e = 0, fd = -1, stop;
	mcn_err rv;

	MCN_MUST(path != NULL && fn != NULL);
	if ((rv = audit_open_read(&fd, path, err, errlen)) != MCN_OK)
		return (rv);
	if ((rv = lr_init(&lr, fd)) != MCN_OK) {
		audit_msg(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		k = lr_next(&lr, &line, &len, &off, &e);
		if (k == LR_END)
			break;
		if (k != LR_LINE) {
			rv = audit_lr_fail(k, e, path, lr.lineno, err, errlen);
			goto out;
		}
		o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
		if (o == NULL || !json_is_object(o)) {
			json_decref(o);
			audit_msg(err, errlen,
			    "%s: record at line %llu: not a JSON object", path,
			    (unsigned long long)lr.lineno);
			rv = MCN_EDATA;
			goto out;
		}
		stop = fn(ctx, lr.lineno, o);
		json_decref(o);
		if (stop)
			break;
	}
	rv = MCN_OK;
out:
	lr_done(&lr);
	if (fd >= 0)
		close(fd);
	return (rv);
}

/* ---- filters ------------------------------------------------------------- */

int
mcn_audit_date_valid(const char *s)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	int y, m, d, dim;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return (0);
	for (int i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return (0);
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12)
		return (0);
	dim = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		dim = 29;
	return (d >= 1 && d <= dim);
}

static int
audit_eq(const json_t *rec, const char *key, const char *want)
{
	json_t *v;

	if (want == NULL)
		return (1);
	v = json_object_get(rec, key);
	return (json_is_string(v) && strcmp(json_string_value(v), want) == 0);
}

int
mcn_audit_match(const mcn_audit_filter *f, const json_t *rec)
{
	json_t *t;
	const char *ts;

	if (f == NULL)
		return (1);
	if (!audit_eq(rec, "querier", f->querier) ||
	    !audit_eq(rec, "decision", f->decision) ||
	    !audit_eq(rec, "event", f->event))
		return (0);
	if (f->since == NULL && f->until == NULL)
		return (1);
	/* "YYYY-MM-DDT...": the date prefix compares as text. */
	t = json_object_get(rec, "time");
	if (!json_is_string(t) || strlen(ts = json_string_value(t)) < 10)
		return (0);
	if (f->since != NULL && strncmp(ts, f->since, 10) < 0)
		return (0);
	if (f->until != NULL && strncmp(ts, f->until, 10) > 0)
		return (0);
	return (1);
}
