/*
 * node/csv.c - strict RFC 4180 reader (see node/csv.h for the grammar).
 *
 * A record is read byte by byte through a 64 KiB input window (or straight
 * from the caller's buffer) into one growing record buffer where fields are
 * stored back to back, each NUL-terminated; the field pointers are built
 * once the record is complete, because the buffer may move while it grows.
 * Lines are counted on LF, including LFs inside quoted fields, so the line
 * of a record is the physical line an editor shows.
 */
#define _POSIX_C_SOURCE 200809L
#include "node/csv.h"

#include <errno.h>
#include <string.h>

#include "crypto/mem.h"
#include "node/util.h"

#define CSV_WINDOW (64u * 1024)
#define CSV_EOF (-1)
#define CSV_IOERR (-2)

struct mcn_csv {
	FILE *f;      /* NULL when reading from memory */
	int own;      /* close f in mcn_csv_close */
	uint8_t *win; /* file mode: our window; memory mode: caller's bytes */
	size_t wlen, wpos;
	int ioerr;      /* errno of a failed read, else 0 */
	int started;    /* BOM check done */
	uint64_t line;  /* current physical line */
	mcn_err failed; /* sticky error */
	char failmsg[96];
	uint64_t failline;

	char *rec; /* fields, each NUL-terminated */
	size_t reclen, reccap;
	size_t *offs; /* start of each field in rec */
	size_t offcap;
	char **fields; /* built when a record is complete */
	size_t fieldcap;
};

static mcn_err
csv_new(mcn_csv **out)
{
	mcn_csv *r = mcn_zalloc(sizeof(*r));
	if (r == NULL)
		return (MCN_ENOMEM);
	r->line = 1;
	*out = r;
	return (MCN_OK);
}

mcn_err
mcn_csv_open_file(mcn_csv **out, FILE *f)
{
	mcn_csv *r;
	mcn_err rv;

	MCN_MUST(out != NULL && f != NULL);
	*out = NULL;
	if ((rv = csv_new(&r)) != MCN_OK)
		return (rv);
	if ((r->win = mcn_alloc(CSV_WINDOW)) == NULL) {
		mcn_free(r, sizeof(*r));
		return (MCN_ENOMEM);
	}
	r->f = f;
	*out = r;
	return (MCN_OK);
}

mcn_err
mcn_csv_open_buf(mcn_csv **out, const char *buf, size_t len)
{
	mcn_csv *r;
	mcn_err rv;

	MCN_MUST(out != NULL && (buf != NULL || len == 0));
	*out = NULL;
	if ((rv = csv_new(&r)) != MCN_OK)
		return (rv);
	r->win = (uint8_t *)(uintptr_t)buf; /* never written in memory mode */
	r->wlen = len;
	*out = r;
	return (MCN_OK);
}

mcn_err
mcn_csv_open(mcn_csv **out, const char *path, char *err, size_t errlen)
{
	FILE *f;
	mcn_err rv;

	MCN_MUST(out != NULL && path != NULL);
	*out = NULL;
	if ((f = fopen(path, "rb")) == NULL) {
		int e = errno;
		mcn_msg(err, errlen, "%s: %s", path, strerror(e));
		return (MCN_ESYS | e);
	}
	if ((rv = mcn_csv_open_file(out, f)) != MCN_OK) {
		fclose(f);
		mcn_msg(err, errlen, "out of memory");
		return (rv);
	}
	(*out)->own = 1;
	return (MCN_OK);
}

void
mcn_csv_close(mcn_csv *r)
{
	if (r == NULL)
		return;
	if (r->f != NULL) {
		mcn_free(r->win, CSV_WINDOW);
		if (r->own)
			fclose(r->f);
	}
	mcn_free(r->rec, r->reccap);
	mcn_free(r->offs, r->offcap * sizeof(size_t));
	mcn_free(r->fields, r->fieldcap * sizeof(char *));
	mcn_free(r, sizeof(*r));
}

/* Makes at least `need` (<= CSV_WINDOW) unread bytes available unless the
 * input ends first. Returns 0, or -1 on a read error (r->ioerr set). */
static int
csv_fill(mcn_csv *r, size_t need)
{
	if (r->f == NULL || r->wlen - r->wpos >= need)
		return (0);
	size_t left = r->wlen - r->wpos;
	memmove(r->win, r->win + r->wpos, left);
	r->wpos = 0;
	r->wlen = left;
	while (r->wlen < need) {
		size_t got =
		    fread(r->win + r->wlen, 1, CSV_WINDOW - r->wlen, r->f);
		if (got == 0) {
			if (ferror(r->f)) {
				r->ioerr = errno != 0 ? errno : EIO;
				return (-1);
			}
			break;
		}
		r->wlen += got;
	}
	return (0);
}

static int
csv_peek(mcn_csv *r)
{
	if (r->wpos < r->wlen)
		return (r->win[r->wpos]);
	if (csv_fill(r, 1) != 0)
		return (CSV_IOERR);
	return (r->wpos < r->wlen ? r->win[r->wpos] : CSV_EOF);
}

static inline int
csv_get(mcn_csv *r)
{
	if (r->wpos < r->wlen)
		return (r->win[r->wpos++]);
	int c = csv_peek(r);
	if (c >= 0)
		r->wpos++;
	return (c);
}

/* Grows an mcn_alloc'd array (mcn_alloc has no realloc). */
static int
csv_grow(void **p, size_t *cap, size_t elem, size_t want)
{
	size_t ncap = *cap == 0 ? 64 : *cap;
	while (ncap < want)
		ncap *= 2;
	void *np = mcn_alloc(ncap * elem);
	if (np == NULL)
		return (-1);
	if (*p != NULL) {
		memcpy(np, *p, *cap * elem);
		mcn_free(*p, *cap * elem);
	}
	*p = np;
	*cap = ncap;
	return (0);
}

static mcn_err
csv_fail(mcn_csv *r, mcn_err rv, uint64_t line, const char *msg)
{
	r->failed = rv;
	r->failline = line;
	snprintf(r->failmsg, sizeof(r->failmsg), "%s", msg);
	return (rv);
}

static mcn_err
csv_fail_io(mcn_csv *r)
{
	return (csv_fail(r, MCN_ESYS | r->ioerr, r->line, strerror(r->ioerr)));
}

static mcn_err
csv_put(mcn_csv *r, int c, size_t fstart)
{
	if (r->reclen - fstart >= MCN_CSV_MAX_FIELD)
		return (csv_fail(r, MCN_EDATA, r->line,
		    "field longer than 65536 bytes"));
	if (r->reclen + 1 >= r->reccap) {
		if (r->reclen + 1 >= MCN_CSV_MAX_RECORD)
			return (csv_fail(r, MCN_EDATA, r->line,
			    "record longer than 16 MiB"));
		if (csv_grow((void **)&r->rec, &r->reccap, 1, r->reclen + 2))
			return (
			    csv_fail(r, MCN_ENOMEM, r->line, "out of memory"));
	}
	r->rec[r->reclen++] = (char)c;
	return (MCN_OK);
}

static mcn_err
csv_begin_field(mcn_csv *r, size_t nf)
{
	if (nf >= MCN_CSV_MAX_COLUMNS)
		return (
		    csv_fail(r, MCN_EDATA, r->line, "more than 10000 fields"));
	if (nf >= r->offcap &&
	    csv_grow((void **)&r->offs, &r->offcap, sizeof(size_t), nf + 1))
		return (csv_fail(r, MCN_ENOMEM, r->line, "out of memory"));
	r->offs[nf] = r->reclen;
	return (MCN_OK);
}

/* Reads one quoted field (the opening quote is consumed) and returns the
 * byte after the closing quote (or CSV_EOF / CSV_IOERR), or an error. */
static mcn_err
csv_quoted(mcn_csv *r, size_t fstart, int *after)
{
	uint64_t qline = r->line;
	mcn_err rv;

	for (;;) {
		int c = csv_get(r);
		if (c == CSV_IOERR)
			return (csv_fail_io(r));
		if (c == CSV_EOF)
			return (csv_fail(r, MCN_EDATA, qline,
			    "unterminated quoted field"));
		if (c == 0)
			return (csv_fail(r, MCN_EDATA, r->line, "NUL byte"));
		if (c == '"') {
			c = csv_get(r);
			if (c != '"') {
				*after = c;
				return (MCN_OK);
			}
		} else if (c == '\n') {
			r->line++;
		}
		if ((rv = csv_put(r, c, fstart)) != MCN_OK)
			return (rv);
	}
}

/* Reads one record into r->rec / r->offs; *nf = 0 at end of input. */
static mcn_err
csv_record(mcn_csv *r, size_t *nfp, uint64_t *start)
{
	size_t nf = 0;
	mcn_err rv;
	int c;

	/* skip physically empty lines */
	for (;;) {
		c = csv_peek(r);
		if (c == CSV_IOERR)
			return (csv_fail_io(r));
		if (c == '\n') {
			r->wpos++;
			r->line++;
			continue;
		}
		if (c == '\r') {
			r->wpos++;
			if ((c = csv_get(r)) != '\n')
				return (c == CSV_IOERR ?
				        csv_fail_io(r) :
				        csv_fail(r, MCN_EDATA, r->line,
				            "carriage return not followed by a "
				            "line "
				            "feed"));
			r->line++;
			continue;
		}
		break;
	}
	*start = r->line;
	r->reclen = 0;
	if (c == CSV_EOF) {
		*nfp = 0;
		return (MCN_OK);
	}
	for (;;) {
		/* one field */
		if ((rv = csv_begin_field(r, nf)) != MCN_OK)
			return (rv);
		size_t fstart = r->reclen;
		c = csv_get(r);
		if (c == '"') {
			if ((rv = csv_quoted(r, fstart, &c)) != MCN_OK)
				return (rv);
			if (c != ',' && c != '\n' && c != '\r' && c >= 0)
				return (csv_fail(r, MCN_EDATA, r->line,
				    "unexpected character after a closing "
				    "quote"));
		} else {
			while (c >= 0 && c != ',' && c != '\n' && c != '\r') {
				if (c == '"')
					return (csv_fail(r, MCN_EDATA, r->line,
					    "quote character inside an "
					    "unquoted field"));
				if (c == 0)
					return (csv_fail(r, MCN_EDATA, r->line,
					    "NUL byte"));
				if ((rv = csv_put(r, c, fstart)) != MCN_OK)
					return (rv);
				c = csv_get(r);
			}
		}
		if (c == CSV_IOERR)
			return (csv_fail_io(r));
		/* terminate the field; the NUL does not count toward the
		 * field limit, but the record buffer must have room */
		if ((rv = csv_put(r, 0, r->reclen)) != MCN_OK)
			return (rv);
		nf++;
		if (c == ',')
			continue;
		if (c == '\r') {
			if ((c = csv_get(r)) != '\n')
				return (c == CSV_IOERR ?
				        csv_fail_io(r) :
				        csv_fail(r, MCN_EDATA, r->line,
				            "carriage return not followed by a "
				            "line "
				            "feed"));
		}
		if (c == '\n')
			r->line++;
		break; /* LF or end of input */
	}
	*nfp = nf;
	return (MCN_OK);
}

mcn_err
mcn_csv_next(mcn_csv *r, char ***fields, size_t *nfields, uint64_t *line,
    char *err, size_t errlen)
{
	uint64_t start = 0;
	size_t nf = 0;
	mcn_err rv;

	MCN_MUST(
	    r != NULL && fields != NULL && nfields != NULL && line != NULL);
	*fields = NULL;
	*nfields = 0;
	if (!r->failed && !r->started) {
		r->started = 1;
		if (csv_fill(r, 3) != 0)
			(void)csv_fail_io(r);
		else if (r->wlen - r->wpos >= 3 &&
		    memcmp(r->win + r->wpos, "\xef\xbb\xbf", 3) == 0)
			r->wpos += 3;
	}
	if (!r->failed && (rv = csv_record(r, &nf, &start)) != MCN_OK)
		r->failed = rv;
	if (r->failed) {
		*line = r->failline;
		if (err != NULL)
			mcn_msg(err, errlen, "%s", r->failmsg);
		return (r->failed);
	}
	*line = start;
	if (nf == 0)
		return (MCN_OK);
	if (nf > r->fieldcap &&
	    csv_grow((void **)&r->fields, &r->fieldcap, sizeof(char *), nf)) {
		(void)csv_fail(r, MCN_ENOMEM, start, "out of memory");
		*line = start;
		if (err != NULL)
			mcn_msg(err, errlen, "%s", r->failmsg);
		return (MCN_ENOMEM);
	}
	for (size_t i = 0; i < nf; i++)
		r->fields[i] = r->rec + r->offs[i];
	*fields = r->fields;
	*nfields = nf;
	return (MCN_OK);
}

mcn_err
mcn_csv_header(mcn_csv *r, char ***fields, size_t *nfields, uint64_t *line,
    char *err, size_t errlen)
{
	mcn_err rv = mcn_csv_next(r, fields, nfields, line, err, errlen);
	if (rv == MCN_OK && *nfields == 0) {
		rv = csv_fail(r, MCN_EDATA, *line, "no header line");
		if (err != NULL)
			mcn_msg(err, errlen, "%s", r->failmsg);
	}
	return (rv);
}
