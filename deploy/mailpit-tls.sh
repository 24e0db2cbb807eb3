#!/bin/sh
# Makes the certificates that let the app talk to the compose file's Mailpit over STARTTLS.
#
# The app sends mail to any host but loopback only over verified TLS (see notify/smtp.go), and
# Mailpit speaks plain SMTP unless given a certificate. So this makes a private certificate
# authority for the compose network, a certificate for the host name "mailpit" signed by it,
# and throws the authority's private key away, so nothing else can ever be signed by it:
#
#   $CA_DIR/mailpit-ca.crt    the authority's certificate; the app trusts it (SSL_CERT_DIR)
#   $TLS_DIR/mailpit.crt      Mailpit's certificate
#   $TLS_DIR/mailpit.key      and its key
#
# It runs once per volume: a certificate that is still good for 30 days is kept. A real mail
# relay has a certificate of its own, and then none of this is used.
set -eu

CA_DIR=${CA_DIR:-/mail-ca}
TLS_DIR=${TLS_DIR:-/mail-tls}
# Comma-separated DNS names the certificate is for.
TLS_HOSTS=${TLS_HOSTS:-mailpit}

if [ -s "$CA_DIR/mailpit-ca.crt" ] && [ -s "$TLS_DIR/mailpit.key" ] &&
  openssl x509 -in "$TLS_DIR/mailpit.crt" -noout -checkend 2592000 >/dev/null 2>&1; then
  echo "mailpit-tls: certificate still good"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077

san=""
old_ifs=$IFS
IFS=,
for h in $TLS_HOSTS; do
  san="${san:+$san,}DNS:$h"
done
IFS=$old_ifs

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=Family Help compose mail CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$work/ca.key" -out "$work/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/CN=${TLS_HOSTS%%,*}" -keyout "$work/mailpit.key" -out "$work/mailpit.csr" 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' "$san" >"$work/ext"
openssl x509 -req -in "$work/mailpit.csr" -CA "$work/ca.crt" -CAkey "$work/ca.key" \
  -CAcreateserial -days 3650 -extfile "$work/ext" -out "$work/mailpit.crt" 2>/dev/null

mkdir -p "$CA_DIR" "$TLS_DIR"
# The app reads the authority's folder as a user of its own (65532).
chmod 0755 "$CA_DIR" "$TLS_DIR"
# Certificates are public; the key is read by Mailpit alone, the only service with this volume,
# whatever user its image runs as.
install -m 0644 "$work/ca.crt" "$CA_DIR/mailpit-ca.crt"
install -m 0644 "$work/mailpit.crt" "$TLS_DIR/mailpit.crt"
install -m 0644 "$work/mailpit.key" "$TLS_DIR/mailpit.key"
echo "mailpit-tls: made a certificate for $TLS_HOSTS"
