//! One client's session stream: reads its frames into the registry and writes the
//! registry's frames back, with keep-alive and the grace period after the stream ends.

use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use std::sync::atomic::Ordering;

use futures_util::{FutureExt, Stream, StreamExt};
use roster_proto::v1::{self, client_frame::Body, command::Op, server_frame};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};

use crate::apply;
use crate::registry::{Outbox, Registry, SessionId};
use crate::security::auth::Presented;
use crate::security::gate::Gate;
use crate::security::limits::Bucket;
use crate::Shared;

pub type FrameStream = Pin<Box<dyn Stream<Item = Result<v1::ServerFrame, Status>> + Send>>;

/// Frames queued for one connection, each stamped when queued (for push latency).
struct ChannelOutbox {
    tx: mpsc::Sender<(v1::ServerFrame, Instant)>,
    closed: CancellationToken,
}

impl Outbox for ChannelOutbox {
    fn send(&self, frame: v1::ServerFrame) -> bool {
        match self.tx.try_send((frame, Instant::now())) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                // The client reads too slowly: close the stream rather than buffer without
                // bound. It reconnects, resumes its session and gets fresh data.
                self.closed.cancel();
                false
            }
            // The stream is already gone; the session detaches on its own.
            Err(mpsc::error::TrySendError::Closed(_)) => true,
        }
    }

    fn close(&self) {
        self.closed.cancel();
    }
}

/// Frames read from a stream and proposed as one command at most.
const MAX_BATCH: usize = 256;

/// Accepts a session stream: waits for its Hello, authenticates it, attaches it, and
/// returns the outbound stream while a task reads the inbound one. In a cluster only the
/// leader accepts; any other node answers with a redirect (see `Cluster::not_leader`).
/// `remote`: the peer's address, for the sessions-per-address limit.
pub async fn open(
    shared: Arc<Shared>,
    remote: Option<IpAddr>,
    mut inbound: Streaming<v1::ClientFrame>,
) -> Result<FrameStream, Status> {
    shared.ensure_leader()?;
    let abuse = shared.replica.config.abuse;
    let slot = match remote {
        Some(ip) => Some(
            shared
                .per_address
                .take(ip, abuse.max_sessions_per_address)
                .ok_or_else(|| {
                    shared.replica.metrics.limit("sessions_per_address");
                    Status::resource_exhausted(format!(
                        "{ip} already has {} sessions open, the most this registry allows from one address",
                        abuse.max_sessions_per_address
                    ))
                })?,
        ),
        None => None,
    };
    let wait = abuse.handshake_timeout;
    let first = tokio::time::timeout(wait, inbound.message())
        .await
        .map_err(|_| {
            shared.replica.metrics.limit("handshake_deadline");
            Status::deadline_exceeded(format!(
                "no Hello within {} ms of opening the session",
                wait.as_millis()
            ))
        })??;
    let mut hello = match first.and_then(|f| f.body) {
        Some(Body::Hello(h)) => h,
        _ => {
            return Err(Status::invalid_argument(
                "the first frame of a session must be Hello",
            ))
        }
    };
    Registry::check_hello(&hello).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let grants = match &shared.auth {
        Some(auth) => {
            let presented = Presented {
                access_key: &hello.access_key,
                client_id: &hello.client_id,
                timestamp_ms: hello.timestamp_ms,
                signature: &hello.signature,
            };
            Some(auth.check(&presented, true, &shared.replica.metrics)?)
        }
        None => None,
    };
    // The signature has done its work: it is neither replicated nor kept.
    hello.signature.clear();
    let (tx, rx) = mpsc::channel(shared.replica.config.outbox_capacity);
    let closed = shared.shutdown.child_token();
    let outbox = Arc::new(ChannelOutbox {
        tx,
        closed: closed.clone(),
    });
    // The attachment is applied through the log; the token tells this node's replica which
    // stream the session's frames go to.
    let token = shared.next_token.fetch_add(1, Ordering::Relaxed);
    shared.replica.streams.lock().insert(token, outbox);
    let applied = shared
        .submit(Op::Attach(v1::AttachSession {
            hello: Some(hello),
            token,
        }))
        .await;
    shared.replica.streams.lock().remove(&token);
    let applied = applied?;
    let Some((session, epoch, _)) = applied.attached else {
        let why = applied
            .refused
            .unwrap_or_else(|| "the session was refused".into());
        return Err(Status::invalid_argument(why));
    };
    let gate = Gate::new(
        grants,
        Bucket::new(abuse.max_frames_per_second, abuse.frames_burst),
        slot,
    );
    tokio::spawn(read_loop(
        shared.clone(),
        inbound,
        gate,
        session,
        epoch,
        closed.clone(),
    ));
    Ok(outbound(shared, rx, closed))
}

fn outbound(
    shared: Arc<Shared>,
    rx: mpsc::Receiver<(v1::ServerFrame, Instant)>,
    closed: CancellationToken,
) -> FrameStream {
    let stream = futures_util::stream::unfold(
        (rx, closed, shared),
        |(mut rx, closed, shared)| async move {
            let (frame, queued) = tokio::select! {
                biased;
                _ = closed.cancelled() => return None,
                next = rx.recv() => next?,
            };
            if matches!(frame.body, Some(server_frame::Body::Push(_))) {
                shared
                    .replica
                    .metrics
                    .push_latency
                    .observe(queued.elapsed().as_secs_f64());
            }
            Some((Ok(frame), (rx, closed, shared)))
        },
    );
    Box::pin(stream)
}

/// Reads the session's frames and hands them on in batches: whatever has arrived while the
/// previous batch was being handled goes as one command.
async fn read_loop(
    shared: Arc<Shared>,
    mut inbound: Streaming<v1::ClientFrame>,
    mut gate: Gate,
    session: SessionId,
    epoch: u64,
    closed: CancellationToken,
) {
    let idle = shared.replica.config.keepalive_interval * 3;
    let mut last = None;
    loop {
        let next = tokio::select! {
            _ = closed.cancelled() => break,
            next = tokio::time::timeout(idle, inbound.next()) => next,
        };
        let first = match next {
            Ok(Some(Ok(frame))) => frame,
            Ok(None) => break,
            Ok(Some(Err(status))) => {
                tracing::debug!(session, %status, "session stream failed");
                break;
            }
            Err(_) => {
                tracing::info!(session, "session silent for {idle:?}; closing it");
                break;
            }
        };
        let mut batch = vec![first];
        let mut ended = false;
        while batch.len() < MAX_BATCH {
            match inbound.next().now_or_never() {
                Some(Some(Ok(frame))) => batch.push(frame),
                Some(_) => {
                    ended = true;
                    break;
                }
                None => break,
            }
        }
        let mut refusals = Vec::new();
        gate.admit(&mut batch, &shared, &mut refusals);
        if !refusals.is_empty() {
            let reg = shared.replica.registry.lock();
            for frame in refusals {
                reg.send_to(session, frame).deliver();
            }
        }
        let forwarded =
            batch.is_empty() || forward(&shared, session, epoch, batch, &mut last, &closed).await;
        if !forwarded || ended {
            break;
        }
    }
    closed.cancel();
    if !shared.replica.registry.lock().detach(session, epoch) {
        return; // a newer stream of the same client took over
    }
    tracing::info!(
        session,
        grace = ?shared.replica.config.grace_period,
        "session detached; registrations kept for the grace period"
    );
    expire_after_grace(shared, session, epoch);
}

/// Applies (single node) or proposes (cluster) a batch of frames. Pings alone are answered
/// here, once every earlier frame is applied, so a pong confirms all that came before it
/// (the client's close relies on that) without writing keep-alives into the log. Returns
/// false when the session must end (this node lost its leadership).
async fn forward(
    shared: &Arc<Shared>,
    session: SessionId,
    epoch: u64,
    frames: Vec<v1::ClientFrame>,
    last: &mut Option<JoinHandle<()>>,
    closed: &CancellationToken,
) -> bool {
    if frames.iter().all(|f| matches!(f.body, Some(Body::Ping(_)))) {
        if let Some(previous) = last.take() {
            let _ = previous.await;
        }
        let reg = shared.replica.registry.lock();
        for f in frames {
            if let Some(Body::Ping(p)) = f.body {
                reg.send_to(session, apply::pong(p.nonce)).deliver();
            }
        }
        return true;
    }
    let op = Op::Frames(v1::SessionFrames {
        session,
        epoch,
        frames,
    });
    let Some(cluster) = shared.cluster.get() else {
        apply::apply(&shared.replica, shared.command(op), 0);
        return true;
    };
    // Proposed without waiting for the commit (the log keeps the order), so a client's
    // redo streams through instead of waiting a round trip per batch.
    match cluster.write_ff(shared.command(op)).await {
        Ok(applied) => {
            let closed = closed.clone();
            *last = Some(tokio::spawn(async move {
                if let Err(status) = applied.await {
                    tracing::info!(session, %status, "a session's frames were not applied; closing it");
                    closed.cancel();
                }
            }));
            true
        }
        Err(status) => {
            tracing::info!(session, %status, "cannot propose a session's frames; closing it");
            false
        }
    }
}

/// Removes a detached session's registrations when the grace period runs out without the
/// client coming back. In a cluster only the leader decides; a new leader gives every
/// session a fresh grace period (see `cluster::watch`).
pub fn expire_after_grace(shared: Arc<Shared>, session: SessionId, epoch: u64) {
    tokio::spawn(async move {
        tokio::select! {
            _ = shared.shutdown.cancelled() => {}
            _ = tokio::time::sleep(shared.replica.config.grace_period) => {
                if shared.cluster.get().is_some_and(|c| !c.is_leader()) {
                    return;
                }
                let op = Op::Expire(v1::ExpireSession { session, epoch });
                if let Err(status) = shared.submit(op).await {
                    tracing::info!(session, %status, "could not expire a session here");
                }
            }
        }
    });
}
