#!/usr/bin/env bash
# Build JavaPeer if needed, then run it: tests/sofa-java/run.sh <host> [port]
#
# stdout carries only JavaPeer's protocol lines (ready / published / push / error ...);
# Maven's output and the JVM's own messages go to stderr, the client's logs to
# ${SOFA_JAVA_LOG_DIR:-tests/sofa-java/target/logs}. SOFA_JAVA_OPTS: extra JVM options
# (split on whitespace), e.g. -Dpeer.connectTimeoutMs=5000 -Dpeer.ackTimeoutMs=5000.
# Exit code 3: java or mvn missing (callers treat 3 as "skip").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="${here}/target/sofa-java-peer.jar"
cpfile="${here}/target/cp.txt"

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 <host> [port]" >&2
  exit 2
fi

if [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
  java="${JAVA_HOME}/bin/java"
elif command -v java >/dev/null 2>&1; then
  java="$(command -v java)"
else
  echo "sofa-java: java not found (set JAVA_HOME or put a JDK 17 on PATH) (skipping)" >&2
  exit 3
fi

needs_build() {
  [[ -s "${jar}" && -s "${cpfile}" ]] || return 0
  [[ -n "$(find "${here}/pom.xml" "${here}/src" -newer "${jar}" -print -quit)" ]]
}

build() {
  command -v mvn >/dev/null 2>&1 || {
    echo "sofa-java: mvn not found; it is needed to build JavaPeer (skipping)" >&2
    exit 3
  }
  echo "sofa-java: building JavaPeer (mvn -q -B -f ${here} package)" >&2
  # Debian's Maven 3.8 prints bare ANSI resets even with -q -B; keep them off stdout too.
  mvn -q -B -f "${here}" package 2>&1 | sed -e $'s/\x1b\\[[0-9;]*m//g' >&2
}

if needs_build; then
  mkdir -p "${here}/target"
  if command -v flock >/dev/null 2>&1; then
    # Two peers started at once must not build into the same target/ together.
    exec 9>"${here}/target/.build.lock"
    flock 9
    if needs_build; then build; fi
    exec 9>&-
  else
    build
  fi
fi

extra=()
if [[ -n "${SOFA_JAVA_OPTS:-}" ]]; then
  read -r -a extra <<<"${SOFA_JAVA_OPTS}"
fi

exec "${java}" --add-opens java.base/java.lang=ALL-UNNAMED \
  "-Dlogging.path=${SOFA_JAVA_LOG_DIR:-${here}/target/logs}" \
  "${extra[@]}" \
  -cp "${jar}:$(cat "${cpfile}")" \
  dev.roster.sofa.JavaPeer "$@"
