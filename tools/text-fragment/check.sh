#!/usr/bin/env bash
# Checks in a real browser that a citation link opens the source at the quoted sentence:
# serves the fixture pages on 127.0.0.1, adds one to a copy of the corpus, asks about it, and
# opens each citation's link in headless Chromium (check.mjs).
# Needs: apt-get install chromium; npm install playwright-core (in this folder); a release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
port=8766
(cd "$root/tests/fixtures/pages" && exec python3 -m http.server $port --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
sleep 1
cp -r "$root/corpus" "$work/corpus"
export SUMMIT_QA_CORPUS_DIR="$work/corpus" SUMMIT_QA_INDEX_DIR="$work/index" \
    SUMMIT_QA_INGEST__ALLOW_PRIVATE_HOSTS=true SUMMIT_QA_SEMANTIC__ENABLED=false
bin="$root/target/release/summit-qa"
"$bin" add "http://127.0.0.1:$port/article-cluttered.html" 2>/dev/null
links=$("$bin" ask --json "高市政府如何向農村選民交代大米問題？" 2>/dev/null \
    | python3 -c 'import json,sys; [print(c["link"]) for c in json.load(sys.stdin)["citations"] if "link" in c]')
[ -n "$links" ] || { echo "no citation with a link"; exit 1; }
# shellcheck disable=SC2086
node "$(dirname "$0")/check.mjs" $links
# The control: a fragment that is not on the page must not scroll to anything.
first=$(echo "$links" | head -1)
if node "$(dirname "$0")/check.mjs" "${first%%#*}#:~:text=%E4%B8%8D%E5%9C%A8%E9%A0%81%E9%9D%A2%E4%B8%8A" >/dev/null; then
    echo "FAIL: the control (a fragment not on the page) passed; the check proves nothing"; exit 1
fi
echo "control: a fragment not on the page is not scrolled to"
