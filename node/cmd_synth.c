/*
 * node/cmd_synth.c - `mcn synth`: the demo consortium's synthetic data.
 *
 *   mcn synth --site K --rows N [--seed S] [--missing RATE] [--opt-out RATE]
 *             [--overlap RATE] [--out FILE.csv]
 *   mcn synth --dictionary [--out FILE.json]
 *   mcn synth --truth [--opt-out RATE] [--overlap RATE] [--out FILE.json]
 *
 * The CSV is a pure function of (site, options) and row count
 * (node/synth.h); --seed defaults to 1, --missing to 0.05, --opt-out to
 * 0.02 and --overlap to 0.05. --truth prints the generator's true models
 * (outcome coefficients, survival parameters, hospital types) as JSON, for
 * checking what the consortium recovers. Files are
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

#include <jansson.h>

#include "node/cmd.h"
#include "node/synth.h"
#include "node/util.h"

#define SYNTH_MAX_SITE 1000000u

static void
synth_usage(FILE *f)
{
	fprintf(f,
	    "usage: mcn synth --site K --rows N [--seed S] [--missing RATE] "
	    "[--opt-out RATE]\n"
	    "                 [--overlap RATE] [--out FILE.csv]\n"
	    "       mcn synth --dictionary [--out FILE.json]\n"
	    "\n"
	    "Writes synthetic, correlated patients of demo site K (1-based) as "
	    "CSV,\n"
	    "or the demo consortium data dictionary as JSON. Deterministic for "
	    "(K, S).\n"
	    "  --seed S        unsigned 64-bit seed (default 1)\n"
	    "  --missing RATE  probability that an optional field is empty, "
	    "0..1 (default 0.05)\n"
	    "  --opt-out RATE  probability that consent is \"no\", 0..1 "
	    "(default 0.02)\n"
	    "  --overlap RATE  share of rows that are patients seen at every "
	    "site, 0..1\n"
	    "                  (default 0.05)\n"
	    "  --out FILE      output file (default or '-': stdout)\n"
	    "       mcn synth --truth [--opt-out RATE] [--overlap RATE] "
	    "[--out FILE.json]\n"
	    "Prints the true outcome and survival models of the generator as "
	    "JSON.\n");
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
synth_to_file(const char *path, unsigned site, uint64_t rows,
    const mcn_synth_opts *o)
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
	if ((rv = mcn_synth_write(f, site, rows, o, err, sizeof(err))) !=
	    MCN_OK) {
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
	    (unsigned long long)rows, site, (unsigned long long)o->seed,
	    path);
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

/* The true models as a JSON document (caller frees with json_decref). */
static json_t *
synth_truth_json(const mcn_synth_opts *o)
{
	const mcn_synth_coef *b = mcn_synth_outcome_truth();
	json_t *doc = json_object(), *oc = json_object(), *coef = json_object();
	json_t *sv = json_object(), *hr = json_object(), *loss = json_object();
	json_t *ht = json_object(), *terms = json_array();

	for (size_t i = 0; i < MCN_SYNTH_OUTCOME_TERMS; i++) {
		json_object_set_new(coef, b[i].name, json_real(b[i].value));
		json_array_append_new(terms, json_string(b[i].name));
	}
	json_object_set_new(oc, "model", json_string("logistic"));
	json_object_set_new(oc, "query",
	    json_string("SELECT logistic(outcome ~ age + sex + bmi + sbp + "
	                "hba1c + egfr + smoker + diabetes + arm) FROM "
	                "patients"));
	json_object_set_new(oc, "terms", terms);
	json_object_set_new(oc, "coefficients", coef);
	json_object_set_new(doc, "outcome", oc);

	json_object_set_new(sv, "model", json_string("weibull"));
	json_object_set_new(sv, "shape", json_real(MCN_SYNTH_WEIBULL_SHAPE));
	json_object_set_new(sv, "scale_days",
	    json_real(MCN_SYNTH_WEIBULL_SCALE));
	json_object_set_new(hr, "arm=treatment",
	    json_real(MCN_SYNTH_HR_TREATMENT));
	json_object_set_new(sv, "hazard_ratio", hr);
	json_object_set_new(sv, "admin_censoring_days",
	    json_integer(MCN_SYNTH_ADMIN_DAYS));
	json_object_set_new(loss, "tertiary",
	    json_real(MCN_SYNTH_LOSS_TERTIARY));
	json_object_set_new(loss, "secondary",
	    json_real(MCN_SYNTH_LOSS_SECONDARY));
	json_object_set_new(loss, "primary", json_real(MCN_SYNTH_LOSS_PRIMARY));
	json_object_set_new(sv, "loss_to_followup_per_year", loss);
	json_object_set_new(sv, "survival",
	    json_string("S(t) = exp(-HR * (t / scale_days)^shape), HR = 1 "
	                "for control"));
	json_object_set_new(doc, "survival", sv);

	json_object_set_new(ht, "rule",
	    json_string("site k: k mod 3 = 1 tertiary, 2 secondary, "
	                "0 primary"));
	for (unsigned k = 1; k <= 3; k++) {
		char key[16];
		snprintf(key, sizeof(key), "%u", k);
		json_object_set_new(ht, key,
		    json_string(mcn_synth_hospital_name(
		        mcn_synth_hospital_type(k))));
	}
	json_object_set_new(doc, "hospital_type", ht);
	json_object_set_new(doc, "opt_out", json_real(o->opt_out));
	json_object_set_new(doc, "overlap", json_real(o->overlap));
	json_object_set_new(doc, "arm_allocation",
	    json_string("1:1 at random"));
	return doc;
}

static int
synth_truth(const char *path, const mcn_synth_opts *o)
{
	json_t *doc = synth_truth_json(o);
	char *s = doc != NULL ? json_dumps(doc,
	                            JSON_INDENT(2) | JSON_REAL_PRECISION(15))
	                      : NULL;
	int rc = MCN_EXIT_FAIL;
	mcn_err rv;

	json_decref(doc);
	if (s == NULL) {
		fprintf(stderr, "mcn synth: out of memory\n");
		return MCN_EXIT_FAIL;
	}
	if (path == NULL || strcmp(path, "-") == 0) {
		if (printf("%s\n", s) < 0 || fflush(stdout) != 0) {
			fprintf(stderr, "mcn synth: stdout: %s\n",
			    strerror(errno));
		} else {
			rc = MCN_EXIT_OK;
		}
	} else {
		if ((rv = mcn_file_write(path, s, strlen(s), 0644, 0)) !=
		    MCN_OK) {
			fprintf(stderr, "mcn synth: %s: %s\n", path,
			    (rv & MCN_ESYS) ? strerror((int)(rv & ~MCN_ESYS))
			                    : mcn_strerror(rv));
		} else {
			rc = MCN_EXIT_OK;
		}
	}
	free(s);
	return rc;
}

int
cmd_synth_main(int argc, const char *argv[])
{
	const char *out = NULL;
	uint64_t site = 0, rows = 0;
	mcn_synth_opts o;
	int dictionary = 0, truth = 0, have_site = 0, have_rows = 0;
	int have_other = 0, have_model = 0;
	char err[MCN_ERRMSG];
	mcn_err rv;

	mcn_synth_opts_default(&o);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
			synth_usage(stdout);
			return MCN_EXIT_OK;
		} else if (strcmp(opt, "--dictionary") == 0) {
			dictionary = 1;
			continue;
		} else if (strcmp(opt, "--truth") == 0) {
			truth = 1;
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
			if (synth_parse_u64(val, UINT64_MAX, &o.seed) != 0) {
				fprintf(stderr,
				    "mcn synth: --seed must be an "
				    "unsigned 64-bit integer\n");
				goto usage;
			}
			have_other = 1;
		} else if (strcmp(opt, "--missing") == 0) {
			if (synth_parse_rate(val, &o.missing_rate) != 0) {
				fprintf(stderr,
				    "mcn synth: --missing must be 0..1\n");
				goto usage;
			}
			have_other = 1;
		} else if (strcmp(opt, "--opt-out") == 0) {
			if (synth_parse_rate(val, &o.opt_out) != 0) {
				fprintf(stderr,
				    "mcn synth: --opt-out must be 0..1\n");
				goto usage;
			}
			have_model = 1;
		} else if (strcmp(opt, "--overlap") == 0) {
			if (synth_parse_rate(val, &o.overlap) != 0) {
				fprintf(stderr,
				    "mcn synth: --overlap must be 0..1\n");
				goto usage;
			}
			have_model = 1;
		} else if (strcmp(opt, "--out") == 0) {
			out = val;
		} else {
			fprintf(stderr, "mcn synth: unknown option %s\n", opt);
			goto usage;
		}
		i++;
	}
	if (dictionary && truth) {
		fprintf(stderr,
		    "mcn synth: --dictionary and --truth are exclusive\n");
		goto usage;
	}
	if (truth) {
		if (have_site || have_rows || have_other) {
			fprintf(stderr,
			    "mcn synth: --truth takes only --opt-out, "
			    "--overlap and --out\n");
			goto usage;
		}
		return synth_truth(out, &o);
	}
	if (dictionary) {
		if (have_site || have_rows || have_other || have_model) {
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
		return synth_to_file(out, (unsigned)site, rows, &o);
	}
	if ((rv = mcn_synth_write(stdout, (unsigned)site, rows, &o, err,
	         sizeof(err))) != MCN_OK) {
		fprintf(stderr, "mcn synth: stdout: %s\n", err);
		return MCN_EXIT_FAIL;
	}
	return MCN_EXIT_OK;

usage:
	synth_usage(stderr);
	return MCN_EXIT_USAGE;
}
