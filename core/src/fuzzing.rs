//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): what the client reads
//! from a network peer. Not a public API.

use std::sync::Arc;

use crate::model::SubscriberData;

/// A SOFARegistry's byte stream: SOFABolt frames, pushes, answers, server lists.
pub fn sofa_stream(bytes: &[u8]) {
    crate::transport::sofa::fuzz_stream(bytes);
}

/// A Roster registry's pushes on one stream, full and incremental: for each frame, the
/// data it gave.
pub fn roster_pushes(frames: &[&[u8]]) -> Vec<Option<Arc<SubscriberData>>> {
    crate::transport::roster::fuzz_pushes(frames)
}
