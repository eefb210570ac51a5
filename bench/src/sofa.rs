//! (s) The same client code against a real SOFARegistry 6.3.0 and the Roster server, side by
//! side in one run: the hot fan-out (a), wide churn (b) and registrations (c). Start the
//! registry first (`scripts/sofa-registry.sh start`, its default settings); its HTTP
//! endpoint is `ROSTER_SOFA_ENDPOINT` (default `sofa://127.0.0.1:9603`).

use std::time::Duration;

use roster_core::Client;

use crate::server::ServerProcess;
use crate::{churn_on, fanout_on, registrations_on};

/// True when a SOFARegistry answers at `endpoint`.
async fn reachable(endpoint: &str) -> bool {
    let Ok(c) = Client::builder().endpoints([endpoint]).build() else {
        return false;
    };
    let up = c.wait_connected(Duration::from_secs(5)).await.is_ok();
    c.close().await;
    up
}

pub async fn side_by_side(quick: bool) {
    let sofa =
        std::env::var("ROSTER_SOFA_ENDPOINT").unwrap_or_else(|_| "sofa://127.0.0.1:9603".into());
    if !reachable(&sofa).await {
        println!(
            "(s) skipped: no SOFARegistry answers at {sofa}; start one with `scripts/sofa-registry.sh start`"
        );
        return;
    }
    let (sofa_label, roster_label) = (" [SOFARegistry]", " [Roster]");
    let changes = if quick { 3 } else { 20 };
    let fanouts: &[(usize, usize)] = if quick {
        &[(100, 10)]
    } else {
        &[(1_000, 10), (10_000, 100)]
    };
    for &(s, c) in fanouts {
        fanout_on(std::slice::from_ref(&sofa), sofa_label, s, c, changes).await;
        let roster = ServerProcess::start();
        fanout_on(&[roster.endpoint()], roster_label, s, c, changes).await;
    }
    let (n, secs) = if quick { (500, 2) } else { (10_000, 10) };
    churn_on(std::slice::from_ref(&sofa), sofa_label, n, secs, 1024).await;
    let roster = ServerProcess::start();
    churn_on(&[roster.endpoint()], roster_label, n, secs, 1024).await;
    drop(roster);
    for c in [10, 64] {
        let per_client = if quick { 100 } else { 100_000 / c };
        registrations_on(std::slice::from_ref(&sofa), sofa_label, None, c, per_client).await;
        let roster = ServerProcess::start();
        registrations_on(
            &[roster.endpoint()],
            roster_label,
            Some(&roster),
            c,
            per_client,
        )
        .await;
    }
}
