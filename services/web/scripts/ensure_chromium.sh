#!/usr/bin/env bash
# The browser the console's tests drive: Debian's chromium, installed when missing (Playwright's own
# browser downloads are not used). Root installs it; anyone else is told what to run.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
else
  echo "chromium is missing: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
