/* tests/node/test_util.c - node/util.c: files, armor, hex, ids, messages,
 * clocks and the log. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/util.h"

/* A fresh temporary directory per test; mcnt_rmdir removes it. */
static char *
mcnt_tmpdir(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/mcn-util-XXXXXX");
	if (mkdtemp(buf) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return buf;
}

/* Removes dir and the plain files in it; returns how many files it held. */
static int
mcnt_rmdir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	int n = 0;

	if (d == NULL) {
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) != 0) {
			rmdir(path);
		}
		n++;
	}
	closedir(d);
	rmdir(dir);
	return n;
}

/* Number of directory entries other than . and .. */
static int
mcnt_count(const char *dir)
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
mcnt_mode(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		return 0xffffffffu;
	}
	return (unsigned)(st.st_mode & 07777);
}

static void
test_file_write_modes(void)
{
	char dir[64], a[128], b[128];
	uint8_t *buf;
	size_t len;
	mode_t old = umask(077); /* the mode asked for must win over umask */

	mcnt_tmpdir(dir, sizeof(dir));
	snprintf(a, sizeof(a), "%s/key", dir);
	snprintf(b, sizeof(b), "%s/pub", dir);
	CHECK_OK(mcn_file_write(a, "secret", 6, 0600, 1));
	CHECK_OK(mcn_file_write(b, "public", 6, 0644, 0));
	CHECK(mcnt_mode(a) == 0600);
	CHECK(mcnt_mode(b) == 0644);
	umask(old);

	/* excl refuses to replace, and leaves the old contents */
	CHECK_ERR(mcn_file_write(a, "other!", 6, 0600, 1), MCN_ESYS | EEXIST);
	REQUIRE_OK(mcn_file_read(a, 100, &buf, &len));
	CHECK(len == 6 && memcmp(buf, "secret", 6) == 0);
	mcn_file_free(buf, len);

	/* without excl the file is replaced, with the new mode */
	CHECK_OK(mcn_file_write(b, "replaced", 8, 0600, 0));
	CHECK(mcnt_mode(b) == 0600);
	REQUIRE_OK(mcn_file_read(b, 100, &buf, &len));
	CHECK(len == 8 && memcmp(buf, "replaced", 8) == 0);
	mcn_file_free(buf, len);

	/* empty file */
	snprintf(b, sizeof(b), "%s/empty", dir);
	CHECK_OK(mcn_file_write(b, "", 0, 0644, 1));
	REQUIRE_OK(mcn_file_read(b, 100, &buf, &len));
	CHECK(len == 0 && buf != NULL && buf[0] == 0);
	mcn_file_free(buf, len);

	/* no temporary files are left behind */
	CHECK(mcnt_count(dir) == 3);

	/* a directory that does not exist */
	snprintf(b, sizeof(b), "%s/no/such", dir);
	CHECK_ERR(mcn_file_write(b, "x", 1, 0644, 0), MCN_ESYS | ENOENT);
	CHECK(mcnt_count(dir) == 3);
	CHECK(mcnt_rmdir(dir) == 3);
}

static void
test_file_read_limits(void)
{
	char dir[64], a[128];
	uint8_t data[100], *buf = NULL;
	size_t len = 99;

	for (int i = 0; i < 100; i++) {
		data[i] = (uint8_t)(i * 7 + 1);
	}
	mcnt_tmpdir(dir, sizeof(dir));
	snprintf(a, sizeof(a), "%s/f", dir);
	REQUIRE_OK(mcn_file_write(a, data, sizeof(data), 0644, 1));

	CHECK_ERR(mcn_file_read(a, 99, &buf, &len), MCN_ERANGE);
	CHECK(buf == NULL && len == 0);
	REQUIRE_OK(mcn_file_read(a, 100, &buf, &len));
	CHECK(len == 100 && memcmp(buf, data, 100) == 0 && buf[100] == 0);
	mcn_file_free(buf, len);

	CHECK_ERR(mcn_file_read(dir, 1000, &buf, &len), MCN_ESYS | EISDIR);
	snprintf(a, sizeof(a), "%s/missing", dir);
	CHECK_ERR(mcn_file_read(a, 1000, &buf, &len), MCN_ESYS | ENOENT);
	CHECK(buf == NULL);
	mcn_file_free(NULL, 0); /* no-op */
	CHECK(mcnt_rmdir(dir) == 1);
}

static void
test_armor_roundtrip(void)
{
	uint8_t data[201];
	unsigned bad = 0;
	mcn_rng *rng = mcnt_rng(7);

	REQUIRE_OK(mcn_rng_bytes(rng, data, sizeof(data)));
	mcn_rng_free(rng);
	for (size_t n = 0; n <= 200; n++) {
		char *s = NULL;
		uint8_t *out = NULL;
		size_t outlen = 0;
		if (mcn_armor_encode(&s, "MCN TEST", data, n) != MCN_OK) {
			bad++;
			continue;
		}
		/* 64-column lines between the markers */
		const char *body = strchr(s, '\n') + 1;
		size_t lines = 0;
		for (const char *q = body; strncmp(q, "-----END", 8) != 0;
		     q = strchr(q, '\n') + 1) {
			if ((size_t)(strchr(q, '\n') - q) > 64) {
				bad++;
			}
			lines++;
		}
		if (lines != (n + 47) / 48 ||
		    strncmp(s, "-----BEGIN MCN TEST-----\n", 25) != 0 ||
		    strcmp(s + strlen(s) - 23, "-----END MCN TEST-----\n") !=
		        0) {
			bad++;
		}
		if (mcn_armor_decode(&out, &outlen, "MCN TEST", s, strlen(s)) !=
		        MCN_OK ||
		    outlen != n || memcmp(out, data, n) != 0) {
			fprintf(stderr,
			    "armor length %zu does not round-trip\n", n);
			bad++;
		}
		mcn_file_free(out, outlen);
		mcn_file_free((uint8_t *)s, strlen(s));
	}
	CHECK(bad == 0);
}

static void
test_armor_known(void)
{
	char *s;
	uint8_t *out;
	size_t len;
	/* "hello" in base64 is aGVsbG8= */
	REQUIRE_OK(mcn_armor_encode(&s, "X", (const uint8_t *)"hello", 5));
	CHECK(strcmp(s, "-----BEGIN X-----\naGVsbG8=\n-----END X-----\n") == 0);
	mcn_file_free((uint8_t *)s, strlen(s));

	/* text around the block, CRLF line ends and blanks inside are fine */
	const char *t = "comment line\r\n-----BEGIN X-----\r\naGVs bG8=\r\n"
	                "-----END X-----\r\ntrailer\n";
	REQUIRE_OK(mcn_armor_decode(&out, &len, "X", t, strlen(t)));
	CHECK(len == 5 && memcmp(out, "hello", 5) == 0);
	mcn_file_free(out, len);

	/* the block with the asked-for label is found among others */
	t = "-----BEGIN A-----\nAAAA\n-----END A-----\n"
	    "-----BEGIN B-----\naGk=\n-----END B-----\n";
	REQUIRE_OK(mcn_armor_decode(&out, &len, "B", t, strlen(t)));
	CHECK(len == 2 && memcmp(out, "hi", 2) == 0);
	mcn_file_free(out, len);
	REQUIRE_OK(mcn_armor_decode(&out, &len, "A", t, strlen(t)));
	CHECK(len == 3 && memcmp(out, "\0\0\0", 3) == 0);
	mcn_file_free(out, len);
}

static void
test_armor_corrupt(void)
{
	static const char *bad[] = {
		"",                              /* nothing */
		"aGVsbG8=\n",                    /* no markers */
		"-----BEGIN X-----\naGVsbG8=\n", /* no END */
		"aGVsbG8=\n-----END X-----\n",   /* no BEGIN */
		"-----BEGIN Y-----\naGVsbG8=\n-----END Y-----\n", /* label */
		"-----BEGIN X-----\naGVsbG8\n-----END X-----\n",  /* len % 4 */
		"-----BEGIN X-----\naGV*bG8=\n-----END X-----\n", /* bad char */
		"-----BEGIN X-----\naGVsbG8=\n-----END Y-----\n", /* END label */
		"-----BEGIN X-----\naG==bG8=\n-----END X-----\n", /* '=' inside */
		"-----BEGIN X-----\naG8=\n=AAA\n-----END X-----\n", /* '=' inside */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *out = (uint8_t *)"sentinel";
		size_t len = 1;
		mcn_err rv =
		    mcn_armor_decode(&out, &len, "X", bad[i], strlen(bad[i]));
		CHECK_ERR(rv, MCN_EFORMAT);
		if (rv != MCN_EFORMAT) {
			fprintf(stderr, "  case %zu\n", i);
		}
		CHECK(out == NULL && len == 0);
		if (rv == MCN_OK) {
			mcn_file_free(out, len);
		}
	}
	/* an embedded NUL inside the given length */
	static const char nul[] =
	    "-----BEGIN X-----\naGVs\0bG8=\n-----END X-----\n";
	uint8_t *out;
	size_t len;
	CHECK_ERR(mcn_armor_decode(&out, &len, "X", nul, sizeof(nul) - 1),
	    MCN_EFORMAT);
}

static void
test_armor_files(void)
{
	char dir[64], a[128];
	uint8_t key[32], *out;
	size_t len;

	for (int i = 0; i < 32; i++) {
		key[i] = (uint8_t)(255 - i);
	}
	mcnt_tmpdir(dir, sizeof(dir));
	snprintf(a, sizeof(a), "%s/k.mask", dir);
	CHECK_OK(mcn_armor_write_file(a, "MCN K", key, 32, 0600, 1));
	CHECK(mcnt_mode(a) == 0600);
	CHECK_ERR(mcn_armor_write_file(a, "MCN K", key, 32, 0600, 1),
	    MCN_ESYS | EEXIST);
	REQUIRE_OK(mcn_armor_read_file(&out, &len, "MCN K", a));
	CHECK(len == 32 && memcmp(out, key, 32) == 0);
	mcn_file_free(out, len);
	CHECK_ERR(mcn_armor_read_file(&out, &len, "MCN OTHER", a), MCN_EFORMAT);

	/* larger than the 1 MiB limit of mcn_armor_read_file */
	snprintf(a, sizeof(a), "%s/big", dir);
	size_t big = (1u << 20) + 1;
	char *junk = malloc(big);
	REQUIRE_OK(junk != NULL ? MCN_OK : MCN_ENOMEM);
	memset(junk, 'A', big);
	CHECK_OK(mcn_file_write(a, junk, big, 0644, 1));
	free(junk);
	CHECK_ERR(mcn_armor_read_file(&out, &len, "MCN K", a), MCN_ERANGE);
	snprintf(a, sizeof(a), "%s/none", dir);
	CHECK_ERR(mcn_armor_read_file(&out, &len, "MCN K", a),
	    MCN_ESYS | ENOENT);
	CHECK(mcnt_rmdir(dir) == 2);
}

static void
test_hex(void)
{
	static const uint8_t b[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char hex[2 * sizeof(b) + 1];
	uint8_t out[sizeof(b)];

	mcn_hex_encode(hex, b, sizeof(b));
	CHECK(strcmp(hex, "00017f80abff") == 0);
	mcn_hex_encode(hex, b, 0);
	CHECK(hex[0] == 0);

	CHECK_OK(mcn_hex_decode(out, sizeof(b), "00017f80abff"));
	CHECK(memcmp(out, b, sizeof(b)) == 0);
	CHECK_OK(mcn_hex_decode(out, sizeof(b), "00017F80ABFF"));
	CHECK(memcmp(out, b, sizeof(b)) == 0);
	CHECK_OK(mcn_hex_decode(out, 0, ""));
	CHECK_ERR(mcn_hex_decode(out, sizeof(b), "00017f80abf"), MCN_EFORMAT);
	CHECK_ERR(mcn_hex_decode(out, sizeof(b), "00017f80abff0"), MCN_EFORMAT);
	CHECK_ERR(mcn_hex_decode(out, sizeof(b), "00017f80abfg"), MCN_EFORMAT);
	CHECK_ERR(mcn_hex_decode(out, sizeof(b), "0x017f80abff"), MCN_EFORMAT);
	CHECK_ERR(mcn_hex_decode(out, sizeof(b), " 0017f80abff"), MCN_EFORMAT);
}

static void
test_id_valid(void)
{
	static const struct {
		const char *id;
		int ok;
	} cases[] = {
		{ "site1", 1 },
		{ "a", 1 },
		{ "Site_2.b-3", 1 },
		{ "_x", 1 },
		{ "x.", 1 },
		{ "x-", 1 },
		{ "0", 1 },
		{ "abcdefghijklmnopqrstuvwxyz012345", 1 },  /* 32 */
		{ "abcdefghijklmnopqrstuvwxyz0123456", 0 }, /* 33 */
		{ "", 0 },
		{ ".hidden", 0 },
		{ "-opt", 0 },
		{ "a b", 0 },
		{ "a/b", 0 },
		{ "../x", 0 },
		{ "a,b", 0 },
		{ "a=b", 0 },
		{ "a:b", 0 },
		{ "caf\xc3\xa9", 0 },
		{ "tab\t", 0 },
		{ "nl\n", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = mcn_id_valid(cases[i].id);
		CHECK(got == cases[i].ok);
		if (got != cases[i].ok) {
			fprintf(stderr, "  id case %zu\n", i);
		}
	}
}

static void
test_msg_clock(void)
{
	char buf[8];

	CHECK(mcn_msg(buf, sizeof(buf), "%s:%d", "abc", 12) == buf);
	CHECK(strcmp(buf, "abc:12") == 0);
	mcn_msg(buf, sizeof(buf), "%s", "0123456789");
	CHECK(strcmp(buf, "0123456") == 0); /* truncated, terminated */

	uint64_t now = mcn_now_ms();
	CHECK(now > 1700000000000ull); /* after Nov 2023 */
	CHECK(now < 4102444800000ull); /* before 2100 */
	uint64_t m0 = mcn_mono_ms(), m1 = mcn_mono_ms();
	CHECK(m1 >= m0);
}

static void
test_log(void)
{
	char dir[64], a[128];
	uint8_t *buf;
	size_t len;

	mcnt_tmpdir(dir, sizeof(dir));
	snprintf(a, sizeof(a), "%s/node.log", dir);
	REQUIRE_OK(mcn_log_open(a));
	mcn_log_set_level(MCN_LOG_INFO);
	mcn_log(MCN_LOG_DEBUG, "test", "hidden %d", 1);
	mcn_log(MCN_LOG_WARN, "pki", "shown %d", 2);
	mcn_log_set_level(MCN_LOG_DEBUG);
	mcn_log(MCN_LOG_DEBUG, "test", "now shown");
	REQUIRE_OK(mcn_log_open(NULL));
	mcn_log_set_level(MCN_LOG_INFO);

	REQUIRE_OK(mcn_file_read(a, 4096, &buf, &len));
	const char *s = (const char *)buf;
	const char *l2 = strchr(s, '\n');
	/* "2026-11-23T12:00:00.123Z WARN  [pki] shown 2" */
	CHECK(len > 25 && s[4] == '-' && s[10] == 'T' && s[19] == '.' &&
	    s[23] == 'Z');
	CHECK(strncmp(s + 24, " WARN  [pki] shown 2\n", 21) == 0);
	CHECK(l2 != NULL &&
	    strncmp(l2 + 26, "DEBUG [test] now shown\n", 23) == 0);
	CHECK(strstr(s, "hidden") == NULL);
	mcn_file_free(buf, len);
	CHECK(mcnt_rmdir(dir) == 1);
}

MCNT_MAIN({ "file_write_modes", test_file_write_modes },
    { "file_read_limits", test_file_read_limits },
    { "armor_roundtrip", test_armor_roundtrip },
    { "armor_known", test_armor_known },
    { "armor_corrupt", test_armor_corrupt },
    { "armor_files", test_armor_files }, { "hex", test_hex },
    { "id_valid", test_id_valid }, { "msg_clock", test_msg_clock },
    { "log", test_log })
