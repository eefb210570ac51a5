//! The Roster protocol (`roster.v1` over gRPC): one bidirectional `Session` stream per
//! client (Hello, then Welcome; frames with request ids and acks; pushes; pings), a redirect
//! to the leader in a refusal's metadata, and unary `GetRevisions`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster_proto::appmeta::AppMetadata;
use roster_proto::v1::{self, client_frame::Body, registry_client::RegistryClient, server_frame};
use roster_proto::{auth, meta};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::transport::{Channel, Endpoint};
use tonic::Streaming;

use super::{security, Acked, Identity, Link, Op, Opened, Outgoing, Sink, Welcome};
use crate::error::{Error, ErrorKind, Result};
use crate::items::Item;
use crate::members::MemberView;
use crate::model::{DataInfoId, Scope, SubscriberData};
use crate::slot::Changed;

/// Connects, says Hello, waits for the Welcome, and starts the session's driver.
pub(crate) async fn open(id: &Identity, endpoint: &str, sink: Arc<dyn Sink>) -> Result<Opened> {
    let scheme = if id.tls.is_some() { "https" } else { "http" };
    let mut channel = Endpoint::from_shared(format!("{scheme}://{endpoint}"))
        .map_err(|e| transport_error(endpoint, e))?
        .connect_timeout(id.connect_timeout)
        .tcp_nodelay(true);
    if let Some(tls) = &id.tls {
        channel = channel
            .tls_config(tls.clone())
            .map_err(|e| transport_error(endpoint, e))?;
    }
    let channel = channel
        .connect()
        .await
        .map_err(|e| transport_error(endpoint, e))?;
    let mut grpc = RegistryClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
    let (frames, rx) = mpsc::unbounded_channel();
    let mut hello = v1::Hello {
        client_id: id.client_id.clone(),
        app_name: id.app_name.clone(),
        zone: id.zone.clone(),
        data_center: id.data_center.clone(),
        deltas: id.incremental_pushes,
        ..Default::default()
    };
    if let Some(signer) = &id.signer {
        let signed = signer.sign(&id.client_id);
        hello.access_key = signed.access_key;
        hello.timestamp_ms = signed.timestamp_ms;
        hello.signature = signed.signature;
    }
    let _ = frames.send(frame(0, Body::Hello(hello)));
    let opened = tokio::time::timeout(id.connect_timeout, async {
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
            format!(
                "{endpoint}: no Welcome within {}",
                crate::error::duration_text(id.connect_timeout)
            ),
        )
    })?;
    let (stream, first) = opened.map_err(|s| refusal(endpoint, &s))?;
    let Some(v1::ServerFrame {
        body: Some(server_frame::Body::Welcome(w)),
    }) = first
    else {
        return Err(Error::new(
            ErrorKind::Internal,
            format!("{endpoint}: the session did not start with a Welcome"),
        ));
    };
    let keepalive = Duration::from_millis(u64::from(w.keepalive_interval_ms).max(100));
    let welcome = Welcome {
        resumed: w.resumed,
        limits: w.limits.as_ref().map(Into::into),
        members: w.members.as_ref().map(member_view),
    };
    let (tx, outgoing) = mpsc::unbounded_channel();
    let driver = tokio::spawn(drive(frames, outgoing, stream, sink, keepalive));
    Ok(Opened {
        welcome,
        link: Link {
            tx,
            lookups: super::Lookups::Roster(Lookups {
                grpc,
                signer: id.signer.clone(),
                client_id: id.client_id.clone(),
            }),
        },
        driver,
    })
}

/// Nonces of pings that are barriers (see `Outgoing::Barrier`), from the top down so
/// they never meet the keep-alive counter.
const BARRIER_NONCES: u64 = u64::MAX / 2;

/// Runs the session: the engine's ops out, the registry's frames in, keep-alive pings.
/// Ends when the stream is lost, or when the engine drops its sender.
async fn drive(
    frames: mpsc::UnboundedSender<v1::ClientFrame>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    mut stream: Streaming<v1::ServerFrame>,
    sink: Arc<dyn Sink>,
    keepalive: Duration,
) {
    let mut ticker = tokio::time::interval(keepalive);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut nonce = 0u64;
    let mut barriers: HashMap<u64, oneshot::Sender<()>> = HashMap::new();
    let mut next_barrier = BARRIER_NONCES;
    let mut views = Views::default();
    // Acks carry only the registId for the message; remember nothing else.
    loop {
        tokio::select! {
            out = outgoing.recv() => match out {
                Some(Outgoing::Op { request_id, op }) => {
                    let _ = frames.send(frame(request_id, body(op)));
                }
                Some(Outgoing::Barrier(done)) => {
                    next_barrier += 1;
                    barriers.insert(next_barrier, done);
                    let _ = frames.send(frame(0, Body::Ping(v1::Ping { nonce: next_barrier })));
                }
                None => return, // the engine hung up
            },
            _ = ticker.tick() => {
                views.prune();
                if last_heard.elapsed() > keepalive * 3 {
                    tracing::warn!("no frame from the registry for {:?}", last_heard.elapsed());
                    return;
                }
                nonce += 1;
                let _ = frames.send(frame(0, Body::Ping(v1::Ping { nonce })));
            }
            received = stream.message() => match received {
                Ok(Some(f)) => {
                    last_heard = Instant::now();
                    match f.body {
                        Some(server_frame::Body::Push(push)) => match views.received(&push) {
                            Received::Data(data) => {
                                let shared = sink.pushed(
                                    data,
                                    &push.subscriber_ids,
                                    &push.subscriber_handles,
                                );
                                views.keep(&push, shared);
                            }
                            Received::Refresh(r) => {
                                let _ = frames.send(frame(0, Body::Refresh(r)));
                            }
                            Received::Skip => {}
                        },
                        Some(server_frame::Body::Ack(ack)) => {
                            sink.acked(ack.request_id, &ack.regist_id, acked(&ack))
                        }
                        Some(server_frame::Body::Members(list)) => sink.members(member_view(&list)),
                        Some(server_frame::Body::Pong(p)) => {
                            if let Some(done) = barriers.remove(&p.nonce) {
                                let _ = done.send(());
                            }
                        }
                        Some(server_frame::Body::Welcome(_)) | None => {}
                    }
                }
                Ok(None) => return,
                Err(status) => {
                    tracing::debug!("session stream failed: {status}");
                    return;
                }
            },
        }
    }
}

fn frame(request_id: u64, body: Body) -> v1::ClientFrame {
    v1::ClientFrame {
        request_id,
        body: Some(body),
    }
}

fn key(k: &DataInfoId) -> v1::DataKey {
    k.to_proto()
}

fn scope(s: Scope) -> v1::Scope {
    match s {
        Scope::Zone => v1::Scope::Zone,
        Scope::DataCenter => v1::Scope::DataCenter,
        Scope::Global => v1::Scope::Global,
    }
}

/// An op as a `roster.v1` frame body.
fn body(op: Op) -> Body {
    match op {
        Op::Publish { reg, data } => Body::Publish(v1::Publish {
            regist_id: reg.regist_id.to_string(),
            key: Some(key(&reg.key)),
            version: reg.version,
            data: data.into_iter().map(bytes::Bytes::from).collect(),
        }),
        Op::Subscribe {
            reg,
            scope: s,
            convert,
            handle,
        } => Body::Subscribe(v1::Subscribe {
            regist_id: reg.regist_id.to_string(),
            key: Some(key(&reg.key)),
            version: reg.version,
            scope: scope(s).into(),
            convert_application: convert,
            handle,
        }),
        Op::Unpublish { reg } | Op::Unsubscribe { reg, .. } => Body::Unregister(v1::Unregister {
            regist_id: reg.regist_id.to_string(),
            version: reg.version,
        }),
        Op::RegisterRevision(meta) => Body::RegisterRevision(v1::RegisterRevision {
            revision: Some((&*meta).into()),
        }),
        Op::RedoComplete => Body::RedoComplete(v1::RedoComplete {}),
    }
}

fn acked(ack: &v1::Ack) -> Acked {
    let kind = match v1::AckCode::try_from(ack.code) {
        Ok(v1::AckCode::Ok) => return Acked::Ok,
        Ok(v1::AckCode::Stale) => return Acked::Stale,
        Ok(v1::AckCode::NotFound) => return Acked::NotFound,
        Ok(v1::AckCode::InvalidArgument | v1::AckCode::LimitExceeded) => ErrorKind::InvalidArgument,
        Ok(v1::AckCode::Internal) => ErrorKind::Internal,
        Ok(v1::AckCode::PermissionDenied) => ErrorKind::PermissionDenied,
        Ok(v1::AckCode::RateLimited) => ErrorKind::Refused,
        Err(_) => ErrorKind::Refused,
    };
    Acked::Refused {
        kind,
        message: ack.message.clone(),
    }
}

/// The last data of each view (key, scope, server-side conversion) pushed on this stream:
/// the base of the view's next delta. One copy per view, shared with its subscribers.
#[derive(Default)]
struct Views {
    held: HashMap<ViewId, Arc<SubscriberData>>,
    /// Views whose full data was asked for again: no second `Refresh` until it comes.
    refreshing: HashSet<ViewId>,
}

/// A hash of (dataId, group, instanceId, scope), and server-side conversion: a small key
/// (a client with 10,000 subscriptions holds 10,000 views). A hit is checked against the
/// held data's dataInfoId and scope (see `Views::get`).
type ViewId = (u64, bool);

/// The protocol's smallest base of a delta (see `Push` in registry.proto).
const MIN_BASE_ITEMS: usize = 4;

/// What to do with a push.
enum Received {
    Data(Changed),
    /// A delta on a base this stream does not hold: ask for the full data.
    Refresh(v1::Refresh),
    /// Another delta while the full data is on its way.
    Skip,
}

impl Views {
    fn id(push: &v1::Push) -> ViewId {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        if let Some(k) = &push.key {
            (&k.data_id, &k.group, &k.instance_id).hash(&mut h);
        }
        push.scope.hash(&mut h);
        (h.finish(), push.convert_application)
    }

    /// The held data of the push's view (`None` on a hash collision with another view).
    fn get(&self, id: &ViewId, push: &v1::Push) -> Option<&Arc<SubscriberData>> {
        let d = self.held.get(id)?;
        let k = push.key.as_ref()?;
        let same = d.data_info_id.data_id == k.data_id
            && d.data_info_id.group == k.group
            && d.data_info_id.instance_id == k.instance_id
            && scope(d.scope) as i32 == push.scope;
        same.then_some(d)
    }

    fn received(&mut self, push: &v1::Push) -> Received {
        let id = Self::id(push);
        let held = self.get(&id, push);
        if push.base_version == 0 {
            let data = subscriber_data(push);
            // The view again, for a new subscriber: share the copy the others hold.
            return Received::Data(match held {
                Some(h) if h.version == data.version && h.zones == data.zones => {
                    Changed::held(h.as_first_data())
                }
                _ => Changed::new(data),
            });
        }
        match held {
            Some(base) if base.version == push.base_version => {
                Received::Data(Changed::new(apply(base, push)))
            }
            _ => {
                self.held.remove(&id);
                if !self.refreshing.insert(id) {
                    return Received::Skip;
                }
                tracing::debug!(base = push.base_version, key = ?push.key, "a delta on data this stream does not hold: asking for the full data");
                Received::Refresh(v1::Refresh {
                    key: push.key.clone(),
                    scope: push.scope,
                    convert_application: push.convert_application,
                })
            }
        }
    }

    /// Keeps what the subscribers were given of this push's view as the next base (not a
    /// view of fewer than `MIN_BASE_ITEMS`: the registry never bases a delta on one).
    fn keep(&mut self, push: &v1::Push, data: Option<Arc<SubscriberData>>) {
        let id = Self::id(push);
        if push.base_version == 0 {
            self.refreshing.remove(&id);
        }
        match data.filter(|d| d.len() >= MIN_BASE_ITEMS) {
            Some(d) => self.held.insert(id, d),
            None => self.held.remove(&id),
        };
    }

    /// Forgets views no subscriber holds any more (all unsubscribed): a later delta of one
    /// asks for the full data.
    fn prune(&mut self) {
        self.held.retain(|_, d| Arc::strong_count(d) > 1);
    }
}

/// Reads each of `frames` as a push on one stream, as the client does: full data kept as
/// the next base, deltas applied on the version held or answered with one `Refresh`.
/// Returns, for each frame, the data it gave (none for a frame refused or skipped).
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_pushes(frames: &[&[u8]]) -> Vec<Option<Arc<SubscriberData>>> {
    use roster_proto::prost::Message;
    let mut views = Views::default();
    let mut given = Vec::new();
    for bytes in frames {
        let mut data = None;
        if let Ok(push) = v1::Push::decode(*bytes) {
            if let Received::Data(changed) = views.received(&push) {
                data = changed.shared();
                views.keep(&push, data.clone());
            }
        }
        given.push(data);
    }
    given
}

/// A delta applied to the data it is based on: each zone's splice; a zone left empty is
/// gone. A splice outside the list is clamped to it (the server never sends one).
fn apply(base: &SubscriberData, push: &v1::Push) -> SubscriberData {
    let mut zones = base.zones.clone();
    for d in &push.deltas {
        let list = zones.entry(d.zone.clone()).or_default();
        let start = (d.start as usize).min(list.len());
        let end = start.saturating_add(d.delete as usize).min(list.len());
        let insert = d.insert.iter().map(|b| item(b));
        list.splice(start..end, insert);
        if list.is_empty() {
            zones.remove(&d.zone);
        }
    }
    SubscriberData {
        data_info_id: base.data_info_id.clone(),
        version: push.version,
        scope: base.scope,
        zones,
        from_cache: false,
        changes: Default::default(),
    }
}

/// An item as pushed. Items were validated as UTF-8 by the server; anything else is
/// replaced rather than dropped so a bad item is visible.
fn item(b: &[u8]) -> Item {
    Item::from(&*String::from_utf8_lossy(b))
}

/// A push as the subscribers' data. Items were validated as UTF-8 by the server; anything
/// else is replaced rather than dropped so a bad item is visible.
fn subscriber_data(push: &v1::Push) -> SubscriberData {
    let scope = match v1::Scope::try_from(push.scope) {
        Ok(v1::Scope::Zone) => Scope::Zone,
        Ok(v1::Scope::DataCenter) => Scope::DataCenter,
        _ => Scope::Global,
    };
    // As a delta's result reads: a zone with no items is not listed, and a zone listed
    // twice is one list (the registry sends neither; found by fuzzing).
    let mut lists: BTreeMap<&str, Vec<Item>> = BTreeMap::new();
    for z in push.zones.iter().filter(|z| !z.data.is_empty()) {
        let list = lists.entry(z.zone.as_str()).or_default();
        list.extend(z.data.iter().map(|b| item(b)));
    }
    let zones = lists
        .into_iter()
        .map(|(zone, items)| (zone.to_owned(), items.into()))
        .collect();
    let k = push.key.clone().unwrap_or_default();
    SubscriberData {
        data_info_id: DataInfoId {
            data_id: k.data_id,
            group: k.group,
            instance_id: k.instance_id,
        },
        version: push.version,
        scope,
        zones,
        from_cache: false,
        changes: Default::default(),
    }
}

fn member_view(list: &v1::MemberList) -> MemberView {
    MemberView {
        members: list
            .members
            .iter()
            .filter_map(|m| crate::members::normalize(&m.address).ok())
            .collect(),
        leader: crate::members::normalize(&list.leader_address).ok(),
    }
}

/// A connection failure, with the whole cause chain in the message (tonic's own text is
/// only "transport error").
fn transport_error(endpoint: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    if let Some(why) = security::tls_failure(&e) {
        return Error::new(ErrorKind::NotConnected, format!("{endpoint}: {why}")).with_source(e);
    }
    let mut message = format!("{endpoint}: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        message.push_str(&format!(": {c}"));
        cause = c.source();
    }
    Error::new(ErrorKind::NotConnected, message).with_source(e)
}

/// A node's refusal of a session: a redirect when it is not the leader (metadata
/// `roster-leader-id`, and `roster-leader-addr` when a leader is known), the credentials
/// refused, or a TLS failure that surfaced on the first call (a client certificate the
/// registry requires is refused after the handshake, in TLS 1.3).
fn refusal(endpoint: &str, status: &tonic::Status) -> Error {
    let message = format!("{endpoint}: {}", status.message());
    if let Some(why) = security::tls_failure(status) {
        return Error::new(ErrorKind::NotConnected, format!("{endpoint}: {why}"));
    }
    match status.code() {
        tonic::Code::Unauthenticated => return Error::new(ErrorKind::Unauthenticated, message),
        tonic::Code::PermissionDenied => return Error::new(ErrorKind::PermissionDenied, message),
        _ => {}
    }
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

/// Unary calls on the session's channel.
#[derive(Clone)]
pub(crate) struct Lookups {
    grpc: RegistryClient<Channel>,
    signer: Option<Arc<security::Signer>>,
    client_id: String,
}

impl Lookups {
    pub async fn revisions(
        &self,
        wanted: &[(String, String)],
        timeout: Duration,
    ) -> Option<Vec<AppMetadata>> {
        let request = v1::GetRevisionsRequest {
            revisions: wanted
                .iter()
                .map(|(application, revision)| v1::RevisionRef {
                    application: application.clone(),
                    revision: revision.clone(),
                })
                .collect(),
        };
        let mut request = tonic::Request::new(request);
        if let Some(signer) = &self.signer {
            let signed = signer.sign(&self.client_id);
            let md = request.metadata_mut();
            let mut set = |k: &'static str, v: &str| {
                if let Ok(v) = v.parse() {
                    md.insert(k, v);
                }
            };
            set(auth::ACCESS_KEY, &signed.access_key);
            set(auth::CLIENT_ID, &self.client_id);
            set(auth::TIMESTAMP, &signed.timestamp_ms.to_string());
            set(auth::SIGNATURE, &signed.signature);
        }
        let mut grpc = self.grpc.clone();
        let answer = tokio::time::timeout(timeout, grpc.get_revisions(request))
            .await
            .ok()?
            .ok()?;
        Some(
            answer
                .into_inner()
                .revisions
                .iter()
                .map(AppMetadata::from)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Reg;

    fn reg(version: u64) -> Reg {
        Reg {
            regist_id: "r1".into(),
            key: DataInfoId::new("svc"),
            version,
        }
    }

    fn push(
        version: u64,
        base: u64,
        zones: &[(&str, &[&str])],
        deltas: &[(&str, u32, u32, &[&str])],
    ) -> v1::Push {
        let bytes = |items: &[&str]| {
            items
                .iter()
                .map(|i| bytes::Bytes::from(i.to_string()))
                .collect()
        };
        v1::Push {
            key: Some(key(&DataInfoId::new("svc"))),
            version,
            base_version: base,
            zones: zones
                .iter()
                .map(|(zone, items)| v1::ZoneData {
                    zone: zone.to_string(),
                    data: bytes(items),
                })
                .collect(),
            deltas: deltas
                .iter()
                .map(|(zone, start, delete, insert)| v1::ZoneDelta {
                    zone: zone.to_string(),
                    start: *start,
                    delete: *delete,
                    insert: bytes(insert),
                })
                .collect(),
            ..Default::default()
        }
    }

    fn data(r: Received) -> SubscriberData {
        match r {
            Received::Data(d) => SubscriberData::clone(&d.shared().unwrap()),
            Received::Refresh(_) => panic!("a refresh, not data"),
            Received::Skip => panic!("skipped, not data"),
        }
    }

    #[test]
    fn deltas_apply_on_their_base_and_a_missed_one_asks_once_for_the_full_data() {
        let mut views = Views::default();
        let full = push(10, 0, &[("a", &["1", "2", "3"]), ("b", &["x"])], &[]);
        let d = Arc::new(data(views.received(&full)));
        views.keep(&full, Some(d.clone()));
        // Replace "2", drop zone b, add zone c.
        let delta = push(
            11,
            10,
            &[],
            &[("a", 1, 1, &["2b"]), ("b", 0, 1, &[]), ("c", 0, 0, &["y"])],
        );
        let next = data(views.received(&delta));
        assert_eq!(next.version, 11);
        let zones: Vec<(&str, Vec<&str>)> = next
            .zones
            .iter()
            .map(|(z, items)| (z.as_str(), items.iter().map(Item::as_str).collect()))
            .collect();
        assert_eq!(zones, [("a", vec!["1", "2b", "3"]), ("c", vec!["y"])]);
        views.keep(&delta, Some(Arc::new(next)));
        // A delta on version 12, which this stream never had: one Refresh, then nothing
        // until the full data comes; after it, deltas apply again.
        let missed = push(13, 12, &[], &[("a", 0, 1, &[])]);
        assert!(
            matches!(views.received(&missed), Received::Refresh(r) if r.key.as_ref().unwrap().data_id == "svc")
        );
        assert!(matches!(
            views.received(&push(14, 13, &[], &[])),
            Received::Skip
        ));
        let again = push(14, 0, &[("a", &["6", "7", "8", "9"])], &[]);
        let d = data(views.received(&again));
        views.keep(&again, Some(Arc::new(d)));
        let after = data(views.received(&push(15, 14, &[], &[("a", 4, 0, &["10"])])));
        assert_eq!(after.zones["a"], ["6", "7", "8", "9", "10"]);
        // A view of fewer than four items is not kept: the registry bases no delta on it.
        let small = push(16, 0, &[("a", &["1", "2", "3"])], &[]);
        let d = data(views.received(&small));
        views.keep(&small, Some(Arc::new(d)));
        assert!(views.held.is_empty());
        // A splice beyond the list is clamped, never a panic.
        let wild = push(16, 10, &[], &[("a", 7, 99, &["z"])]);
        let base = data(views.received(&full));
        assert_eq!(apply(&base, &wild).zones["a"], ["1", "2", "3", "z"]);
        // Views no subscriber holds are forgotten.
        views.prune();
        assert!(views.held.is_empty());
    }

    /// Found by fuzzing: a full push listing an empty zone became a base, and a delta's
    /// result listed that zone although a delta never leaves one.
    #[test]
    fn full_data_lists_no_empty_zone_and_each_zone_once() {
        let mut views = Views::default();
        let full = push(
            10,
            0,
            &[("a", &[]), ("b", &["1", "2"]), ("b", &["3", "4"])],
            &[],
        );
        let d = data(views.received(&full));
        assert_eq!(d.zones.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(d.zones["b"], ["1", "2", "3", "4"]);
        views.keep(&full, Some(Arc::new(d)));
        let after = data(views.received(&push(11, 10, &[], &[("b", 0, 1, &[])])));
        assert_eq!(after.zones.keys().collect::<Vec<_>>(), ["b"]);
    }

    #[test]
    fn ops_become_frames() {
        let Body::Publish(p) = body(Op::Publish {
            reg: reg(3),
            data: vec!["a".into()],
        }) else {
            panic!("a Publish");
        };
        assert_eq!((p.regist_id.as_str(), p.version), ("r1", 3));
        assert_eq!(p.key.unwrap().group, "DEFAULT_GROUP");
        assert_eq!(p.data, [bytes::Bytes::from("a")]);
        let Body::Unregister(u) = body(Op::Unsubscribe {
            reg: reg(4),
            scope: Scope::Global,
        }) else {
            panic!("an Unregister");
        };
        assert_eq!(u.version, 4);
        assert!(matches!(body(Op::RedoComplete), Body::RedoComplete(_)));
    }

    #[test]
    fn acks_map_to_results() {
        let ack = |code: v1::AckCode| v1::Ack {
            code: code.into(),
            message: "why".into(),
            ..Default::default()
        };
        assert_eq!(acked(&ack(v1::AckCode::Stale)), Acked::Stale);
        let e = acked(&ack(v1::AckCode::LimitExceeded))
            .into_result("r1")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(e.message(), "the registry refused r1: why");
    }
}
