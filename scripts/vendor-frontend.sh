#!/usr/bin/env bash
# Re-vendors the front end's one dependency from npm (no CDN: kiosks may be offline).
set -euo pipefail
version=4.8.4
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "socket.io-client@${version}" >/dev/null
tar -xzf "socket.io-client-${version}.tgz" package/dist/socket.io.esm.min.js package/LICENSE 2>/dev/null
cp package/dist/socket.io.esm.min.js "$here/frontend/vendor/socket.io.esm.min.js"
cp package/LICENSE "$here/frontend/vendor/socket.io-client.LICENSE"
echo "socket.io-client ${version}" > "$here/frontend/vendor/VERSIONS"
