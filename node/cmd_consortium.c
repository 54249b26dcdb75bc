/*
 * node/cmd_consortium.c - `mcn consortium`: the consortium's key ceremonies.
 *
 *   mcn consortium keygen --nodes site1,site2,site3 --threshold T
 *                         [--bits 2048] --out DIR
 *   mcn consortium maskkey --id ID --out DIR
 *
 * keygen is the trusted dealer of the threshold Paillier key: it writes
 * DIR/consortium.pub for everyone and DIR/<id>.share for each node (index =
 * position in --nodes, 1-based), then forgets every share; each share file
 * goes to its node only. maskkey is run by each node itself: it writes the
 * node's X25519 mask private key DIR/<id>.mask and prints the public key
 * (64 hex digits, last line of stdout) for consortium.json.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/mem.h"
#include "crypto/rng.h"
#include "crypto/threshold.h"
#include "node/cli.h"
#include "node/cmd.h"
#include "node/pki.h"
#include "node/util.h"

#define CONS_PATH_MAX 4096
#define CONS_BITS_DEFAULT 2048

static const char cons_usage_text[] =
    "usage: mcn consortium keygen --nodes ID,ID,... --threshold T\n"
    "                             [--bits 2048] --out DIR\n"
    "       mcn consortium maskkey --id ID --out DIR\n"
    "\n"
    "keygen   threshold Paillier key ceremony (trusted dealer): writes\n"
    "         DIR/consortium.pub and DIR/<id>.share for every node; any T\n"
    "         of the nodes can decrypt together\n"
    "maskkey  a node's X25519 mask key: writes DIR/<id>.mask and prints\n"
    "         the public key (hex) for consortium.json\n";

static int
cons_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mcn consortium: %s\n", why);
	fputs(cons_usage_text, stderr);
	return (MCN_EXIT_USAGE);
}

static int
cons_fail(const char *msg)
{
	fprintf(stderr, "mcn consortium: %s\n", msg);
	return (MCN_EXIT_FAIL);
}

/* Splits "a,b,c" in place (buf is a copy) into ids[]; -1 on an empty
 * element or more than max ids. */
static int
cons_split(char *buf, const char **ids, unsigned max, unsigned *n)
{
	char *s = buf;

	*n = 0;
	for (;;) {
		char *comma = strchr(s, ',');
		if (comma != NULL)
			*comma = 0;
		if (*s == 0 || *n == max)
			return (-1);
		ids[(*n)++] = s;
		if (comma == NULL)
			return (0);
		s = comma + 1;
	}
}

/* Creates dir (0700, with parents) for the command's outputs; *made says
 * whether it is new, so a failing command can remove it again. */
static int
cons_keygen(int argc, const char *argv[])
{
	mcn_cli_opt o[] = { { "--nodes", NULL }, { "--threshold", NULL },
		{ "--bits", NULL }, { "--out", NULL } };
	const char *ids[MCN_TPAILLIER_MAX_PARTIES];
	char err[MCN_ERRMSG], path[CONS_PATH_MAX];
	char *list = NULL;
	unsigned n, t, bits;
	int ret = MCN_EXIT_FAIL, made;

	if (mcn_cli_parse("consortium", o, 4, argc, argv, 2) != 0)
		return (cons_usage(NULL));
	if (o[0].val == NULL || o[1].val == NULL || o[3].val == NULL)
		return (
		    cons_usage("keygen needs --nodes, --threshold and --out"));
	if (mcn_cli_uint(o[1].val, 0, 1000000ul, &t) != 0)
		return (cons_usage("--threshold must be a number"));
	if (mcn_cli_uint(o[2].val, CONS_BITS_DEFAULT, 1000000ul, &bits) != 0)
		return (cons_usage("--bits must be a number"));
	if ((list = strdup(o[0].val)) == NULL)
		return (cons_fail("out of memory"));
	if (cons_split(list, ids, MCN_TPAILLIER_MAX_PARTIES, &n) != 0) {
		free(list);
		return (cons_usage("--nodes must be a comma-separated list of "
		                   "up to 128 node ids"));
	}
	if (n >= 2 && 2 * (unsigned long)t <= n) {
		/* Two disjoint groups of t nodes could each decrypt a different
		 * subset of one query's contributions; a majority prevents it
		 * (consortium.json refuses it too). */
		free(list);
		return (cons_usage("--threshold must be a majority of the nodes "
		                   "(more than half)"));
	}
	if (mcn_cli_mkdir("consortium", o[3].val, &made) != 0)
		goto out;
	if (mcn_ceremony_check(o[3].val, (const char *const *)ids, n, t, bits,
	        err, sizeof(err)) != MCN_OK) {
		cons_fail(err);
		mcn_cli_unmkdir(o[3].val, made);
		goto out;
	}
	if (bits < 2048) {
		fprintf(stderr,
		    "mcn consortium: warning: a %u-bit key is for "
		    "tests only; use --bits 2048 or more\n",
		    bits);
	}
	fprintf(stderr,
	    "mcn consortium: generating a %u-bit %u-of-%u "
	    "threshold key (safe primes; this can take a while)\n",
	    bits, t, n);
	if (mcn_ceremony_write(o[3].val, (const char *const *)ids, n, t, bits,
	        mcn_rng_system(), err, sizeof(err)) != MCN_OK) {
		cons_fail(err);
		mcn_cli_unmkdir(o[3].val, made);
		goto out;
	}
	if (mcn_path_join(path, sizeof(path), o[3].val, MCN_TPUB_FILE, NULL) ==
	    MCN_OK)
		printf("public key -> %s\n", path);
	for (unsigned i = 0; i < n; i++) {
		if (mcn_path_join(path, sizeof(path), o[3].val, ids[i],
		        ".share") == MCN_OK)
			printf("share for %s (index %u) -> %s\n", ids[i], i + 1,
			    path);
	}
	ret = MCN_EXIT_OK;
out:
	free(list);
	return (ret);
}

static int
cons_maskkey(int argc, const char *argv[])
{
	mcn_cli_opt o[] = { { "--id", NULL }, { "--out", NULL } };
	char err[MCN_ERRMSG], path[CONS_PATH_MAX];
	char hex[2 * MCN_X25519_BYTES + 1];
	uint8_t pub[MCN_X25519_BYTES];
	int made;

	if (mcn_cli_parse("consortium", o, 2, argc, argv, 2) != 0)
		return (cons_usage(NULL));
	if (o[0].val == NULL || o[1].val == NULL)
		return (cons_usage("maskkey needs --id and --out"));
	if (!mcn_id_valid(o[0].val)) {
		fprintf(stderr,
		    "mcn consortium: invalid party id: 1..%d "
		    "characters of A-Z a-z 0-9 _ . -, not starting "
		    "with . or -\n",
		    MCN_ID_MAX);
		return (MCN_EXIT_FAIL);
	}
	if (mcn_path_join(path, sizeof(path), o[1].val, o[0].val, ".mask") !=
	    MCN_OK)
		return (cons_fail("--out: path too long"));
	if (mcn_cli_mkdir("consortium", o[1].val, &made) != 0)
		return (MCN_EXIT_FAIL);
	if (mcn_maskkey_create(pub, path, mcn_rng_system(), err, sizeof(err)) !=
	    MCN_OK) {
		mcn_cli_unmkdir(o[1].val, made);
		return (cons_fail(err));
	}
	mcn_hex_encode(hex, pub, sizeof(pub));
	printf("mask key -> %s\n%s\n", path, hex);
	return (MCN_EXIT_OK);
}

int
cmd_consortium_main(int argc, const char *argv[])
{
	if (argc < 2)
		return (cons_usage(NULL));
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(cons_usage_text, stdout);
		return (MCN_EXIT_OK);
	}
	if (mcn_crypto_init() != MCN_OK)
		return (cons_fail("cannot initialize the crypto library"));
	if (strcmp(argv[1], "keygen") == 0)
		return (cons_keygen(argc, argv));
	if (strcmp(argv[1], "maskkey") == 0)
		return (cons_maskkey(argc, argv));
	fprintf(stderr, "mcn consortium: unknown command '%s'\n", argv[1]);
	return (cons_usage(NULL));
}
