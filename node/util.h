/*
 * node/util.h - small helpers shared by the node program: whole-file I/O
 * with size limits, atomic writes with explicit modes (0600 for keys),
 * ASCII armor for binary key material, hex, ids, time and the node log.
 *
 * Functions here print nothing except mcn_log. Errors come back as mcn_err
 * plus, where a caller needs one, a message in a caller buffer that names
 * the problem (a path, a line) and never contains data values.
 */
#ifndef MCN_NODE_UTIL_H
#define MCN_NODE_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/err.h"

#define MCN_ID_MAX 32 /* party ids: 1..32 of [A-Za-z0-9_.-], not starting with '.' or '-' */
#define MCN_ERRMSG 512 /* size of error message buffers used across node/ */

/* Reads a whole file into a new mcn_alloc'd buffer (NUL-terminated, *len
 * excludes the NUL). MCN_ESYS|errno if it cannot be read, MCN_ERANGE if it
 * is larger than max bytes. Free with mcn_file_free(buf, len), which wipes. */
mcn_err mcn_file_read(const char *path, size_t max, uint8_t **buf, size_t *len) MCN_WUR;
void mcn_file_free(uint8_t *buf, size_t len);

/* Writes data to path atomically (temporary file in the same directory,
 * fsync, rename) with the given mode (e.g. 0600 for keys, 0644 for public
 * files). If excl, refuses (MCN_ESYS|EEXIST) to replace an existing file. */
mcn_err mcn_file_write(const char *path, const void *data, size_t len,
    unsigned mode, int excl) MCN_WUR;

/* ASCII armor: "-----BEGIN <label>-----\n" base64 lines "-----END <label>-----\n".
 * mcn_armor_encode returns a new NUL-terminated string (free with
 * mcn_file_free(s, strlen(s))). mcn_armor_decode finds the block with this
 * label in text, returns a new buffer (free with mcn_file_free(buf, len));
 * MCN_EFORMAT if missing or malformed. */
mcn_err mcn_armor_encode(char **out, const char *label, const uint8_t *data, size_t len) MCN_WUR;
mcn_err mcn_armor_decode(uint8_t **out, size_t *outlen, const char *label,
    const char *text, size_t textlen) MCN_WUR;
/* Reads an armored file (max 1 MiB) and decodes the block with label. */
mcn_err mcn_armor_read_file(uint8_t **out, size_t *outlen, const char *label, const char *path) MCN_WUR;
/* Armors data and writes it with mcn_file_write. */
mcn_err mcn_armor_write_file(const char *path, const char *label, const uint8_t *data,
    size_t len, unsigned mode, int excl) MCN_WUR;

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void mcn_hex_encode(char *out, const uint8_t *data, size_t len);
/* Exactly 2*len hex digits -> len bytes. MCN_EFORMAT otherwise. */
mcn_err mcn_hex_decode(uint8_t *out, size_t len, const char *hex) MCN_WUR;

/* 1 if id is a valid party id (see MCN_ID_MAX), else 0. */
int mcn_id_valid(const char *id);
/* 1 if s is [a-z][a-z0-9_-]{0,31}: policy role names (certificates,
 * node/policy.h) and consent purposes (node/dict.h). */
int mcn_rolename_valid(const char *s);

/* A database file that must be private: if path does not exist it is
 * created empty with mode 0600 (exclusively, so it is owner-only from the
 * first byte); if it exists it must be a regular file. may_create 0: a
 * missing file is an error (MCN_ESYS|ENOENT, message from missing_hint
 * if given). MCN_ESYS|errno with "PATH: reason" in err. */
mcn_err mcn_file_private(const char *path, int may_create,
    const char *missing_hint, char *err, size_t errlen) MCN_WUR;

/* Wall-clock milliseconds since the Unix epoch; monotonic milliseconds. */
uint64_t mcn_now_ms(void);
uint64_t mcn_mono_ms(void);

/* Node log: "2026-11-23T12:00:00.123Z LEVEL [component] message" to stderr
 * (or the file set by mcn_log_open). Never pass data values to it. */
typedef enum { MCN_LOG_DEBUG, MCN_LOG_INFO, MCN_LOG_WARN, MCN_LOG_ERROR } mcn_log_level;
void mcn_log_set_level(mcn_log_level min);
mcn_err mcn_log_open(const char *path) MCN_WUR; /* append; NULL = stderr */
void mcn_log(mcn_log_level lvl, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf into a message buffer, never overflowing; returns buf. */
char *mcn_msg(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
