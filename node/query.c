/*
 * node/query.c - the query language front end: lexer, recursive-descent
 * parser and checker. The parser resolves every name against the
 * dictionary as it goes, checks each literal against its column, and
 * emits the WHERE clause directly as parameterized SQL (literals become
 * '?' parameters bound at evaluation; identifiers come only from the
 * dictionary and are quoted). The planner (query_plan.c) then derives the
 * vector layout and the scan.
 *
 * Everything a query owns lives in one arena (mcnq_alloc), so a failure at
 * any point frees cleanly with one call.
 */
#define _POSIX_C_SOURCE 200809L
#define MCN_QUERY_INTERNAL

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/mem.h"
#include "node/query.h"

/* ---------------------------------------------------------------- */
/* arena, strings, messages */

struct mcnq_arena {
	struct mcnq_arena *next;
	size_t cap, used;
	size_t pad_;
	unsigned char data[];
};

_Static_assert(offsetof(struct mcnq_arena, data) % 16 == 0,
    "arena data must be 16-byte aligned");

#define ARENA_CHUNK 16384

void *
mcnq_alloc(mcnq_arena **a, size_t size)
{
	struct mcnq_arena *c = *a;
	void *p;

	size = (size + 15) & ~(size_t)15;
	if (size == 0) {
		size = 16;
	}
	if (c == NULL || c->cap - c->used < size) {
		size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		if (cap > SIZE_MAX - sizeof(*c)) {
			return NULL;
		}
		c = mcn_zalloc(sizeof(*c) + cap);
		if (c == NULL) {
			return NULL;
		}
		c->cap = cap;
		c->next = *a;
		*a = c;
	}
	p = c->data + c->used;
	c->used += size;
	return p;
}

char *
mcnq_strndup(mcnq_arena **a, const char *s, size_t len)
{
	char *p = mcnq_alloc(a, len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

void
mcnq_arena_free(mcnq_arena *a)
{
	while (a != NULL) {
		mcnq_arena *next = a->next;
		mcn_free(a, sizeof(*a) + a->cap);
		a = next;
	}
}

void
mcnq_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
mcnq_sb_add(mcnq_sbuf *b, const char *s, size_t n)
{
	if (b->oom) {
		return;
	}
	if (b->cap - b->len <= n) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;
		while (cap - b->len <= n) {
			cap *= 2;
		}
		p = mcn_alloc(cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		if (b->p != NULL) {
			memcpy(p, b->p, b->len);
		}
		mcn_free(b->p, b->cap);
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
mcnq_sb_puts(mcnq_sbuf *b, const char *s)
{
	mcnq_sb_add(b, s, strlen(s));
}

/* Brackets, not double quotes: SQLite reads a double-quoted name that is
 * not a column as a string literal (its "DQS" compatibility rule), which
 * would turn a missing column into a constant instead of an error.
 * Dictionary names are [a-z_][a-z0-9_]*, so they never contain ']'. */
void
mcnq_sb_ident(mcnq_sbuf *b, const char *name)
{
	MCN_MUST(strchr(name, ']') == NULL);
	mcnq_sb_add(b, "[", 1);
	mcnq_sb_puts(b, name);
	mcnq_sb_add(b, "]", 1);
}

void
mcnq_sb_free(mcnq_sbuf *b)
{
	mcn_free(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
}

void
mcnq_dec_format(char *out, size_t outlen, mcnq_dec v)
{
	char digits[32];
	uint64_t m =
	    v.mant < 0 ? (uint64_t)0 - (uint64_t)v.mant : (uint64_t)v.mant;
	int n = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)m);
	char buf[64];
	size_t k = 0;

	if (v.mant < 0) {
		buf[k++] = '-';
	}
	if (v.scale == 0) {
		memcpy(buf + k, digits, (size_t)n);
		k += (size_t)n;
	} else if ((unsigned)n <= v.scale) {
		buf[k++] = '0';
		buf[k++] = '.';
		for (unsigned i = (unsigned)n; i < v.scale; i++) {
			buf[k++] = '0';
		}
		memcpy(buf + k, digits, (size_t)n);
		k += (size_t)n;
	} else {
		size_t ip = (size_t)n - v.scale;
		memcpy(buf + k, digits, ip);
		k += ip;
		buf[k++] = '.';
		memcpy(buf + k, digits + ip, v.scale);
		k += v.scale;
	}
	buf[k] = '\0';
	snprintf(out, outlen, "%s", buf);
}

const char *
mcn_query_agg_kind_name(mcn_query_agg_kind k)
{
	switch (k) {
	case MCN_QUERY_COUNT:
	case MCN_QUERY_COUNT_X: return "count";
	case MCN_QUERY_SUM: return "sum";
	case MCN_QUERY_MEAN: return "mean";
	case MCN_QUERY_VAR: return "var";
	case MCN_QUERY_SD: return "sd";
	case MCN_QUERY_HISTOGRAM: return "histogram";
	case MCN_QUERY_TABLE: return "table";
	case MCN_QUERY_LINEAR: return "linear";
	case MCN_QUERY_LOGISTIC: return "logistic";
	case MCN_QUERY_COR: return "cor";
	case MCN_QUERY_SURVIVAL: return "survival";
	case MCN_QUERY_QUANTILE: return "quantile";
	}
	return "?";
}

/* ---------------------------------------------------------------- */
/* lexer */

typedef enum {
	T_EOF = 0,
	T_WORD,
	T_NUM,
	T_STR,
	T_LP,
	T_RP,
	T_COMMA,
	T_STAR,
	T_SEMI,
	T_OP,
	T_TILDE, /* linear formulas */
	T_PLUS,
} tok_type;

typedef enum { OP_EQ = 1, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE } op_kind;

typedef struct {
	tok_type type;
	size_t pos, len; /* 0-based byte offset and length in the text */
	op_kind op;
} tok;

typedef struct {
	const char *text;
	size_t len;
	size_t next; /* where the next token starts scanning */
	tok t;       /* current token */
	mcn_query *q;
	const mcn_dict *d;
	char *err;
	size_t errlen;
	mcnq_sbuf sql; /* the WHERE clause */
	size_t nconds;
	size_t capparams;
	unsigned use; /* MCN_QUERY_USE_* of the columns being read */
} parser;

/* The text of the current token for messages: at most 24 bytes, bytes
 * that are not printable ASCII escaped as \xHH. */
static void
p_near(const parser *p, char *out, size_t outlen)
{
	size_t k = 0, n = p->t.len > 24 ? 24 : p->t.len;

	for (size_t i = 0; i < n && k + 5 < outlen; i++) {
		unsigned char c = (unsigned char)p->text[p->t.pos + i];
		if (c >= 0x20 && c < 0x7f) {
			out[k++] = (char)c;
		} else {
			k +=
			    (size_t)snprintf(out + k, outlen - k, "\\x%02x", c);
		}
	}
	if (n < p->t.len && k + 4 < outlen) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static mcn_err
p_syntax(parser *p, const char *expected)
{
	char near[128];

	if (p->t.type == T_EOF) {
		mcnq_msg(p->err, p->errlen,
		    "syntax error at position %zu "
		    "(near end of query): expected %s",
		    p->t.pos + 1, expected);
	} else {
		p_near(p, near, sizeof(near));
		mcnq_msg(p->err, p->errlen,
		    "syntax error at position %zu "
		    "(near '%s'): expected %s",
		    p->t.pos + 1, near, expected);
	}
	return MCN_EQUERY;
}

static int
is_word_start(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_word_char(int c)
{
	return is_word_start(c) || (c >= '0' && c <= '9');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Scans the next token into p->t. MCN_EQUERY on a lexical error. */
static mcn_err
p_lex(parser *p)
{
	const char *s = p->text;
	size_t i = p->next, n = p->len;
	char near[16];

	while (i < n &&
	    (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' ||
	        s[i] == '\f' || s[i] == '\v')) {
		i++;
	}
	p->t.pos = i;
	p->t.op = 0;
	if (i >= n) {
		p->t.type = T_EOF;
		p->t.len = 0;
		p->next = i;
		return MCN_OK;
	}
	int c = (unsigned char)s[i];
	size_t start = i;
	if (is_word_start(c)) {
		while (i < n && is_word_char((unsigned char)s[i])) {
			i++;
		}
		p->t.type = T_WORD;
	} else if (is_digit(c) ||
	    (c == '.' && i + 1 < n && is_digit((unsigned char)s[i + 1])) ||
	    ((c == '+' || c == '-') && i + 1 < n &&
	        (is_digit((unsigned char)s[i + 1]) ||
	            (s[i + 1] == '.' && i + 2 < n &&
	                is_digit((unsigned char)s[i + 2]))))) {
		if (c == '+' || c == '-') {
			i++;
		}
		while (i < n && is_digit((unsigned char)s[i])) {
			i++;
		}
		if (i < n && s[i] == '.') {
			i++;
			while (i < n && is_digit((unsigned char)s[i])) {
				i++;
			}
		}
		p->t.type = T_NUM;
	} else if (c == '\'') {
		i++;
		for (;;) {
			if (i >= n) {
				mcnq_msg(p->err, p->errlen,
				    "syntax error at "
				    "position %zu: unterminated string",
				    start + 1);
				return MCN_EQUERY;
			}
			if (s[i] == '\'') {
				if (i + 1 < n && s[i + 1] == '\'') {
					i += 2;
					continue;
				}
				i++;
				break;
			}
			i++;
		}
		p->t.type = T_STR;
	} else {
		i++;
		switch (c) {
		case '(': p->t.type = T_LP; break;
		case ')': p->t.type = T_RP; break;
		case ',': p->t.type = T_COMMA; break;
		case '*': p->t.type = T_STAR; break;
		case ';': p->t.type = T_SEMI; break;
		case '~': p->t.type = T_TILDE; break;
		case '+': p->t.type = T_PLUS; break;
		case '=':
			p->t.type = T_OP;
			p->t.op = OP_EQ;
			break;
		case '<':
			p->t.type = T_OP;
			p->t.op = OP_LT;
			if (i < n && s[i] == '=') {
				p->t.op = OP_LE;
				i++;
			} else if (i < n && s[i] == '>') {
				p->t.op = OP_NE;
				i++;
			}
			break;
		case '>':
			p->t.type = T_OP;
			p->t.op = OP_GT;
			if (i < n && s[i] == '=') {
				p->t.op = OP_GE;
				i++;
			}
			break;
		case '!':
			if (i < n && s[i] == '=') {
				p->t.type = T_OP;
				p->t.op = OP_NE;
				i++;
				break;
			}
			/* FALLTHROUGH */
		default:
			if (c >= 0x20 && c < 0x7f) {
				snprintf(near, sizeof(near), "%c", c);
			} else {
				snprintf(near, sizeof(near), "\\x%02x", c);
			}
			mcnq_msg(p->err, p->errlen,
			    "syntax error at position "
			    "%zu (near '%s'): unexpected character",
			    start + 1, near);
			return MCN_EQUERY;
		}
	}
	p->t.len = i - start;
	p->next = i;
	return MCN_OK;
}

/* Is the current token the keyword kw (upper case, compared without
 * regard to case)? */
static int
p_is(const parser *p, const char *kw)
{
	size_t n = strlen(kw);

	if (p->t.type != T_WORD || p->t.len != n) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (toupper((unsigned char)p->text[p->t.pos + i]) != kw[i]) {
			return 0;
		}
	}
	return 1;
}

static const char *const reserved[] = {
	"SELECT",
	"FROM",
	"WHERE",
	"GROUP",
	"BY",
	"AS",
	"AND",
	"OR",
	"NOT",
	"BETWEEN",
	"IN",
	"LIKE",
	"IS",
	"NULL",
};

static int
p_is_reserved(const parser *p)
{
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (p_is(p, reserved[i])) {
			return 1;
		}
	}
	return 0;
}

/* Expects the current token to be of type ty (or the keyword kw if not
 * NULL), consumes it. */
static mcn_err
p_expect(parser *p, tok_type ty, const char *kw, const char *what)
{
	if (kw != NULL ? !p_is(p, kw) : p->t.type != ty) {
		return p_syntax(p, what);
	}
	return p_lex(p);
}

/* ---------------------------------------------------------------- */
/* literals */

typedef struct {
	int is_num;
	size_t pos; /* 0-based */
	/* string: unescaped, in the arena */
	char *s;
	size_t slen;
	/* number */
	int exact; /* value == dec exactly */
	mcnq_dec dec;
	double d;
} literal;

static const double pow10_tab[] = {
	1e0,
	1e1,
	1e2,
	1e3,
	1e4,
	1e5,
	1e6,
	1e7,
	1e8,
	1e9,
	1e10,
	1e11,
	1e12,
	1e13,
	1e14,
	1e15,
	1e16,
	1e17,
	1e18,
	1e19,
	1e20,
	1e21,
	1e22,
};

/* A numeric token -> exact decimal (if at most 18 fraction digits and the
 * mantissa fits int64) and the nearest double. */
static void
num_parse(const char *s, size_t len, literal *L)
{
	size_t i = 0;
	int neg = 0, overflow = 0;
	uint64_t m = 0;
	unsigned scale = 0;
	size_t fstart, fend;

	if (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-';
		i++;
	}
	for (; i < len && is_digit((unsigned char)s[i]); i++) {
		unsigned dg = (unsigned)(s[i] - '0');
		if (m > (UINT64_MAX - dg) / 10) {
			overflow = 1;
		} else {
			m = m * 10 + dg;
		}
	}
	if (i < len && s[i] == '.') {
		i++;
	}
	fstart = i;
	fend = len;
	while (fend > fstart && s[fend - 1] == '0') {
		fend--;
	}
	for (size_t j = fstart; j < fend; j++) {
		unsigned dg = (unsigned)(s[j] - '0');
		if (m > (UINT64_MAX - dg) / 10) {
			overflow = 1;
		} else {
			m = m * 10 + dg;
		}
		scale++;
	}
	L->is_num = 1;
	L->exact = !overflow && scale <= 18 && m <= (uint64_t)INT64_MAX;
	if (L->exact) {
		L->dec.mant = neg ? -(int64_t)m : (int64_t)m;
		L->dec.scale = scale;
		if (m == 0) {
			L->dec.scale = 0;
		}
	}
	if (L->exact && m <= (UINT64_C(1) << 53) && L->dec.scale <= 22) {
		/* Both operands exact doubles: the quotient is correctly
		 * rounded, as strtod would give, without locale effects. */
		L->d = (double)L->dec.mant / pow10_tab[L->dec.scale];
	} else {
		char buf[MCN_QUERY_MAX_TEXT + 1];
		memcpy(buf, s, len);
		buf[len] = '\0';
		L->d = strtod(buf, NULL);
	}
}

/* Reads the current token as a literal and consumes it. */
static mcn_err
p_literal(parser *p, literal *L, const char *what)
{
	memset(L, 0, sizeof(*L));
	L->pos = p->t.pos;
	if (p->t.type == T_NUM) {
		num_parse(p->text + p->t.pos, p->t.len, L);
	} else if (p->t.type == T_STR) {
		const char *s = p->text + p->t.pos + 1;
		size_t n = p->t.len - 2, k = 0;
		L->s = mcnq_alloc(&p->q->arena, n + 1);
		if (L->s == NULL) {
			return MCN_ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			L->s[k++] = s[i];
			if (s[i] == '\'') {
				i++; /* '' -> ' */
			}
		}
		L->s[k] = '\0';
		L->slen = k;
	} else {
		return p_syntax(p, what);
	}
	return p_lex(p);
}

/* ---------------------------------------------------------------- */
/* names */

/* Reads a column name at the current token and consumes it. */
static mcn_err
p_column(parser *p, int *idx, const char *what)
{
	char name[MCN_DICT_NAME_MAX + 1];
	const mcn_column *c = NULL;
	int upper = 0;

	if (p->t.type != T_WORD || p_is_reserved(p)) {
		return p_syntax(p, what);
	}
	if (p->t.len <= MCN_DICT_NAME_MAX) {
		memcpy(name, p->text + p->t.pos, p->t.len);
		name[p->t.len] = '\0';
		c = mcn_dict_find(p->d, name);
		for (size_t i = 0; i < p->t.len; i++) {
			upper |= name[i] >= 'A' && name[i] <= 'Z';
		}
	}
	if (c == NULL) {
		char near[128];
		p_near(p, near, sizeof(near));
		mcnq_msg(p->err, p->errlen,
		    "unknown column '%s' at position "
		    "%zu%s",
		    near, p->t.pos + 1,
		    upper ? " (column names are lower-case)" : "");
		return MCN_EQUERY;
	}
	if (c->consent) {
		mcnq_msg(p->err, p->errlen,
		    "column '%s' at position %zu is a consent column: it "
		    "filters every query and cannot be named in one",
		    c->name, p->t.pos + 1);
		return MCN_EQUERY;
	}
	*idx = (int)(c - p->d->cols);
	p->q->used[*idx] |= (unsigned char)p->use;
	return p_lex(p);
}

static const char *
col_name(const parser *p, int idx)
{
	return p->d->cols[idx].name;
}

/* ---------------------------------------------------------------- */
/* WHERE: predicates emitted as SQL */

static mcn_err
p_param(parser *p, mcnq_param **out)
{
	if (p->q->nparams >= p->capparams) {
		mcnq_msg(p->err, p->errlen,
		    "too many values in the WHERE "
		    "clause (more than %d)",
		    MCN_QUERY_MAX_PARAMS);
		return MCN_EQUERY;
	}
	*out = &p->q->params[p->q->nparams++];
	mcnq_sb_puts(&p->sql, "?");
	return MCN_OK;
}

typedef enum { CLS_EQ = 1, CLS_ORD, CLS_LIKE } op_class;

static const char *
op_text(op_kind op)
{
	switch (op) {
	case OP_EQ: return "=";
	case OP_NE: return "<>";
	case OP_LT: return "<";
	case OP_LE: return "<=";
	case OP_GT: return ">";
	case OP_GE: return ">=";
	}
	return "?";
}

/* Appends the level list of c to a message ("F, M"), truncated. */
static void
levels_text(char *out, size_t outlen, const mcn_column *c)
{
	size_t k = 0;

	out[0] = '\0';
	for (size_t i = 0; i < c->nlevels; i++) {
		size_t need = strlen(c->levels[i]) + 2;
		if (k + need + 5 >= outlen || k > 200) {
			snprintf(out + k, outlen - k, "%s...", i ? ", " : "");
			return;
		}
		k += (size_t)snprintf(out + k, outlen - k, "%s%s",
		    i ? ", " : "", c->levels[i]);
	}
}

/* Checks literal L against column col used with an operator of class cls
 * (opname for messages) and emits one bound parameter for it. */
static mcn_err
p_bind_literal(parser *p, int col, const literal *L, op_class cls,
    const char *opname)
{
	const mcn_column *c = &p->d->cols[col];
	mcnq_param *pr;
	mcn_err rv;

	switch (c->type) {
	case MCN_COL_INTEGER:
	case MCN_COL_REAL:
		if (!L->is_num) {
			mcnq_msg(p->err, p->errlen,
			    "column '%s' is %s: "
			    "expected a number at position %zu, not a string",
			    c->name, mcn_col_type_name(c->type), L->pos + 1);
			return MCN_EQUERY;
		}
		if ((rv = p_param(p, &pr)) != MCN_OK) {
			return rv;
		}
		if (c->type == MCN_COL_INTEGER && L->exact &&
		    L->dec.scale == 0) {
			pr->type = MCNQ_P_INT;
			pr->i = L->dec.mant;
		} else if (c->type == MCN_COL_INTEGER && cls == CLS_EQ) {
			mcnq_msg(p->err, p->errlen,
			    "column '%s' is integer: "
			    "the number at position %zu is not an integer "
			    "(use <, <=, >, >= or BETWEEN to compare with a "
			    "non-integer)",
			    c->name, L->pos + 1);
			return MCN_EQUERY;
		} else {
			pr->type = MCNQ_P_REAL;
			pr->d = L->d;
		}
		return MCN_OK;
	case MCN_COL_CATEGORICAL:
		if (L->is_num) {
			mcnq_msg(p->err, p->errlen,
			    "column '%s' is "
			    "categorical: expected a quoted level at position "
			    "%zu",
			    c->name, L->pos + 1);
			return MCN_EQUERY;
		}
		if (cls == CLS_ORD) {
			mcnq_msg(p->err, p->errlen,
			    "operator '%s' cannot be "
			    "used with categorical column '%s' (use =, <>, IN "
			    "or LIKE)",
			    opname, c->name);
			return MCN_EQUERY;
		}
		if (mcn_dict_level_index(c, L->s) < 0) {
			char lv[256], lit[80];
			levels_text(lv, sizeof(lv), c);
			snprintf(lit, sizeof(lit), "%.64s%s", L->s,
			    L->slen > 64 ? "..." : "");
			mcnq_msg(p->err, p->errlen,
			    "'%s' is not a level of "
			    "column '%s' (levels: %s)",
			    lit, c->name, lv);
			return MCN_EQUERY;
		}
		if ((rv = p_param(p, &pr)) != MCN_OK) {
			return rv;
		}
		pr->type = MCNQ_P_TEXT;
		pr->s = L->s;
		pr->slen = (int)L->slen;
		return MCN_OK;
	case MCN_COL_CODE:
		if (L->is_num) {
			mcnq_msg(p->err, p->errlen,
			    "column '%s' is a code: "
			    "expected a quoted string at position %zu",
			    c->name, L->pos + 1);
			return MCN_EQUERY;
		}
		for (size_t i = 0; i < L->slen; i++) {
			L->s[i] = (char)toupper((unsigned char)L->s[i]);
		}
		if ((rv = p_param(p, &pr)) != MCN_OK) {
			return rv;
		}
		pr->type = MCNQ_P_TEXT;
		pr->s = L->s;
		pr->slen = (int)L->slen;
		return MCN_OK;
	case MCN_COL_DATE: {
		int32_t days;
		char *canon;
		if (L->is_num || L->slen != 10 ||
		    mcn_date_parse(L->s, &days) != MCN_OK) {
			mcnq_msg(p->err, p->errlen,
			    "column '%s' is a date: "
			    "expected 'YYYY-MM-DD' at position %zu",
			    c->name, L->pos + 1);
			return MCN_EQUERY;
		}
		canon = mcnq_alloc(&p->q->arena, 11);
		if (canon == NULL) {
			return MCN_ENOMEM;
		}
		mcn_date_format(canon, days);
		if ((rv = p_param(p, &pr)) != MCN_OK) {
			return rv;
		}
		pr->type = MCNQ_P_TEXT;
		pr->s = canon;
		pr->slen = 10;
		return MCN_OK;
	}
	}
	return MCN_EQUERY;
}

static mcn_err p_or(parser *p, unsigned depth);

static mcn_err
p_count_cond(parser *p)
{
	if (++p->nconds > MCN_QUERY_MAX_CONDS) {
		mcnq_msg(p->err, p->errlen,
		    "too many conditions in WHERE "
		    "(more than %d)",
		    MCN_QUERY_MAX_CONDS);
		return MCN_EQUERY;
	}
	return MCN_OK;
}

/* col IN (v, ...) after IN; emits "(col [NOT] IN (?, ...))". */
static mcn_err
p_in(parser *p, int col, int neg)
{
	literal L;
	mcn_err rv;
	size_t n = 0;

	if ((rv = p_expect(p, T_LP, NULL, "'(' after IN")) != MCN_OK) {
		return rv;
	}
	mcnq_sb_puts(&p->sql, "(");
	mcnq_sb_ident(&p->sql, col_name(p, col));
	mcnq_sb_puts(&p->sql, neg ? " NOT IN (" : " IN (");
	for (;;) {
		if (++n > MCN_QUERY_MAX_IN) {
			mcnq_msg(p->err, p->errlen,
			    "too many values in the "
			    "IN list at position %zu (more than %d)",
			    p->t.pos + 1, MCN_QUERY_MAX_IN);
			return MCN_EQUERY;
		}
		if ((rv = p_literal(p, &L, "a number or a string")) != MCN_OK) {
			return rv;
		}
		if ((rv = p_bind_literal(p, col, &L, CLS_EQ, "IN")) != MCN_OK) {
			return rv;
		}
		if (p->t.type == T_COMMA) {
			mcnq_sb_puts(&p->sql, ", ");
			if ((rv = p_lex(p)) != MCN_OK) {
				return rv;
			}
			continue;
		}
		if ((rv = p_expect(p, T_RP, NULL, "',' or ')'")) != MCN_OK) {
			return rv;
		}
		break;
	}
	mcnq_sb_puts(&p->sql, "))");
	return MCN_OK;
}

/* col LIKE 'prefix%' after LIKE: "(substr(col, 1, ?) [<>|=] ?)". */
static mcn_err
p_like(parser *p, int col, int neg)
{
	const mcn_column *c = &p->d->cols[col];
	literal L;
	mcnq_param *pr;
	mcn_err rv;
	size_t chars = 0;

	if (c->type != MCN_COL_CODE && c->type != MCN_COL_CATEGORICAL) {
		mcnq_msg(p->err, p->errlen,
		    "LIKE needs a code or "
		    "categorical column; '%s' is %s",
		    c->name, mcn_col_type_name(c->type));
		return MCN_EQUERY;
	}
	if (p->t.type != T_STR) {
		return p_syntax(p, "a quoted pattern such as 'E11%'");
	}
	if ((rv = p_literal(p, &L, "a quoted pattern")) != MCN_OK) {
		return rv;
	}
	if (L.slen == 0 || L.s[L.slen - 1] != '%' ||
	    memchr(L.s, '%', L.slen - 1) != NULL ||
	    memchr(L.s, '_', L.slen) != NULL) {
		mcnq_msg(p->err, p->errlen,
		    "LIKE pattern at position %zu "
		    "must be literal characters followed by one trailing "
		    "'%%' (no '_' and no other '%%')",
		    L.pos + 1);
		return MCN_EQUERY;
	}
	L.slen--;
	L.s[L.slen] = '\0';
	if (c->type == MCN_COL_CODE) {
		for (size_t i = 0; i < L.slen; i++) {
			L.s[i] = (char)toupper((unsigned char)L.s[i]);
		}
	}
	for (size_t i = 0; i < L.slen; i++) {
		/* substr() counts UTF-8 characters, not bytes */
		chars += ((unsigned char)L.s[i] & 0xc0) != 0x80;
	}
	mcnq_sb_puts(&p->sql, "(substr(");
	mcnq_sb_ident(&p->sql, c->name);
	mcnq_sb_puts(&p->sql, ", 1, ");
	if ((rv = p_param(p, &pr)) != MCN_OK) {
		return rv;
	}
	pr->type = MCNQ_P_INT;
	pr->i = (int64_t)chars;
	mcnq_sb_puts(&p->sql, neg ? ") <> " : ") = ");
	if ((rv = p_param(p, &pr)) != MCN_OK) {
		return rv;
	}
	pr->type = MCNQ_P_TEXT;
	pr->s = L.s;
	pr->slen = (int)L.slen;
	mcnq_sb_puts(&p->sql, ")");
	return MCN_OK;
}

static mcn_err
p_predicate(parser *p)
{
	literal L, L2;
	mcn_err rv;
	int col, neg = 0;

	if ((rv = p_column(p, &col, "a column name, NOT or '('")) != MCN_OK) {
		return rv;
	}
	if ((rv = p_count_cond(p)) != MCN_OK) {
		return rv;
	}
	if (p->t.type == T_OP) {
		op_kind op = p->t.op;
		const char *ot = op_text(op);
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		if ((rv = p_literal(p, &L, "a number or a string")) != MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, "(");
		mcnq_sb_ident(&p->sql, col_name(p, col));
		mcnq_sb_puts(&p->sql, " ");
		mcnq_sb_puts(&p->sql, ot);
		mcnq_sb_puts(&p->sql, " ");
		rv = p_bind_literal(p, col, &L,
		    op == OP_EQ || op == OP_NE ? CLS_EQ : CLS_ORD, ot);
		if (rv != MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, ")");
		return MCN_OK;
	}
	if (p_is(p, "IS")) {
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		if (p_is(p, "NOT")) {
			neg = 1;
			if ((rv = p_lex(p)) != MCN_OK) {
				return rv;
			}
		}
		if ((rv = p_expect(p, T_WORD, "NULL",
		         neg ? "NULL" : "NULL or NOT NULL")) != MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, "(");
		mcnq_sb_ident(&p->sql, col_name(p, col));
		mcnq_sb_puts(&p->sql, neg ? " IS NOT NULL)" : " IS NULL)");
		return MCN_OK;
	}
	if (p_is(p, "NOT")) {
		neg = 1;
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		if (!p_is(p, "BETWEEN") && !p_is(p, "IN") && !p_is(p, "LIKE")) {
			return p_syntax(p, "BETWEEN, IN or LIKE after NOT");
		}
	}
	if (p_is(p, "BETWEEN")) {
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		if ((rv = p_literal(p, &L, "a number or a string")) != MCN_OK) {
			return rv;
		}
		if ((rv = p_expect(p, T_WORD, "AND", "AND (of BETWEEN)")) !=
		    MCN_OK) {
			return rv;
		}
		if ((rv = p_literal(p, &L2, "a number or a string")) !=
		    MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, "(");
		mcnq_sb_ident(&p->sql, col_name(p, col));
		mcnq_sb_puts(&p->sql, neg ? " NOT BETWEEN " : " BETWEEN ");
		if ((rv = p_bind_literal(p, col, &L, CLS_ORD, "BETWEEN")) !=
		    MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, " AND ");
		if ((rv = p_bind_literal(p, col, &L2, CLS_ORD, "BETWEEN")) !=
		    MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, ")");
		return MCN_OK;
	}
	if (p_is(p, "IN")) {
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		return p_in(p, col, neg);
	}
	if (p_is(p, "LIKE")) {
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		return p_like(p, col, neg);
	}
	return p_syntax(p, "a comparison operator, BETWEEN, IN, LIKE or IS");
}

static mcn_err
p_depth(parser *p, unsigned depth)
{
	if (depth >= MCN_QUERY_MAX_DEPTH) {
		mcnq_msg(p->err, p->errlen,
		    "conditions nested too deeply at "
		    "position %zu (more than %d levels)",
		    p->t.pos + 1, MCN_QUERY_MAX_DEPTH);
		return MCN_EQUERY;
	}
	return MCN_OK;
}

static mcn_err
p_not(parser *p, unsigned depth)
{
	mcn_err rv;

	if (p_is(p, "NOT")) {
		if ((rv = p_depth(p, depth + 1)) != MCN_OK ||
		    (rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, "(NOT ");
		if ((rv = p_not(p, depth + 1)) != MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, ")");
		return MCN_OK;
	}
	if (p->t.type == T_LP) {
		if ((rv = p_depth(p, depth + 1)) != MCN_OK ||
		    (rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		if ((rv = p_or(p, depth + 1)) != MCN_OK) {
			return rv;
		}
		return p_expect(p, T_RP, NULL, "')', AND or OR");
	}
	return p_predicate(p);
}

static mcn_err
p_and(parser *p, unsigned depth)
{
	mcn_err rv;

	mcnq_sb_puts(&p->sql, "(");
	if ((rv = p_not(p, depth)) != MCN_OK) {
		return rv;
	}
	while (p_is(p, "AND")) {
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, " AND ");
		if ((rv = p_not(p, depth)) != MCN_OK) {
			return rv;
		}
	}
	mcnq_sb_puts(&p->sql, ")");
	return MCN_OK;
}

static mcn_err
p_or(parser *p, unsigned depth)
{
	mcn_err rv;

	mcnq_sb_puts(&p->sql, "(");
	if ((rv = p_and(p, depth)) != MCN_OK) {
		return rv;
	}
	while (p_is(p, "OR")) {
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		mcnq_sb_puts(&p->sql, " OR ");
		if ((rv = p_and(p, depth)) != MCN_OK) {
			return rv;
		}
	}
	mcnq_sb_puts(&p->sql, ")");
	return MCN_OK;
}

/* ---------------------------------------------------------------- */
/* SELECT list */

static const struct {
	const char *kw;
	mcn_query_agg_kind kind;
} agg_names[] = {
	{ "COUNT", MCN_QUERY_COUNT },
	{ "SUM", MCN_QUERY_SUM },
	{ "MEAN", MCN_QUERY_MEAN },
	{ "VAR", MCN_QUERY_VAR },
	{ "SD", MCN_QUERY_SD },
	{ "HISTOGRAM", MCN_QUERY_HISTOGRAM },
	{ "TABLE", MCN_QUERY_TABLE },
	{ "LINEAR", MCN_QUERY_LINEAR },
	{ "COR", MCN_QUERY_COR },
	{ "SURVIVAL", MCN_QUERY_SURVIVAL },
	{ "LOGISTIC", MCN_QUERY_LOGISTIC },
	{ "LOGISTIC_STEP", MCN_QUERY_LOGISTIC },
	{ "QUANTILE", MCN_QUERY_QUANTILE },
	{ "MEDIAN", MCN_QUERY_QUANTILE },
};

static mcn_err
p_numeric_col(parser *p, int col, const char *agg, size_t pos)
{
	const mcn_column *c = &p->d->cols[col];

	if (c->type != MCN_COL_INTEGER && c->type != MCN_COL_REAL) {
		mcnq_msg(p->err, p->errlen,
		    "%s needs an integer or real "
		    "column; '%s' (position %zu) is %s",
		    agg, c->name, pos + 1, mcn_col_type_name(c->type));
		return MCN_EQUERY;
	}
	return MCN_OK;
}

/* histogram(col, lo, hi, bins) after the column and its comma. */
static mcn_err
p_histogram_args(parser *p, mcnq_agg *a)
{
	literal lo, hi, bins;
	mcn_err rv;

	if (p->t.type != T_NUM) {
		return p_syntax(p, "a number (histogram lower bound)");
	}
	if ((rv = p_literal(p, &lo, "a number")) != MCN_OK ||
	    (rv = p_expect(p, T_COMMA, NULL, "','")) != MCN_OK) {
		return rv;
	}
	if (p->t.type != T_NUM) {
		return p_syntax(p, "a number (histogram upper bound)");
	}
	if ((rv = p_literal(p, &hi, "a number")) != MCN_OK ||
	    (rv = p_expect(p, T_COMMA, NULL, "','")) != MCN_OK) {
		return rv;
	}
	if (p->t.type != T_NUM) {
		return p_syntax(p, "an integer (number of bins)");
	}
	if ((rv = p_literal(p, &bins, "an integer")) != MCN_OK) {
		return rv;
	}
	const literal *bad = !lo.exact || lo.dec.scale > 9 ? &lo :
	    !hi.exact || hi.dec.scale > 9                  ? &hi :
	                                                     NULL;
	if (bad != NULL) {
		mcnq_msg(p->err, p->errlen,
		    "histogram bound at position %zu "
		    "has too many digits (at most 18 significant digits and "
		    "9 decimals)",
		    bad->pos + 1);
		return MCN_EQUERY;
	}
	if (!bins.exact || bins.dec.scale != 0 || bins.dec.mant < 1 ||
	    bins.dec.mant > MCN_QUERY_MAX_BINS) {
		mcnq_msg(p->err, p->errlen,
		    "histogram bins at position %zu "
		    "must be an integer from 1 to %d",
		    bins.pos + 1, MCN_QUERY_MAX_BINS);
		return MCN_EQUERY;
	}
	/* lo < hi, compared exactly at a common scale (<= 10^9 * 2^63) */
	__int128 l = lo.dec.mant, h = hi.dec.mant;
	for (unsigned s = lo.dec.scale; s < 9; s++) {
		l *= 10;
	}
	for (unsigned s = hi.dec.scale; s < 9; s++) {
		h *= 10;
	}
	if (!(l < h)) {
		mcnq_msg(p->err, p->errlen,
		    "histogram lower bound (position "
		    "%zu) must be less than its upper bound",
		    lo.pos + 1);
		return MCN_EQUERY;
	}
	a->lo = lo.dec;
	a->hi = hi.dec;
	a->bins = (unsigned)bins.dec.mant;
	return MCN_OK;
}

/* logistic_step: the coefficients after ';', C99 hexadecimal floating
 * literals ([+-]0xH[.H]p[+-]D) separated by commas, n of them. */
static mcn_err
p_coefs(parser *p, mcnq_agg *a, size_t n)
{
	double v[MCN_QUERY_MAX_PREDICTORS + 1];
	size_t k = 0;
	char buf[64];

	for (;;) {
		size_t i = p->t.pos, start = i, m;
		const char *s = p->text;
		char *end = NULL;
		if (i < p->len && (s[i] == '+' || s[i] == '-')) {
			i++;
		}
		if (!(i + 2 < p->len && s[i] == '0' &&
		        (s[i + 1] == 'x' || s[i + 1] == 'X') &&
		        isxdigit((unsigned char)s[i + 2]))) {
			return p_syntax(p,
			    "a hexadecimal floating literal "
			    "(coefficient)");
		}
		i += 2;
		while (i < p->len &&
		    (isxdigit((unsigned char)s[i]) || s[i] == '.' ||
		        s[i] == 'p' || s[i] == 'P' ||
		        ((s[i] == '+' || s[i] == '-') &&
		            (s[i - 1] == 'p' || s[i - 1] == 'P')))) {
			i++;
		}
		m = i - start;
		if (m >= sizeof(buf)) {
			return p_syntax(p, "a shorter coefficient literal");
		}
		memcpy(buf, s + start, m);
		buf[m] = '\0';
		errno = 0;
		double d = strtod(buf, &end);
		if (end != buf + m || strpbrk(buf, "pP") == NULL) {
			return p_syntax(p,
			    "a hexadecimal floating literal "
			    "(coefficient)");
		}
		if (!isfinite(d) || !(fabs(d) <= MCN_QUERY_MAX_COEF)) {
			mcnq_msg(p->err, p->errlen,
			    "coefficient at position %zu is "
			    "not finite or beyond +-%g",
			    start + 1, MCN_QUERY_MAX_COEF);
			return MCN_EQUERY;
		}
		if (k == n) {
			mcnq_msg(p->err, p->errlen,
			    "logistic_step: more than %zu "
			    "coefficients (position %zu); the model has %zu "
			    "parameters",
			    n, start + 1, n);
			return MCN_EQUERY;
		}
		v[k++] = d;
		p->next = i;
		mcn_err rv = p_lex(p);
		if (rv != MCN_OK) {
			return rv;
		}
		if (p->t.type != T_COMMA) {
			break;
		}
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
	}
	if (k != n) {
		mcnq_msg(p->err, p->errlen,
		    "logistic_step: %zu coefficients "
		    "for %zu parameters (position %zu)",
		    k, n, p->t.pos + 1);
		return MCN_EQUERY;
	}
	a->coef = mcnq_alloc(&p->q->arena, n * sizeof(*a->coef));
	if (a->coef == NULL) {
		return MCN_ENOMEM;
	}
	memcpy(a->coef, v, n * sizeof(*v));
	a->ncoef = n;
	return MCN_OK;
}

/* linear(y ~ x1 + ...) or logistic after its '(': y, '~', predictors
 * (logistic_step: then ';' and the coefficients). */
static mcn_err
p_linear_args(parser *p, mcnq_agg *a)
{
	int cols[MCN_QUERY_MAX_PREDICTORS + 2];
	size_t nc = 0, nterms = 0, pos = p->t.pos;
	const char *an = mcn_query_agg_kind_name(a->kind);
	char what[48];
	mcn_err rv;

	snprintf(what, sizeof(what), "%s (outcome)", an);
	if ((rv = p_column(p, &cols[0], "a column name (the outcome)")) !=
	        MCN_OK ||
	    (rv = p_numeric_col(p, cols[0], what, pos)) != MCN_OK) {
		return rv;
	}
	if (a->kind == MCN_QUERY_LOGISTIC) {
		const mcn_column *c = &p->d->cols[cols[0]];
		if (c->type != MCN_COL_INTEGER || !(c->min >= 0) ||
		    !(c->max <= 1)) {
			mcnq_msg(p->err, p->errlen,
			    "logistic outcome must be an "
			    "integer column declared with range 0..1; '%s' "
			    "(position %zu) is not",
			    c->name, pos + 1);
			return MCN_EQUERY;
		}
	}
	if ((rv = p_expect(p, T_TILDE, NULL, "'~'")) != MCN_OK) {
		return rv;
	}
	nc = 1;
	for (;;) {
		int col;
		pos = p->t.pos;
		if ((rv = p_column(p, &col, "a column name (a predictor)")) !=
		    MCN_OK) {
			return rv;
		}
		const mcn_column *c = &p->d->cols[col];
		if (c->type != MCN_COL_INTEGER && c->type != MCN_COL_REAL &&
		    c->type != MCN_COL_CATEGORICAL) {
			mcnq_msg(p->err, p->errlen,
			    "%s predictors must be "
			    "integer, real or categorical columns; '%s' "
			    "(position %zu) is %s",
			    an, c->name, pos + 1, mcn_col_type_name(c->type));
			return MCN_EQUERY;
		}
		for (size_t j = 0; j < nc; j++) {
			if (cols[j] == col) {
				mcnq_msg(p->err, p->errlen,
				    "%s: column '%s' "
				    "(position %zu) appears twice in the "
				    "formula",
				    an, c->name, pos + 1);
				return MCN_EQUERY;
			}
		}
		nterms += c->type == MCN_COL_CATEGORICAL ? c->nlevels - 1 : 1;
		if (nterms > MCN_QUERY_MAX_PREDICTORS ||
		    nc == MCN_QUERY_MAX_PREDICTORS + 1) {
			mcnq_msg(p->err, p->errlen,
			    "%s takes at most %d "
			    "predictors, counting nlevels - 1 for a "
			    "categorical column (position %zu)",
			    an, MCN_QUERY_MAX_PREDICTORS, pos + 1);
			return MCN_EQUERY;
		}
		cols[nc++] = col;
		if (p->t.type != T_PLUS) {
			break;
		}
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
	}
	if (nterms == 0) {
		mcnq_msg(p->err, p->errlen,
		    "%s needs at least one "
		    "predictor (position %zu)",
		    an, pos + 1);
		return MCN_EQUERY;
	}
	a->vars = mcnq_alloc(&p->q->arena, nc * sizeof(*a->vars));
	if (a->vars == NULL) {
		return MCN_ENOMEM;
	}
	memcpy(a->vars, cols, nc * sizeof(*cols));
	a->nvars = nc;
	if (a->is_step) {
		if (p->t.type != T_SEMI) {
			return p_syntax(p, "'+' or ';' (coefficients)");
		}
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		return p_coefs(p, a, nterms + 1);
	}
	return MCN_OK;
}

/* cor(x, y, ...) after its '('. */
static mcn_err
p_cor_args(parser *p, mcnq_agg *a)
{
	int cols[MCN_QUERY_MAX_COR];
	size_t nc = 0, pos = p->t.pos;
	mcn_err rv;

	for (;;) {
		int col;
		pos = p->t.pos;
		if ((rv = p_column(p, &col, "a column name")) != MCN_OK ||
		    (rv = p_numeric_col(p, col, "cor", pos)) != MCN_OK) {
			return rv;
		}
		for (size_t j = 0; j < nc; j++) {
			if (cols[j] == col) {
				mcnq_msg(p->err, p->errlen,
				    "cor: column '%s' "
				    "(position %zu) given twice",
				    col_name(p, col), pos + 1);
				return MCN_EQUERY;
			}
		}
		if (nc == MCN_QUERY_MAX_COR) {
			mcnq_msg(p->err, p->errlen,
			    "cor takes at most %d "
			    "columns (position %zu)",
			    MCN_QUERY_MAX_COR, pos + 1);
			return MCN_EQUERY;
		}
		cols[nc++] = col;
		if (p->t.type != T_COMMA) {
			break;
		}
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
	}
	if (nc < 2) {
		mcnq_msg(p->err, p->errlen,
		    "cor needs at least 2 columns "
		    "(position %zu)",
		    pos + 1);
		return MCN_EQUERY;
	}
	a->vars = mcnq_alloc(&p->q->arena, nc * sizeof(*a->vars));
	if (a->vars == NULL) {
		return MCN_ENOMEM;
	}
	memcpy(a->vars, cols, nc * sizeof(*cols));
	a->nvars = nc;
	return MCN_OK;
}

/* survival(time, event [, step]) after its '('. */
static mcn_err
p_survival_args(parser *p, mcnq_agg *a)
{
	size_t pos = p->t.pos;
	const mcn_column *c;
	literal st;
	mcn_err rv;

	if ((rv = p_column(p, &a->col, "a column name (time)")) != MCN_OK) {
		return rv;
	}
	c = &p->d->cols[a->col];
	if (c->type != MCN_COL_INTEGER) {
		mcnq_msg(p->err, p->errlen,
		    "survival time must be an integer "
		    "column; '%s' (position %zu) is %s",
		    c->name, pos + 1, mcn_col_type_name(c->type));
		return MCN_EQUERY;
	}
	if ((rv = p_expect(p, T_COMMA, NULL, "','")) != MCN_OK) {
		return rv;
	}
	pos = p->t.pos;
	if ((rv = p_column(p, &a->col2, "a column name (event)")) != MCN_OK) {
		return rv;
	}
	c = &p->d->cols[a->col2];
	if (c->type != MCN_COL_INTEGER || !(c->min >= 0) || !(c->max <= 1) ||
	    a->col2 == a->col) {
		mcnq_msg(p->err, p->errlen,
		    "survival event must be an integer "
		    "column declared with range 0..1 (1 = event, 0 = "
		    "censored), other than the time; '%s' (position %zu) is "
		    "not",
		    c->name, pos + 1);
		return MCN_EQUERY;
	}
	a->step = 1;
	if (p->t.type != T_COMMA) {
		return MCN_OK;
	}
	if ((rv = p_lex(p)) != MCN_OK) {
		return rv;
	}
	if (p->t.type != T_NUM) {
		return p_syntax(p, "an integer (grid step)");
	}
	if ((rv = p_literal(p, &st, "an integer")) != MCN_OK) {
		return rv;
	}
	if (!st.exact || st.dec.scale != 0 || st.dec.mant < 1) {
		mcnq_msg(p->err, p->errlen,
		    "survival grid step at position %zu "
		    "must be a positive integer",
		    st.pos + 1);
		return MCN_EQUERY;
	}
	a->step = st.dec.mant;
	return MCN_OK;
}

void
mcnq_quant_bins(int64_t W, int64_t *w, unsigned *bins)
{
	MCN_MUST(W >= 1);
	*w = (W + MCNQ_QUANT_BINS - 1) / MCNQ_QUANT_BINS;
	*bins = (unsigned)((W + *w - 1) / *w);
}

mcnq_dec
mcnq_dec_make(int64_t X, unsigned dec)
{
	mcnq_dec v = { X, dec };

	while (v.scale > 0 && v.mant % 10 == 0) {
		v.mant /= 10;
		v.scale--;
	}
	return v;
}

/* quantile(col, p) after the column (median: nothing more): checks p and
 * sets the histogram of round 1 over the column's declared range. */
static mcn_err
p_quantile_args(parser *p, mcnq_agg *a)
{
	const mcn_column *c = &p->d->cols[a->col];
	unsigned dec = c->type == MCN_COL_REAL ? c->decimals : 0;
	int64_t xmin, xmax, w;
	mcn_err rv;

	if (a->median) {
		a->p.mant = 5;
		a->p.scale = 1;
	} else {
		literal L;
		if ((rv = p_expect(p, T_COMMA, NULL, "','")) != MCN_OK) {
			return rv;
		}
		if (p->t.type != T_NUM) {
			return p_syntax(p, "a number (the probability)");
		}
		if ((rv = p_literal(p, &L, "a number")) != MCN_OK) {
			return rv;
		}
		if (!L.exact || L.dec.scale > 6 || L.dec.mant <= 0 ||
		    L.dec.mant >= (int64_t)pow10_tab[L.dec.scale]) {
			mcnq_msg(p->err, p->errlen,
			    "quantile probability at position %zu must be a "
			    "number between 0 and 1 (both excluded) with at "
			    "most 6 decimals",
			    L.pos + 1);
			return MCN_EQUERY;
		}
		a->p = L.dec;
	}
	if ((rv = mcnq_x_range(c, &xmin, &xmax, p->err, p->errlen)) !=
	    MCN_OK) {
		return rv;
	}
	mcnq_quant_bins(xmax - xmin + 1, &w, &a->bins);
	a->lo = mcnq_dec_make(xmin, dec);
	a->hi = mcnq_dec_make(xmin + (int64_t)a->bins * w, dec);
	return MCN_OK;
}

/* The canonical name of linear, cor and survival. */
static mcn_err
p_analysis_name(parser *p, mcnq_agg *a)
{
	mcnq_sbuf b = { 0 };
	char num[32];

	mcnq_sb_puts(&b, mcn_query_agg_kind_name(a->kind));
	mcnq_sb_puts(&b, "(");
	if (a->kind == MCN_QUERY_SURVIVAL) {
		mcnq_sb_puts(&b, col_name(p, a->col));
		mcnq_sb_puts(&b, ",");
		mcnq_sb_puts(&b, col_name(p, a->col2));
		if (a->step != 1) {
			snprintf(num, sizeof(num), ",%lld", (long long)a->step);
			mcnq_sb_puts(&b, num);
		}
	}
	for (size_t i = 0; i < a->nvars; i++) {
		if (i > 0) {
			mcnq_sb_puts(&b,
			    a->kind == MCN_QUERY_COR ? "," :
			        i == 1               ? "~" :
			                               "+");
		}
		mcnq_sb_puts(&b, col_name(p, a->vars[i]));
	}
	mcnq_sb_puts(&b, ")");
	a->name = b.oom ? NULL : mcnq_strndup(&p->q->arena, b.p, b.len);
	mcnq_sb_free(&b);
	return a->name == NULL ? MCN_ENOMEM : MCN_OK;
}

static mcn_err
p_agg_name(parser *p, mcnq_agg *a)
{
	char buf[3 * MCN_DICT_NAME_MAX + 128], l[32], h[32];
	const char *k = mcn_query_agg_kind_name(a->kind);

	switch (a->kind) {
	case MCN_QUERY_LINEAR:
	case MCN_QUERY_LOGISTIC:
	case MCN_QUERY_COR:
	case MCN_QUERY_SURVIVAL: return p_analysis_name(p, a);
	case MCN_QUERY_COUNT: snprintf(buf, sizeof(buf), "count()"); break;
	case MCN_QUERY_QUANTILE:
		if (a->median) {
			snprintf(buf, sizeof(buf), "median(%s)",
			    col_name(p, a->col));
			break;
		}
		mcnq_dec_format(l, sizeof(l), a->p);
		snprintf(buf, sizeof(buf), "quantile(%s,%s)",
		    col_name(p, a->col), l);
		break;
	case MCN_QUERY_HISTOGRAM:
		mcnq_dec_format(l, sizeof(l), a->lo);
		mcnq_dec_format(h, sizeof(h), a->hi);
		snprintf(buf, sizeof(buf), "histogram(%s,%s,%s,%u)",
		    col_name(p, a->col), l, h, a->bins);
		break;
	case MCN_QUERY_TABLE:
		if (a->col2 >= 0) {
			snprintf(buf, sizeof(buf), "table(%s,%s)",
			    col_name(p, a->col), col_name(p, a->col2));
			break;
		}
		/* FALLTHROUGH */
	default:
		snprintf(buf, sizeof(buf), "%s(%s)", k, col_name(p, a->col));
		break;
	}
	a->name = mcnq_strndup(&p->q->arena, buf, strlen(buf));
	return a->name == NULL ? MCN_ENOMEM : MCN_OK;
}

static mcn_err
p_agg(parser *p, mcnq_agg *a)
{
	mcn_err rv;
	size_t i, pos;

	a->col = a->col2 = -1;
	for (i = 0; i < sizeof(agg_names) / sizeof(agg_names[0]); i++) {
		if (p_is(p, agg_names[i].kw)) {
			break;
		}
	}
	if (i == sizeof(agg_names) / sizeof(agg_names[0])) {
		return p_syntax(p,
		    "an aggregate (count, sum, mean, var, sd, "
		    "histogram, table, linear, logistic, cor, survival, "
		    "quantile or median)");
	}
	a->kind = agg_names[i].kind;
	a->is_step = p_is(p, "LOGISTIC_STEP");
	a->median = p_is(p, "MEDIAN");
	if ((rv = p_lex(p)) != MCN_OK ||
	    (rv = p_expect(p, T_LP, NULL, "'('")) != MCN_OK) {
		return rv;
	}
	pos = p->t.pos;
	switch (a->kind) {
	case MCN_QUERY_COUNT:
		if (p->t.type == T_STAR) {
			if ((rv = p_lex(p)) != MCN_OK) {
				return rv;
			}
		} else if (p->t.type != T_RP) {
			if ((rv = p_column(p, &a->col,
			         "a column name, '*' or "
			         "')'")) != MCN_OK) {
				return rv;
			}
			a->kind = MCN_QUERY_COUNT_X;
		}
		break;
	case MCN_QUERY_SUM:
	case MCN_QUERY_MEAN:
	case MCN_QUERY_VAR:
	case MCN_QUERY_SD:
	case MCN_QUERY_HISTOGRAM:
		if ((rv = p_column(p, &a->col, "a column name")) != MCN_OK ||
		    (rv = p_numeric_col(p, a->col,
		         mcn_query_agg_kind_name(a->kind), pos)) != MCN_OK) {
			return rv;
		}
		if (a->kind == MCN_QUERY_HISTOGRAM &&
		    ((rv = p_expect(p, T_COMMA, NULL, "','")) != MCN_OK ||
		        (rv = p_histogram_args(p, a)) != MCN_OK)) {
			return rv;
		}
		break;
	case MCN_QUERY_TABLE:
		if ((rv = p_column(p, &a->col, "a column name")) != MCN_OK) {
			return rv;
		}
		if (p->t.type == T_COMMA) {
			if ((rv = p_lex(p)) != MCN_OK) {
				return rv;
			}
			pos = p->t.pos;
			if ((rv = p_column(p, &a->col2, "a column name")) !=
			    MCN_OK) {
				return rv;
			}
			if (a->col2 == a->col) {
				mcnq_msg(p->err, p->errlen,
				    "table needs two "
				    "different columns (position %zu)",
				    pos + 1);
				return MCN_EQUERY;
			}
		}
		for (int k = 0; k < 2; k++) {
			int c = k == 0 ? a->col : a->col2;
			if (c >= 0 &&
			    p->d->cols[c].type != MCN_COL_CATEGORICAL) {
				mcnq_msg(p->err, p->errlen,
				    "table needs "
				    "categorical columns; '%s' is %s",
				    col_name(p, c),
				    mcn_col_type_name(p->d->cols[c].type));
				return MCN_EQUERY;
			}
		}
		break;
	case MCN_QUERY_LINEAR:
	case MCN_QUERY_LOGISTIC:
		if ((rv = p_linear_args(p, a)) != MCN_OK) {
			return rv;
		}
		break;
	case MCN_QUERY_COR:
		if ((rv = p_cor_args(p, a)) != MCN_OK) {
			return rv;
		}
		break;
	case MCN_QUERY_SURVIVAL:
		if ((rv = p_survival_args(p, a)) != MCN_OK) {
			return rv;
		}
		break;
	case MCN_QUERY_QUANTILE:
		if ((rv = p_column(p, &a->col, "a column name")) != MCN_OK ||
		    (rv = p_numeric_col(p, a->col,
		         a->median ? "median" : "quantile", pos)) != MCN_OK ||
		    (rv = p_quantile_args(p, a)) != MCN_OK) {
			return rv;
		}
		break;
	case MCN_QUERY_COUNT_X: break;
	}
	if ((rv = p_expect(p, T_RP, NULL,
	         a->kind == MCN_QUERY_HISTOGRAM                ? "')'" :
	             a->kind == MCN_QUERY_TABLE && a->col2 < 0 ? "',' or ')'" :
	             a->kind == MCN_QUERY_LINEAR               ? "'+' or ')'" :
	             a->kind == MCN_QUERY_LOGISTIC && a->is_step ?
	                                           "',' or ')'" :
	             a->kind == MCN_QUERY_LOGISTIC ? "'+' or ')'" :
	             a->kind == MCN_QUERY_COR      ? "',' or ')'" :
	             a->kind == MCN_QUERY_SURVIVAL && a->step == 1 ?
	                                        "',' or ')'" :
	                                        "')'")) != MCN_OK) {
		return rv;
	}
	if (p_is(p, "AS")) {
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		if (p->t.type != T_WORD || p_is_reserved(p)) {
			return p_syntax(p, "an output name after AS");
		}
		if (p->t.len > MCN_DICT_NAME_MAX) {
			mcnq_msg(p->err, p->errlen,
			    "output name at position "
			    "%zu is longer than %d characters",
			    p->t.pos + 1, MCN_DICT_NAME_MAX);
			return MCN_EQUERY;
		}
		a->name =
		    mcnq_strndup(&p->q->arena, p->text + p->t.pos, p->t.len);
		if (a->name == NULL) {
			return MCN_ENOMEM;
		}
		a->alias = 1;
		return p_lex(p);
	}
	return p_agg_name(p, a);
}

/* ---------------------------------------------------------------- */
/* the statement */

static mcn_err
p_table(parser *p)
{
	char near[128];

	if (p->t.type != T_WORD || p_is_reserved(p)) {
		return p_syntax(p, "a table name");
	}
	if (p->t.len != strlen(p->d->table) ||
	    memcmp(p->text + p->t.pos, p->d->table, p->t.len) != 0) {
		p_near(p, near, sizeof(near));
		mcnq_msg(p->err, p->errlen,
		    "unknown table '%s' at position "
		    "%zu (the dictionary's table is '%s')",
		    near, p->t.pos + 1, p->d->table);
		return MCN_EQUERY;
	}
	return p_lex(p);
}

static mcn_err
p_group_by(parser *p)
{
	mcn_query *q = p->q;
	mcn_err rv;
	size_t ngroups = 1;

	for (;;) {
		size_t pos = p->t.pos;
		int col;
		if ((rv = p_column(p, &col, "a column name")) != MCN_OK) {
			return rv;
		}
		const mcn_column *c = &p->d->cols[col];
		if (c->type != MCN_COL_CATEGORICAL) {
			mcnq_msg(p->err, p->errlen,
			    "GROUP BY column '%s' "
			    "(position %zu) is %s; only categorical columns "
			    "can be grouped on",
			    c->name, pos + 1, mcn_col_type_name(c->type));
			return MCN_EQUERY;
		}
		for (size_t j = 0; j < q->ngcols; j++) {
			if (q->gcols[j] == col) {
				mcnq_msg(p->err, p->errlen,
				    "GROUP BY column "
				    "'%s' given twice (position %zu)",
				    c->name, pos + 1);
				return MCN_EQUERY;
			}
		}
		if (q->ngcols == MCN_QUERY_MAX_GROUP_COLS) {
			mcnq_msg(p->err, p->errlen,
			    "GROUP BY takes at most "
			    "%d columns (position %zu)",
			    MCN_QUERY_MAX_GROUP_COLS, pos + 1);
			return MCN_EQUERY;
		}
		q->gcols[q->ngcols++] = col;
		ngroups *= c->nlevels;
		if (ngroups > MCN_QUERY_MAX_GROUPS) {
			mcnq_msg(p->err, p->errlen,
			    "GROUP BY gives more than "
			    "%d groups (position %zu)",
			    MCN_QUERY_MAX_GROUPS, pos + 1);
			return MCN_EQUERY;
		}
		if (p->t.type != T_COMMA) {
			break;
		}
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
	}
	q->ngroups = ngroups;
	return MCN_OK;
}

/* WITH EPSILON e: differential privacy at e per query, 0 < e <= 10 with
 * at most 6 decimals. */
static mcn_err
p_with(parser *p)
{
	literal e;
	mcn_err rv;

	if ((rv = p_lex(p)) != MCN_OK ||
	    (rv = p_expect(p, T_WORD, "EPSILON", "EPSILON")) != MCN_OK) {
		return rv;
	}
	if (p->t.type != T_NUM) {
		return p_syntax(p, "a number (epsilon)");
	}
	if ((rv = p_literal(p, &e, "a number")) != MCN_OK) {
		return rv;
	}
	if (!e.exact || e.dec.scale > 6 || e.dec.mant <= 0 ||
	    e.dec.mant > (int64_t)10 * pow10_tab[e.dec.scale]) {
		mcnq_msg(p->err, p->errlen,
		    "epsilon at position %zu must be a number in (0, 10] "
		    "with at most 6 decimals",
		    e.pos + 1);
		return MCN_EQUERY;
	}
	p->q->has_epsilon = 1;
	p->q->epsilon = (double)e.dec.mant / pow10_tab[e.dec.scale];
	return MCN_OK;
}

static mcn_err
p_query(parser *p)
{
	mcn_query *q = p->q;
	mcn_err rv;

	if ((rv = p_lex(p)) != MCN_OK ||
	    (rv = p_expect(p, T_WORD, "SELECT", "SELECT")) != MCN_OK) {
		return rv;
	}
	p->use = MCN_QUERY_USE_AGGREGATE;
	for (;;) {
		if (q->naggs == MCN_QUERY_MAX_AGGS) {
			mcnq_msg(p->err, p->errlen,
			    "more than %d outputs "
			    "(position %zu)",
			    MCN_QUERY_MAX_AGGS, p->t.pos + 1);
			return MCN_EQUERY;
		}
		if ((rv = p_agg(p, &q->aggs[q->naggs])) != MCN_OK) {
			return rv;
		}
		q->naggs++;
		if (p->t.type != T_COMMA) {
			break;
		}
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
	}
	if ((rv = p_expect(p, T_WORD, "FROM", "',' or FROM")) != MCN_OK ||
	    (rv = p_table(p)) != MCN_OK) {
		return rv;
	}
	if (p_is(p, "WHERE")) {
		size_t wstart;
		p->use = MCN_QUERY_USE_WHERE;
		if ((rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		wstart = p->t.pos;
		if ((rv = p_or(p, 0)) != MCN_OK) {
			return rv;
		}
		size_t wend = p->t.pos;
		while (wend > wstart &&
		    isspace((unsigned char)p->text[wend - 1])) {
			wend--;
		}
		q->where_text =
		    mcnq_strndup(&q->arena, p->text + wstart, wend - wstart);
		if (q->where_text == NULL) {
			return MCN_ENOMEM;
		}
		if (p->sql.oom) {
			return MCN_ENOMEM;
		}
		q->where_sql = mcnq_strndup(&q->arena, p->sql.p, p->sql.len);
		if (q->where_sql == NULL) {
			return MCN_ENOMEM;
		}
	}
	if (p_is(p, "GROUP")) {
		p->use = MCN_QUERY_USE_GROUP_BY;
		if ((rv = p_lex(p)) != MCN_OK ||
		    (rv = p_expect(p, T_WORD, "BY", "BY")) != MCN_OK ||
		    (rv = p_group_by(p)) != MCN_OK) {
			return rv;
		}
		if (p_is(p, "WITH") && (rv = p_with(p)) != MCN_OK) {
			return rv;
		}
		if (p->t.type == T_SEMI && (rv = p_lex(p)) != MCN_OK) {
			return rv;
		}
		if (p->t.type != T_EOF) {
			return p_syntax(p, "',' or end of query");
		}
	}
	if (q->has_epsilon == 0 && p_is(p, "WITH") &&
	    (rv = p_with(p)) != MCN_OK) {
		return rv;
	}
	if (p->t.type == T_SEMI && (rv = p_lex(p)) != MCN_OK) {
		return rv;
	}
	if (p->t.type != T_EOF) {
		return p_syntax(p,
		    q->where_sql != NULL ? "AND, OR, GROUP BY or end of query" :
		                           "WHERE, GROUP BY or end of query");
	}
	for (size_t i = 0; i < q->naggs && q->has_epsilon; i++) {
		switch (q->aggs[i].kind) {
		case MCN_QUERY_COUNT:
		case MCN_QUERY_COUNT_X:
		case MCN_QUERY_SUM:
		case MCN_QUERY_MEAN:
		case MCN_QUERY_VAR:
		case MCN_QUERY_SD:
		case MCN_QUERY_HISTOGRAM:
		case MCN_QUERY_TABLE: break;
		default:
			mcnq_msg(p->err, p->errlen,
			    "WITH EPSILON applies to count, sum, mean, var, "
			    "sd, histogram and table; '%s' is %s",
			    q->aggs[i].name,
			    mcn_query_agg_kind_name(q->aggs[i].kind));
			return MCN_EQUERY;
		}
	}
	for (size_t i = 0; i < q->naggs; i++) {
		if (q->aggs[i].kind == MCN_QUERY_LOGISTIC &&
		    (q->naggs > 1 || q->ngcols > 0)) {
			mcnq_msg(p->err, p->errlen,
			    "logistic must be the only "
			    "output of its query and takes no GROUP BY (use "
			    "WHERE to fit a subgroup)");
			return MCN_EQUERY;
		}
		if (q->aggs[i].kind == MCN_QUERY_QUANTILE &&
		    (q->naggs > 1 || q->ngcols > 0)) {
			mcnq_msg(p->err, p->errlen,
			    "%s must be the only output of its query and "
			    "takes no GROUP BY (use WHERE to select a "
			    "subgroup)",
			    q->aggs[i].median ? "median" : "quantile");
			return MCN_EQUERY;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(q->aggs[i].name, q->aggs[j].name) == 0) {
				mcnq_msg(p->err, p->errlen,
				    "duplicate output "
				    "name '%s' (outputs %zu and %zu; use AS to "
				    "rename one)",
				    q->aggs[i].name, j + 1, i + 1);
				return MCN_EQUERY;
			}
		}
	}
	return MCN_OK;
}

/* The normalized text: whitespace runs outside string literals become one
 * space, leading and trailing whitespace and a final ';' go. */
static mcn_err
query_normalize(mcn_query *q, const char *text, size_t len)
{
	char *o = mcnq_alloc(&q->arena, len + 1);
	size_t k = 0;
	int in_str = 0, space = 0;

	if (o == NULL) {
		return MCN_ENOMEM;
	}
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (!in_str && isspace((unsigned char)c)) {
			space = 1;
			continue;
		}
		if (space && k > 0) {
			o[k++] = ' ';
		}
		space = 0;
		if (c == '\'') {
			in_str = !in_str;
		}
		o[k++] = c;
	}
	while (k > 0 && (o[k - 1] == ';' || o[k - 1] == ' ')) {
		k--;
	}
	o[k] = '\0';
	q->norm = o;
	return MCN_OK;
}

const char *
mcn_query_normalized(const mcn_query *q)
{
	MCN_MUST(q != NULL);
	return q->norm;
}

double
mcn_query_epsilon(const mcn_query *q)
{
	MCN_MUST(q != NULL);
	return q->has_epsilon ? q->epsilon : 0;
}

unsigned
mcn_query_column_uses(const mcn_query *q, size_t i)
{
	const mcn_column *c = mcn_query_column(q, i);
	return q->used[c - q->dict->cols];
}

mcn_err
mcn_query_compile(mcn_query **out, const char *text, const mcn_dict *d,
    const mcn_query_limits *lim, char *err, size_t errlen)
{
	return mcnq_compile_internal(out, text, d, lim, 0, err, errlen);
}

mcn_err
mcnq_compile_internal(mcn_query **out, const char *text, const mcn_dict *d,
    const mcn_query_limits *lim, int internal, char *err, size_t errlen)
{
	parser p;
	mcn_query *q = NULL;
	mcnq_arena *arena = NULL;
	mcn_err rv = MCN_ENOMEM;
	size_t len;

	MCN_MUST(out != NULL && text != NULL && d != NULL && lim != NULL);
	*out = NULL;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	memset(&p, 0, sizeof(p));
	if (lim->max_rows_per_site < 1 ||
	    lim->max_rows_per_site > MCN_QUERY_MAX_ROWS || lim->nsites < 1 ||
	    lim->nsites > MCN_AGG_MAX_NODES) {
		mcnq_msg(err, errlen,
		    "query limits out of range "
		    "(max_rows_per_site 1..2^40, nsites 1..%d)",
		    MCN_AGG_MAX_NODES);
		return MCN_EINVAL;
	}
	len = strnlen(text, MCN_QUERY_MAX_TEXT + 1);
	if (len > MCN_QUERY_MAX_TEXT) {
		mcnq_msg(err, errlen, "query text is longer than %d bytes",
		    MCN_QUERY_MAX_TEXT);
		return MCN_EQUERY;
	}
	q = mcnq_alloc(&arena, sizeof(*q));
	if (q == NULL) {
		goto out;
	}
	q->arena = arena;
	q->dict = d;
	q->lim = *lim;
	q->internal = internal;
	q->ngroups = 1;
	q->aggs = mcnq_alloc(&q->arena, MCN_QUERY_MAX_AGGS * sizeof(*q->aggs));
	q->used = mcnq_alloc(&q->arena, d->ncols + 1);
	/* a literal takes at least two bytes of text ("1,") */
	p.capparams = len / 2 + 2;
	if (p.capparams > MCN_QUERY_MAX_PARAMS) {
		p.capparams = MCN_QUERY_MAX_PARAMS;
	}
	q->params = mcnq_alloc(&q->arena, p.capparams * sizeof(*q->params));
	if (q->aggs == NULL || q->used == NULL || q->params == NULL) {
		goto out;
	}
	p.text = text;
	p.len = len;
	p.q = q;
	p.d = d;
	p.err = err;
	p.errlen = errlen;
	if ((rv = p_query(&p)) != MCN_OK) {
		goto out;
	}
	for (size_t i = 0; i < d->ncols; i++) {
		q->nused += q->used[i] != 0;
	}
	if ((rv = query_normalize(q, text, len)) != MCN_OK) {
		goto out;
	}
	if ((rv = mcnq_plan(q, err, errlen)) != MCN_OK) {
		goto out;
	}
	*out = q;
	q = NULL;
	rv = MCN_OK;
out:
	if (rv == MCN_ENOMEM) {
		mcnq_msg(err, errlen, "out of memory");
	}
	mcnq_sb_free(&p.sql);
	if (q != NULL) {
		mcn_query_free(q);
	} else if (*out == NULL) {
		mcnq_arena_free(arena);
	}
	return rv;
}

void
mcn_query_free(mcn_query *q)
{
	if (q != NULL) {
		mcnq_arena_free(q->arena);
	}
}

const mcn_agg_layout *
mcn_query_layout(const mcn_query *q)
{
	MCN_MUST(q != NULL);
	return &q->layout;
}

mcn_err
mcn_query_layout_copy(mcn_agg_layout *out, const mcn_query *q)
{
	size_t sz;

	MCN_MUST(out != NULL && q != NULL);
	memset(out, 0, sizeof(*out));
	sz = q->layout.nfields * sizeof(*q->layout.fields);
	out->fields = mcn_alloc(sz);
	if (out->fields == NULL) {
		return MCN_ENOMEM;
	}
	memcpy(out->fields, q->layout.fields, sz);
	out->nfields = q->layout.nfields;
	out->nvalues = q->layout.nvalues;
	return MCN_OK;
}

size_t
mcn_query_ncolumns(const mcn_query *q)
{
	return q->nused;
}

const mcn_column *
mcn_query_column(const mcn_query *q, size_t i)
{
	for (size_t c = 0; c < q->dict->ncols; c++) {
		if (q->used[c] && i-- == 0) {
			return &q->dict->cols[c];
		}
	}
	mcn_misuse("mcn_query_column: index out of range");
}

size_t
mcn_query_naggs(const mcn_query *q)
{
	return q->naggs;
}

mcn_query_agg_kind
mcn_query_agg(const mcn_query *q, size_t i, const char **name)
{
	MCN_MUST(i < q->naggs);
	if (name != NULL) {
		*name = q->aggs[i].name;
	}
	return q->aggs[i].kind;
}

size_t
mcn_query_ngroups(const mcn_query *q)
{
	return q->ngroups;
}

int
mcn_query_has_where(const mcn_query *q)
{
	return q->where_sql != NULL;
}

void
mcnq_step_text(mcnq_sbuf *sb, const mcn_query *q, const double *b)
{
	const mcnq_agg *a = &q->aggs[0];
	const mcn_dict *d = q->dict;
	char num[48];
	size_t np = 1;

	MCN_MUST(q->naggs == 1 && a->kind == MCN_QUERY_LOGISTIC);
	mcnq_sb_puts(sb, "SELECT logistic_step(");
	for (size_t i = 0; i < a->nvars; i++) {
		const mcn_column *c = &d->cols[a->vars[i]];
		mcnq_sb_puts(sb, i == 0 ? "" : i == 1 ? " ~ " : " + ");
		mcnq_sb_puts(sb, c->name);
		if (i > 0) {
			np +=
			    c->type == MCN_COL_CATEGORICAL ? c->nlevels - 1 : 1;
		}
	}
	mcnq_sb_puts(sb, "; ");
	for (size_t j = 0; j < np; j++) {
		snprintf(num, sizeof(num), "%s%a", j > 0 ? ", " : "", b[j]);
		mcnq_sb_puts(sb, num);
	}
	mcnq_sb_puts(sb, ")");
	if (a->alias) {
		mcnq_sb_puts(sb, " AS ");
		mcnq_sb_puts(sb, a->name);
	}
	mcnq_sb_puts(sb, " FROM ");
	mcnq_sb_puts(sb, d->table);
	if (q->where_text != NULL) {
		mcnq_sb_puts(sb, " WHERE ");
		mcnq_sb_puts(sb, q->where_text);
	}
}

void
mcnq_quant_text(mcnq_sbuf *sb, const mcn_query *q, int64_t lo, int64_t w,
    unsigned bins)
{
	const mcnq_agg *a = &q->aggs[0];
	const mcn_column *c = &q->dict->cols[a->col];
	unsigned dec = c->type == MCN_COL_REAL ? c->decimals : 0;
	char l[32], h[32], num[96];

	MCN_MUST(q->naggs == 1 && a->kind == MCN_QUERY_QUANTILE);
	mcnq_dec_format(l, sizeof(l), mcnq_dec_make(lo, dec));
	mcnq_dec_format(h, sizeof(h),
	    mcnq_dec_make(lo + (int64_t)bins * w, dec));
	/* count(x) first: the exact number of values even when sites
	 * withhold histogram cells (count(x) is withheld only with the whole
	 * histogram, when a site has fewer than k values) */
	mcnq_sb_puts(sb, "SELECT count(");
	mcnq_sb_puts(sb, c->name);
	mcnq_sb_puts(sb, "), histogram(");
	mcnq_sb_puts(sb, c->name);
	snprintf(num, sizeof(num), ", %s, %s, %u) FROM ", l, h, bins);
	mcnq_sb_puts(sb, num);
	mcnq_sb_puts(sb, q->dict->table);
	if (q->where_text != NULL) {
		mcnq_sb_puts(sb, " WHERE ");
		mcnq_sb_puts(sb, q->where_text);
	}
}

int
mcn_query_is_iterative(const mcn_query *q)
{
	MCN_MUST(q != NULL);
	return q->naggs == 1 &&
	    ((q->aggs[0].kind == MCN_QUERY_LOGISTIC && !q->aggs[0].is_step) ||
	        q->aggs[0].kind == MCN_QUERY_QUANTILE);
}
