#!/bin/sh
# Installs libaio the way a user does (configured with no prefix, installed
# with `cmake --install BUILD --prefix DIR` into a fresh directory) and builds
# a consumer against DIR with find_package and with pkg-config: static and
# shared, with the default libdir and with a multiarch one
# (lib/x86_64-linux-gnu: the .pc file is one directory deeper). Then moves the
# installed tree and builds with pkg-config again: the .pc file is
# relocatable.
# Usage: tests/consumer/check.sh  (from the repository's top directory)
set -eu
top=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
  echo "consumer check ($what): $*" >&2
  exit 1
}

# pkg-config against the .pc files under $1; the rest are its arguments.
pc() {
  dir=$1
  shift
  PKG_CONFIG_PATH="$dir" PKG_CONFIG_LIBDIR="$dir" pkg-config "$@"
}

# Builds tests/consumer/main.c with nothing but pkg-config's flags (no extra
# -pthread: a static library's Libs must carry it) and runs it.
build_with_pc() {
  pcdir=$1 out=$2 libpath=$3
  # shellcheck disable=SC2046 # the flags are words
  cc -std=c11 "$top/tests/consumer/main.c" $(pc "$pcdir" --cflags --libs aiocoro) -o "$out" ||
    fail "cc with pkg-config's flags failed"
  LD_LIBRARY_PATH="$libpath" "$out" || fail "$out failed"
}

# Physical path of a directory (resolves the .pc file's ../..).
real() { (cd "$1" && pwd -P); }

if [ -e /etc/debian_version ]; then
  multiarch_flags="" # GNUInstallDirs picks lib/<multiarch> for prefix /usr here
else
  multiarch_flags="-DCMAKE_INSTALL_LIBDIR=lib/$(cc -dumpmachine)"
fi

for shared in OFF ON; do
  for layout in default multiarch; do
    what=shared=$shared,$layout
    build=$work/lib-$shared-$layout
    prefix=$work/prefix-$shared-$layout
    if [ $layout = default ]; then
      # No prefix, no libdir: what a user types.
      cmake -S "$top" -B "$build" -DAIO_BUILD_TESTS=OFF -DAIO_BUILD_EXAMPLES=OFF \
        -DBUILD_SHARED_LIBS=$shared >/dev/null
    else
      # shellcheck disable=SC2086 # empty or one word
      cmake -S "$top" -B "$build" -DAIO_BUILD_TESTS=OFF -DAIO_BUILD_EXAMPLES=OFF \
        -DBUILD_SHARED_LIBS=$shared -DCMAKE_INSTALL_PREFIX=/usr $multiarch_flags >/dev/null
    fi
    cmake --build "$build" -j2 >/dev/null
    cmake --install "$build" --prefix "$prefix" >/dev/null

    pcfile=$(find "$prefix" -name aiocoro.pc)
    [ -n "$pcfile" ] || fail "no aiocoro.pc installed"
    pcdir=$(dirname "$pcfile")
    libdir=$(dirname "$pcdir")
    rel_libdir=${libdir#"$prefix"/}
    if [ $layout = multiarch ]; then
      case $rel_libdir in
      lib/*/*) fail "libdir $rel_libdir is deeper than lib/<multiarch>" ;;
      lib/*) ;;
      *) fail "libdir $rel_libdir is not lib/<multiarch>" ;;
      esac
    fi

    # The .pc file points into the prefix given at install time.
    [ "$(real "$(pc "$pcdir" --variable=includedir aiocoro)")" = "$(real "$prefix/include")" ] ||
      fail "includedir $(pc "$pcdir" --variable=includedir aiocoro) is not $prefix/include"
    [ "$(real "$(pc "$pcdir" --variable=libdir aiocoro)")" = "$(real "$libdir")" ] ||
      fail "libdir $(pc "$pcdir" --variable=libdir aiocoro) is not $libdir"
    [ -f "$(pc "$pcdir" --variable=includedir aiocoro)/aio/aio.h" ] || fail "no aio/aio.h under includedir"
    # -pthread: in Libs for the static library, in Libs.private for the shared one.
    if [ $shared = OFF ]; then
      pc "$pcdir" --libs aiocoro | grep -q -- -pthread || fail "static: Libs lacks -pthread"
    else
      pc "$pcdir" --libs aiocoro | grep -q -- -pthread && fail "shared: -pthread in Libs"
      pc "$pcdir" --libs --static aiocoro | grep -q -- -pthread || fail "shared: Libs.private lacks -pthread"
    fi

    # find_package
    cmake -S "$top/tests/consumer" -B "$work/app-$shared-$layout" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
    cmake --build "$work/app-$shared-$layout" >/dev/null
    LD_LIBRARY_PATH="$libdir" "$work/app-$shared-$layout/consumer" >/dev/null || fail "find_package consumer failed"

    # pkg-config, in place and after moving the whole tree
    build_with_pc "$pcdir" "$work/pc-$shared-$layout" "$libdir"
    moved=$work/moved-$shared-$layout
    mv "$prefix" "$moved"
    build_with_pc "$moved/$rel_libdir/pkgconfig" "$work/pc-moved-$shared-$layout" "$moved/$rel_libdir"

    # nothing installed may collide with Debian's libaio-dev (libaio.so, libaio.h)
    if find "$moved" -name 'libaio.*' -o -name 'libaio.h' | grep -q .; then
      fail "installed a file that clashes with libaio-dev"
    fi
  done
done
echo "consumer check: installed with --prefix into a fresh directory (default and multiarch libdir," \
  "static and shared, then moved); find_package and pkg-config: OK"
