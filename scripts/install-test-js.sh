#!/usr/bin/env bash
# JavaScript that only the tests use, from npm, into .cache/npm/ (gitignored; never shipped in frontend/):
#   axe-core: the accessibility checker that tests/system/test_i18n.py injects into each page.
# The package is `npm pack`ed at a pinned version, checked against its pinned integrity, and unpacked
# beside its tarball. Idempotent: nothing is fetched when it is already there. Prints axe.min.js's path.
set -euo pipefail
axe_version=4.10.2
axe_integrity="sha512-RE3mdQ7P3FRSe7eqCWoeQ/Z9QXrtniSjp1wUjt5nRC3WIpz5rSCve6o3fsZ2aCpJtrZjSZgjwXAoTO5k4tEI0w=="
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="$here/.cache/npm"
tarball="$cache/axe-core-${axe_version}.tgz"
target="$cache/axe-core-${axe_version}"
if [ ! -s "$target/axe.min.js" ]; then
  mkdir -p "$cache"
  if [ ! -s "$tarball" ]; then
    (cd "$cache" && npm pack --silent "axe-core@${axe_version}" >/dev/null)
  fi
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$axe_integrity" ]; then
    echo "axe-core ${axe_version}: integrity mismatch ($actual)" >&2
    rm -f "$tarball"
    exit 1
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  tar -xzf "$tarball" -C "$work" package/axe.min.js package/LICENSE
  mkdir -p "$target"
  cp "$work/package/axe.min.js" "$work/package/LICENSE" "$target/"
fi
echo "$target/axe.min.js"
