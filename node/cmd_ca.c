/*
 * node/cmd_ca.c - `mcn ca`: the consortium certificate authority.
 *
 *   mcn ca init  --dir DIR --name CONSORTIUM [--days N]
 *   mcn ca issue --ca-dir DIR --id ID --role node|querier|admin
 *                --out OUTDIR [--days N]
 *
 * init creates DIR (0700) if needed and writes DIR/ca.crt and DIR/ca.key;
 * issue writes OUTDIR/ID.crt and OUTDIR/ID.key. Keys are never
 * overwritten. The CA key should live offline with the consortium's
 * administrator; parties receive only ca.crt and their own pair.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/mem.h"
#include "node/cli.h"
#include "node/cmd.h"
#include "node/pki.h"
#include "node/util.h"

#define CA_PATH_MAX 4096

static const char ca_usage_text[] =
    "usage: mcn ca init --dir DIR --name CONSORTIUM [--days N]\n"
    "       mcn ca issue --ca-dir DIR --id ID --role node|querier|admin\n"
    "                    --out OUTDIR [--days N] [--policy-role NAME]\n"
    "\n"
    "init   creates a consortium CA: DIR/ca.crt and DIR/ca.key\n"
    "       (default validity 3650 days)\n"
    "issue  issues a party certificate signed by the CA in DIR:\n"
    "       OUTDIR/ID.crt and OUTDIR/ID.key (default validity 825 days);\n"
    "       --policy-role gives a querier the role the nodes' policies\n"
    "       look up (without it: role 'querier')\n";

static int
ca_usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mcn ca: %s\n", why);
	fputs(ca_usage_text, stderr);
	return (MCN_EXIT_USAGE);
}

static int
ca_fail(const char *msg)
{
	fprintf(stderr, "mcn ca: %s\n", msg);
	return (MCN_EXIT_FAIL);
}

static int
ca_init(int argc, const char *argv[])
{
	mcn_cli_opt o[] = { { "--dir", NULL }, { "--name", NULL },
		{ "--days", NULL } };
	char crt[CA_PATH_MAX], key[CA_PATH_MAX], err[MCN_ERRMSG];
	unsigned days;
	int made;

	if (mcn_cli_parse("ca", o, 3, argc, argv, 2) != 0)
		return (ca_usage(NULL));
	if (o[0].val == NULL || o[1].val == NULL)
		return (ca_usage("ca init needs --dir and --name"));
	if (mcn_cli_uint(o[2].val, MCN_PKI_CA_DAYS, 1000000ul, &days) != 0)
		return (ca_usage("--days must be a number"));
	if (mcn_path_join(crt, sizeof(crt), o[0].val, MCN_PKI_CA_CERT, NULL) !=
	        MCN_OK ||
	    mcn_path_join(key, sizeof(key), o[0].val, MCN_PKI_CA_KEY, NULL) !=
	        MCN_OK)
		return (ca_fail("--dir: path too long"));
	if (mcn_cli_mkdir("ca", o[0].val, &made) != 0)
		return (MCN_EXIT_FAIL);
	if (mcn_pki_ca_init(crt, key, o[1].val, days, err, sizeof(err)) !=
	    MCN_OK) {
		mcn_cli_unmkdir(o[0].val, made);
		return (ca_fail(err));
	}
	printf("%s\n%s\n", crt, key);
	return (MCN_EXIT_OK);
}

static int
ca_issue(int argc, const char *argv[])
{
	mcn_cli_opt o[] = { { "--ca-dir", NULL }, { "--id", NULL },
		{ "--role", NULL }, { "--out", NULL }, { "--days", NULL },
		{ "--policy-role", NULL } };
	char cacrt[CA_PATH_MAX], cakey[CA_PATH_MAX];
	char crt[CA_PATH_MAX], key[CA_PATH_MAX], err[MCN_ERRMSG];
	unsigned days;
	mcn_role role;
	int made;

	if (mcn_cli_parse("ca", o, 6, argc, argv, 2) != 0)
		return (ca_usage(NULL));
	if (o[0].val == NULL || o[1].val == NULL || o[2].val == NULL ||
	    o[3].val == NULL)
		return (ca_usage("ca issue needs --ca-dir, --id, --role and "
		                 "--out"));
	if (mcn_role_parse(o[2].val, &role) != MCN_OK)
		return (ca_usage("--role must be node, querier or admin"));
	if (mcn_cli_uint(o[4].val, MCN_PKI_LEAF_DAYS, 1000000ul, &days) != 0)
		return (ca_usage("--days must be a number"));
	if (!mcn_id_valid(o[1].val)) {
		fprintf(stderr,
		    "mcn ca: invalid party id: 1..%d characters of "
		    "A-Z a-z 0-9 _ . -, not starting with . or -\n",
		    MCN_ID_MAX);
		return (MCN_EXIT_FAIL);
	}
	if (mcn_path_join(cacrt, sizeof(cacrt), o[0].val, MCN_PKI_CA_CERT,
	        NULL) != MCN_OK ||
	    mcn_path_join(cakey, sizeof(cakey), o[0].val, MCN_PKI_CA_KEY,
	        NULL) != MCN_OK ||
	    mcn_path_join(crt, sizeof(crt), o[3].val, o[1].val, ".crt") !=
	        MCN_OK ||
	    mcn_path_join(key, sizeof(key), o[3].val, o[1].val, ".key") !=
	        MCN_OK)
		return (ca_fail("path too long"));
	if (mcn_cli_mkdir("ca", o[3].val, &made) != 0)
		return (MCN_EXIT_FAIL);
	if (mcn_pki_issue_role(cacrt, cakey, o[1].val, role, o[5].val, days,
	        crt, key, err, sizeof(err)) != MCN_OK) {
		mcn_cli_unmkdir(o[3].val, made);
		return (ca_fail(err));
	}
	printf("%s\n%s\n", crt, key);
	return (MCN_EXIT_OK);
}

int
cmd_ca_main(int argc, const char *argv[])
{
	if (argc < 2)
		return (ca_usage(NULL));
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(ca_usage_text, stdout);
		return (MCN_EXIT_OK);
	}
	if (mcn_crypto_init() != MCN_OK)
		return (ca_fail("cannot initialize the crypto library"));
	if (strcmp(argv[1], "init") == 0)
		return (ca_init(argc, argv));
	if (strcmp(argv[1], "issue") == 0)
		return (ca_issue(argc, argv));
	fprintf(stderr, "mcn ca: unknown command '%s'\n", argv[1]);
	return (ca_usage(NULL));
}
