#!/usr/bin/env bash
# Run a real SOFARegistry 6.3.0 (meta + data + session in one JVM, `dev` profile,
# H2 in memory) for cross-checks against Roster.
#
# Usage: scripts/sofa-registry.sh start|stop|status|logs [-f|N]
#
#   start   resolve the server classpath with Maven (once), check the fixed ports,
#           start it in the background and wait until /health/check succeeds
#   stop    TERM the server started by this script (KILL after 10 s)
#   kill    KILL it at once, as a crash would (tests use it)
#   status  say whether it runs (exit 0) or not (exit 1)
#   logs    print the last N (default 100) lines of its stdout/stderr log, or follow it (-f)
#
# Environment:
#   ROSTER_SOFA_HOME           work directory (default ~/.cache/roster/sofa-registry)
#   ROSTER_SOFA_START_TIMEOUT  seconds to wait for /health/check (default 90)
#   JAVA_HOME                  JDK to use (default: java on PATH); JDK 17 or newer
#   ROSTER_SOFA_JAVA_OPTS      extra JVM options, split on whitespace, e.g. shorter push
#                              delays (a push takes about 2 s by default):
#                              -Dsession.server.dataChangeDebouncingMillis=100
#                              -Dsession.server.pushDataTaskDebouncingMillis=100
#                              -Ddata.server.notifyIntervalMillis=100
#
# Exit codes: 0 ok, 1 failure, 2 usage, 3 java/mvn/curl missing (callers treat 3 as "skip").
#
# Binding: the server cannot be bound to loopback. SOFABolt's RpcServer(port) and the
# Jetty connector of SOFARegistry's JerseyJettyServer listen on the wildcard address and
# SOFARegistry passes no host to either; there is no property for it. The node identity
# (what /api/servers/query returns) comes from NetUtil.getLocalAddress(), which skips
# loopback addresses on purpose (system property network_interface_binding only picks
# another non-loopback interface). So the ports are open on every interface while it runs.
set -euo pipefail

readonly VERSION=6.3.0
readonly ARTIFACT="com.alipay.sofa:registry-server-integration:${VERSION}"
readonly MAIN_CLASS=com.alipay.sofa.registry.server.integration.RegistryApplication
readonly DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
readonly WORKDIR="${ROSTER_SOFA_HOME:-$HOME/.cache/roster/sofa-registry}"
readonly PIDFILE="$WORKDIR/registry.pid"
readonly LOGFILE="$WORKDIR/registry.log"
readonly RUNDIR="$WORKDIR/run"
readonly CPFILE="$WORKDIR/cp.txt"
readonly POMFILE="$WORKDIR/pom.xml"
readonly HEALTH_URL=http://127.0.0.1:9603/health/check
readonly START_TIMEOUT="${ROSTER_SOFA_START_TIMEOUT:-90}"
readonly STOP_TIMEOUT=10
# session 9600 (Bolt, clients), 9602, 9603 (HTTP), 9604; meta 9610-9615; data 9620-9623;
# H2 console 9630. All fixed. 6.3.0 also listens on 9617 (meta, multi-cluster remote meta)
# and 9627 (data, multi-cluster slot sync); 9613 and 9614 stay unused but are checked too.
readonly PORTS=(9600 9602 9603 9604 9610 9611 9612 9613 9614 9615 9617 9620 9621 9622 9623 9627
  9630)
readonly ADD_OPENS=(java.lang java.util java.lang.reflect java.util.concurrent java.net
  java.math sun.nio.ch java.nio java.io)

log() { printf 'sofa-registry: %s\n' "$*"; }
err() { printf 'sofa-registry: %s\n' "$*" >&2; }
die() {
  err "$*"
  exit 1
}
skip() {
  err "$*"
  exit 3
}

usage() {
  echo "usage: $0 start|stop|kill|status|logs [-f|N]" >&2
  exit 2
}

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    return 1
  fi
}

# Major version of the given java ("1.8.0_x" -> 8, "17.0.15" -> 17).
java_major() {
  local line ver
  line="$("$1" -version 2>&1 | head -n 1)"
  ver="$(sed -E 's/^[^"]*"([^"]*)".*$/\1/' <<<"$line")"
  if [[ "$ver" == 1.* ]]; then
    ver="${ver#1.}"
  fi
  ver="${ver%%[.+-]*}"
  [[ "$ver" =~ ^[0-9]+$ ]] || ver=0
  echo "$ver"
}

# PID from the pid file if that process is alive and is our RegistryApplication.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(tr -dc '0-9' <"$PIDFILE")"
  [[ -n "$pid" ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$MAIN_CLASS" || return 1
  fi
  echo "$pid"
}

health_ok() {
  local out
  out="$(curl -s --max-time 3 "$HEALTH_URL" 2>/dev/null)" || return 1
  [[ "$out" == *'"success":true'* ]]
}

# Prints "PORT\tHOLDER" for the first fixed port that is taken, returns 1 if all are free.
first_taken_port() {
  local port listeners holder
  for port in "${PORTS[@]}"; do
    listeners=""
    if command -v ss >/dev/null 2>&1; then
      # Any listener on the port (any address) blocks the server's wildcard bind.
      listeners="$(ss -Hltnp "sport = :$port" 2>/dev/null || true)"
    fi
    if [[ -z "$listeners" ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      continue
    fi
    # users:(("java",pid=123,fd=45)) -> java (pid 123)
    holder="$(grep -o 'users:(([^)]*))' <<<"$listeners" | head -n 1 |
      sed -E 's/^users:\(\("([^"]*)",pid=([0-9]+).*$/\1 (pid \2)/' || true)"
    printf '%s\t%s\n' "$port" "${holder:-unknown process (ss -ltnp cannot tell)}"
    return 0
  done
  return 1
}

write_pom() {
  cat >"$POMFILE" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/sofa-registry.sh; only used to resolve the server classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.roster</groupId>
  <artifactId>sofa-registry-runner</artifactId>
  <version>${VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>com.alipay.sofa</groupId>
      <artifactId>registry-server-integration</artifactId>
      <version>${VERSION}</version>
    </dependency>
  </dependencies>
</project>
EOF
}

# cp.txt is reused when it is non-empty, for this version, and its first jar still exists.
classpath_usable() {
  local first
  [[ -s "$CPFILE" && -f "$POMFILE" ]] || return 1
  grep -q "<version>${VERSION}</version>" "$POMFILE" || return 1
  first="$(cut -d: -f1 <"$CPFILE")"
  [[ -f "$first" ]]
}

resolve_classpath() {
  classpath_usable && return 0
  command -v mvn >/dev/null 2>&1 ||
    skip "mvn not found on PATH; it is needed once to resolve ${ARTIFACT} (skipping)"
  log "resolving the classpath of ${ARTIFACT} with Maven (first run only)..."
  write_pom
  rm -f "$CPFILE"
  # Debian's Maven 3.8 prints bare ANSI resets even with -q -B; strip them (pipefail keeps
  # mvn's exit status).
  if ! (cd "$WORKDIR" && mvn -q -B "${DEP_PLUGIN}:build-classpath" -Dmdep.outputFile=cp.txt) 2>&1 |
    sed -e $'s/\x1b\\[[0-9;]*m//g' >&2; then
    rm -f "$CPFILE"
    die "Maven could not resolve ${ARTIFACT} (see the output above)"
  fi
  [[ -s "$CPFILE" ]] || die "Maven wrote no classpath to $CPFILE"
  log "classpath: $(tr ':' '\n' <"$CPFILE" | wc -l) jars, in $CPFILE"
}

stop_pid() {
  local pid="$1" waited=0
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((waited >= STOP_TIMEOUT * 10)); then
      err "pid $pid still alive after ${STOP_TIMEOUT} s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  rm -f "$PIDFILE"
}

cmd_start() {
  local java major pid taken port holder pkg start_ns now_ns elapsed_ms deadline opens=()

  if pid="$(running_pid)"; then
    if health_ok; then
      log "already running (pid $pid), healthy at $HEALTH_URL"
    else
      log "already running (pid $pid), not healthy yet; see: $0 logs"
    fi
    exit 0
  fi

  java="$(java_bin)" || skip "java not found (set JAVA_HOME or put a JDK 17 on PATH) (skipping)"
  major="$(java_major "$java")"
  ((major >= 17)) || skip "$java is Java $major; SOFARegistry here needs JDK 17 or newer (skipping)"
  command -v curl >/dev/null 2>&1 || skip "curl not found; it is needed for the health check (skipping)"
  if ! classpath_usable && ! command -v mvn >/dev/null 2>&1; then
    skip "mvn not found on PATH; it is needed once to resolve ${ARTIFACT} (skipping)"
  fi

  rm -f "$PIDFILE"
  if taken="$(first_taken_port)"; then
    port="${taken%%$'\t'*}"
    holder="${taken#*$'\t'}"
    die "port $port is already in use (held by: $holder); SOFARegistry needs all of ${PORTS[*]}"
  fi

  mkdir -p "$WORKDIR"
  resolve_classpath

  # A fresh home for every start: user.home, logs and tmp of the server live here.
  rm -rf "$RUNDIR"
  mkdir -p "$RUNDIR/home" "$RUNDIR/logs" "$RUNDIR/tmp"

  for pkg in "${ADD_OPENS[@]}"; do
    opens+=(--add-opens "java.base/${pkg}=ALL-UNNAMED")
  done

  local extra=()
  if [[ -n "${ROSTER_SOFA_JAVA_OPTS:-}" ]]; then
    read -r -a extra <<<"${ROSTER_SOFA_JAVA_OPTS}"
  fi

  local args=(
    -Xmx1g -XX:+UseSerialGC
    "${opens[@]}"
    "-Duser.home=$RUNDIR/home"
    "-Dlogging.path=$RUNDIR/logs"
    "-Dregistry.log.path=$RUNDIR/logs"
    "-Djava.io.tmpdir=$RUNDIR/tmp"
    "${extra[@]}"
    -cp "$(cat "$CPFILE")"
    "$MAIN_CLASS"
  )

  log "starting SOFARegistry ${VERSION} ($java, Java $major); log: $LOGFILE"
  start_ns="$(date +%s%N)"
  # setsid: its own session, so the caller's Ctrl-C or process-group kill does not reach it.
  # The inner shell writes its own PID (which exec turns into java's) to the pid file.
  # shellcheck disable=SC2016 # expanded by the inner shell
  if command -v setsid >/dev/null 2>&1; then
    setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' sofa-registry "$PIDFILE" "$java" "${args[@]}" \
      >"$LOGFILE" 2>&1 </dev/null &
  else
    nohup bash -c 'echo "$$" >"$1"; shift; exec "$@"' sofa-registry "$PIDFILE" "$java" "${args[@]}" \
      >"$LOGFILE" 2>&1 </dev/null &
  fi

  deadline=$((SECONDS + START_TIMEOUT))
  while [[ ! -s "$PIDFILE" ]] && ((SECONDS < deadline)); do
    sleep 0.05
  done
  pid="$(tr -dc '0-9' 2>/dev/null <"$PIDFILE" || true)"
  [[ -n "$pid" ]] || die "the server did not start (no pid written); see $LOGFILE"

  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      err "SOFARegistry (pid $pid) exited during startup; last 50 lines of $LOGFILE:"
      tail -n 50 "$LOGFILE" >&2 || true
      rm -f "$PIDFILE"
      exit 1
    fi
    if health_ok; then
      now_ns="$(date +%s%N)"
      elapsed_ms=$(((now_ns - start_ns) / 1000000))
      log "ready in $((elapsed_ms / 1000)).$(printf '%03d' $((elapsed_ms % 1000))) s (pid $pid): $HEALTH_URL"
      exit 0
    fi
    sleep 0.5
  done

  err "SOFARegistry not healthy after ${START_TIMEOUT} s; last 50 lines of $LOGFILE:"
  tail -n 50 "$LOGFILE" >&2 || true
  err "(server logs: $RUNDIR/logs) stopping it"
  stop_pid "$pid"
  exit 1
}

cmd_kill() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "killing pid $pid (SIGKILL)"
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$PIDFILE"
  log "killed"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PIDFILE"
    log "not running"
    return 0
  fi
  log "stopping pid $pid"
  stop_pid "$pid"
  log "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if health_ok; then
      log "running (pid $pid), healthy"
    else
      log "running (pid $pid), not healthy (yet)"
    fi
    return 0
  fi
  log "not running"
  return 1
}

cmd_logs() {
  [[ -f "$LOGFILE" ]] || die "no log yet ($LOGFILE)"
  case "${1:-100}" in
  -f) exec tail -n 100 -F "$LOGFILE" ;;
  *[!0-9]* | '') usage ;;
  *) tail -n "$1" "$LOGFILE" ;;
  esac
}

main() {
  [[ $# -ge 1 ]] || usage
  case "$1" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  logs) cmd_logs "${2:-100}" ;;
  -h | --help | help) usage ;;
  *) usage ;;
  esac
}

main "$@"
