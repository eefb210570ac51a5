#!/usr/bin/env bash
# The tests against a real SOFARegistry 6.3.0 (`make sofa-test`, part of `make test`): starts
# one with scripts/sofa-registry.sh unless one runs already (stopping it again at the end),
# then runs the Rust SOFA transport tests one at a time (its ports are fixed), the Python,
# Node.js and Java ones, and, inside the Rust ones, the cross-client tests with SOFARegistry's own Java
# client. Without Java 17 and Maven it says loudly that it skips them, and exits 0.
#
# With `demo` as argument it runs the SOFA demo (examples/python/sofa_demo.py) instead.
set -euo pipefail
cd "$(dirname "$0")/.."

# Shorter server-side debouncing than the defaults (about 2 s per push), so the tests wait
# less; the behaviour is the same.
export ROSTER_SOFA_JAVA_OPTS="${ROSTER_SOFA_JAVA_OPTS:--Dsession.server.dataChangeDebouncingMillis=100 -Dsession.server.pushDataTaskDebouncingMillis=100 -Ddata.server.notifyIntervalMillis=100}"
export ROSTER_SOFA_ENDPOINT="${ROSTER_SOFA_ENDPOINT:-sofa://127.0.0.1:9603}"

skip() {
  local line="###########################################################################"
  printf '%s\n# SKIPPED: the SOFARegistry tests and demo need %s.\n%s\n' "$line" "$1" "$line" >&2
  exit 0
}

if scripts/sofa-registry.sh status >/dev/null 2>&1; then
  echo "sofa-test: using the SOFARegistry that is running already"
else
  rc=0
  scripts/sofa-registry.sh start || rc=$?
  if [[ $rc -eq 3 ]]; then
    skip "Java 17, Maven and curl (see the line above)"
  fi
  [[ $rc -eq 0 ]] || exit "$rc"
  trap 'scripts/sofa-registry.sh stop' EXIT
fi

if [[ "${1:-}" == demo ]]; then
  python3 examples/python/sofa_demo.py --endpoint "$ROSTER_SOFA_ENDPOINT"
  exit 0
fi
# The sofa test binary that `cargo test --workspace` built (selecting it with `--test sofa`
# would change the unified features and compile the core again), run for its ignored tests.
sofa_bin=$(cargo test -q --workspace --no-run --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "sofa" and m.get("executable"):
        print(m["executable"])')
[[ -n "$sofa_bin" ]] || { echo "sofa-test: no sofa test binary from cargo test --workspace --no-run" >&2; exit 1; }
"$sofa_bin" --ignored --test-threads=1
python3 -m pytest -q bindings/python/tests/test_sofa.py
node --test bindings/node/test/sofa.test.js
mvn -B -q --no-transfer-progress -Dstyle.color=never -f bindings/java test -Dtest=SofaTest
