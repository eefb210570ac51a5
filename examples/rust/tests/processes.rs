//! The examples as real processes against a real server.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roster_core::{Client, SubscriberRegistration};
use roster_server::{Config, Server};

const WAIT: Duration = Duration::from_secs(20);

// Multi-threaded: the test blocks on the child's output while the server serves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_process_is_removed_after_the_grace_period_not_before() {
    let grace = Duration::from_secs(2);
    let server = Server::start(Config {
        grace_period: grace,
        ..Config::ephemeral()
    })
    .await
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_publisher"))
        .args([
            "--endpoint",
            &server.endpoint(),
            "--data-id",
            "svc.Proc:1.0",
            "--data",
            "bolt://proc:1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("published bolt://proc:1"), "{line}");

    let client = Client::builder()
        .endpoints([server.endpoint()])
        .build()
        .unwrap();
    let sub = client
        .subscribe(SubscriberRegistration::new("svc.Proc:1.0"))
        .await
        .unwrap();
    sub.wait_for(|d| d.len() == 1, WAIT).await.unwrap();

    child.kill().unwrap(); // SIGKILL: no chance to unregister
    let killed = Instant::now();
    child.wait().unwrap();
    sub.wait_for(|d| d.is_empty(), WAIT).await.unwrap();
    let after = killed.elapsed();
    assert!(
        after >= grace - Duration::from_millis(100),
        "removed after {after:?}, before the grace period"
    );
}

/// Runs the demo with `arg`; asserts it succeeded and printed each of `steps`.
fn demo(arg: &str, steps: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .arg(arg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in steps {
        assert!(stdout.contains(step), "missing {step:?} in:\n{stdout}");
    }
    stdout
}

#[test]
fn the_cluster_demo_survives_its_leader_stopping() {
    let stdout = demo(
        "--cluster",
        &[
            "1. a three-node roster-server cluster is up",
            "the cluster elects another and both clients follow it",
            "leads now; the consumer's list never emptied",
            "6. the consumer ended",
            "10. done",
        ],
    );
    assert!(
        stdout.contains("bolt://10.1.2.5:12200?weight=50"),
        "the republish after the failover was pushed:\n{stdout}"
    );
}

#[test]
fn the_demo_runs_to_the_end() {
    let stdout = demo(
        "--ephemeral",
        &[
            "1. roster-server is up",
            "3. the provider publishes",
            "5. the provider unregisters",
            "6. the consumer ended",
            "8. one consumer per subscribe mode",
            "orders-v1 now publishes in mode application (5 publishers at the server)",
            "10. done",
        ],
    );
    assert!(
        stdout.contains("bolt://10.1.2.4:12200?weight=50"),
        "the republish was pushed:\n{stdout}"
    );
}

#[test]
fn the_subscriber_example_prints_pushes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(Server::start(Config::ephemeral())).unwrap();
    let _guard = rt.enter();
    let client = Client::builder()
        .endpoints([server.endpoint()])
        .build()
        .unwrap();
    let _p = rt
        .block_on(
            client.publish(roster_core::PublisherRegistration::new("svc.Ex").data(["bolt://ex:1"])),
        )
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_subscriber"))
        .args([
            "--endpoint",
            &server.endpoint(),
            "--data-id",
            "svc.Ex",
            "--count",
            "1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("bolt://ex:1"),
        "{stdout}"
    );
}
