#!/bin/sh
# example.dump: the task table and tree name the source line of each await
# of examples/dump.c (each marked there with a comment "await: NAME", found
# here with grep, never written down), the inline sub-coroutine's after its
# parent's, and each worker is awaited by main through the gather.
# Usage: example_dump.sh DUMP_BINARY DUMP_SOURCE
set -eu
bin=$1 src=$2
out=$("$bin") || { echo "FAILED: $bin exited with $?"; exit 1; }
fail() {
  echo "FAILED: $1"
  echo "--- output:"
  echo "$out"
  exit 1
}
line() {
  n=$(grep -n "/\* await: $1 \*/" "$src" | cut -d: -f1)
  [ -n "$n" ] || fail "no await marked '$1' in $src"
  echo "$n"
}
has() { printf '%s\n' "$out" | grep -q -e "$1" || fail "missing: $1"; }
count() { printf '%s\n' "$out" | grep -c -e "$1" || true; }

main=$(line main) sleeper=$(line sleeper) waiter=$(line waiter) client=$(line client) fetch=$(line fetch)
has "^4 tasks, 4 waiting "
# the table: one row per task, its frames last
has "  dump\.c:$main in main_task\$"
has "  dump\.c:$sleeper in sleeper\$"
has "  dump\.c:$waiter in waiter\$"
has "  dump\.c:$client in client > dump\.c:$fetch in fetch\$"
has "^#[0-9]*  *main  *waiting  *gather: 3 of 3 pending  "
has "^#[0-9]*  *sleeper  *waiting  *sleep: 3[0-9]*\.[0-9]* s left  "
has "^#[0-9]*  *waiter  *waiting  *future #[0-9]*  "
[ "$(count " #[0-9]* via gather  ")" -eq 3 ] || fail "each worker awaited by main via the gather"
# the tree: main, then each worker under it with its frames
has "^#[0-9]* 'main' (waiting)\$"
has "^|   at dump\.c:$main in main_task\$"
has "^|-- #[0-9]* 'sleeper' (waiting)\$"
has "^|       at dump\.c:$sleeper in sleeper\$"
has "^\`-- #[0-9]* 'client' (waiting)\$"
printf '%s\n' "$out" | grep -A1 -e "^        at dump\.c:$client in client\$" |
  grep -q -e "^        at dump\.c:$fetch in fetch\$" || fail "tree: fetch's frame under client's"
has "^main ended: cancelled after the dump\$"
echo "ok: every await line found (main $main, sleeper $sleeper, waiter $waiter, client $client > fetch $fetch)"
