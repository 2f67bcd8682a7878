#!/usr/bin/env bash
# Clients nobody here wrote against a running ulk-server: the official openai npm package and the
# web page in headless Chromium (playwright-core). The npm packages are installed from the npm
# registry into the build folder (pinned by package-lock.json), once per lock file.
# usage: run_web_tests.sh ULK_SERVER MODEL.gguf WORK_DIR [SCREENSHOT.png]
# Exit 77 (skipped) when node, npm or Chromium is missing.
set -euo pipefail
server=$1 model=$2 work=$3 screenshot=${4:-$3/web_chat.png}
here=$(cd "$(dirname "$0")" && pwd)
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "skipped: $tool is not installed (Node.js 20 or newer)"; exit 77; }
done
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "skipped: no Chromium at $chromium (Debian package chromium)"; exit 77; }

mkdir -p "$work"
stamp="$work/node_modules/.lock-$(sha256sum "$here/package-lock.json" | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  touch "$stamp"
fi
cp "$here"/*.mjs "$work/"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
# Starts ulk-server on a free port; sets $port.
start() {
  local log=$1; shift
  : >"$log"  # exists before the first look below, whenever the server starts writing
  "$server" --model "$model" --port 0 --threads 1 "$@" 2>"$log" &
  pids+=($!)
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
    [ -n "$port" ] && return 0
    kill -0 "${pids[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "ulk-server did not start:"; cat "$log"; exit 1
}

start "$work/keyed.log" --api-key test-key
(cd "$work" && node openai_client.mjs "http://127.0.0.1:$port" test-key)
start "$work/open.log"
(cd "$work" && CHROMIUM=$chromium node web_page.mjs "http://127.0.0.1:$port" "$screenshot")
echo "screenshot: $screenshot"
