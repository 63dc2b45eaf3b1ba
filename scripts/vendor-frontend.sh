#!/usr/bin/env bash
# Re-vendors the front end's dependencies from npm (no CDN: kiosks may be offline), at pinned versions:
# the Socket.IO client, and LiteRT.js (the page's offline recognizer: the server's own .tflite, run in
# WebAssembly). Only the files the page loads are kept; frontend/vendor/VERSIONS lists what is there.
set -euo pipefail
socketio=4.8.4
litert=2.5.3 # @litertjs/core and its one dependency @litertjs/wasm-utils, released together
here="$(cd "$(dirname "$0")/.." && pwd)"
vendor="$here/frontend/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

npm pack --silent "socket.io-client@${socketio}" >/dev/null
tar -xzf "socket.io-client-${socketio}.tgz" package/dist/socket.io.esm.min.js package/LICENSE 2>/dev/null
cp package/dist/socket.io.esm.min.js "$vendor/socket.io.esm.min.js"
cp package/LICENSE "$vendor/socket.io-client.LICENSE"
rm -rf package

# LiteRT.js: its ES module imports the bare specifier "@litertjs/wasm-utils" (the pages map it with an
# import map to litert/wasm-utils.js). Two of its four WebAssembly builds: the relaxed-SIMD one (Chromium,
# Firefox) and the compat one for browsers without relaxed SIMD (Safari); the threaded build needs
# cross-origin isolation and the JSPI one is for WebNN/WebGPU partitioning: neither is used.
npm pack --silent "@litertjs/core@${litert}" "@litertjs/wasm-utils@${litert}" >/dev/null
rm -rf "$vendor/litert"
mkdir -p "$vendor/litert" core utils
tar -xzf "litertjs-core-${litert}.tgz" -C core
tar -xzf "litertjs-wasm-utils-${litert}.tgz" -C utils
cp core/package/dist/index.js "$vendor/litert/core.js"
cp utils/package/dist/index.js "$vendor/litert/wasm-utils.js"
sed -i '/^\/\/# sourceMappingURL=/d' "$vendor/litert/core.js" "$vendor/litert/wasm-utils.js" # maps are not shipped
for build in litert_wasm_internal litert_wasm_compat_internal; do
  install -m 0644 "core/package/wasm/${build}.js" "core/package/wasm/${build}.wasm" "$vendor/litert/"
done
# The package names its licence (Apache-2.0) in package.json and ships no LICENSE file.
node -e 'const p=require(process.argv[1]);console.log(`${p.name} ${p.version}: ${p.license}, ${p.repository.url}`)' \
  "$work/core/package/package.json" > "$vendor/litert/LICENSE.txt"

chmod 0644 "$vendor"/litert/*
cat > "$vendor/VERSIONS" <<VERSIONS
socket.io-client ${socketio}
@litertjs/core ${litert}
@litertjs/wasm-utils ${litert}
VERSIONS
