#!/usr/bin/env bash
# Runs every C test, and the C and C++ examples, under valgrind's memcheck: it fails on any
# invalid read or write, use of uninitialised memory, or memory definitely or indirectly
# lost. (Memory still reachable at exit, the runtime's threads and statics, is not a leak.)
#   scripts/c-valgrind.sh BUILD_DIR      (the CMake build of ffi/, e.g. make c-test's)
# --max-threads: the thousand-subscriber test can hold one blocking-pool thread per
# subscriber (up to tokio's 512) while the single callback thread works through them under
# valgrind's slowdown, more than valgrind's default 500.
set -euo pipefail
build="${1:?usage: scripts/c-valgrind.sh BUILD_DIR}"
command -v valgrind >/dev/null || { echo "c-valgrind: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
memcheck=(valgrind -q --max-threads=1100 --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
          --errors-for-leak-kinds=definite,indirect)
for t in $("$build/roster_tests" --list); do
  "${memcheck[@]}" "$build/roster_tests" "$t" > /dev/null
done
"${memcheck[@]}" "$build/examples/cpp_example" > /dev/null
"${memcheck[@]}" --trace-children=yes "$build/examples_test" "$build/examples/publisher" "$build/examples/subscriber" > /dev/null 2>&1 \
  || { echo "c-valgrind: the examples failed under valgrind" >&2; exit 1; }
echo "c-valgrind: every C test and example is clean under memcheck"
