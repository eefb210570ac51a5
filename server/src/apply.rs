//! Applies one registry command (`Command` in `cluster.proto`): the one place where
//! attachments, sessions' frames, expiries and collections change the registry. A single
//! node applies commands as they come; in a cluster the Raft state machine applies them on
//! every replica, in log order. Only the node that holds a session's stream sends it
//! anything (its outbox), so followers apply silently.

use std::time::Duration;

use roster_proto::v1::{self, client_frame::Body, command::Op, server_frame};
use serde::{Deserialize, Serialize};

use crate::registry::{Effects, Registry, SessionId};
use crate::Replica;

/// What applying a command answered, returned to the node that proposed it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// An attachment: the session, its epoch, and whether it resumed a held session.
    pub attached: Option<(SessionId, u64, bool)>,
    /// An attachment refused: the reason, naming the field.
    pub refused: Option<String>,
}

/// Applies `cmd`, the command at `position` in the log (0 on a single node, which has none).
pub fn apply(shared: &Replica, cmd: v1::Command, position: u64) -> Applied {
    let mut reg = shared.registry.lock();
    reg.set_clock(cmd.time_us);
    reg.set_position(position);
    match cmd.op {
        Some(Op::Attach(a)) => attach(shared, &mut reg, a),
        Some(Op::Frames(f)) => {
            frames(shared, &mut reg, f);
            Applied::default()
        }
        Some(Op::Expire(e)) => {
            if let Some(mut fx) = reg.expire(e.session, e.epoch) {
                fx.deliver();
                tracing::info!(
                    session = e.session,
                    pushes = fx.pushes,
                    "session expired; its registrations are removed"
                );
                shared.metrics.sessions_expired.inc();
                record(shared, &fx);
            }
            Applied::default()
        }
        Some(Op::Collect(c)) => {
            let removed = reg.collect(c.after_us);
            if removed > 0 {
                tracing::info!(removed, "garbage-collected unreferenced revisions");
            }
            Applied::default()
        }
        None => Applied::default(),
    }
}

fn attach(shared: &Replica, reg: &mut Registry, a: v1::AttachSession) -> Applied {
    let hello = a.hello.unwrap_or_default();
    // Only the node that proposed the attachment holds the stream.
    let outbox = shared.streams.lock().remove(&a.token);
    let attached = match reg.attach(&hello, outbox.clone()) {
        Ok(attached) => attached,
        Err(e) => {
            return Applied {
                refused: Some(e.to_string()),
                ..Applied::default()
            }
        }
    };
    if let Some(out) = &outbox {
        // Queued under the lock, so the Welcome precedes every push to this stream.
        out.send(welcome(shared, attached.resumed, reg.limits()));
        shared.metrics.sessions_opened.inc();
        if attached.resumed {
            shared.metrics.sessions_resumed.inc();
        }
        tracing::info!(client_id = %hello.client_id, app = %hello.app_name, zone = %hello.zone,
            resumed = attached.resumed, "session attached");
    }
    if let Some(old) = attached.superseded {
        old.close();
    }
    Applied {
        attached: Some((attached.session, attached.epoch, attached.resumed)),
        refused: None,
    }
}

fn welcome(
    shared: &Replica,
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
            members: Some(shared.members.lock().clone()),
        })),
    }
}

/// A session's frames, in order, if `epoch` is still its live attachment (frames still
/// arriving on a stream that another stream of the same client replaced are ignored).
fn frames(shared: &Replica, reg: &mut Registry, f: v1::SessionFrames) {
    let (session, epoch) = (f.session, f.epoch);
    if !reg.is_current(session, epoch) {
        return;
    }
    // Registrations are counted where they are served, not on every replica.
    let served = reg.is_attached(session);
    for frame in f.frames {
        let request_id = frame.request_id;
        let (op, mut fx) = match frame.body {
            Some(Body::Publish(p)) => ("publish", reg.publish(session, request_id, p)),
            Some(Body::Subscribe(s)) => ("subscribe", reg.subscribe(session, request_id, s)),
            Some(Body::Unregister(u)) => ("unregister", reg.unregister(session, request_id, u)),
            Some(Body::RedoComplete(_)) => ("redo", reg.redo_complete(session)),
            Some(Body::RegisterRevision(r)) => {
                ("revision", reg.register_revision(session, request_id, r))
            }
            Some(Body::Ping(p)) => ("ping", reg.send_to(session, pong(p.nonce))),
            Some(Body::Refresh(r)) => ("refresh", reg.refresh(session, r)),
            Some(Body::Hello(_)) | None => {
                tracing::warn!(
                    session,
                    "ignoring a frame that is neither a registration nor a ping"
                );
                continue;
            }
        };
        fx.deliver();
        if served && matches!(op, "publish" | "subscribe" | "unregister") {
            shared.metrics.registration(op, fx.result);
        }
        record(shared, &fx);
    }
}

pub fn pong(nonce: u64) -> v1::ServerFrame {
    v1::ServerFrame {
        body: Some(server_frame::Body::Pong(v1::Pong { nonce })),
    }
}

pub fn record(shared: &Replica, fx: &Effects) {
    shared.metrics.pushes.inc_by(fx.pushes as u64);
    shared.metrics.push_bytes.inc_by(fx.push_bytes);
    shared.metrics.overflows.inc_by(fx.overflows as u64);
}
