#!/usr/bin/env bash
# The browser the console's tests drive: Debian's chromium, and a CJK font so screenshots show the
# Chinese text, installed when missing (Playwright's own browser downloads are not used). Root installs
# them; anyone else is told what to run.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! command -v fc-list >/dev/null || [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then missing+=(fonts-wqy-microhei); fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
else
  echo "missing: ${missing[*]}; run 'sudo apt-get install -y ${missing[*]}'" >&2
  exit 1
fi
