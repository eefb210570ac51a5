//! The connection task: finds a registry node, opens a session through the protocol's
//! transport, redoes every live registration, runs until the session ends, and starts over
//! with backoff. On close it unregisters everything before hanging up.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::oneshot;

use super::Engine;
use crate::error::ErrorKind;
use crate::transport::{self, Outgoing};

enum End {
    /// The session was lost; reconnect.
    Lost,
    /// The client closed.
    Closed,
    /// A round of connection attempts found no node that took the session.
    NoneTook,
    /// ... and some node said there is no leader yet.
    Electing,
}

/// Redirects followed in one round before backing off: two nodes that disagree about the
/// leader during an election must not send the client back and forth.
const MAX_REDIRECTS: usize = 3;

/// One round: tries the nodes the transport names (for Roster: the known leader, the
/// members, then the bootstrap endpoints), following a redirect to the leader at once (up
/// to `MAX_REDIRECTS`).
async fn round(inner: &Arc<Engine>) -> End {
    let candidates = tokio::select! {
        _ = inner.closed.cancelled() => return End::Closed,
        c = inner.transport.candidates(&inner.members) => c,
    };
    let mut queue: std::collections::VecDeque<String> = candidates.into();
    let mut tried: Vec<String> = Vec::new();
    let mut redirects = 0;
    let mut electing = false;
    while let Some(endpoint) = queue.pop_front() {
        if tried.contains(&endpoint) {
            continue;
        }
        tried.push(endpoint.clone());
        let opened = tokio::select! {
            _ = inner.closed.cancelled() => return End::Closed,
            opened = inner.transport.open(&inner.identity, &endpoint, inner.clone()) => opened,
        };
        let e = match opened {
            Ok(opened) => return session(inner, &endpoint, opened).await,
            Err(e) => e,
        };
        tracing::debug!(endpoint, "cannot open a session: {e}");
        *inner.last_error.lock() = Some((e.kind(), e.message().to_owned()));
        electing |= e.kind() == ErrorKind::NotLeader && e.leader().is_none();
        if let Some(leader) = e.leader() {
            inner.members.set_leader(leader);
            if redirects < MAX_REDIRECTS && !tried.iter().any(|t| t == leader) {
                redirects += 1;
                tracing::info!(from = endpoint, to = leader, "redirected to the leader");
                queue.push_front(leader.to_owned());
            }
        }
    }
    if electing {
        End::Electing
    } else {
        End::NoneTook
    }
}

fn backoff(inner: &Engine) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(inner.config.reconnect_min_delay)
        .with_max_delay(inner.config.reconnect_max_delay)
        .with_jitter()
        .without_max_times()
        .build()
}

pub(crate) async fn run(inner: Arc<Engine>) {
    let mut delays = backoff(&inner);
    loop {
        match round(&inner).await {
            End::Closed => break,
            // It worked until now: start over (the same node first) with a fresh backoff.
            End::Lost => delays = backoff(&inner),
            // No node took the session: back off (with jitter) before the next round.
            End::NoneTook => {}
            // The cluster is up but electing: retry soon (the shortest delay, with jitter)
            // rather than backing off further, so the client is back right after the vote.
            End::Electing => delays = backoff(&inner),
        }
        let delay = delays.next().unwrap_or(inner.config.reconnect_max_delay);
        tokio::select! {
            _ = inner.closed.cancelled() => break,
            _ = tokio::time::sleep(delay) => {}
        }
    }
    // Closed while not connected: nothing to tell the registry (it removes what it holds
    // when the session's lease runs out); end the subscribers' updates.
    inner.drain();
}

/// Runs one session that is up: redo, then wait until it is lost or the client closes.
async fn session(inner: &Arc<Engine>, endpoint: &str, opened: transport::Opened) -> End {
    let transport::Opened {
        welcome,
        link,
        mut driver,
    } = opened;
    if let Some(members) = welcome.members {
        inner.members.update(members);
    }
    let (number, redone) = inner.attach(link.clone(), welcome.limits);
    // Answered once every push the redo caused has arrived (see `Engine::redo_read_back`).
    let (done, read_back) = oneshot::channel();
    let _ = link.tx.send(Outgoing::Barrier(done));
    inner.connected.send_replace(true);
    tracing::info!(
        endpoint,
        protocol = inner.protocol.as_str(),
        resumed = welcome.resumed,
        redone,
        "session up"
    );

    let mut read_back = std::pin::pin!(read_back);
    let mut reading_back = true;
    let end = loop {
        tokio::select! {
            _ = inner.closed.cancelled() => {
                close_gracefully(inner, &link).await;
                break End::Closed;
            }
            _ = &mut driver => break End::Lost,
            answered = &mut read_back, if reading_back => {
                reading_back = false;
                if answered.is_ok() {
                    inner.redone.send_replace(number);
                }
            }
        }
    };
    inner.detach();
    drop(link);
    driver.abort();
    inner.connected.send_replace(false);
    if matches!(end, End::Lost) {
        tracing::warn!(endpoint, "session lost; reconnecting");
    }
    end
}

/// Unregisters everything on the open session and waits (bounded) until the registry has
/// handled it all, so subscribers elsewhere see the removal now rather than after the
/// session's lease runs out.
async fn close_gracefully(inner: &Engine, link: &transport::Link) {
    inner.drain();
    let (done, handled) = oneshot::channel();
    let _ = link.tx.send(Outgoing::Barrier(done));
    if tokio::time::timeout(inner.config.request_timeout, handled)
        .await
        .is_err()
    {
        tracing::warn!(
            "the registry did not confirm the unregisters on close; its lease will remove them"
        );
    }
}
