#!/bin/sh
# ctest for examples/graceful: start it, wait for its "ready" line, send
# SIGINT, then check that it exits 0 after every worker's cleanup.
# Usage: graceful.sh PROGRAM
#
# The program runs in the foreground of a child shell: a non-interactive
# shell starts background jobs with SIGINT ignored, and aio_run leaves an
# ignored SIGINT alone (as Python does). The watcher runs in the background
# and learns the program's pid from a file the child shell writes before
# exec'ing it.
set -u
prog=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
out=$dir/out

(
  n=0
  until [ -s "$dir/pid" ] && grep -q '^ready$' "$out" 2>/dev/null; do
    n=$((n + 1))
    if [ $n -gt 600 ]; then # 30 s
      echo "graceful.sh: no ready line" >&2
      [ -s "$dir/pid" ] && kill -KILL "$(cat "$dir/pid")"
      exit 1
    fi
    sleep 0.05
  done
  sleep 0.1 # let the workers serve a few requests
  kill -INT "$(cat "$dir/pid")"
) &
watcher=$!

# Were this script itself started with SIGINT ignored (ctest in the
# background of a non-interactive shell), the program would inherit that:
# env --default-signal (GNU coreutils 8.31+) gives it the default back.
launch=
if env --default-signal=INT true 2>/dev/null; then
  launch="env --default-signal=INT"
fi
sh -c 'echo $$ > "$1"; shift; exec "$@"' sh "$dir/pid" $launch "$prog" >"$out" 2>&1
status=$?
wait $watcher
cat "$out"

fail() { echo "graceful.sh: $*" >&2; exit 1; }
[ "$status" -eq 0 ] || fail "exit status $status, expected 0"
expected='ready
server: SIGINT received, stopping 4 workers
worker 0: flushed and closed
worker 1: flushed and closed
worker 2: flushed and closed
worker 3: flushed and closed'
[ "$(head -n 6 "$out")" = "$expected" ] || fail "unexpected output"
tail -n 1 "$out" | grep -Eq '^served [1-9][0-9]* requests with 4 workers; all closed cleanly$' ||
  fail "no summary"
[ "$(wc -l <"$out")" -eq 7 ] || fail "extra output"
echo "graceful.sh: ok"
