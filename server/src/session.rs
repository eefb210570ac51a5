//! One client's session stream: reads its frames into the registry and writes the
//! registry's frames back, with keep-alive and the grace period after the stream ends.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::Ordering;

use futures_util::{FutureExt, Stream, StreamExt};
use roster_proto::v1::{self, client_frame::Body, command::Op, server_frame};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};

use crate::apply;
use crate::registry::{Outbox, Registry, SessionId};
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

/// Accepts a session stream: waits for its Hello, attaches it, and returns the outbound
/// stream while a task reads the inbound one. In a cluster only the leader accepts; any
/// other node answers with a redirect (see `Cluster::not_leader`).
pub async fn open(
    shared: Arc<Shared>,
    mut inbound: Streaming<v1::ClientFrame>,
) -> Result<FrameStream, Status> {
    shared.ensure_leader()?;
    let first = tokio::time::timeout(Duration::from_secs(10), inbound.message())
        .await
        .map_err(|_| Status::deadline_exceeded("no Hello within 10 s of opening the session"))??;
    let hello = match first.and_then(|f| f.body) {
        Some(Body::Hello(h)) => h,
        _ => {
            return Err(Status::invalid_argument(
                "the first frame of a session must be Hello",
            ))
        }
    };
    Registry::check_hello(&hello).map_err(|e| Status::invalid_argument(e.to_string()))?;
    let (tx, rx) = mpsc::channel(shared.config.outbox_capacity);
    let closed = shared.shutdown.child_token();
    let outbox = Arc::new(ChannelOutbox {
        tx,
        closed: closed.clone(),
    });
    // The attachment is applied through the log; the token tells this node's replica which
    // stream the session's frames go to.
    let token = shared.next_token.fetch_add(1, Ordering::Relaxed);
    shared.streams.lock().insert(token, outbox);
    let applied = shared
        .submit(Op::Attach(v1::AttachSession {
            hello: Some(hello),
            token,
        }))
        .await;
    shared.streams.lock().remove(&token);
    let applied = applied?;
    let Some((session, epoch, _)) = applied.attached else {
        let why = applied
            .refused
            .unwrap_or_else(|| "the session was refused".into());
        return Err(Status::invalid_argument(why));
    };
    tokio::spawn(read_loop(
        shared.clone(),
        inbound,
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
    session: SessionId,
    epoch: u64,
    closed: CancellationToken,
) {
    let idle = shared.config.keepalive_interval * 3;
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
        if !forward(&shared, session, epoch, batch, &mut last, &closed).await || ended {
            break;
        }
    }
    closed.cancel();
    if !shared.registry.lock().detach(session, epoch) {
        return; // a newer stream of the same client took over
    }
    tracing::info!(
        session,
        grace = ?shared.config.grace_period,
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
        let reg = shared.registry.lock();
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
        apply::apply(shared, shared.command(op), 0);
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
            _ = tokio::time::sleep(shared.config.grace_period) => {
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
