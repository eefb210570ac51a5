//! The `roster-server` binary as a user runs it: flags, the listening line, `/health` and
//! `/metrics` over real HTTP, and clear errors for bad flags.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_health_and_metrics_on_the_ports_it_was_given() {
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            &http.to_string(),
            "--grace-period",
            "1.5",
            "--log",
            "warn",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("roster-server listening on 127.0.0.1:"),
        "{line}"
    );

    let health = get(&http.to_string(), "/health");
    assert!(
        health.starts_with("HTTP/1.0 200") || health.starts_with("HTTP/1.1 200"),
        "{health}"
    );
    assert!(
        health.contains("\"status\":\"UP\"") && health.contains("\"publishers\":0"),
        "{health}"
    );
    let metrics = get(&http.to_string(), "/metrics");
    for name in [
        "roster_sessions ",
        "roster_publishers ",
        "roster_pushes_total ",
        "roster_push_latency_seconds_count ",
    ] {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn bad_flags_are_refused_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_roster-server"))
        .args(["--grace-period", "-1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--grace-period must be a non-negative number of seconds"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_roster-server"))
        .args(["--listen", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
}
