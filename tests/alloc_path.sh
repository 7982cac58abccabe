#!/bin/sh
# Fails if a file of src/ other than core/mem.[ch] calls an allocator
# directly: every allocation of the library goes through core/mem.h
# (aio__malloc, ..., aio__mmap_anon, aio__mremap), where the test build's
# fault countdown can make it fail. Comment lines are ignored.
src=${1:?usage: alloc_path.sh SRC_DIR}
hits=$(grep -rnE '(^|[^_a-zA-Z0-9.>])(malloc|calloc|realloc|strdup|strndup|aligned_alloc|posix_memalign|mmap|mremap)[[:space:]]*\(' \
         "$src" --include='*.c' --include='*.h' |
       grep -vE '^[^:]*/core/mem\.[ch]:' |
       grep -vE '^[^:]*:[0-9]+:[[:space:]]*(/\*|\*)')
if [ -n "$hits" ]; then
  echo "direct allocations outside src/core/mem.[ch] (use aio__malloc & co.):"
  echo "$hits"
  exit 1
fi
echo "every allocation goes through src/core/mem.h"
