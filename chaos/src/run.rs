//! One chaos run: start the registry and the clients, run the workload with faults (at
//! random, or a scenario of the fault table), go quiet, wait for convergence, check the
//! journal, report.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::check::{self, Params};
use crate::faults::{Faults, FleetCommand, Target};
use crate::fleet::{Fleet, Levels};
use crate::journal::{now, Entry, Journal};
use crate::topology::{watch_leaders, Timings, Topology};

/// The fault table: each scenario with its topology and its faults, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// 3 nodes: the leader killed and restarted, then a follower.
    #[value(name = "kill-1-of-3")]
    Kill1Of3,
    /// 5 nodes: the leader and a follower killed together, then restarted.
    #[value(name = "kill-2-of-5")]
    Kill2Of5,
    /// 3 nodes: the leader cut off both followers, both ways, then healed.
    PartitionSymmetric,
    /// 3 nodes: the leader can send to the followers but hears nothing back.
    PartitionAsymmetric,
    /// 3 nodes: clients cut off the leader (the followers stay reachable), shorter and
    /// then longer than the grace period.
    ClientCutFromLeader,
    /// 3 nodes and 2 spares: both spares added, then two nodes (the leader first) removed.
    Membership,
}

impl Scenario {
    /// (members, spares)
    fn topology(self) -> (usize, usize) {
        match self {
            Scenario::Kill2Of5 => (5, 0),
            Scenario::Membership => (3, 2),
            _ => (3, 0),
        }
    }

    async fn play(self, f: &mut Faults) {
        let s = Duration::from_secs;
        tokio::time::sleep(s(3)).await;
        match self {
            Scenario::Kill1Of3 => {
                f.kill_nodes(&[Target::Leader], s(3)).await;
                tokio::time::sleep(s(3)).await;
                f.kill_nodes(&[Target::Follower], s(3)).await;
            }
            Scenario::Kill2Of5 => {
                f.kill_nodes(&[Target::Leader, Target::Follower], s(4))
                    .await;
            }
            Scenario::PartitionSymmetric => f.isolate(Target::Leader, true, true, s(5)).await,
            Scenario::PartitionAsymmetric => f.isolate(Target::Leader, true, false, s(5)).await,
            Scenario::ClientCutFromLeader => {
                f.cut_clients(Target::Leader, Duration::from_millis(1500))
                    .await;
                tokio::time::sleep(s(3)).await;
                f.cut_clients(Target::Leader, s(6)).await;
            }
            Scenario::Membership => {
                f.add_member(4).await;
                tokio::time::sleep(s(2)).await;
                f.add_member(5).await;
                tokio::time::sleep(s(2)).await;
                f.remove_member(Target::Leader).await;
                tokio::time::sleep(s(2)).await;
                f.remove_member(Target::Follower).await;
            }
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// 1: a single node; 3 or 5: a cluster (ignored with a scenario).
    pub nodes: usize,
    pub seconds: u64,
    pub seed: u64,
    pub clients: usize,
    pub keys: usize,
    pub levels: Levels,
    /// Random faults (with no scenario); none when false.
    pub faults: bool,
    pub scenario: Option<Scenario>,
    pub timings: Timings,
    pub max_convergence: Duration,
    /// Fail when an operation of a live client waits longer (a partitioned leader that
    /// keeps its clients, for one).
    pub max_op_latency: Option<Duration>,
    /// Keep the work directory (journal, node logs and data) even when the run passes.
    pub keep: bool,
}

/// The checker's allowances for a server with this grace period (seconds).
pub fn default_params(grace: f64) -> Params {
    Params {
        slack: 2_000_000,
        grace: (grace * 1e6) as u64,
        recovery: 2_000_000,
    }
}

/// One run; whether it passed (the report is printed).
pub async fn run(s: Settings) -> std::io::Result<bool> {
    let started = Instant::now();
    let dir = tempfile::Builder::new().prefix("roster-chaos-").tempdir()?;
    let (members, spares) = s.scenario.map_or((s.nodes, 0), Scenario::topology);
    let topo = Topology::start(members, spares, s.timings, dir.path()).await?;
    if topo.cluster && topo.wait_leader(Duration::from_secs(20)).await.is_none() {
        return Err(std::io::Error::other(
            "the cluster elected no leader in 20 s",
        ));
    }
    let journal = Journal::default();
    let stop = CancellationToken::new();
    let watcher = topo.cluster.then(|| {
        let https = topo
            .nodes
            .iter()
            .map(|(id, n)| (*id, n.spec.http))
            .collect();
        watch_leaders(https, journal.clone(), stop.clone())
    });
    let mut fleet = Fleet::new(topo.endpoints(), journal.clone(), s.keys, s.levels, s.seed);
    for _ in 0..s.clients {
        fleet.spawn()?;
    }
    let (fleet_tx, mut fleet_rx) = mpsc::unbounded_channel();
    let mut faults = Faults::new(topo, journal.clone(), s.seed, fleet_tx);
    println!(
        "chaos: seed {}, {} node(s){}, {} client processes, {} dataIds, {:?} levels, work dir {}",
        s.seed,
        members,
        if spares > 0 {
            format!(" + {spares} spare(s)")
        } else {
            String::new()
        },
        s.clients,
        s.keys,
        s.levels,
        dir.path().display()
    );

    // The fault side: a scenario, or random faults for the run's length (every fault heals
    // itself before the next).
    let (scenario, random) = (s.scenario, s.faults);
    let seconds = s.seconds;
    let fault_task = tokio::spawn(async move {
        match scenario {
            Some(sc) => sc.play(&mut faults).await,
            None => {
                let until = Instant::now() + Duration::from_secs(seconds);
                // The run ends when its last fault does: convergence counts from there.
                while Instant::now() < until {
                    let gap = Duration::from_millis(faults.rng.u64(1000..3000));
                    tokio::time::sleep(gap).await;
                    if random {
                        faults.random().await;
                    }
                }
            }
        }
        faults
    });

    // The workload, until the faults are over.
    let mut rng = fastrand::Rng::with_seed(s.seed ^ 0x0b5);
    let mut respawn: Vec<Instant> = Vec::new();
    while !fault_task.is_finished() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(rng.u64(10..50))) => fleet.step().await,
            Some(FleetCommand::KillClient { after }) = fleet_rx.recv() => {
                fleet.kill_random().await;
                respawn.push(Instant::now() + after);
            }
        }
        let due = respawn.iter().filter(|t| **t <= Instant::now()).count();
        respawn.retain(|t| *t > Instant::now());
        for _ in 0..due {
            fleet.spawn()?;
        }
    }
    let faults = fault_task.await.map_err(std::io::Error::other)?;
    for _ in respawn {
        fleet.spawn()?;
    }
    let fault_count = faults.faults();
    journal.push(Entry::Quiet { t: now() });
    let quiet = Instant::now();

    // Convergence: every operation answered, then every subscriber's data exactly the live
    // publishers' union.
    let settled = fleet.settle(Duration::from_secs(30)).await;
    let mut finals = Vec::new();
    while quiet.elapsed() < Duration::from_secs(60) {
        finals = fleet.dump().await;
        if check::mismatches(&journal.entries(), &finals).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for f in finals {
        journal.push(f);
    }
    stop.cancel();
    if let Some(w) = watcher {
        let _ = w.await;
    }
    let entries = journal.entries();
    let report = check::check(&entries, &default_params(s.timings.grace.as_secs_f64()));
    let converged = report.convergence.last().copied().unwrap_or(0);
    let slowest = Duration::from_micros(report.op_latency.last().copied().unwrap_or(0));
    let too_slow = s.max_op_latency.is_some_and(|m| slowest > m);
    let passed = report.violations.is_empty()
        && settled
        && !too_slow
        && Duration::from_micros(converged) <= s.max_convergence;
    let path: PathBuf = dir.path().join("journal.jsonl");
    let lines: Vec<String> = entries
        .iter()
        .map(|e| serde_json::to_string(e).expect("entries serialize"))
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n")?;
    for v in report.violations.iter().take(20) {
        println!(
            "VIOLATION {}: subscriber {:?} of {:?}: {}",
            v.kind, v.subscriber, v.key, v.detail
        );
        for line in check::timeline(&entries, v.key.as_deref(), v.t, 10_000_000) {
            println!("    {line}");
        }
    }
    if report.violations.len() > 20 {
        println!("... and {} more violations", report.violations.len() - 20);
    }
    println!(
        "chaos: {} operations ({} failed; answered in p50 {} ms, p99 {} ms, max {} ms), {} faults, {} pushes, {} client processes at the end; violations {}; changes seen by subscribers after their acknowledgement in p50 {} ms, p99 {} ms, max {} ms ({} samples); convergence after the last fault p50 {} ms, p99 {} ms, max {} ms over {} subscribers; {:.0} s",
        report.ops,
        report.failed_ops,
        check::percentile(&report.op_latency, 0.5) / 1000,
        check::percentile(&report.op_latency, 0.99) / 1000,
        slowest.as_millis(),
        fault_count,
        report.pushes,
        fleet.processes(),
        report.violations.len(),
        check::percentile(&report.visibility, 0.5) / 1000,
        check::percentile(&report.visibility, 0.99) / 1000,
        report.visibility.last().copied().unwrap_or(0) / 1000,
        report.visibility.len(),
        check::percentile(&report.convergence, 0.5) / 1000,
        check::percentile(&report.convergence, 0.99) / 1000,
        converged / 1000,
        report.convergence.len(),
        started.elapsed().as_secs_f64()
    );
    let mix: Vec<String> = report.mix.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("chaos: mix: {}", mix.join(", "));
    if too_slow {
        println!(
            "FAILED: an operation waited {slowest:?}, more than {:?}",
            s.max_op_latency.unwrap_or_default()
        );
    }
    if !settled {
        println!("FAILED: operations still unanswered 30 s after the run went quiet");
    }
    if Duration::from_micros(converged) > s.max_convergence {
        println!(
            "FAILED: convergence took longer than {:?}",
            s.max_convergence
        );
    }
    if !passed || s.keep {
        let kept = dir.keep();
        println!(
            "chaos: journal, node logs and data kept in {}",
            kept.display()
        );
    }
    Ok(passed)
}
