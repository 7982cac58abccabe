#!/bin/sh
# Compiles and runs the first C example of README.md, so the README never
# shows code that does not build. Usage: readme_example.sh CC README INCLUDE_DIR LIBRARY OUT_DIR [EXTRA_FLAGS]
set -eu
cc=$1 readme=$2 inc=$3 lib=$4 out=$5 extra=${6:-}
mkdir -p "$out"
awk '/^```c$/ { f = 1; next } /^```$/ { if (f) exit } f' "$readme" > "$out/readme_example.c"
test -s "$out/readme_example.c"
"$cc" $extra -std=c11 -Wall -Wextra -Wpedantic -Werror -I"$inc" "$out/readme_example.c" "$lib" -lpthread -o "$out/readme_example"
"$out/readme_example"
