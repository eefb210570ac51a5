# The Roster C library for a CMake project: `roster_executable(name sources...)` builds a
# program against ffi/include/roster.h and libroster, which cargo builds (dev profile) into
# the workspace's target directory ($CARGO_TARGET_DIR, else <workspace>/target).
include_guard(GLOBAL)

set(ROSTER_WORKSPACE "${CMAKE_CURRENT_LIST_DIR}/../..")
if(DEFINED ENV{CARGO_TARGET_DIR})
  set(ROSTER_TARGET_DIR "$ENV{CARGO_TARGET_DIR}")
else()
  set(ROSTER_TARGET_DIR "${ROSTER_WORKSPACE}/target")
endif()
set(ROSTER_LIBRARY
    "${ROSTER_TARGET_DIR}/debug/${CMAKE_SHARED_LIBRARY_PREFIX}roster${CMAKE_SHARED_LIBRARY_SUFFIX}")

find_program(CARGO cargo REQUIRED)
find_package(Threads REQUIRED)

# Always run: cargo decides whether anything changed. With ROSTER_PREBUILT in the
# environment (the Makefile built the whole workspace in one cargo run) cargo is not run.
if(DEFINED ENV{ROSTER_PREBUILT})
  add_custom_target(roster_cargo_build)
else()
  add_custom_target(roster_cargo_build
    COMMAND "${CARGO}" build --quiet --package roster-ffi --target-dir "${ROSTER_TARGET_DIR}"
    WORKING_DIRECTORY "${ROSTER_WORKSPACE}"
    BYPRODUCTS "${ROSTER_LIBRARY}"
    COMMENT "cargo build --package roster-ffi"
    USES_TERMINAL)
endif()

function(roster_executable name)
  add_executable(${name} ${ARGN})
  add_dependencies(${name} roster_cargo_build)
  target_include_directories(${name} PRIVATE "${ROSTER_WORKSPACE}/ffi/include")
  # Linked by path, so the build tree's RPATH finds it without installing.
  target_link_libraries(${name} PRIVATE "${ROSTER_LIBRARY}" Threads::Threads)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${name} PRIVATE -Wall -Wextra -Werror)
  endif()
endfunction()
