//! The connection task: finds a registry node, opens the session stream, redoes every
//! live registration, then pumps frames until the stream ends, and starts over with
//! backoff. On close it unregisters everything before hanging up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};
use roster_proto::meta;
use roster_proto::v1::{self, client_frame::Body, registry_client::RegistryClient, server_frame};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::transport::Endpoint;
use tonic::Streaming;

use crate::client::{Entry, Inner};
use crate::error::{Error, ErrorKind, Result};
use crate::publishing;

/// Nonce of the ping that marks the end of the unregisters sent on close.
const CLOSE_BARRIER: u64 = u64::MAX;

enum End {
    /// The stream was lost; reconnect.
    Lost,
    /// The client closed.
    Closed,
    /// A round of connection attempts found no node that took the session.
    NoneTook,
    /// ... and some node said there is no leader yet.
    Electing,
}

/// One round: tries the known leader, the members, then the bootstrap endpoints, following
/// a redirect to the leader at once (up to `MAX_REDIRECTS`).
async fn round(inner: &Arc<Inner>) -> End {
    let mut queue: std::collections::VecDeque<String> = inner.members.candidates().into();
    let mut tried: Vec<String> = Vec::new();
    let mut redirects = 0;
    let mut electing = false;
    while let Some(endpoint) = queue.pop_front() {
        if tried.contains(&endpoint) {
            continue;
        }
        tried.push(endpoint.clone());
        // `session` watches for close itself, so that a close while connected can still
        // unregister everything before hanging up.
        let e = match session(inner, &endpoint).await {
            Ok(end) => return end,
            Err(e) => e,
        };
        tracing::debug!(endpoint, "cannot open a session: {e}");
        *inner.last_error.lock() = Some(e.message().to_owned());
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

fn backoff(inner: &Inner) -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(inner.config.reconnect_min_delay)
        .with_max_delay(inner.config.reconnect_max_delay)
        .with_jitter()
        .without_max_times()
        .build()
}

/// Redirects followed in one round before backing off: two nodes that disagree about the
/// leader during an election must not send the client back and forth.
const MAX_REDIRECTS: usize = 3;

pub(crate) async fn run(inner: Arc<Inner>) {
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
    // Closed while not connected: nothing to tell the registry (the grace period removes
    // what it holds); end the subscribers' updates.
    drain(&inner);
}

/// Empties the table, ending every subscriber's updates; returns the unregister frames.
fn drain(inner: &Inner) -> Vec<v1::ClientFrame> {
    let mut st = inner.state.lock();
    st.session = None;
    let mut bodies: Vec<Body> = st
        .regs
        .drain()
        .filter_map(|(id, entry)| match entry {
            Entry::Publisher {
                version, on_server, ..
            } => on_server.then(|| publishing::unregister(&id, version + 1)),
            Entry::Subscriber { version, slot, .. } => {
                slot.close();
                Some(publishing::unregister(&id, version + 1))
            }
        })
        .collect();
    bodies.extend(inner.app_close_frame(&mut st));
    bodies
        .into_iter()
        .map(|body| v1::ClientFrame {
            request_id: 0,
            body: Some(body),
        })
        .collect()
}

/// A connection failure, with the whole cause chain in the message (tonic's own text is
/// only "transport error").
fn transport_error(endpoint: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    let mut message = format!("{endpoint}: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    Error::new(ErrorKind::NotConnected, message).with_source(e)
}

/// A node's refusal of a session: a redirect when it is not the leader (metadata
/// `roster-leader-id`, and `roster-leader-addr` when a leader is known).
fn refusal(endpoint: &str, status: &tonic::Status) -> Error {
    let message = format!("{endpoint}: {}", status.message());
    let md = status.metadata();
    if md.get(meta::LEADER_ID).is_none() {
        return Error::new(ErrorKind::Refused, message);
    }
    let leader = md
        .get(meta::LEADER_ADDR)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| crate::members::normalize(a).ok());
    Error::not_leader(message, leader)
}

/// One session: connect, Hello/Welcome, redo, pump. `Err` when it never came up.
async fn session(inner: &Arc<Inner>, endpoint: &str) -> Result<End> {
    let (grpc, tx, mut stream, welcome) = tokio::select! {
        _ = inner.closed.cancelled() => return Ok(End::Closed),
        opened = open(inner, endpoint) => opened?,
    };
    if let Some(members) = &welcome.members {
        inner.members.update(members);
    }

    // Redo: re-send every live registration at its current version, then say so. Done
    // under the table lock, with the new stream installed in the same step, so no user
    // operation slips between the redo and the stream going live.
    let redone = {
        let mut st = inner.state.lock();
        if let Some(limits) = &welcome.limits {
            st.limits = limits.into();
        }
        let live = st.regs.iter().filter(|(_, e)| {
            !matches!(
                e,
                Entry::Publisher {
                    on_server: false,
                    ..
                }
            )
        });
        let bodies: Vec<Body> = live
            .map(|(id, e)| e.frame(id))
            .chain(inner.app_redo_frames(&st))
            .collect();
        for body in bodies {
            let _ = tx.send(v1::ClientFrame {
                request_id: 0,
                body: Some(body),
            });
        }
        let _ = tx.send(v1::ClientFrame {
            request_id: 0,
            body: Some(Body::RedoComplete(v1::RedoComplete {})),
        });
        st.session = Some(tx.clone());
        st.grpc = Some(grpc);
        st.regs.len()
    };
    inner.connected.send_replace(true);
    tracing::info!(endpoint, resumed = welcome.resumed, redone, "session up");

    let keepalive = Duration::from_millis(u64::from(welcome.keepalive_interval_ms).max(100));
    let end = pump(inner, &tx, &mut stream, keepalive).await;

    {
        let mut st = inner.state.lock();
        st.session = None;
        st.grpc = None;
        st.pending.clear();
    }
    inner.connected.send_replace(false);
    if matches!(end, End::Lost) {
        tracing::warn!(endpoint, "session lost; reconnecting");
    }
    Ok(end)
}

type Opened = (
    RegistryClient<tonic::transport::Channel>,
    mpsc::UnboundedSender<v1::ClientFrame>,
    Streaming<v1::ServerFrame>,
    v1::Welcome,
);

/// Connects, sends Hello and waits for the Welcome.
async fn open(inner: &Inner, endpoint: &str) -> Result<Opened> {
    let cfg = &inner.config;
    let channel = Endpoint::from_shared(format!("http://{endpoint}"))
        .map_err(|e| transport_error(endpoint, e))?
        .connect_timeout(cfg.connect_timeout)
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| transport_error(endpoint, e))?;
    let mut grpc = RegistryClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
    let (tx, rx) = mpsc::unbounded_channel();
    let hello = v1::Hello {
        client_id: inner.client_id.clone(),
        app_name: cfg.app_name.clone(),
        zone: cfg.zone.clone(),
        data_center: cfg.data_center.clone(),
    };
    let _ = tx.send(v1::ClientFrame {
        request_id: 0,
        body: Some(Body::Hello(hello)),
    });
    let opened = tokio::time::timeout(cfg.connect_timeout, async {
        let mut stream = grpc
            .session(UnboundedReceiverStream::new(rx))
            .await?
            .into_inner();
        let first = stream.message().await?;
        Ok::<_, tonic::Status>((stream, first))
    })
    .await
    .map_err(|_| {
        Error::new(
            ErrorKind::Timeout,
            format!("{endpoint}: no Welcome within {:?}", cfg.connect_timeout),
        )
    })?;
    let (stream, first) = opened.map_err(|s| refusal(endpoint, &s))?;
    let Some(v1::ServerFrame {
        body: Some(server_frame::Body::Welcome(welcome)),
    }) = first
    else {
        return Err(Error::new(
            ErrorKind::Internal,
            format!("{endpoint}: the session did not start with a Welcome"),
        ));
    };
    Ok((grpc, tx, stream, welcome))
}

async fn pump(
    inner: &Arc<Inner>,
    tx: &mpsc::UnboundedSender<v1::ClientFrame>,
    stream: &mut Streaming<v1::ServerFrame>,
    keepalive: Duration,
) -> End {
    let mut ticker = tokio::time::interval(keepalive);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut nonce = 0u64;
    loop {
        tokio::select! {
            _ = inner.closed.cancelled() => {
                close_gracefully(inner, tx, stream).await;
                return End::Closed;
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() > keepalive * 3 {
                    tracing::warn!("no frame from the registry for {:?}", last_heard.elapsed());
                    return End::Lost;
                }
                nonce += 1;
                let _ = tx.send(v1::ClientFrame { request_id: 0, body: Some(Body::Ping(v1::Ping { nonce })) });
            }
            frame = stream.message() => match frame {
                Ok(Some(frame)) => {
                    last_heard = Instant::now();
                    handle(inner, frame);
                }
                Ok(None) => return End::Lost,
                Err(status) => {
                    tracing::debug!("session stream failed: {status}");
                    return End::Lost;
                }
            },
        }
    }
}

fn handle(inner: &Inner, frame: v1::ServerFrame) {
    match frame.body {
        Some(server_frame::Body::Push(push)) => inner.on_push(&push),
        Some(server_frame::Body::Ack(ack)) => inner.on_ack(ack),
        Some(server_frame::Body::Members(list)) => inner.members.update(&list),
        Some(server_frame::Body::Pong(_)) | Some(server_frame::Body::Welcome(_)) | None => {}
    }
}

/// Unregisters everything on the open stream and waits (bounded) until the registry has
/// read it all, so subscribers elsewhere see the removal now rather than after the grace
/// period.
async fn close_gracefully(
    inner: &Inner,
    tx: &mpsc::UnboundedSender<v1::ClientFrame>,
    stream: &mut Streaming<v1::ServerFrame>,
) {
    for frame in drain(inner) {
        let _ = tx.send(frame);
    }
    let _ = tx.send(v1::ClientFrame {
        request_id: 0,
        body: Some(Body::Ping(v1::Ping {
            nonce: CLOSE_BARRIER,
        })),
    });
    let barrier = async {
        while let Ok(Some(frame)) = stream.message().await {
            if matches!(
                frame.body,
                Some(server_frame::Body::Pong(v1::Pong {
                    nonce: CLOSE_BARRIER
                }))
            ) {
                return;
            }
        }
    };
    if tokio::time::timeout(inner.config.request_timeout, barrier)
        .await
        .is_err()
    {
        tracing::warn!("the registry did not confirm the unregisters on close; its grace period will remove them");
    }
    inner.connected.send_replace(false);
}
