#!/usr/bin/env bash
# Opens a report page in headless Chromium and saves a screenshot, to check that it renders (and
# to look at it). Installs Debian's chromium if it is missing. Not part of scripts/test.sh: CI
# machines may have no network for apt.
#
#   scripts/screenshot.sh REPORT.html OUT.png [WIDTH,HEIGHT]
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
    exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1400,2400}
[ -f "$report" ] || { echo "no such file: $report" >&2; exit 2; }

browser=""
for candidate in chromium chromium-browser google-chrome; do
    if command -v "$candidate" > /dev/null; then
        browser=$candidate
        break
    fi
done
if [ -z "$browser" ]; then
    echo "installing chromium (Debian package)..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null
    browser=chromium
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars \
    --screenshot="$out" --window-size="$size" "file://$report" 2> "$profile/stderr" || {
    cat "$profile/stderr" >&2
    exit 1
}
if [ ! -s "$out" ]; then
    echo "no screenshot written" >&2
    cat "$profile/stderr" >&2
    exit 1
fi
echo "$out"
