/*
 * node/dict.c - the consortium data dictionary: JSON parsing, validation,
 * fingerprint, and the calendar helpers.
 *
 * Parsing uses jansson with JSON_REJECT_DUPLICATES, so a key given twice is
 * an error rather than "last one wins". Every rule of node/dict.h is checked
 * here, and every message names the column (by name, or by its 1-based
 * position when the name itself is the problem) and the rule broken. The
 * dictionary is public consortium material, so messages may quote it.
 *
 * Fingerprint. SHA-256 over this canonical serialization of the parsed
 * dictionary (all integers big-endian; str = u32 byte length + bytes;
 * opt = u8 0, or u8 1 followed by str; f64 = the IEEE-754 binary64 bit
 * pattern as a u64, with -0 written as +0):
 *
 *     "MCN-DICT-2"                            10 bytes, format tag
 *     str name, i64 version, str table, u32 ncols
 *     per column, in dictionary order:
 *       str name, u8 type (mcn_col_type), u8 sensitivity, u8 required,
 *       opt unit, opt description, opt code_system,
 *       u8 has_range, f64 min, f64 max      (0, 0 when has_range is 0;
 *                                            dates as days since 1970)
 *       u8 decimals, u32 nlevels, str level (nlevels times, in order)
 *       u8 consent, opt consent_purpose
 *
 * Every field has a fixed place and a length, so two different
 * dictionaries cannot serialize to the same bytes; whitespace, key order
 * and number spelling (10 vs 10.0 for a real bound) do not reach it.
 *
 * Dates use the proleptic Gregorian calendar; the day-number conversions
 * are Howard Hinnant's days_from_civil / civil_from_days ("chrono-Compatible
 * Low-Level Date Algorithms", 2013), which count in 400-year eras.
 */
#define _POSIX_C_SOURCE 200809L
#include "node/dict.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "crypto/mem.h"
#include "node/util.h"

#define DICT_FILE_MAX (4u << 20)
#define DICT_TEXT_MAX 4096 /* name, unit, description, code_system */
#define DICT_INT_LIMIT 9007199254740992.0 /* 2^53 */

/* Query-language keywords, and SQLite's names for the row id (a column
 * called rowid would shadow it in the store). Compared case-insensitively. */
static const char *const dict_reserved[] = {
	"select",
	"from",
	"where",
	"group",
	"by",
	"and",
	"or",
	"not",
	"in",
	"is",
	"null",
	"like",
	"between",
	"as",
	"count",
	"sum",
	"mean",
	"var",
	"sd",
	"histogram",
	"table",
	"rowid",
	"oid",
	"_rowid_",
};

/* ---- dates --------------------------------------------------------------- */

static int
date_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
date_days_in_month(int y, int m)
{
	static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	return m == 2 && date_is_leap(y) ? 29 : dm[m - 1];
}

/* Hinnant's days_from_civil: days since 1970-01-01 of y-m-d. */
static int64_t
date_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400; /* [0, 399] */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* Hinnant's civil_from_days. */
static void
date_to_civil(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

mcn_err
mcn_date_parse(const char *s, int32_t *days)
{
	int v[8];

	MCN_MUST(s != NULL && days != NULL);
	for (int i = 0, k = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return (MCN_EFORMAT);
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return (MCN_EFORMAT);
		v[k++] = s[i] - '0';
	}
	if (s[10] != '\0')
		return (MCN_EFORMAT);
	int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
	int m = v[4] * 10 + v[5];
	int d = v[6] * 10 + v[7];
	if (y < 1000 || m < 1 || m > 12 || d < 1 ||
	    d > date_days_in_month(y, m))
		return (MCN_EFORMAT);
	*days = (int32_t)date_from_civil(y, m, d);
	return (MCN_OK);
}

void
mcn_date_format(char out[11], int32_t days)
{
	int64_t y;
	int m, d;

	date_to_civil(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		memcpy(out, "0000-00-00", 11);
		return;
	}
	int v[3] = { (int)y, m, d }, w[3] = { 4, 2, 2 };
	char *p = out;
	for (int i = 0; i < 3; i++) {
		for (int k = w[i] - 1, x = v[i]; k >= 0; k--, x /= 10)
			p[k] = (char)('0' + x % 10);
		p += w[i];
		*p++ = i < 2 ? '-' : '\0';
	}
}

/* ---- small helpers ------------------------------------------------------- */

const char *
mcn_col_type_name(mcn_col_type t)
{
	switch (t) {
	case MCN_COL_INTEGER: return ("integer");
	case MCN_COL_REAL: return ("real");
	case MCN_COL_CATEGORICAL: return ("categorical");
	case MCN_COL_DATE: return ("date");
	case MCN_COL_CODE: return ("code");
	}
	return ("unknown");
}

const mcn_column *
mcn_dict_find(const mcn_dict *d, const char *name)
{
	MCN_MUST(d != NULL && name != NULL);
	for (size_t i = 0; i < d->ncols; i++) {
		if (strcmp(d->cols[i].name, name) == 0)
			return (&d->cols[i]);
	}
	return (NULL);
}

int
mcn_dict_level_index(const mcn_column *c, const char *level)
{
	MCN_MUST(c != NULL && level != NULL);
	for (size_t i = 0; i < c->nlevels; i++) {
		if (strcmp(c->levels[i], level) == 0)
			return ((int)i);
	}
	return (-1);
}



static void
dict_column_clear(mcn_column *c)
{
	mcn_strfree(c->name);
	mcn_strfree(c->unit);
	mcn_strfree(c->description);
	mcn_strfree(c->code_system);
	mcn_strfree(c->consent_purpose);
	if (c->levels != NULL) {
		for (size_t i = 0; i < c->nlevels; i++)
			mcn_strfree(c->levels[i]);
		mcn_free(c->levels, c->nlevels * sizeof(char *));
	}
	memset(c, 0, sizeof(*c));
}

void
mcn_dict_free(mcn_dict *d)
{
	if (d == NULL)
		return;
	mcn_strfree(d->name);
	mcn_strfree(d->table);
	if (d->cols != NULL) {
		for (size_t i = 0; i < d->ncols; i++)
			dict_column_clear(&d->cols[i]);
		mcn_free(d->cols, d->ncols * sizeof(mcn_column));
	}
	mcn_free(d, sizeof(*d));
}

/* [a-z_][a-z0-9_]{0,62} */
static int
dict_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MCN_DICT_NAME_MAX)
		return (0);
	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return (0);
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		        c == '_'))
			return (0);
	}
	return (1);
}

static int
dict_is_reserved(const char *s)
{
	for (size_t i = 0; i < sizeof(dict_reserved) / sizeof(*dict_reserved);
	     i++) {
		if (strcasecmp(s, dict_reserved[i]) == 0)
			return (1);
	}
	return (0);
}

/* A JSON string with no embedded NUL (C strings would silently cut it). */
static int
dict_json_cstr(const json_t *v, const char **out)
{
	if (!json_is_string(v))
		return (0);
	*out = json_string_value(v);
	return (json_string_length(v) == strlen(*out));
}

/* ---- parsing ------------------------------------------------------------- */

typedef struct {
	char *err;
	size_t errlen;
	char label[96]; /* "column 'age'" or "column 3" */
} dict_ctx;

#define DICT_FAIL(ctx, ...)                                                \
	do {                                                               \
		char m_[384];                                              \
		snprintf(m_, sizeof(m_), __VA_ARGS__);                     \
		mcn_msg((ctx)->err, (ctx)->errlen, "%s: %s", (ctx)->label, \
		    m_);                                                   \
		return (MCN_EFORMAT);                                      \
	} while (0)

/* Copies an optional string key into *out (NULL when absent). */
static mcn_err
dict_opt_string(dict_ctx *ctx, const json_t *o, const char *key, char **out)
{
	const json_t *v = json_object_get(o, key);
	const char *s;

	*out = NULL;
	if (v == NULL)
		return (MCN_OK);
	if (!dict_json_cstr(v, &s))
		DICT_FAIL(ctx, "\"%s\" must be a string (without NUL)", key);
	if (strlen(s) > DICT_TEXT_MAX)
		DICT_FAIL(ctx, "\"%s\" is longer than %u bytes", key,
		    DICT_TEXT_MAX);
	if ((*out = mcn_strdup(s)) == NULL)
		return (MCN_ENOMEM);
	return (MCN_OK);
}

static mcn_err
dict_check_keys(dict_ctx *ctx, const json_t *o, const char *const *keys,
    size_t nkeys)
{
	const char *k;
	const json_t *v;

	json_object_foreach((json_t *)o, k, v)
	{
		size_t i;
		(void)v;
		for (i = 0; i < nkeys; i++) {
			if (strcmp(k, keys[i]) == 0)
				break;
		}
		if (i == nkeys)
			DICT_FAIL(ctx, "unknown key \"%s\"", k);
	}
	return (MCN_OK);
}

static mcn_err
dict_parse_int_range(dict_ctx *ctx, mcn_column *c, const json_t *jmin,
    const json_t *jmax)
{
	if (jmin == NULL || jmax == NULL)
		DICT_FAIL(ctx, "integer column needs \"min\" and \"max\"");
	if (!json_is_integer(jmin) || !json_is_integer(jmax))
		DICT_FAIL(ctx,
		    "\"min\" and \"max\" of an integer column must "
		    "be integers");
	const json_int_t lim = (json_int_t)1 << 53;
	json_int_t a = json_integer_value(jmin), b = json_integer_value(jmax);
	if (a < -lim || a > lim || b < -lim || b > lim)
		DICT_FAIL(ctx, "\"min\" and \"max\" must be within +-2^53");
	if (a > b)
		DICT_FAIL(ctx, "\"min\" is greater than \"max\"");
	c->has_range = 1;
	c->min = (double)a;
	c->max = (double)b;
	return (MCN_OK);
}

static mcn_err
dict_parse_real_range(dict_ctx *ctx, mcn_column *c, const json_t *jmin,
    const json_t *jmax, const json_t *jdec)
{
	if (jdec == NULL || !json_is_integer(jdec) ||
	    json_integer_value(jdec) < 0 ||
	    json_integer_value(jdec) > MCN_DICT_MAX_DECIMALS)
		DICT_FAIL(ctx, "real column needs \"decimals\" (0..%d)",
		    MCN_DICT_MAX_DECIMALS);
	c->decimals = (unsigned)json_integer_value(jdec);
	if (jmin == NULL || jmax == NULL)
		DICT_FAIL(ctx, "real column needs \"min\" and \"max\"");
	if (!json_is_number(jmin) || !json_is_number(jmax))
		DICT_FAIL(ctx,
		    "\"min\" and \"max\" of a real column must be "
		    "numbers");
	double a = json_number_value(jmin), b = json_number_value(jmax);
	static const double pow10[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };
	double scale = pow10[c->decimals];
	/* jansson never yields NaN or infinities; no libm needed */
	if ((a < 0 ? -a : a) * scale > DICT_INT_LIMIT ||
	    (b < 0 ? -b : b) * scale > DICT_INT_LIMIT)
		DICT_FAIL(ctx,
		    "\"min\" and \"max\" times 10^decimals must be "
		    "within +-2^53");
	if (a > b)
		DICT_FAIL(ctx, "\"min\" is greater than \"max\"");
	c->has_range = 1;
	c->min = a == 0 ? 0.0 : a; /* no -0 */
	c->max = b == 0 ? 0.0 : b;
	return (MCN_OK);
}

static mcn_err
dict_parse_date_range(dict_ctx *ctx, mcn_column *c, const json_t *jmin,
    const json_t *jmax)
{
	const char *s;
	int32_t a, b;

	if (jmin == NULL && jmax == NULL)
		return (MCN_OK);
	if (jmin == NULL || jmax == NULL)
		DICT_FAIL(ctx,
		    "date column needs both \"min\" and \"max\" or "
		    "neither");
	if (!dict_json_cstr(jmin, &s) || mcn_date_parse(s, &a) != MCN_OK)
		DICT_FAIL(ctx, "\"min\" must be a date \"YYYY-MM-DD\"");
	if (!dict_json_cstr(jmax, &s) || mcn_date_parse(s, &b) != MCN_OK)
		DICT_FAIL(ctx, "\"max\" must be a date \"YYYY-MM-DD\"");
	if (a > b)
		DICT_FAIL(ctx, "\"min\" is after \"max\"");
	c->has_range = 1;
	c->min = a;
	c->max = b;
	return (MCN_OK);
}

static mcn_err
dict_parse_levels(dict_ctx *ctx, mcn_column *c, const json_t *jl)
{
	size_t n;

	if (jl == NULL || !json_is_array(jl) ||
	    (n = json_array_size(jl)) == 0 || n > MCN_DICT_MAX_LEVELS)
		DICT_FAIL(ctx,
		    "categorical column needs \"levels\": an array "
		    "of 1..%d strings",
		    MCN_DICT_MAX_LEVELS);
	if ((c->levels = mcn_zalloc(n * sizeof(char *))) == NULL)
		return (MCN_ENOMEM);
	c->nlevels = n;
	for (size_t i = 0; i < n; i++) {
		const char *s;
		if (!dict_json_cstr(json_array_get(jl, i), &s))
			DICT_FAIL(ctx,
			    "level %zu is not a string (without NUL)", i + 1);
		size_t len = strlen(s);
		if (len == 0 || len > MCN_DICT_LEVEL_MAX)
			DICT_FAIL(ctx, "level %zu must be 1..%d bytes", i + 1,
			    MCN_DICT_LEVEL_MAX);
		for (size_t k = 0; k < len; k++) {
			unsigned char ch = (unsigned char)s[k];
			if (ch < 0x20 || ch == 0x7f)
				DICT_FAIL(ctx,
				    "level %zu contains a control "
				    "character",
				    i + 1);
		}
		if (strcmp(s, "NA") == 0)
			DICT_FAIL(ctx,
			    "level \"NA\" is not allowed (NA marks "
			    "a missing value)");
		for (size_t k = 0; k < i; k++) {
			if (strcmp(c->levels[k], s) == 0)
				DICT_FAIL(ctx, "level \"%s\" is given twice",
				    s);
		}
		if ((c->levels[i] = mcn_strdup(s)) == NULL)
			return (MCN_ENOMEM);
	}
	return (MCN_OK);
}


static mcn_err
dict_parse_column(dict_ctx *ctx, mcn_column *c, const json_t *o, size_t idx)
{
	static const char *const keys[] = { "name", "type", "unit",
		"description", "code_system", "sensitivity", "required", "min",
		"max", "decimals", "levels", "consent", "consent_purpose" };
	const char *s;
	const json_t *v;
	mcn_err rv;

	snprintf(ctx->label, sizeof(ctx->label), "column %zu", idx + 1);
	if (!json_is_object(o))
		DICT_FAIL(ctx, "not a JSON object");
	if (!dict_json_cstr(json_object_get(o, "name"), &s))
		DICT_FAIL(ctx, "\"name\" missing or not a string");
	if (!dict_name_ok(s))
		DICT_FAIL(ctx,
		    "name '%.*s' is not valid (use [a-z_][a-z0-9_], "
		    "at most %d characters)",
		    70, s, MCN_DICT_NAME_MAX);
	if (dict_is_reserved(s))
		DICT_FAIL(ctx, "name '%s' is a reserved word", s);
	snprintf(ctx->label, sizeof(ctx->label), "column '%s'", s);
	if ((c->name = mcn_strdup(s)) == NULL)
		return (MCN_ENOMEM);
	if ((rv = dict_check_keys(ctx, o, keys,
	         sizeof(keys) / sizeof(*keys))) != MCN_OK)
		return (rv);

	if (!dict_json_cstr(json_object_get(o, "type"), &s))
		DICT_FAIL(ctx, "\"type\" missing or not a string");
	if (strcmp(s, "integer") == 0)
		c->type = MCN_COL_INTEGER;
	else if (strcmp(s, "real") == 0)
		c->type = MCN_COL_REAL;
	else if (strcmp(s, "categorical") == 0)
		c->type = MCN_COL_CATEGORICAL;
	else if (strcmp(s, "date") == 0)
		c->type = MCN_COL_DATE;
	else if (strcmp(s, "code") == 0)
		c->type = MCN_COL_CODE;
	else
		DICT_FAIL(ctx,
		    "unknown type \"%.40s\" (integer, real, "
		    "categorical, date or code)",
		    s);

	/* Keys that belong to other types are refused, not ignored. */
	const json_t *jmin = json_object_get(o, "min");
	const json_t *jmax = json_object_get(o, "max");
	const json_t *jdec = json_object_get(o, "decimals");
	const json_t *jlev = json_object_get(o, "levels");
	const json_t *jcs = json_object_get(o, "code_system");
	const char *tn = mcn_col_type_name(c->type);
	if ((jmin != NULL || jmax != NULL) &&
	    (c->type == MCN_COL_CATEGORICAL || c->type == MCN_COL_CODE))
		DICT_FAIL(ctx, "\"min\"/\"max\" do not apply to a %s column",
		    tn);
	if (jdec != NULL && c->type != MCN_COL_REAL)
		DICT_FAIL(ctx, "\"decimals\" applies only to real columns");
	if (jlev != NULL && c->type != MCN_COL_CATEGORICAL)
		DICT_FAIL(ctx,
		    "\"levels\" applies only to categorical columns");
	if (jcs != NULL && c->type != MCN_COL_CODE)
		DICT_FAIL(ctx, "\"code_system\" applies only to code columns");
	if (json_is_true(json_object_get(o, "consent")) &&
	    c->type != MCN_COL_CATEGORICAL)
		DICT_FAIL(ctx, "\"consent\" applies only to categorical columns "
		    "(with a level \"yes\")");

	v = json_object_get(o, "sensitivity");
	if (v == NULL || !json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 5)
		DICT_FAIL(ctx, "\"sensitivity\" must be an integer 1..5");
	c->sensitivity = (int)json_integer_value(v);
	v = json_object_get(o, "required");
	if (v != NULL && !json_is_boolean(v))
		DICT_FAIL(ctx, "\"required\" must be true or false");
	c->required = v != NULL && json_is_true(v);
	if ((rv = dict_opt_string(ctx, o, "unit", &c->unit)) != MCN_OK ||
	    (rv = dict_opt_string(ctx, o, "description", &c->description)) !=
	        MCN_OK)
		return (rv);

	v = json_object_get(o, "consent");
	if (v != NULL && !json_is_boolean(v))
		DICT_FAIL(ctx, "\"consent\" must be true or false");
	c->consent = v != NULL && json_is_true(v);
	if (json_object_get(o, "consent_purpose") != NULL) {
		if (!c->consent)
			DICT_FAIL(ctx, "\"consent_purpose\" needs \"consent\": "
			    "true");
		if ((rv = dict_opt_string(ctx, o, "consent_purpose",
		         &c->consent_purpose)) != MCN_OK)
			return (rv);
		if (!mcn_rolename_valid(c->consent_purpose))
			DICT_FAIL(ctx, "\"consent_purpose\" must match "
			    "[a-z][a-z0-9_-]{0,31}");
	}

	switch (c->type) {
	case MCN_COL_INTEGER: return (dict_parse_int_range(ctx, c, jmin, jmax));
	case MCN_COL_REAL:
		return (dict_parse_real_range(ctx, c, jmin, jmax, jdec));
	case MCN_COL_DATE: return (dict_parse_date_range(ctx, c, jmin, jmax));
	case MCN_COL_CATEGORICAL:
		if ((rv = dict_parse_levels(ctx, c, jlev)) != MCN_OK)
			return (rv);
		if (c->consent && mcn_dict_level_index(c, "yes") < 0)
			DICT_FAIL(ctx, "a consent column needs the level \"yes\"");
		return (MCN_OK);
	case MCN_COL_CODE:
		if (jcs == NULL)
			DICT_FAIL(ctx, "code column needs \"code_system\"");
		if ((rv = dict_opt_string(ctx, o, "code_system",
		         &c->code_system)) != MCN_OK)
			return (rv);
		if (c->code_system[0] == '\0')
			DICT_FAIL(ctx, "\"code_system\" is empty");
		return (MCN_OK);
	}
	return (MCN_EFORMAT);
}

/* ---- fingerprint --------------------------------------------------------- */

static int
fp_bytes(EVP_MD_CTX *h, const void *p, size_t n)
{
	return (EVP_DigestUpdate(h, p, n) == 1);
}

static int
fp_u64(EVP_MD_CTX *h, uint64_t x, size_t width)
{
	uint8_t b[8];
	for (size_t i = 0; i < width; i++)
		b[i] = (uint8_t)(x >> (8 * (width - 1 - i)));
	return (fp_bytes(h, b, width));
}

static int
fp_str(EVP_MD_CTX *h, const char *s)
{
	size_t n = strlen(s);
	return (fp_u64(h, n, 4) && fp_bytes(h, s, n));
}

static int
fp_opt(EVP_MD_CTX *h, const char *s)
{
	if (s == NULL)
		return (fp_u64(h, 0, 1));
	return (fp_u64(h, 1, 1) && fp_str(h, s));
}

static int
fp_f64(EVP_MD_CTX *h, double x)
{
	uint64_t bits;
	if (x == 0)
		x = 0.0;
	memcpy(&bits, &x, sizeof(bits));
	return (fp_u64(h, bits, 8));
}

static mcn_err
dict_fingerprint(mcn_dict *d)
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned int outlen = 0;
	int ok;

	if (h == NULL)
		return (MCN_ENOMEM);
	ok = EVP_DigestInit_ex(h, EVP_sha256(), NULL) == 1 &&
	    fp_bytes(h, "MCN-DICT-2", 10) && fp_str(h, d->name) &&
	    fp_u64(h, (uint64_t)d->version, 8) && fp_str(h, d->table) &&
	    fp_u64(h, d->ncols, 4);
	for (size_t i = 0; ok && i < d->ncols; i++) {
		const mcn_column *c = &d->cols[i];
		ok = fp_str(h, c->name) && fp_u64(h, (uint64_t)c->type, 1) &&
		    fp_u64(h, (uint64_t)c->sensitivity, 1) &&
		    fp_u64(h, (uint64_t)c->required, 1) && fp_opt(h, c->unit) &&
		    fp_opt(h, c->description) && fp_opt(h, c->code_system) &&
		    fp_u64(h, (uint64_t)c->has_range, 1) &&
		    fp_f64(h, c->has_range ? c->min : 0) &&
		    fp_f64(h, c->has_range ? c->max : 0) &&
		    fp_u64(h, c->decimals, 1) && fp_u64(h, c->nlevels, 4);
		for (size_t k = 0; ok && k < c->nlevels; k++)
			ok = fp_str(h, c->levels[k]);
		ok = ok && fp_u64(h, (uint64_t)c->consent, 1) &&
		    fp_opt(h, c->consent_purpose);
	}
	ok = ok && EVP_DigestFinal_ex(h, d->fingerprint, &outlen) == 1 &&
	    outlen == sizeof(d->fingerprint);
	EVP_MD_CTX_free(h);
	return (ok ? MCN_OK : MCN_ECRYPTO);
}

/* ---- top level ----------------------------------------------------------- */

static mcn_err
dict_parse_root(dict_ctx *ctx, mcn_dict *d, const json_t *root)
{
	static const char *const keys[] = { "name", "version", "table",
		"columns" };
	const char *s;
	const json_t *v;
	mcn_err rv;
	size_t n;

	snprintf(ctx->label, sizeof(ctx->label), "dictionary");
	if (!json_is_object(root))
		DICT_FAIL(ctx, "not a JSON object");
	if ((rv = dict_check_keys(ctx, root, keys,
	         sizeof(keys) / sizeof(*keys))) != MCN_OK)
		return (rv);
	if (!dict_json_cstr(json_object_get(root, "name"), &s) ||
	    s[0] == '\0' || strlen(s) > 128)
		DICT_FAIL(ctx, "\"name\" must be a string of 1..128 bytes");
	if ((d->name = mcn_strdup(s)) == NULL)
		return (MCN_ENOMEM);
	v = json_object_get(root, "version");
	if (v == NULL || !json_is_integer(v) || json_integer_value(v) < 0)
		DICT_FAIL(ctx, "\"version\" must be a non-negative integer");
	d->version = json_integer_value(v);
	if (!dict_json_cstr(json_object_get(root, "table"), &s))
		DICT_FAIL(ctx, "\"table\" missing or not a string");
	if (!dict_name_ok(s))
		DICT_FAIL(ctx,
		    "table name '%.*s' is not valid (use "
		    "[a-z_][a-z0-9_], at most %d characters)",
		    70, s, MCN_DICT_NAME_MAX);
	if (dict_is_reserved(s))
		DICT_FAIL(ctx, "table name '%s' is a reserved word", s);
	if (strncmp(s, "mcn_", 4) == 0 || strncmp(s, "sqlite_", 7) == 0)
		DICT_FAIL(ctx,
		    "table name '%s' uses a reserved prefix (mcn_, "
		    "sqlite_)",
		    s);
	if ((d->table = mcn_strdup(s)) == NULL)
		return (MCN_ENOMEM);
	v = json_object_get(root, "columns");
	if (v == NULL || !json_is_array(v) || (n = json_array_size(v)) == 0 ||
	    n > MCN_DICT_MAX_COLUMNS)
		DICT_FAIL(ctx, "\"columns\" must be an array of 1..%d columns",
		    MCN_DICT_MAX_COLUMNS);
	if ((d->cols = mcn_zalloc(n * sizeof(mcn_column))) == NULL)
		return (MCN_ENOMEM);
	d->ncols = n;
	for (size_t i = 0; i < n; i++) {
		mcn_column *c = &d->cols[i];
		if ((rv = dict_parse_column(ctx, c, json_array_get(v, i), i)) !=
		    MCN_OK)
			return (rv);
		if (strcmp(c->name, d->table) == 0)
			DICT_FAIL(ctx, "has the same name as the table");
		for (size_t k = 0; k < i; k++) {
			if (strcmp(d->cols[k].name, c->name) == 0)
				DICT_FAIL(ctx,
				    "name given twice (columns %zu "
				    "and %zu)",
				    k + 1, i + 1);
		}
	}
	return (dict_fingerprint(d));
}

mcn_err
mcn_dict_parse(mcn_dict **out, const char *json, size_t len, char *err,
    size_t errlen)
{
	dict_ctx ctx = { err, errlen, "" };
	json_error_t jerr;
	json_t *root = NULL;
	mcn_dict *d = NULL;
	mcn_err rv = MCN_EFORMAT;

	MCN_MUST(out != NULL && json != NULL && err != NULL);
	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		mcn_msg(err, errlen, "invalid JSON at line %d, column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		goto out;
	}
	if ((d = mcn_zalloc(sizeof(*d))) == NULL) {
		rv = MCN_ENOMEM;
		goto out;
	}
	rv = dict_parse_root(&ctx, d, root);
	if (rv == MCN_ENOMEM)
		mcn_msg(err, errlen, "out of memory");
out:
	json_decref(root);
	if (rv == MCN_OK)
		*out = d;
	else
		mcn_dict_free(d);
	return (rv);
}

mcn_err
mcn_dict_load(mcn_dict **out, const char *path, char *err, size_t errlen)
{
	char msg[MCN_ERRMSG];
	uint8_t *buf = NULL;
	size_t len = 0;
	mcn_err rv;

	MCN_MUST(out != NULL && path != NULL && err != NULL);
	*out = NULL;
	rv = mcn_file_read(path, DICT_FILE_MAX, &buf, &len);
	if (rv == MCN_ERANGE) {
		mcn_msg(err, errlen, "%s: data dictionary larger than 4 MiB",
		    path);
		return (MCN_ETOOBIG);
	}
	if (rv != MCN_OK) {
		mcn_msg(err, errlen, "%s: cannot read data dictionary (%s)",
		    path,
		    (rv & MCN_ESYS) ? strerror(rv & ~MCN_ESYS) :
		                      mcn_strerror(rv));
		return (rv);
	}
	rv = mcn_dict_parse(out, (const char *)buf, len, msg, sizeof(msg));
	if (rv != MCN_OK)
		mcn_msg(err, errlen, "%s: %s", path, msg);
	mcn_file_free(buf, len);
	return (rv);
}
