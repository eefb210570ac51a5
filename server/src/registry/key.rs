//! The registry's key: a dataInfoId whose parts are shared (`Arc<str>`) by every
//! registration of it. The type, its defaults, checks and forms are `roster_proto`'s, the
//! client's too.

use std::sync::Arc;

/// dataId, group and instanceId, with defaults applied.
pub type Key = roster_proto::DataInfoId<Arc<str>>;
