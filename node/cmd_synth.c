/*
 * node/cmd_synth.c - `mcn synth`: the demo consortium's synthetic data.
 *
 *   mcn synth --site K --rows N [--seed S] [--missing RATE] [--out FILE.csv]
 *   mcn synth --dictionary [--out FILE.json]
 *
 * The CSV is a pure function of (site, seed, missing rate) and row count
 * (node/synth.h); --seed defaults to 1 and --missing to 0.05. Files are
 * written atomically (temporary file in the same directory, fsync,
 * rename), mode 0644: the data is synthetic. Without --out, or with
 * --out -, the output goes to stdout.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/cmd.h"
#include "node/synth.h"
#include "node/util.h"

#define SYNTH_MAX_SITE 1000000u

static void
synth_usage(FILE *f)
{
	fprintf(f,
	    "usage: mcn synth --site K --rows N [--seed S] [--missing RATE] "
	    "[--out FILE.csv]\n"
	    "       mcn synth --dictionary [--out FILE.json]\n"
	    "\n"
	    "Writes synthetic, correlated patients of demo site K (1-based) as "
	    "CSV,\n"
	    "or the demo consortium data dictionary as JSON. Deterministic for "
	    "(K, S).\n"
	    "  --seed S        unsigned 64-bit seed (default 1)\n"
	    "  --missing RATE  probability that an optional field is empty, "
	    "0..1 (default 0.05)\n"
	    "  --out FILE      output file (default or '-': stdout)\n");
}

/* Decimal digits only, value <= max. */
static int
synth_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (s == NULL || *s == '\0') {
		return -1;
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			return -1;
		}
		if (v > (max - (uint64_t)(*s - '0')) / 10) {
			return -1;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int
synth_parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	if (s == NULL || *s == '\0') {
		return -1;
	}
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !(v >= 0.0 && v <= 1.0)) {
		return -1;
	}
	*out = v;
	return 0;
}

/* Writes the CSV to path through a temporary file and a rename. */
static int
synth_to_file(const char *path, unsigned site, uint64_t rows, uint64_t seed,
    double missing)
{
	char err[MCN_ERRMSG];
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 16);
	FILE *f = NULL;
	int fd = -1, rc = MCN_EXIT_FAIL;
	mcn_err rv;

	if (tmp == NULL) {
		fprintf(stderr, "mcn synth: out of memory\n");
		return MCN_EXIT_FAIL;
	}
	snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		fprintf(stderr,
		    "mcn synth: cannot create a file next to %s: %s\n", path,
		    strerror(errno));
		free(tmp);
		return MCN_EXIT_FAIL;
	}
	(void)fchmod(fd, 0644);
	if ((f = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "mcn synth: %s: %s\n", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	(void)setvbuf(f, NULL, _IOFBF, 1 << 16);
	if ((rv = mcn_synth_write(f, site, rows, seed, missing, err,
	         sizeof(err))) != MCN_OK) {
		fprintf(stderr, "mcn synth: %s: %s\n", path, err);
		goto out;
	}
	if (fsync(fileno(f)) != 0) {
		fprintf(stderr, "mcn synth: %s: %s\n", path, strerror(errno));
		goto out;
	}
	rc = fclose(f) == 0 ? MCN_EXIT_OK : MCN_EXIT_FAIL;
	f = NULL;
	if (rc != MCN_EXIT_OK) {
		fprintf(stderr, "mcn synth: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "mcn synth: %s: %s\n", path, strerror(errno));
		rc = MCN_EXIT_FAIL;
		goto out;
	}
	fprintf(stderr,
	    "mcn synth: wrote %llu rows of site %u (seed %llu) to %s\n",
	    (unsigned long long)rows, site, (unsigned long long)seed, path);
out:
	if (f != NULL) {
		(void)fclose(f);
	}
	if (rc != MCN_EXIT_OK) {
		(void)unlink(tmp);
	}
	free(tmp);
	return rc;
}

static int
synth_dictionary(const char *path)
{
	const char *json = mcn_synth_dictionary_json();
	size_t len = strlen(json);
	mcn_err rv;

	if (path == NULL || strcmp(path, "-") == 0) {
		if (fwrite(json, 1, len, stdout) != len ||
		    fflush(stdout) != 0) {
			fprintf(stderr, "mcn synth: stdout: %s\n",
			    strerror(errno));
			return MCN_EXIT_FAIL;
		}
		return MCN_EXIT_OK;
	}
	if ((rv = mcn_file_write(path, json, len, 0644, 0)) != MCN_OK) {
		fprintf(stderr, "mcn synth: %s: %s\n", path,
		    (rv & MCN_ESYS) ? strerror((int)(rv & ~MCN_ESYS)) :
		                      mcn_strerror(rv));
		return MCN_EXIT_FAIL;
	}
	fprintf(stderr, "mcn synth: wrote the demo data dictionary to %s\n",
	    path);
	return MCN_EXIT_OK;
}

int
cmd_synth_main(int argc, const char *argv[])
{
	const char *out = NULL;
	uint64_t site = 0, rows = 0, seed = 1;
	double missing = 0.05;
	int dictionary = 0, have_site = 0, have_rows = 0, have_other = 0;
	char err[MCN_ERRMSG];
	mcn_err rv;

	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
			synth_usage(stdout);
			return MCN_EXIT_OK;
		} else if (strcmp(opt, "--dictionary") == 0) {
			dictionary = 1;
			continue;
		}
		if (val == NULL) {
			fprintf(stderr, "mcn synth: %s needs a value\n", opt);
			goto usage;
		}
		if (strcmp(opt, "--site") == 0) {
			if (synth_parse_u64(val, SYNTH_MAX_SITE, &site) != 0 ||
			    site == 0) {
				fprintf(stderr,
				    "mcn synth: --site must be 1..%u\n",
				    SYNTH_MAX_SITE);
				goto usage;
			}
			have_site = 1;
		} else if (strcmp(opt, "--rows") == 0) {
			if (synth_parse_u64(val, MCN_SYNTH_MAX_ROWS, &rows) !=
			    0) {
				fprintf(stderr,
				    "mcn synth: --rows must be 0..%llu\n",
				    (unsigned long long)MCN_SYNTH_MAX_ROWS);
				goto usage;
			}
			have_rows = 1;
		} else if (strcmp(opt, "--seed") == 0) {
			if (synth_parse_u64(val, UINT64_MAX, &seed) != 0) {
				fprintf(stderr,
				    "mcn synth: --seed must be an "
				    "unsigned 64-bit integer\n");
				goto usage;
			}
			have_other = 1;
		} else if (strcmp(opt, "--missing") == 0) {
			if (synth_parse_rate(val, &missing) != 0) {
				fprintf(stderr,
				    "mcn synth: --missing must be 0..1\n");
				goto usage;
			}
			have_other = 1;
		} else if (strcmp(opt, "--out") == 0) {
			out = val;
		} else {
			fprintf(stderr, "mcn synth: unknown option %s\n", opt);
			goto usage;
		}
		i++;
	}
	if (dictionary) {
		if (have_site || have_rows || have_other) {
			fprintf(stderr,
			    "mcn synth: --dictionary takes only "
			    "--out\n");
			goto usage;
		}
		return synth_dictionary(out);
	}
	if (!have_site || !have_rows) {
		fprintf(stderr, "mcn synth: --site and --rows are required\n");
		goto usage;
	}
	if (out != NULL && strcmp(out, "-") != 0) {
		return synth_to_file(out, (unsigned)site, rows, seed, missing);
	}
	if ((rv = mcn_synth_write(stdout, (unsigned)site, rows, seed, missing,
	         err, sizeof(err))) != MCN_OK) {
		fprintf(stderr, "mcn synth: stdout: %s\n", err);
		return MCN_EXIT_FAIL;
	}
	return MCN_EXIT_OK;

usage:
	synth_usage(stderr);
	return MCN_EXIT_USAGE;
}
