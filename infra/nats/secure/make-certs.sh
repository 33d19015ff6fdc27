#!/usr/bin/env bash
# Makes a self-signed CA and a server certificate signed by it, for the TLS in server.conf.
#
#   ./make-certs.sh OUT_DIR [HOST_OR_IP ...]
#
# Writes OUT_DIR/ca.pem, ca-key.pem, server-cert.pem, server-key.pem (keys mode 600). The server
# certificate is valid for localhost, 127.0.0.1, ::1 and every HOST_OR_IP given (use the names your
# workers dial). Clients trust it with ca.pem (nats.js: `tls: { caFile }`; the nats CLI: --tlsca).
# For production, use certificates from your own PKI instead.
set -euo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 OUT_DIR [HOST_OR_IP ...]" >&2
  exit 2
fi
out=$1
shift
command -v openssl >/dev/null || { echo "make-certs: openssl not found (apt-get install -y openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077

san="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ $name =~ ^[0-9.]+$ || $name == *:* ]]; then san="$san,IP:$name"; else san="$san,DNS:$name"; fi
done

days=825
# Quiet on success; on failure, show what openssl said.
run() {
  local log
  if ! log=$("$@" 2>&1); then
    echo "make-certs: failed: $*" >&2
    echo "$log" >&2
    exit 1
  fi
}
run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$out/ca-key.pem" -out "$out/ca.pem" -days "$days" \
  -subj "/O=Gossamer/CN=Gossamer NATS CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"

run openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$out/server-key.pem" -out "$out/server.csr" -subj "/O=Gossamer/CN=nats"

cat > "$out/server.ext" <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
run openssl x509 -req -in "$out/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" -CAcreateserial \
  -out "$out/server-cert.pem" -days "$days" -extfile "$out/server.ext"
rm -f "$out/server.csr" "$out/server.ext" "$out/ca.srl"
chmod 644 "$out/ca.pem" "$out/server-cert.pem"
echo "make-certs: wrote $out/ca.pem and $out/server-cert.pem for $san"
