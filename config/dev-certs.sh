#!/usr/bin/env bash
# Makes a development PKI for augchatd's one TLS port with optional client auth:
#   ca.pem/ca.key                 the CA that signs both sides (AUGCHATD_CLIENT_CA=ca.pem)
#   server.pem/server.key         the daemon's certificate for localhost and 127.0.0.1
#   integrator.pem/integrator.key a client certificate whose CN is the tenant id (default: acme)
# Usage: config/dev-certs.sh [out-dir] [tenant]      (needs openssl)
set -euo pipefail
out=${1:-dev-certs}
tenant=${2:-acme}
mkdir -p "$out"
cd "$out"
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=augchatd dev CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile server.ext -out server.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=$tenant" -keyout integrator.key -out integrator.csr 2>/dev/null
printf 'extendedKeyUsage=clientAuth\n' > integrator.ext
openssl x509 -req -in integrator.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -extfile integrator.ext -out integrator.pem 2>/dev/null
rm -f ./*.csr ./*.ext ./*.srl
echo "wrote $(pwd)/{ca,server,integrator}.{pem,key} (tenant: $tenant)"
