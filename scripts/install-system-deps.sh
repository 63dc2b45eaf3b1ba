#!/usr/bin/env bash
# Installs what the tests need beyond Python: a Java runtime for Cassandra, Redis for
# the multi-process tests, nginx to run deploy/nginx.conf (tests/system/test_proxy.py), openssl
# for its throwaway certificate, and handwriting fonts for training and the realistic test images.
# Does nothing when they are present.
set -euo pipefail
missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# nginx lives in /usr/sbin, which an unprivileged PATH may lack (tests/support/nginx.py looks there too).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# Handwriting and display fonts: training renders digits, letters and symbols from most of
# them and holds whole families out for the unseen-font score (model/training/fonts.py lists the split).
fonts=(fonts-breip fonts-bwht fonts-cabinsketch fonts-comic-neue fonts-dancingscript fonts-dejavu-core
  fonts-dkg-handwriting fonts-ecolier-court fonts-havana fonts-humor-sans fonts-kaushanscript fonts-kiloji
  fonts-klee fonts-kristi fonts-leckerli-one fonts-liberation fonts-lobster fonts-opendyslexic fonts-rufscript
  fonts-seto fonts-sjfonts fonts-tlwg-purisa-ttf fonts-tlwg-typist-ttf fonts-tomsontalks fonts-urw-base35
  fonts-yozvox-yozfont fonts-yusei-magic)
for package in "${fonts[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}. Run 'sudo apt-get install -y ${missing[*]}' once." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
