#!/usr/bin/env bash
# Test-only TLS material for tests/ (never use it elsewhere: the keys are
# public). Regenerate with `bash generate.sh` (openssl from Debian). Valid
# for 100 years, so that tests do not start failing on a date.
#   ca.pem / ca.key           the test CA
#   server.pem / server.key   CN=localhost, SAN DNS:localhost, IP:127.0.0.1, signed by ca
#   client.pem / client.key   CN=modelctl-test, clientAuth, signed by ca
#   other-ca.pem, other-client.pem / other-client.key   a second CA and a
#                             client certificate it signed (refused by mTLS)
set -euo pipefail
cd "$(dirname "$0")"
days=36500
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # name
  ec "$1.key"
  openssl req -x509 -new -key "$1.key" -sha256 -days $days -subj "/CN=modelserver test $1" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$1.pem"
}
leaf() {  # name ca cn extensions
  ec "$1.key"
  openssl req -new -key "$1.key" -subj "/CN=$3" -out "$1.csr"
  printf '%s\n' "$4" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -sha256 \
    -days $days -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}
ca ca
ca other-ca
leaf server ca localhost "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client ca modelctl-test "extendedKeyUsage=clientAuth"
leaf other-client other-ca intruder "extendedKeyUsage=clientAuth"
rm -f ./*.srl other-ca.key
echo "generated: $(ls)"
