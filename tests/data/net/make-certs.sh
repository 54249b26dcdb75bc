#!/bin/sh
# Regenerates the TEST-ONLY certificates and keys of tests/node/test_net.c.
# Run from anywhere: sh tests/data/net/make-certs.sh
#
# Profile (the one node/pki.c issues): EC P-256 keys as unencrypted PKCS#8
# PEM ("BEGIN PRIVATE KEY"), ecdsa-with-SHA256, X.509 v3, random serials.
#   CA   : self-signed, basicConstraints critical CA:TRUE,
#          keyUsage critical keyCertSign,cRLSign
#   leaf : O=<consortium>, OU=<node|querier|admin>, CN=<party id>,
#          basicConstraints CA:FALSE, keyUsage digitalSignature,keyAgreement,
#          extendedKeyUsage serverAuth,clientAuth,
#          subjectAltName DNS:<id>,IP:127.0.0.1
# Validity is 2000-01-01 .. 2100-01-01 (100 years) so that a machine with a
# wrong clock still accepts them; `openssl ca` is used because OpenSSL 3.0's
# req/x509 cannot set a start date.
#
#   test/  consortium CA "test": node "site1", querier "alice", querier
#          "eve" (revoked: test/ca-crl.pem is ca.crt plus a CRL listing her,
#          valid 2000..2100 too: mbedTLS fails verification against a CRL
#          that is expired or not yet valid)
#   other/ foreign CA "other": node "site1" (same subject as test/site1,
#          issued by the wrong CA) and querier "mallory"
set -eu

dir=$(cd "$(dirname "$0")" && pwd)
start=20000101000000Z
end=21000101000000Z
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/ca.cnf" <<EOF2
[ca]
default_ca = mcn
[mcn]
database = \${ENV::MCN_DB}
new_certs_dir = $tmp
rand_serial = yes
default_md = sha256
policy = policy_mcn
preserve = yes
unique_subject = no
copy_extensions = none
[policy_mcn]
organizationName = supplied
organizationalUnitName = optional
commonName = supplied
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_leaf]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyAgreement
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:\${ENV::MCN_ID}, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF2

key() { # key <out>
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$1" 2>/dev/null
	chmod 0600 "$1"
}

sign() { # sign <csr> <out> <extensions> [openssl ca options...]
	csr=$1 out=$2 ext=$3
	shift 3
	MCN_ID=${MCN_ID:-none} openssl ca -batch -notext -config "$tmp/ca.cnf" \
	    -startdate $start -enddate $end -extensions "$ext" \
	    -in "$csr" -out "$out" "$@" 2>/dev/null
}

ca() { # ca <dir> <consortium>; the CA's database is $tmp/<dir>.index
	mkdir -p "$dir/$1"
	export MCN_DB="$tmp/$1.index"
	: > "$MCN_DB"
	key "$dir/$1/ca.key"
	openssl req -new -key "$dir/$1/ca.key" -subj "/O=$2/CN=$2 CA" \
	    -out "$tmp/ca.csr"
	sign "$tmp/ca.csr" "$dir/$1/ca.crt" v3_ca -selfsign \
	    -keyfile "$dir/$1/ca.key"
}

leaf() { # leaf <dir> <consortium> <role> <id>
	key "$dir/$1/$4.key"
	openssl req -new -key "$dir/$1/$4.key" -subj "/O=$2/OU=$3/CN=$4" \
	    -out "$tmp/$4.csr"
	MCN_ID=$4 sign "$tmp/$4.csr" "$dir/$1/$4.crt" v3_leaf \
	    -cert "$dir/$1/ca.crt" -keyfile "$dir/$1/ca.key"
}

ca test test
leaf test test node site1
leaf test test querier alice
leaf test test querier eve
MCN_ID=none openssl ca -config "$tmp/ca.cnf" -cert "$dir/test/ca.crt" \
    -keyfile "$dir/test/ca.key" -revoke "$dir/test/eve.crt" 2>/dev/null
MCN_ID=none openssl ca -config "$tmp/ca.cnf" -cert "$dir/test/ca.crt" \
    -keyfile "$dir/test/ca.key" -gencrl -crl_lastupdate $start \
    -crl_nextupdate $end -out "$tmp/test.crl" 2>/dev/null
cat "$dir/test/ca.crt" "$tmp/test.crl" > "$dir/test/ca-crl.pem"

ca other other
leaf other test node site1
leaf other other querier mallory

openssl verify -CAfile "$dir/test/ca.crt" "$dir/test/site1.crt" \
    "$dir/test/alice.crt" >/dev/null
openssl verify -CAfile "$dir/other/ca.crt" "$dir/other/site1.crt" \
    "$dir/other/mallory.crt" >/dev/null
