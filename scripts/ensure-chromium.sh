#!/usr/bin/env bash
# The end-to-end test drives Debian's Chromium (never a downloaded browser build).
# Install it when missing and we can (CI runs as root); otherwise fail loudly: the browser test is
# part of the default run and is never skipped.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's chromium for the browser test..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x /usr/bin/chromium ] && exit 0
fi
echo "ERROR: /usr/bin/chromium is missing and could not be installed." >&2
echo "       Run 'sudo apt-get install chromium' (Debian) and re-run make test." >&2
exit 1
