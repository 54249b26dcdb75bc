/*
 * node/cmd_audit.c - `mcn audit verify | show`: check and read a node's
 * hash-chained, signed audit log (format in node/audit.h).
 *
 *   mcn audit verify --log FILE --ca CA.pem [--json]
 *   mcn audit show --log FILE [--querier ID] [--since YYYY-MM-DD]
 *       [--until YYYY-MM-DD] [--decision D] [--event E] [--json]
 *
 * verify exits 0 when every record chains, hashes and verifies, 1 at the
 * first bad record (named by line). show lists records without verifying
 * them. Neither prints anything but the log's own (data-free) contents.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/audit.h"
#include "node/cmd.h"
#include "node/pki.h"
#include "node/util.h"

static const char audit_usage_text[] =
    "usage: mcn audit verify --log FILE --ca CA.pem [--json]\n"
    "       mcn audit show --log FILE [--querier ID] [--since YYYY-MM-DD]\n"
    "                      [--until YYYY-MM-DD] [--decision D] [--event E]\n"
    "                      [--json]\n"
    "\n"
    "verify  checks the whole log: every record's hash, its link to the\n"
    "        record before it, and its signature by the node's certificate\n"
    "        (which must be issued by CA.pem); names the first bad record.\n"
    "        Records deleted at the end are only visible by comparing the\n"
    "        head hash printed here with one recorded elsewhere (the node's\n"
    "        server log).\n"
    "show    lists records as a table (or JSON lines with --json), filtered\n"
    "        by querier, UTC date range (inclusive), decision and event.\n"
    "        show does NOT verify the log: run `mcn audit verify` first.\n";

static int
audit_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mcn audit: %s\n", why);
	fputs(audit_usage_text, stderr);
	return (MCN_EXIT_USAGE);
}

/* One option table entry: --name takes a value stored in *slot. */
struct audit_opt {
	const char *name;
	const char **slot;
};

/* Parses argv[2..] against opts and --json. Returns 0 or a usage exit. */
static int
audit_parse(int argc, const char *argv[], const struct audit_opt *opts,
    size_t nopts, int *json)
{
	for (int i = 2; i < argc; i++) {
		const char **slot = NULL;

		if (strcmp(argv[i], "--json") == 0) {
			*json = 1;
			continue;
		}
		for (size_t j = 0; j < nopts; j++) {
			if (strcmp(argv[i], opts[j].name) == 0)
				slot = opts[j].slot;
		}
		if (slot == NULL)
			return (audit_usage("unknown argument"));
		if (i + 1 >= argc)
			return (audit_usage("option without a value"));
		if (*slot != NULL)
			return (audit_usage("option given twice"));
		*slot = argv[++i];
	}
	return (0);
}

/* A JSON string for our own output lines. */
static void
audit_put_jstr(FILE *f, const char *s)
{
	json_t *j = json_string(s);
	char *t = j != NULL ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	fputs(t != NULL ? t : "null", f);
	free(t);
	json_decref(j);
}

static int
audit_verify(int argc, const char *argv[])
{
	const char *log = NULL, *ca = NULL;
	const struct audit_opt opts[] = { { "--log", &log }, { "--ca", &ca } };
	char err[MCN_ERRMSG] = "", head[65] = "";
	uint64_t n = 0, bad = 0;
	mcn_pki *pki = NULL;
	int json = 0, code = MCN_EXIT_FAIL, u;
	mcn_err rv;

	if ((u = audit_parse(argc, argv, opts, 2, &json)) != 0)
		return (u);
	if (log == NULL || ca == NULL)
		return (audit_usage("verify needs --log and --ca"));
	if ((rv = mcn_pki_load(&pki, ca, NULL, NULL, err, sizeof(err))) !=
	    MCN_OK) {
		fprintf(stderr, "mcn audit: %s\n", err);
		return (MCN_EXIT_FAIL);
	}
	rv = mcn_audit_verify(log, mcn_pki_verifier(pki), &n, &bad, head, err,
	    sizeof(err));
	if (json) {
		printf("{\"log\":");
		audit_put_jstr(stdout, log);
		if (rv == MCN_OK)
			printf(",\"valid\":true,\"records\":%llu,"
			       "\"head\":\"%s\"}\n",
			    (unsigned long long)n, head);
		else {
			printf(",\"valid\":false,\"line\":%llu,\"error\":",
			    (unsigned long long)bad);
			audit_put_jstr(stdout, err);
			printf("}\n");
		}
	} else if (rv == MCN_OK) {
		printf("audit log %s: %llu records, chain and signatures "
		       "valid, head %s\n",
		    log, (unsigned long long)n, head);
	}
	if (rv != MCN_OK)
		fprintf(stderr, "audit log %s\n", err);
	if (fflush(stdout) == 0 && rv == MCN_OK)
		code = MCN_EXIT_OK;
	mcn_pki_free(pki);
	return (code);
}

/* ---- show ------------------------------------------------------------- */

struct audit_show {
	mcn_audit_filter f;
	int json;
	uint64_t seen, shown;
};

/* Copies s into out (cap bytes) for a table cell: at most max bytes, cut
 * at a UTF-8 character boundary with "..." when longer, control
 * characters (which could drive the terminal) shown as '?'. */
static void
audit_cell(char *out, size_t cap, const char *s, size_t max)
{
	size_t n = strlen(s), o = 0;

	if (n > max) {
		n = max >= 3 ? max - 3 : 0;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < strlen(s))
		for (int i = 0; i < 3 && o + 1 < cap; i++)
			out[o++] = '.';
	out[o] = '\0';
}

static const char *
audit_get(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	return (json_is_string(v) ? json_string_value(v) : "");
}

static int
audit_show_one(void *ctx, uint64_t line, json_t *rec)
{
	struct audit_show *s = ctx;
	char seq[24] = "", eps[32] = "", vals[24] = "";
	char c_time[32], c_ev[16], c_q[40], c_role[24], c_dec[16], c_query[64],
	    c_reason[200];
	json_t *v;

	(void)line;
	s->seen++;
	if (!mcn_audit_match(&s->f, rec))
		return (0);
	s->shown++;
	if (s->json) {
		char *t = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (t != NULL) {
			puts(t);
			free(t);
		}
		return (0);
	}
	if (json_is_integer(v = json_object_get(rec, "seq")))
		snprintf(seq, sizeof(seq), "%lld",
		    (long long)json_integer_value(v));
	if (json_is_number(v = json_object_get(rec, "epsilon")))
		snprintf(eps, sizeof(eps), "%g", json_number_value(v));
	if (json_is_integer(v = json_object_get(rec, "values")))
		snprintf(vals, sizeof(vals), "%lld",
		    (long long)json_integer_value(v));
	audit_cell(c_time, sizeof(c_time), audit_get(rec, "time"), 24);
	audit_cell(c_ev, sizeof(c_ev), audit_get(rec, "event"), 10);
	audit_cell(c_q, sizeof(c_q), audit_get(rec, "querier"), 32);
	audit_cell(c_role, sizeof(c_role), audit_get(rec, "role"), 12);
	audit_cell(c_dec, sizeof(c_dec), audit_get(rec, "decision"), 11);
	audit_cell(c_query, sizeof(c_query), audit_get(rec, "query"), 60);
	audit_cell(c_reason, sizeof(c_reason), audit_get(rec, "reason"), 120);
	printf("%6s  %-24s  %-10s  %-12s  %-12s  %-11s  %8s  %6s  %-60s  %s\n",
	    seq, c_time, c_ev, c_q, c_role, c_dec, eps, vals, c_query,
	    c_reason);
	return (0);
}

static int
audit_show(int argc, const char *argv[])
{
	const char *log = NULL;
	struct audit_show s;
	const struct audit_opt opts[] = { { "--log", &log },
		{ "--querier", &s.f.querier }, { "--since", &s.f.since },
		{ "--until", &s.f.until }, { "--decision", &s.f.decision },
		{ "--event", &s.f.event } };
	char err[MCN_ERRMSG] = "";
	int u;
	mcn_err rv;

	memset(&s, 0, sizeof(s));
	if ((u = audit_parse(argc, argv, opts, sizeof(opts) / sizeof(opts[0]),
	         &s.json)) != 0)
		return (u);
	if (log == NULL)
		return (audit_usage("show needs --log"));
	if ((s.f.since != NULL && !mcn_audit_date_valid(s.f.since)) ||
	    (s.f.until != NULL && !mcn_audit_date_valid(s.f.until)))
		return (audit_usage("dates are YYYY-MM-DD"));
	if (!s.json)
		printf(
		    "%6s  %-24s  %-10s  %-12s  %-12s  %-11s  %8s  %6s  %-60s  "
		    "%s\n",
		    "SEQ", "TIME", "EVENT", "QUERIER", "ROLE", "DECISION",
		    "EPSILON", "VALUES", "QUERY", "REASON");
	rv = mcn_audit_each(log, audit_show_one, &s, err, sizeof(err));
	if (fflush(stdout) != 0 && rv == MCN_OK) {
		fprintf(stderr, "mcn audit: cannot write the output\n");
		return (MCN_EXIT_FAIL);
	}
	if (rv != MCN_OK) {
		fprintf(stderr, "audit log %s\n", err);
		return (MCN_EXIT_FAIL);
	}
	if (!s.json)
		fprintf(stderr,
		    "%llu of %llu records shown (not verified: run `mcn audit "
		    "verify`)\n",
		    (unsigned long long)s.shown, (unsigned long long)s.seen);
	return (MCN_EXIT_OK);
}

int
cmd_audit_main(int argc, const char *argv[])
{
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return (audit_verify(argc, argv));
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return (audit_show(argc, argv));
	if (argc >= 2 &&
	    (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		fputs(audit_usage_text, stdout);
		return (MCN_EXIT_OK);
	}
	return (audit_usage(
	    argc < 2 ? "missing subcommand" : "unknown subcommand"));
}
