#!/usr/bin/env bash
# Debian packages the test suite needs that pip cannot provide: Chromium for the browser tests, a CJK
# font so Chinese renders (pages, certificates), nginx for the proxy test, redis-server for the two-host test. Installs them when run as root; otherwise says what to run.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)  # the PDF text layer (embedded TrueType)
command -v pdffonts >/dev/null || need+=(poppler-utils)  # tests/unit/test_verifiers_cli_pdf.py
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || need+=(nginx)  # tests/web/test_golive_nginx.py
command -v soffice >/dev/null || need+=(libreoffice-calc-nogui)  # tests/unit/test_sheets_imports.py: files LibreOffice writes
command -v redis-server >/dev/null || need+=(redis-server)  # tests/web/test_multihost_two_hosts.py: the shared rate limits
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "Missing Debian packages: ${need[*]}. Run: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
