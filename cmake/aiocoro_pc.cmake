# Writes and installs aiocoro.pc (included from the install rules).
#
# The .pc file finds its prefix from its own place (pkg-config's
# ${pcfiledir}), so `cmake --install build --prefix DIR` yields a file that
# points into DIR whatever prefix was configured, and the installed tree
# still works after being moved. It sits in LIBDIR/pkgconfig, so the prefix
# is one "/.." per component of LIBDIR plus one for pkgconfig/:
# lib -> ${pcfiledir}/../.., lib/x86_64-linux-gnu -> ${pcfiledir}/../../..
# An absolute CMAKE_INSTALL_LIBDIR (a packager's choice) fixes the .pc's
# place, so then the configured prefix is written as it is (and an install
# --prefix is not followed, as it is not for the library itself).

function(aio_pc_relative_dir dir out)
  # "" when `dir` is absolute or climbs out of the prefix ("../lib").
  cmake_path(SET d NORMALIZE "${dir}")
  string(REGEX REPLACE "/+$" "" d "${d}")
  if(IS_ABSOLUTE "${d}" OR d STREQUAL "" OR d MATCHES "^\\.\\.(/|$)")
    set(${out} "" PARENT_SCOPE)
  else()
    set(${out} "${d}" PARENT_SCOPE)
  endif()
endfunction()

aio_pc_relative_dir("${CMAKE_INSTALL_LIBDIR}" aio_pc_rel_libdir)
aio_pc_relative_dir("${CMAKE_INSTALL_INCLUDEDIR}" aio_pc_rel_includedir)

if(aio_pc_rel_libdir)
  set(AIO_PC_PREFIX "\${pcfiledir}/..") # up from pkgconfig/
  string(REPLACE "/" ";" aio_pc_parts "${aio_pc_rel_libdir}")
  foreach(part IN LISTS aio_pc_parts) # NORMALIZE left no "." or ".."
    string(APPEND AIO_PC_PREFIX "/..")
  endforeach()
  set(AIO_PC_LIBDIR "\${prefix}/${aio_pc_rel_libdir}")
else()
  set(AIO_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  set(AIO_PC_LIBDIR "${CMAKE_INSTALL_FULL_LIBDIR}")
endif()
if(aio_pc_rel_includedir)
  set(AIO_PC_INCLUDEDIR "\${prefix}/${aio_pc_rel_includedir}")
else()
  set(AIO_PC_INCLUDEDIR "${CMAKE_INSTALL_FULL_INCLUDEDIR}")
endif()

# libaio runs a thread pool (aio_run_in_executor). Linking the static
# library, the program itself needs -pthread, and a plain `pkg-config
# --libs` must give it: Libs. A shared library records its own dependency
# (DT_NEEDED), so -pthread is only for `pkg-config --static`: Libs.private.
# Debug mode names callbacks with dladdr: -ldl where it is not in libc.
set(aio_pc_deps "-pthread")
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND aio_pc_deps " -l${lib}")
endforeach()
get_target_property(aio_pc_type aio TYPE)
if(aio_pc_type STREQUAL "STATIC_LIBRARY")
  set(AIO_PC_LIBS "-L\${libdir} -laiocoro ${aio_pc_deps}")
  set(AIO_PC_LIBS_PRIVATE "")
else()
  set(AIO_PC_LIBS "-L\${libdir} -laiocoro")
  set(AIO_PC_LIBS_PRIVATE "${aio_pc_deps}")
endif()

configure_file(${PROJECT_SOURCE_DIR}/cmake/aiocoro.pc.in ${PROJECT_BINARY_DIR}/aiocoro.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/aiocoro.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
