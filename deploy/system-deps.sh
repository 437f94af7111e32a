#!/usr/bin/env bash
# The system packages the product needs beside its Python ones (`make install` runs this first):
#   caddy           the gateway of `make run` (one origin on :8080)
#   chromium        the browser tests (Playwright drives /usr/bin/chromium; no browser download)
#   fonts-noto-cjk  Chinese text in screenshots and generated documents (billing's invoice PDF embeds it)
#   jq              the README tour (tests/e2e/test_readme_tour.py pipes answers through it)
# Installs the missing ones with apt-get when it can (root, or passwordless sudo); otherwise it prints the
# apt-get line to run and exits 0, so that the Python part of `make install` still happens.
# SYSTEM_DEPS_REQUIRED=1 (.ci/run) makes a package that could not be installed an error instead.
set -uo pipefail

PACKAGES=(caddy chromium fonts-noto-cjk jq)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
  echo "system-deps: not a Debian/Ubuntu system: install ${PACKAGES[*]} with your package manager" >&2
  [[ "${SYSTEM_DEPS_REQUIRED:-0}" == 1 ]] && exit 1
  exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
  installed "$package" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ "$(id -u)" == 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "system-deps: missing ${missing[*]}; install them with:" >&2
  echo "  sudo apt-get install -y ${missing[*]}" >&2
  [[ "${SYSTEM_DEPS_REQUIRED:-0}" == 1 ]] && exit 1
  exit 0
fi

echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# the package lists of a fresh machine (or image) may be empty or stale: refresh them once, on demand
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; then
  "${as_root[@]}" apt-get update -qq \
    && "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
still=()
for package in "${missing[@]}"; do
  installed "$package" || still+=("$package")
done
if ((${#still[@]} > 0)); then
  echo "system-deps: could not install ${still[*]}; try: sudo apt-get update && sudo apt-get install -y ${still[*]}" >&2
  [[ "${SYSTEM_DEPS_REQUIRED:-0}" == 1 ]] && exit 1
fi
exit 0
