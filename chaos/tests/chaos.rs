//! The chaos runner in CI: a short run of random faults per topology and the fault table,
//! each with fixed seeds, each a real run (server and client processes, proxies) whose
//! checker must find no violation. Every run uses the runner's defaults for the workload:
//! clients in three zones of two data centers, subscribers of every scope, and every
//! publish and subscribe mode in random mixes with run-time switches. One at a time: they
//! measure convergence and must not compete for the machine's two cores.
//!
//! Longer runs are `make chaos` (see RELIABILITY.md).

use std::process::Command;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn chaos(args: &[&str]) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_roster-chaos"))
        .arg("run")
        .args(args)
        .output()
        .expect("the chaos runner starts");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "roster-chaos run {}: {}\n{stdout}\n{stderr}",
        args.join(" "),
        out.status
    );
    // The summary line says what was checked: a run that did nothing must not pass.
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("chaos: ") && l.contains("violations 0"))
        .expect("a summary with no violations");
    let ops: usize = summary["chaos: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("an operation count");
    assert!(ops > 100, "only {ops} operations: {summary}");
}

#[test]
fn single_node_random_faults() {
    chaos(&["--nodes", "1", "--seconds", "45", "--seed", "101"]);
}

#[test]
fn three_nodes_random_faults() {
    chaos(&["--nodes", "3", "--seconds", "45", "--seed", "103"]);
}

#[test]
fn five_nodes_random_faults() {
    chaos(&["--nodes", "5", "--seconds", "45", "--seed", "105"]);
}

// The fault table. Where a majority keeps a leader, no operation may wait long for it.

#[test]
fn three_nodes_kill_one() {
    chaos(&[
        "--scenario",
        "kill-1-of-3",
        "--seed",
        "7",
        "--max-op-latency",
        "3",
    ]);
}

#[test]
fn five_nodes_kill_two() {
    chaos(&[
        "--scenario",
        "kill-2-of-5",
        "--seed",
        "7",
        "--max-op-latency",
        "3",
    ]);
}

#[test]
fn leader_partitioned_both_ways() {
    chaos(&[
        "--scenario",
        "partition-symmetric",
        "--seed",
        "7",
        "--max-op-latency",
        "2",
    ]);
}

#[test]
fn leader_that_can_send_but_not_receive() {
    chaos(&[
        "--scenario",
        "partition-asymmetric",
        "--seed",
        "7",
        "--max-op-latency",
        "2",
    ]);
}

/// Clients that cannot reach the leader cannot write: no latency bound, but no flapping
/// and no lost data.
#[test]
fn clients_cut_off_the_leader() {
    chaos(&["--scenario", "client-cut-from-leader", "--seed", "7"]);
}

#[test]
fn nodes_added_and_removed_under_load() {
    chaos(&[
        "--scenario",
        "membership",
        "--seed",
        "7",
        "--max-op-latency",
        "3",
    ]);
}
