#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Make the test PKI in DIR: a CA, a server certificate for 127.0.0.1,
# localhost and apiserver.test, a client certificate, and a second,
# unrelated CA with its own client certificate (for refusal tests).
# With "server-only" as second argument: the CA and the server's only.
set -e
dir=${1:?usage: mkcerts.sh DIR [server-only]}
mkdir -p "$dir"
cd "$dir"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
	key "$1.key"
	openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 2 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$1.crt" 2>/dev/null
}
leaf() { # name ca cn ext
	key "$1.key"
	openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$4" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" \
		-CAcreateserial -days 2 -extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}
ca ca test-ca
leaf server ca apiserver "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:apiserver.test
extendedKeyUsage=serverAuth"
[ "${2:-}" = server-only ] && exit 0
ca bad-ca bad-ca
leaf client ca test-client "extendedKeyUsage=clientAuth"
leaf bad-client bad-ca intruder "extendedKeyUsage=clientAuth"
