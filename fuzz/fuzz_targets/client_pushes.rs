//! What a Roster registry pushes on one stream: full data and deltas on bases the client
//! may or may not hold, with splices anywhere (also outside the list), and raw frames.
//! Nothing may panic; a delta's result never lists an empty zone.

#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use roster_proto::prost::Message;
use roster_proto::v1;

#[derive(Arbitrary, Debug)]
enum Frame {
    Full {
        data: u8,
        version: u8,
        zones: Vec<(u8, Vec<u8>)>,
    },
    Delta {
        data: u8,
        base: u8,
        version: u8,
        deltas: Vec<(u8, u32, u32, Vec<u8>)>,
    },
    Raw(Vec<u8>),
}

fn key(data: u8) -> Option<v1::DataKey> {
    Some(v1::DataKey {
        data_id: format!("svc{}", data % 2),
        ..Default::default()
    })
}

fn item(n: u8) -> Bytes {
    Bytes::from(format!("bolt://10.0.0.{n}:12200"))
}

fn encode(frame: &Frame) -> Vec<u8> {
    let push = match frame {
        Frame::Raw(bytes) => return bytes.clone(),
        Frame::Full {
            data,
            version,
            zones,
        } => v1::Push {
            key: key(*data),
            version: u64::from(*version),
            zones: zones
                .iter()
                .take(4)
                .map(|(z, items)| v1::ZoneData {
                    zone: format!("z{}", z % 3),
                    data: items.iter().take(64).map(|&n| item(n)).collect(),
                })
                .collect(),
            ..Default::default()
        },
        Frame::Delta {
            data,
            base,
            version,
            deltas,
        } => v1::Push {
            key: key(*data),
            version: u64::from(*version),
            base_version: u64::from(*base),
            deltas: deltas
                .iter()
                .take(4)
                .map(|(z, start, delete, insert)| v1::ZoneDelta {
                    zone: format!("z{}", z % 3),
                    start: *start,
                    delete: *delete,
                    insert: insert.iter().take(64).map(|&n| item(n)).collect(),
                })
                .collect(),
            ..Default::default()
        },
    };
    push.encode_to_vec()
}

fuzz_target!(|frames: Vec<Frame>| {
    let encoded: Vec<Vec<u8>> = frames.iter().take(64).map(encode).collect();
    let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
    for (data, frame) in roster_core::fuzzing::roster_pushes(&refs)
        .iter()
        .zip(&frames)
    {
        let Some(data) = data else { continue };
        if matches!(frame, Frame::Delta { .. }) {
            assert!(
                data.zones.values().all(|z| !z.is_empty()),
                "a delta left an empty zone listed: {data:?}"
            );
        }
    }
});
