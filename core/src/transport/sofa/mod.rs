//! SOFARegistry: SOFABolt v1 with protobuf payloads to a session server, the path Ant's own
//! non-Java clients use (see `shared/SOFAREGISTRY.md`).
//!
//! | module | what it does |
//! | --- | --- |
//! | `bolt` | the frame codec |
//! | `messages` | ops as `PublisherRegisterPb` / `SubscriberRegisterPb`, pushes (`ReceivedDataPb`) and answers back |
//! | `discovery` | the session servers, from `/api/servers/query` on the HTTP port |
//!
//! A session is one TCP connection. The client's requests carry Bolt request ids, and
//! answers may come in any order; the server's pushes arrive on the same connection as
//! requests (with the Hessian codec byte but a protobuf body, so they are told apart by
//! class name) and are answered with `ResultPb` once the engine has taken them. A heartbeat
//! goes every 15 s; one not answered within the request timeout ends the session. The server
//! keeps no session: when the connection closes it drops everything the client registered,
//! and the engine's redo registers it all again on the next one.

mod bolt;
mod discovery;
mod messages;

#[cfg(test)]
mod captured;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::codec::Framed;

pub(crate) use discovery::Discovery;

use super::{Acked, Identity, Link, Lookups, Opened, Outgoing, Sink, Welcome};
use crate::error::{Error, ErrorKind, Result};
use crate::slot::Changed;
use bolt::{BoltCodec, Frame, Kind};

/// Seconds between heartbeats (the server closes connections idle for 45 s).
const HEARTBEAT_EVERY: Duration = Duration::from_secs(15);

/// The largest frame accepted (a push of a hot dataId can be megabytes).
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Bolt response statuses, for messages.
pub(crate) fn status_name(status: u16) -> &'static str {
    match status {
        0 => "success",
        1 => "error",
        2 => "server exception",
        3 => "unknown",
        4 => "server thread pool busy",
        5 => "communication error",
        6 => "no processor",
        7 => "timeout",
        8 => "client send error",
        9 => "codec exception",
        16 => "connection closed",
        17 => "server serialization exception",
        18 => "server deserialization exception",
        _ => "unlisted status",
    }
}
const STATUS_NO_PROCESSOR: u16 = 6;

/// Connects to a session server's Bolt port, checks it answers a heartbeat, and starts the
/// session's driver.
pub(crate) async fn open(
    id: &Identity,
    discovery: &Discovery,
    endpoint: &str,
    sink: Arc<dyn Sink>,
) -> Result<Opened> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::NotConnected, format!("sofa {endpoint}: {e}"))
    };
    let stream = tokio::time::timeout(id.connect_timeout, TcpStream::connect(endpoint))
        .await
        .map_err(|_| {
            fail(&format!(
                "no connection within {}",
                crate::error::duration_text(id.connect_timeout)
            ))
        })?
        .map_err(|e| fail(&e))?;
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().map_err(|e| fail(&e))?;
    let mut framed = Framed::new(
        stream,
        BoltCodec {
            max_frame: MAX_FRAME,
        },
    );
    // A heartbeat first: the connection is a session only if a Bolt server answers.
    let timeout_ms = millis(id.connect_timeout);
    framed
        .send(Frame::heartbeat(1, timeout_ms))
        .await
        .map_err(|e| fail(&e))?;
    let answered = tokio::time::timeout(id.connect_timeout, framed.next())
        .await
        .map_err(|_| {
            fail(&"no answer to a heartbeat: is this a SOFARegistry session server's Bolt port?")
        })?;
    match answered {
        Some(Ok(f)) if f.kind == Kind::Response && f.command == bolt::CMD_HEARTBEAT => {}
        Some(Ok(f)) => {
            return Err(fail(&format!(
                "answered a heartbeat with a frame of command {} (not a heartbeat response)",
                f.command
            )))
        }
        Some(Err(e)) => return Err(fail(&e)),
        None => return Err(fail(&"closed the connection")),
    }
    let ctx = messages::Context {
        client_id: id.client_id.clone(),
        app_name: id.app_name.clone(),
        zone: id.zone.clone(),
        process_id: std::process::id().to_string(),
        ip: local.ip().to_string(),
        port: i32::from(local.port()),
    };
    let (tx, outgoing) = mpsc::unbounded_channel();
    let driver = Driver {
        endpoint: endpoint.to_owned(),
        framed,
        ctx,
        sink,
        discovery: discovery.clone(),
        timeout_ms: millis(id.request_timeout),
        next_id: 2,
        pending: BTreeMap::new(),
        barriers: Vec::new(),
    };
    Ok(Opened {
        welcome: Welcome::default(),
        link: Link {
            tx,
            lookups: Lookups::None,
        },
        driver: tokio::spawn(driver.run(outgoing)),
    })
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

/// A request waiting for its answer.
struct Pending {
    request_id: u64,
    regist_id: String,
}

struct Driver {
    endpoint: String,
    framed: Framed<TcpStream, BoltCodec>,
    ctx: messages::Context,
    sink: Arc<dyn Sink>,
    discovery: Discovery,
    timeout_ms: i32,
    next_id: u32,
    /// By Bolt request id (which grows), so a barrier waits for the ids below it.
    pending: BTreeMap<u32, Pending>,
    /// Barriers and the last request id each waits for.
    barriers: Vec<(u32, oneshot::Sender<()>)>,
}

impl Driver {
    fn id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1).max(2);
        id
    }

    /// Runs the session until it is lost or the engine drops its sender.
    async fn run(mut self, mut outgoing: mpsc::UnboundedReceiver<Outgoing>) {
        let timeout = Duration::from_millis(self.timeout_ms.max(1) as u64);
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + HEARTBEAT_EVERY, HEARTBEAT_EVERY);
        let mut refresh = tokio::time::interval_at(
            Instant::now() + discovery::REFRESH_EVERY,
            discovery::REFRESH_EVERY,
        );
        // A heartbeat sent and not answered yet: its id and deadline.
        let mut unanswered: Option<(u32, Instant)> = None;
        loop {
            let deadline = unanswered.map(|(_, at)| at);
            let result = tokio::select! {
                out = outgoing.recv() => match out {
                    Some(out) => self.send(out).await,
                    None => return, // the engine hung up
                },
                _ = heartbeat.tick() => {
                    let id = self.id();
                    unanswered.get_or_insert((id, Instant::now() + timeout));
                    self.framed.send(Frame::heartbeat(id, self.timeout_ms)).await
                }
                _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    tracing::warn!(endpoint = %self.endpoint, "no answer to a heartbeat within {} ms", timeout.as_millis());
                    return;
                }
                _ = refresh.tick() => {
                    if let Some(view) = self.discovery.query().await {
                        self.sink.members(view);
                    }
                    Ok(())
                }
                received = self.framed.next() => match received {
                    Some(Ok(frame)) => {
                        if frame.kind == Kind::Response && frame.command == bolt::CMD_HEARTBEAT {
                            unanswered = None;
                        }
                        self.receive(frame).await
                    }
                    Some(Err(e)) => {
                        tracing::warn!(endpoint = %self.endpoint, "closing the connection: {e}");
                        return;
                    }
                    None => return,
                },
            };
            if let Err(e) = result {
                tracing::warn!(endpoint = %self.endpoint, "connection failed: {e}");
                return;
            }
        }
    }

    async fn send(&mut self, out: Outgoing) -> std::io::Result<()> {
        match out {
            Outgoing::Op { request_id, op } => {
                let Some((class, content)) = messages::encode(&self.ctx, &op) else {
                    let why = "SOFARegistry has no message for it".to_owned();
                    self.sink.acked(
                        request_id,
                        "",
                        Acked::Refused {
                            kind: ErrorKind::InvalidArgument,
                            message: why,
                        },
                    );
                    return Ok(());
                };
                let regist_id = match &op {
                    super::Op::Publish { reg, .. }
                    | super::Op::Subscribe { reg, .. }
                    | super::Op::Unpublish { reg }
                    | super::Op::Unsubscribe { reg, .. } => reg.regist_id.to_string(),
                    _ => String::new(),
                };
                let id = self.id();
                self.pending.insert(
                    id,
                    Pending {
                        request_id,
                        regist_id,
                    },
                );
                let frame = Frame::request(id, &messages::class(class), content, self.timeout_ms);
                self.framed.send(frame).await
            }
            Outgoing::Barrier(done) => {
                let last = self.next_id.wrapping_sub(1);
                self.barriers.push((last, done));
                self.release_barriers();
                Ok(())
            }
        }
    }

    /// Resolves the barriers whose requests have all been answered.
    fn release_barriers(&mut self) {
        let oldest = self.pending.keys().next().copied();
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.barriers)
            .into_iter()
            .partition(|(last, _)| oldest.is_none_or(|o| o > *last));
        self.barriers = waiting;
        for (_, tx) in done {
            let _ = tx.send(());
        }
    }

    async fn receive(&mut self, frame: Frame) -> std::io::Result<()> {
        match (frame.kind, frame.command) {
            (Kind::Response, bolt::CMD_RESPONSE) => {
                if let Some(p) = self.pending.remove(&frame.id) {
                    let acked = messages::acked(frame.status, &frame.class, &frame.content);
                    self.sink.acked(p.request_id, &p.regist_id, acked);
                    self.release_barriers();
                }
                Ok(())
            }
            (Kind::Response, _) => Ok(()), // heartbeat answers
            (Kind::Request | Kind::Oneway, bolt::CMD_HEARTBEAT) => {
                if frame.kind == Kind::Request {
                    let ack = Frame::response(frame.id, bolt::CMD_HEARTBEAT, 0, "", Bytes::new());
                    self.framed
                        .send(Frame {
                            codec: frame.codec,
                            ..ack
                        })
                        .await?;
                }
                Ok(())
            }
            (Kind::Request | Kind::Oneway, _) => self.server_request(frame).await,
        }
    }

    /// A request from the server: a push (answered once the engine has the data).
    async fn server_request(&mut self, frame: Frame) -> std::io::Result<()> {
        let class = messages::simple(&frame.class).to_owned();
        let (status, result) = if class == messages::RECEIVED_DATA {
            match messages::push(&frame.content) {
                Ok((data, ids)) => {
                    self.sink.pushed(Changed::new(data), &ids, &[]);
                    (bolt::STATUS_SUCCESS, messages::result(true, ""))
                }
                Err(why) => {
                    tracing::warn!(endpoint = %self.endpoint, "a push could not be read: {why}");
                    (bolt::STATUS_SUCCESS, messages::result(false, &why))
                }
            }
        } else {
            tracing::warn!(endpoint = %self.endpoint, class = %frame.class, "ignoring a request of an unknown class");
            (
                STATUS_NO_PROCESSOR,
                messages::result(false, "unknown class"),
            )
        };
        if frame.kind == Kind::Oneway {
            return Ok(());
        }
        let answer = Frame::response(
            frame.id,
            bolt::CMD_RESPONSE,
            status,
            &messages::class(messages::RESULT),
            result,
        );
        self.framed.send(answer).await
    }
}

/// Reads `bytes` as a SOFABolt stream as the client does: each frame decoded, its content
/// read as a push and as a registration's answer, until the stream ends or is refused.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_stream(bytes: &[u8]) {
    use tokio_util::codec::Decoder;
    let mut codec = bolt::BoltCodec { max_frame: 1 << 20 };
    let mut src = bytes::BytesMut::from(bytes);
    while let Ok(Some(frame)) = codec.decode(&mut src) {
        let _ = messages::push(&frame.content);
        let _ = messages::acked(frame.status, &frame.class, &frame.content);
    }
    let _ = discovery::parse_servers(&String::from_utf8_lossy(bytes));
}
