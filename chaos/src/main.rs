//! `roster-chaos`: Roster's chaos runner. It starts a registry (one node, or a Raft cluster)
//! and client processes, runs random operations while injecting faults, then checks the
//! journal of every operation and push (see `check`). `run` is the entry point; the `node`
//! and `client` modes are the processes it starts.
//!
//! # Design
//!
//! | module | what it does |
//! | --- | --- |
//! | `run` | one run: start, workload and faults, quiet, convergence, check, report; the fault table's scenarios |
//! | `topology` | the nodes, a proxy in front of each for the clients and one per directed link between nodes |
//! | `nodes` | node processes (`node` mode runs the server library): start, SIGKILL, SIGSTOP/SIGCONT, their Raft state |
//! | `proxy` | the fault-injecting TCP proxy: cut one way or both, delay |
//! | `faults` | the faults, journaled, and the random plan |
//! | `fleet` | the client processes (in three zones of two data centers) and the random workload, with mode switches |
//! | `worker` | `client` mode: one Roster client driven over stdin, reporting on stdout |
//! | `journal` | what is recorded, and the items (service URLs) that name their publisher |
//! | `views` | what each subscriber must see: scopes, publish and subscribe modes over time |
//! | `check` | the checker (pure: journal in, violations and convergence out) |
//!
//! A separate binary rather than tests of the server: it drives real processes over real
//! sockets, runs for seconds in CI and for hours on demand, and a `--seed` replays the same
//! operations and faults (the timing of a real run still differs).

use std::time::Duration;

use clap::{Parser, Subcommand};

mod check;
mod faults;
mod fleet;
mod journal;
mod nodes;
mod proxy;
mod run;
mod topology;
mod views;
mod worker;

#[derive(Parser)]
#[command(
    name = "roster-chaos",
    about = "Chaos runner for the Roster registry and client"
)]
struct Args {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// A chaos run: random operations and faults, then the checks.
    Run {
        /// Nodes: 1 (a single in-memory node), 3 or 5 (a Raft cluster).
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// How long operations and faults go on.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Seeds the operations and the faults (default: random, printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Client processes.
        #[arg(long, default_value_t = 6)]
        clients: usize,
        /// DataIds the clients share.
        #[arg(long, default_value_t = 4)]
        keys: usize,
        /// Which levels the clients publish and subscribe at: `mixed` (every publish and
        /// subscribe mode, switched at run time) or `interface` only.
        #[arg(long, value_enum, default_value_t = fleet::Levels::Mixed)]
        levels: fleet::Levels,
        /// No faults: the workload alone.
        #[arg(long)]
        no_faults: bool,
        /// Play a scenario of the fault table instead of random faults.
        #[arg(long, value_enum)]
        scenario: Option<run::Scenario>,
        /// The server's grace period, in seconds.
        #[arg(long, default_value_t = 3.0)]
        grace: f64,
        /// The server's warm-up after a start (seconds; default: the grace period). With 0
        /// a restarted single node pushes empty lists before its clients redo, which the
        /// checker reports.
        #[arg(long)]
        warmup: Option<f64>,
        /// Fail when a subscriber converges later than this after the last fault (seconds).
        #[arg(long, default_value_t = 15.0)]
        max_convergence: f64,
        /// Fail when an operation waits longer than this (seconds) for the registry.
        #[arg(long)]
        max_op_latency: Option<f64>,
        /// Keep the journal, node logs and data even when the run passes.
        #[arg(long)]
        keep: bool,
    },
    /// Checks a saved journal again.
    Check { journal: std::path::PathBuf },
    /// (internal) One registry node, from a JSON spec.
    #[command(hide = true)]
    Node { spec: String },
    /// (internal) One client process, placed by a JSON placement.
    #[command(hide = true)]
    Client {
        worker: u32,
        endpoints: String,
        placement: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match args.command {
        Mode::Node { spec } => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_writer(std::io::stderr)
                .init();
            let spec: nodes::NodeSpec =
                serde_json::from_str(&spec).expect("a node spec from the runner");
            if let Err(e) = nodes::serve(spec).await {
                eprintln!("roster-chaos node: {e}");
                return std::process::ExitCode::FAILURE;
            }
            std::process::ExitCode::SUCCESS
        }
        Mode::Client {
            worker: id,
            endpoints,
            placement,
        } => {
            let placement = serde_json::from_str(&placement).expect("a placement from the runner");
            let endpoints = endpoints.split(',').map(str::to_owned).collect();
            worker::run(id, endpoints, placement).await;
            std::process::ExitCode::SUCCESS
        }
        Mode::Check { journal } => {
            let text = match std::fs::read_to_string(&journal) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("roster-chaos: cannot read {}: {e}", journal.display());
                    return std::process::ExitCode::from(2);
                }
            };
            let entries: Vec<journal::Entry> = match text
                .lines()
                .filter(|l| !l.is_empty())
                .map(serde_json::from_str)
                .collect()
            {
                Ok(e) => e,
                Err(e) => {
                    eprintln!("roster-chaos: {} is not a journal: {e}", journal.display());
                    return std::process::ExitCode::from(2);
                }
            };
            let report = check::check(&entries, &run::default_params(3.0));
            for v in &report.violations {
                println!(
                    "VIOLATION {}: subscriber {:?} of {:?}: {}",
                    v.kind, v.subscriber, v.key, v.detail
                );
            }
            println!("violations {}", report.violations.len());
            if report.violations.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Mode::Run {
            nodes,
            seconds,
            seed,
            clients,
            keys,
            levels,
            no_faults,
            scenario,
            grace,
            warmup,
            max_convergence,
            max_op_latency,
            keep,
        } => {
            if scenario.is_none() && ![1, 3, 5].contains(&nodes) {
                eprintln!("roster-chaos: --nodes must be 1, 3 or 5, not {nodes}");
                return std::process::ExitCode::from(2);
            }
            let (Ok(grace), Ok(warmup), Ok(max_convergence), Ok(max_op_latency)) = (
                Duration::try_from_secs_f64(grace),
                Duration::try_from_secs_f64(warmup.unwrap_or(grace)),
                Duration::try_from_secs_f64(max_convergence),
                max_op_latency.map(Duration::try_from_secs_f64).transpose(),
            ) else {
                eprintln!("roster-chaos: --grace, --warmup, --max-convergence and --max-op-latency are seconds (non-negative)");
                return std::process::ExitCode::from(2);
            };
            let settings = run::Settings {
                nodes,
                seconds,
                seed: seed.unwrap_or_else(|| fastrand::u64(..)),
                clients,
                keys,
                levels,
                faults: !no_faults,
                scenario,
                timings: topology::Timings {
                    grace,
                    keepalive: Duration::from_secs(1),
                    warmup,
                },
                max_convergence,
                max_op_latency,
                keep,
            };
            match run::run(settings).await {
                Ok(true) => std::process::ExitCode::SUCCESS,
                Ok(false) => std::process::ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("roster-chaos: {e}");
                    std::process::ExitCode::from(2)
                }
            }
        }
    }
}
