#!/bin/sh
# A compile-fail test: FILE must compile with -DCONTROL (its correct twin)
# and must fail without it, with the compiler's message matching the regex
# in FILE's "expect:" line. So the test fails if the library stops rejecting
# the mistake, and also if the file breaks for an unrelated reason.
# Usage: check.sh CC INCLUDE_DIR FILE
set -u
cc=$1 inc=$2 file=$3
expect=$(sed -n 's/^.*expect: \(.*\) \*\/$/\1/p' "$file" | head -n 1)
[ -n "$expect" ] || { echo "no 'expect:' line in $file"; exit 1; }
flags="-std=c11 -Wall -Wextra -Wpedantic -D_GNU_SOURCE -I$inc -fsyntax-only"
if ! out=$($cc $flags -DCONTROL "$file" 2>&1); then
  echo "the control version of $file does not compile:"; echo "$out"; exit 1
fi
if out=$($cc $flags "$file" 2>&1); then
  echo "$file compiled, but it must not"; exit 1
fi
if ! printf '%s\n' "$out" | grep -Eq "$expect"; then
  echo "$file failed to compile, but not with /$expect/:"; echo "$out"; exit 1
fi
echo "$file: rejected as expected (/$expect/)"
