#!/bin/sh
# Compiles every C code block of a Markdown file (docs/guide.md), so the
# documentation never shows code that does not build; a block that defines
# main() is a whole program, and is also linked and run (it must exit 0).
# Each block is compiled on its own, after this prelude:
#     #include <aio/aio.h>  <stdio.h> <stdlib.h> <string.h> <stdint.h>
# Usage: doc_blocks.sh CC MARKDOWN INCLUDE_DIR LIBRARY OUT_DIR [EXTRA_FLAGS]
set -eu
cc=$1 md=$2 inc=$3 lib=$4 out=$5 extra=${6:-}
rm -rf "$out"
mkdir -p "$out"
awk -v out="$out" '
  /^```c[[:space:]]*$/ { n++; f = out "/block" n ".c"; line = NR + 1
                         printf "#include <aio/aio.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#line %d \"%s\"\n", line, FILENAME > f
                         inside = 1; next }
  /^```[[:space:]]*$/  { if (inside) close(f); inside = 0; next }
  inside               { print > f }
' "$md"
count=0
failed=0
for src in "$out"/block*.c; do
  [ -e "$src" ] || continue
  count=$((count + 1))
  flags="$extra -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Werror -Wno-unused-function -Wno-unused-parameter -I$inc"
  if grep -q 'int main(' "$src"; then
    if ! "$cc" $flags "$src" "$lib" -lpthread -o "${src%.c}" 2>"${src%.c}.log"; then
      echo "FAILED to build ($src):"; cat "${src%.c}.log"; failed=$((failed + 1)); continue
    fi
    if ! (cd "$out" && timeout 30 "${src%.c}" >"${src%.c}.out" 2>&1); then
      echo "FAILED to run ($src):"; cat "${src%.c}.out"; failed=$((failed + 1)); continue
    fi
    echo "ok (built and ran) $(sed -n 's/^#line \([0-9]*\).*/line \1/p' "$src")"
  else
    if ! "$cc" $flags -c "$src" -o "${src%.c}.o" 2>"${src%.c}.log"; then
      echo "FAILED to compile ($src):"; cat "${src%.c}.log"; failed=$((failed + 1)); continue
    fi
    echo "ok (compiled) $(sed -n 's/^#line \([0-9]*\).*/line \1/p' "$src")"
  fi
done
echo "$count C blocks in $md, $failed failed"
[ "$count" -gt 0 ] && [ "$failed" -eq 0 ]
