#!/usr/bin/env bash
# Installs what the tests need beyond Python: a Java runtime for Cassandra, Redis for
# the multi-process tests, nginx to run deploy/nginx.conf (tests/test_proxy.py), openssl
# for its throwaway certificate, and handwriting fonts for the realistic test images.
# Does nothing when they are present.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# nginx lives in /usr/sbin, which an unprivileged PATH may lack (tests/nginx.py looks there too).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ -f /usr/share/fonts/truetype/fifthhorseman/dkg.ttf ] || missing+=(fonts-dkg-handwriting)
[ -f /usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf ] || missing+=(fonts-humor-sans)
[ -f /usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf ] || missing+=(fonts-comic-neue)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}. Run 'sudo apt-get install -y ${missing[*]}' once." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
