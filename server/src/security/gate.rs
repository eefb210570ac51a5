//! The gate every client frame passes before it becomes a command: the session's frame
//! budget (`AbuseLimits::max_frames_per_second`) and its access key's grants. A refused frame
//! is answered with its Ack here and never reaches the registry.

use std::sync::Arc;
use std::time::Instant;

use roster_proto::v1::{self, client_frame::Body};

use crate::registry;
use crate::security::auth::{Action, Grants};
use crate::security::limits::{Bucket, Slot};
use crate::Shared;

/// What a session may send: its access key's grants (none: no authentication) and its
/// frame budget. Holds the session's place in its address's count while it reads.
pub(crate) struct Gate {
    grants: Option<Arc<Grants>>,
    bucket: Bucket,
    _slot: Option<Slot>,
}

impl Gate {
    pub(crate) fn new(grants: Option<Arc<Grants>>, bucket: Bucket, slot: Option<Slot>) -> Gate {
        Gate {
            grants,
            bucket,
            _slot: slot,
        }
    }

    /// Keeps in `frames` those that may go on; each refused one gets its Ack in `refusals`.
    pub(crate) fn admit(
        &mut self,
        frames: &mut Vec<v1::ClientFrame>,
        shared: &Shared,
        refusals: &mut Vec<v1::ServerFrame>,
    ) {
        let now = Instant::now();
        frames.retain(|f| match self.check(f, now, shared) {
            Ok(()) => true,
            Err((code, why)) => {
                let (regist_id, version) = registration_of(f);
                refusals.push(registry::ack(f.request_id, regist_id, version, code, why));
                false
            }
        });
    }

    /// Pings, unregisters and the redo's end are never refused: they cost little, and a
    /// refused unregister would leave the registry holding what the client has let go.
    fn check(
        &mut self,
        f: &v1::ClientFrame,
        now: Instant,
        shared: &Shared,
    ) -> Result<(), (v1::AckCode, String)> {
        if matches!(
            f.body,
            Some(Body::Ping(_) | Body::Unregister(_) | Body::RedoComplete(_))
        ) {
            return Ok(());
        }
        if !self.bucket.take(now) {
            shared.replica.metrics.limit("frames_per_second");
            let abuse = shared.replica.config.abuse;
            let why = format!(
                "this session sent more than {} frames a second (bursts of {}); the frame was not applied",
                abuse.max_frames_per_second, abuse.frames_burst
            );
            return Err((v1::AckCode::RateLimited, why));
        }
        let Some(grants) = &self.grants else {
            return Ok(());
        };
        permitted(grants, f, &shared.replica.config.limits).map_err(|(op, why)| {
            shared.replica.metrics.denied(op);
            (v1::AckCode::PermissionDenied, why)
        })
    }
}

/// The registration a frame names, for its Ack.
fn registration_of(f: &v1::ClientFrame) -> (&str, u64) {
    match &f.body {
        Some(Body::Publish(p)) => (&p.regist_id, p.version),
        Some(Body::Subscribe(s)) => (&s.regist_id, s.version),
        Some(Body::Unregister(u)) => (&u.regist_id, u.version),
        Some(Body::RegisterRevision(r)) => {
            (r.revision.as_ref().map_or("", |r| r.revision.as_str()), 0)
        }
        _ => ("", 0),
    }
}

/// Whether the key may send this frame: publish and subscribe by dataInfoId, a revision by
/// every interface it names (each must be one the key may publish). Malformed keys pass:
/// the registry refuses them with the field named.
fn permitted(
    grants: &Grants,
    f: &v1::ClientFrame,
    limits: &roster_proto::rules::Limits,
) -> Result<(), (&'static str, String)> {
    let check = |action: Action, key: Option<&v1::DataKey>| {
        match roster_proto::DataInfoId::<String>::from_proto(key, limits) {
            Ok(k) => grants
                .allows(action, &k.data_id, &k.instance_id)
                .map_err(|why| (action.as_str(), why)),
            Err(_) => Ok(()),
        }
    };
    match &f.body {
        Some(Body::Publish(p)) => check(Action::Publish, p.key.as_ref()),
        Some(Body::Subscribe(s)) => check(Action::Subscribe, s.key.as_ref()),
        Some(Body::RegisterRevision(r)) => {
            let services = r.revision.iter().flat_map(|r| r.services.keys());
            for interface in services {
                let key = roster_proto::DataInfoId::<String>::parse(interface);
                if let Some(k) = key {
                    grants
                        .allows(Action::Publish, &k.data_id, &k.instance_id)
                        .map_err(|why| {
                            ("revision", format!("a revision naming {interface}: {why}"))
                        })?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
