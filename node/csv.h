/*
 * node/csv.h - a strict RFC 4180 CSV reader (the node's import format).
 *
 * Comma separator; a field is either unquoted (no '"', no CR/LF, no comma)
 * or enclosed in double quotes, where "" stands for one quote and commas,
 * CR and LF are data. Records end with LF or CRLF (the last one may end at
 * end of input). A UTF-8 byte order mark at the very start is skipped.
 * Physically empty lines between records are skipped (so a missing value in
 * a one-column file must be written "" or NA). The first record is the
 * header (mcn_csv_header). Field counts are not compared between records:
 * that is the caller's check, with its own message.
 *
 * Refused, with MCN_EDATA: a NUL byte, an unterminated quoted field, a
 * quote inside an unquoted field, anything but a comma or line end after a
 * closing quote, a CR not followed by LF outside quotes, a field longer
 * than MCN_CSV_MAX_FIELD bytes, more than MCN_CSV_MAX_COLUMNS fields, a
 * record longer than MCN_CSV_MAX_RECORD bytes.
 *
 * Messages never quote the input (it is patient data); they say what is
 * wrong and the line number is returned separately. One reader is used by
 * one thread at a time. Buffers holding record bytes are wiped when freed.
 */
#ifndef MCN_NODE_CSV_H
#define MCN_NODE_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/err.h"

#define MCN_CSV_MAX_FIELD (64u * 1024)         /* bytes per field */
#define MCN_CSV_MAX_COLUMNS 10000u             /* fields per record */
#define MCN_CSV_MAX_RECORD (16u * 1024 * 1024) /* bytes per record */

typedef struct mcn_csv mcn_csv;

/* Opens a file for reading. MCN_ESYS|errno (err names the path),
 * MCN_ENOMEM. */
mcn_err mcn_csv_open(mcn_csv **out, const char *path, char *err,
    size_t errlen) MCN_WUR;
/* Reads from an open stream, which the reader does not close. */
mcn_err mcn_csv_open_file(mcn_csv **out, FILE *f) MCN_WUR;
/* Reads len bytes at buf; buf is not copied and must outlive the reader. */
mcn_err mcn_csv_open_buf(mcn_csv **out, const char *buf, size_t len) MCN_WUR;
/* Closes the reader (and the file if mcn_csv_open opened it); NULL ok. */
void mcn_csv_close(mcn_csv *r);

/* Reads the next record. On MCN_OK, *nfields >= 1 and (*fields)[i] are
 * NUL-terminated fields that the caller may modify in place (within their
 * length) and that stay valid until the next call; *line is the physical
 * line (1-based) where the record starts. At end of input: MCN_OK with
 * *nfields == 0 and *fields == NULL. On error: MCN_EDATA (syntax or a
 * limit), MCN_ESYS|errno (read error) or MCN_ENOMEM; err says what is
 * wrong (without the line), *line is the line where it was found (for an
 * unterminated quote, where the quoted field starts). After an error the
 * reader returns the same error again. */
mcn_err mcn_csv_next(mcn_csv *r, char ***fields, size_t *nfields,
    uint64_t *line, char *err, size_t errlen) MCN_WUR;

/* mcn_csv_next for the first record: end of input is MCN_EDATA ("no header
 * line"). */
mcn_err mcn_csv_header(mcn_csv *r, char ***fields, size_t *nfields,
    uint64_t *line, char *err, size_t errlen) MCN_WUR;

#endif
