#!/bin/sh
# Installs libaio (static, then shared) into a scratch prefix and builds a
# consumer against it with find_package and with pkg-config.
# Usage: tests/consumer/check.sh  (from the repository's top directory)
set -eu
top=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for shared in OFF ON; do
  prefix=$work/prefix-$shared
  cmake -S "$top" -B "$work/lib-$shared" -DAIO_BUILD_TESTS=OFF -DAIO_BUILD_EXAMPLES=OFF \
    -DBUILD_SHARED_LIBS=$shared -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib >/dev/null
  cmake --build "$work/lib-$shared" -j2 >/dev/null
  cmake --install "$work/lib-$shared" >/dev/null
  # find_package
  cmake -S "$top/tests/consumer" -B "$work/app-$shared" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
  cmake --build "$work/app-$shared" >/dev/null
  LD_LIBRARY_PATH="$prefix/lib" "$work/app-$shared/consumer"
  # pkg-config
  PKG_CONFIG_PATH="$prefix/lib/pkgconfig" cc -std=c11 "$top/tests/consumer/main.c" \
    $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs aiocoro) -pthread -o "$work/pc-$shared"
  LD_LIBRARY_PATH="$prefix/lib" "$work/pc-$shared"
  # nothing installed may collide with Debian's libaio-dev (libaio.so, libaio.h)
  if find "$prefix" -name 'libaio.*' -o -name 'libaio.h' | grep -q .; then
    echo "installed a file that clashes with libaio-dev" >&2
    exit 1
  fi
done
echo "consumer check: find_package and pkg-config, static and shared: OK"
