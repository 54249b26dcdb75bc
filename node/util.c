/*
 * node/util.c - file I/O, armor, hex, ids, clocks and the node log.
 */
#define _GNU_SOURCE
#include "node/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto/mem.h"

mcn_err
mcn_file_read(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	*buf = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (MCN_ESYS | errno);
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return (MCN_ESYS | e);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return (MCN_ESYS | EISDIR);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return (MCN_ERANGE);
	}
	size_t cap = (size_t)st.st_size;
	uint8_t *b = mcn_alloc(cap + 1);
	if (b == NULL) {
		close(fd);
		return (MCN_ENOMEM);
	}
	size_t got = 0;
	while (got < cap) {
		ssize_t r = read(fd, b + got, cap - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			mcn_file_free(b, cap);
			return (MCN_ESYS | e);
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	b[got] = 0;
	*buf = b;
	*len = got;
	return (MCN_OK);
}

void
mcn_file_free(uint8_t *buf, size_t len)
{
	if (buf == NULL)
		return;
	mcn_wipe(buf, len + 1);
	mcn_free(buf, len + 1);
}

mcn_err
mcn_file_write(const char *path, const void *data, size_t len, unsigned mode,
    int excl)
{
	if (excl && access(path, F_OK) == 0)
		return (MCN_ESYS | EEXIST);
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	if (tmp == NULL)
		return (MCN_ENOMEM);
	snprintf(tmp, plen + 16, "%s.tmp%05u", path, (unsigned)(getpid() % 100000));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		int e = errno;
		free(tmp);
		return (MCN_ESYS | e);
	}
	/* open() honours the umask; set the exact mode asked for. */
	(void)fchmod(fd, (mode_t)mode);
	const uint8_t *p = data;
	size_t done = 0;
	int e = 0;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			break;
		}
		done += (size_t)w;
	}
	if (e == 0 && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e == 0) {
		if (excl) {
			/* link() fails if path exists: no check-then-rename race. */
			if (link(tmp, path) != 0)
				e = errno;
			(void)unlink(tmp);
		} else if (rename(tmp, path) != 0) {
			e = errno;
		}
	}
	if (e != 0)
		(void)unlink(tmp);
	free(tmp);
	return (e == 0 ? MCN_OK : (MCN_ESYS | e));
}

mcn_err
mcn_armor_encode(char **out, const char *label, const uint8_t *data, size_t len)
{
	*out = NULL;
	if (len > (1u << 28))
		return (MCN_ERANGE);
	size_t b64 = 4 * ((len + 2) / 3);
	size_t lines = b64 / 64 + 1;
	size_t cap = b64 + lines + 2 * (strlen(label) + 32) + 1;
	char *s = (char *)mcn_alloc(cap + 1);
	if (s == NULL)
		return (MCN_ENOMEM);
	size_t o = (size_t)snprintf(s, cap, "-----BEGIN %s-----\n", label);
	for (size_t i = 0; i < len; i += 48) {
		size_t n = len - i < 48 ? len - i : 48;
		o += (size_t)EVP_EncodeBlock((unsigned char *)s + o, data + i, (int)n);
		s[o++] = '\n';
	}
	o += (size_t)snprintf(s + o, cap - o, "-----END %s-----\n", label);
	s[o] = 0;
	/* the caller frees with mcn_file_free(s, strlen(s)); keep sizes equal */
	char *t = (char *)mcn_alloc(o + 1);
	if (t == NULL) {
		mcn_wipe(s, cap + 1);
		mcn_free(s, cap + 1);
		return (MCN_ENOMEM);
	}
	memcpy(t, s, o + 1);
	mcn_wipe(s, cap + 1);
	mcn_free(s, cap + 1);
	*out = t;
	return (MCN_OK);
}

mcn_err
mcn_armor_decode(uint8_t **out, size_t *outlen, const char *label,
    const char *text, size_t textlen)
{
	*out = NULL;
	*outlen = 0;
	char begin[128], end[128];
	if (strlen(label) > 80)
		return (MCN_EINVAL);
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	if (memchr(text, 0, textlen) != NULL)
		return (MCN_EFORMAT);
	const char *b = memmem(text, textlen, begin, strlen(begin));
	if (b == NULL)
		return (MCN_EFORMAT);
	b += strlen(begin);
	const char *e = memmem(b, textlen - (size_t)(b - text), end, strlen(end));
	if (e == NULL)
		return (MCN_EFORMAT);
	/* Collect base64 characters, skipping whitespace. */
	size_t n = (size_t)(e - b);
	char *clean = (char *)mcn_alloc(n + 1);
	if (clean == NULL)
		return (MCN_ENOMEM);
	size_t c = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = b[i];
		if (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t')
			continue;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		        (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || ch == '=')) {
			mcn_free(clean, n + 1);
			return (MCN_EFORMAT);
		}
		clean[c++] = ch;
	}
	if (c % 4 != 0) {
		mcn_free(clean, n + 1);
		return (MCN_EFORMAT);
	}
	size_t pad = 0;
	if (c > 0 && clean[c - 1] == '=')
		pad++;
	if (c > 1 && clean[c - 2] == '=')
		pad++;
	/* '=' is padding only: at most two, and only at the very end. */
	for (size_t i = 0; i + pad < c; i++) {
		if (clean[i] == '=') {
			mcn_free(clean, n + 1);
			return (MCN_EFORMAT);
		}
	}
	if (c == 0) {
		mcn_free(clean, n + 1);
		uint8_t *z = mcn_alloc(1);
		if (z == NULL)
			return (MCN_ENOMEM);
		z[0] = 0;
		*out = z;
		*outlen = 0;
		return (MCN_OK);
	}
	size_t cap = c / 4 * 3;
	uint8_t *d = mcn_alloc(cap + 1);
	if (d == NULL) {
		mcn_free(clean, n + 1);
		return (MCN_ENOMEM);
	}
	int r = EVP_DecodeBlock(d, (const unsigned char *)clean, (int)c);
	mcn_wipe(clean, n + 1);
	mcn_free(clean, n + 1);
	if (r < 0 || (size_t)r != cap) {
		mcn_wipe(d, cap + 1);
		mcn_free(d, cap + 1);
		return (MCN_EFORMAT);
	}
	/* Return a buffer whose size matches mcn_file_free(out, len). */
	size_t len = cap - pad;
	uint8_t *o = mcn_alloc(len + 1);
	if (o == NULL) {
		mcn_wipe(d, cap + 1);
		mcn_free(d, cap + 1);
		return (MCN_ENOMEM);
	}
	memcpy(o, d, len);
	o[len] = 0;
	mcn_wipe(d, cap + 1);
	mcn_free(d, cap + 1);
	*out = o;
	*outlen = len;
	return (MCN_OK);
}

mcn_err
mcn_armor_read_file(uint8_t **out, size_t *outlen, const char *label, const char *path)
{
	uint8_t *text;
	size_t len;
	mcn_err rv = mcn_file_read(path, 1u << 20, &text, &len);
	if (rv != MCN_OK)
		return (rv);
	rv = mcn_armor_decode(out, outlen, label, (const char *)text, len);
	mcn_file_free(text, len);
	return (rv);
}

mcn_err
mcn_armor_write_file(const char *path, const char *label, const uint8_t *data,
    size_t len, unsigned mode, int excl)
{
	char *s;
	mcn_err rv = mcn_armor_encode(&s, label, data, len);
	if (rv != MCN_OK)
		return (rv);
	size_t sl = strlen(s);
	rv = mcn_file_write(path, s, sl, mode, excl);
	mcn_file_free((uint8_t *)s, sl);
	return (rv);
}

void
mcn_hex_encode(char *out, const uint8_t *data, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hx[data[i] >> 4];
		out[2 * i + 1] = hx[data[i] & 15];
	}
	out[2 * len] = 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

mcn_err
mcn_hex_decode(uint8_t *out, size_t len, const char *hex)
{
	if (strlen(hex) != 2 * len)
		return (MCN_EFORMAT);
	for (size_t i = 0; i < len; i++) {
		int h = hexval(hex[2 * i]), l = hexval(hex[2 * i + 1]);
		if (h < 0 || l < 0)
			return (MCN_EFORMAT);
		out[i] = (uint8_t)(h << 4 | l);
	}
	return (MCN_OK);
}

int
mcn_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > MCN_ID_MAX || id[0] == '.' || id[0] == '-')
		return (0);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return (0);
	}
	return (1);
}

uint64_t
mcn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

uint64_t
mcn_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

static mcn_log_level log_min = MCN_LOG_INFO;
static FILE *log_fp;

void
mcn_log_set_level(mcn_log_level min)
{
	log_min = min;
}

mcn_err
mcn_log_open(const char *path)
{
	if (path == NULL) {
		if (log_fp != NULL)
			fclose(log_fp);
		log_fp = NULL;
		return (MCN_OK);
	}
	FILE *f = fopen(path, "a");
	if (f == NULL)
		return (MCN_ESYS | errno);
	setvbuf(f, NULL, _IOLBF, 0);
	if (log_fp != NULL)
		fclose(log_fp);
	log_fp = f;
	return (MCN_OK);
}

void
mcn_log(mcn_log_level lvl, const char *component, const char *fmt, ...)
{
	static const char *names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
	if (lvl < log_min)
		return;
	FILE *f = log_fp != NULL ? log_fp : stderr;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char line[1024];
	int o = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000L, names[lvl], component);
	if (o < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	if ((size_t)o < sizeof(line))
		vsnprintf(line + o, sizeof(line) - (size_t)o, fmt, ap);
	va_end(ap);
	fprintf(f, "%s\n", line);
	fflush(f);
}

char *
mcn_msg(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return (buf);
}

int
mcn_rolename_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z')
		return (0);
	for (size_t i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		        (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		        s[i] == '-'))
			return (0);
	return (1);
}

mcn_err
mcn_file_private(const char *path, int may_create, const char *missing_hint,
    char *err, size_t errlen)
{
	struct stat sb;
	int e;

	if (stat(path, &sb) == 0) {
		if (S_ISREG(sb.st_mode))
			return (MCN_OK);
		mcn_msg(err, errlen, "%s: not a regular file", path);
		return (MCN_ESYS | (S_ISDIR(sb.st_mode) ? EISDIR : EINVAL));
	}
	e = errno;
	if (e != ENOENT || !may_create) {
		if (e == ENOENT && missing_hint != NULL)
			mcn_msg(err, errlen, "%s: %s", path, missing_hint);
		else
			mcn_msg(err, errlen, "%s: %s", path, strerror(e));
		return (MCN_ESYS | e);
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		e = errno;
		mcn_msg(err, errlen, "%s: cannot create (%s)", path, strerror(e));
		return (MCN_ESYS | e);
	}
	if (fd >= 0)
		close(fd);
	return (MCN_OK);
}
