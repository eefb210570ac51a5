//! One client's session stream: reads its frames into the registry and writes the
//! registry's frames back, with keep-alive and the grace period after the stream ends.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::Stream;
use roster_proto::v1::{self, client_frame::Body, server_frame};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};

use crate::registry::{Effects, Outbox, SessionId};
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

/// Accepts a session stream: waits for its Hello, attaches it, and returns the outbound
/// stream while a task reads the inbound one.
pub async fn open(
    shared: Arc<Shared>,
    mut inbound: Streaming<v1::ClientFrame>,
) -> Result<FrameStream, Status> {
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
    let (tx, rx) = mpsc::channel(shared.config.outbox_capacity);
    let closed = shared.shutdown.child_token();
    let outbox = Arc::new(ChannelOutbox {
        tx,
        closed: closed.clone(),
    });
    let attached = {
        let mut reg = shared.registry.lock();
        let attached = reg
            .attach(&hello, outbox.clone())
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        // Queued under the lock, so the Welcome precedes every push to this stream.
        outbox.send(welcome(&shared, attached.resumed, reg.limits()));
        attached
    };
    if let Some(old) = attached.superseded {
        old.close();
    }
    shared.metrics.sessions_opened.inc();
    if attached.resumed {
        shared.metrics.sessions_resumed.inc();
    }
    tracing::info!(client_id = %hello.client_id, app = %hello.app_name, zone = %hello.zone,
        resumed = attached.resumed, "session attached");
    tokio::spawn(read_loop(
        shared.clone(),
        inbound,
        attached.session,
        attached.epoch,
        closed.clone(),
    ));
    Ok(outbound(shared, rx, closed))
}

fn welcome(
    shared: &Shared,
    resumed: bool,
    limits: &roster_proto::rules::Limits,
) -> v1::ServerFrame {
    let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    v1::ServerFrame {
        body: Some(server_frame::Body::Welcome(v1::Welcome {
            resumed,
            grace_period_ms: ms(shared.config.grace_period),
            keepalive_interval_ms: ms(shared.config.keepalive_interval),
            limits: Some((*limits).into()),
            members: Some(shared.members()),
        })),
    }
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

async fn read_loop(
    shared: Arc<Shared>,
    mut inbound: Streaming<v1::ClientFrame>,
    session: SessionId,
    epoch: u64,
    closed: CancellationToken,
) {
    let idle = shared.config.keepalive_interval * 3;
    loop {
        let next = tokio::select! {
            _ = closed.cancelled() => break,
            next = tokio::time::timeout(idle, inbound.message()) => next,
        };
        match next {
            Ok(Ok(Some(frame))) => handle(&shared, session, epoch, frame),
            Ok(Ok(None)) => break,
            Ok(Err(status)) => {
                tracing::debug!(session, %status, "session stream failed");
                break;
            }
            Err(_) => {
                tracing::info!(session, "session silent for {idle:?}; closing it");
                break;
            }
        }
    }
    closed.cancel();
    if !shared.registry.lock().detach(session, epoch) {
        return; // a newer stream of the same client took over
    }
    let grace = shared.config.grace_period;
    tracing::info!(
        session,
        ?grace,
        "session detached; registrations kept for the grace period"
    );
    let shutdown = shared.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(grace) => {
                let expired = shared.registry.lock().expire(session, epoch);
                if let Some(fx) = expired {
                    tracing::info!(session, pushes = fx.pushes, "session expired; its registrations are removed");
                    shared.metrics.sessions_expired.inc();
                    record(&shared, &fx);
                }
            }
        }
    });
}

fn record(shared: &Shared, fx: &Effects) {
    shared.metrics.pushes.inc_by(fx.pushes as u64);
    shared.metrics.overflows.inc_by(fx.overflows as u64);
}

fn handle(shared: &Shared, session: SessionId, epoch: u64, frame: v1::ClientFrame) {
    let request_id = frame.request_id;
    let (op, fx) = {
        let mut reg = shared.registry.lock();
        if !reg.is_current(session, epoch) {
            return;
        }
        match frame.body {
            Some(Body::Publish(p)) => ("publish", reg.publish(session, request_id, p)),
            Some(Body::Subscribe(s)) => ("subscribe", reg.subscribe(session, request_id, s)),
            Some(Body::Unregister(u)) => ("unregister", reg.unregister(session, request_id, u)),
            Some(Body::RedoComplete(_)) => ("redo", reg.redo_complete(session)),
            Some(Body::RegisterRevision(r)) => {
                ("revision", reg.register_revision(session, request_id, r))
            }
            Some(Body::Ping(p)) => {
                let pong = v1::ServerFrame {
                    body: Some(server_frame::Body::Pong(v1::Pong { nonce: p.nonce })),
                };
                ("ping", reg.send_to(session, pong))
            }
            Some(Body::Hello(_)) | None => {
                tracing::warn!(
                    session,
                    "ignoring a frame that is neither a registration nor a ping"
                );
                return;
            }
        }
    };
    if matches!(op, "publish" | "subscribe" | "unregister") {
        shared.metrics.registration(op, fx.result);
    }
    record(shared, &fx);
}
