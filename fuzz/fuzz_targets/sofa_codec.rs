//! What a SOFARegistry (or anything on its port) sends the client: a SOFABolt byte stream,
//! whose frames are read as pushes and as registration answers, and the HTTP body that
//! lists its session servers. Nothing may panic or allocate without bound.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    roster_core::fuzzing::sofa_stream(bytes);
});
