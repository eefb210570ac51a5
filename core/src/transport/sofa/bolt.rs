//! SOFABolt protocol v1 framing, as a `tokio-util` codec (big-endian throughout).
//!
//! | frame | header |
//! | --- | --- |
//! | request, oneway | proto u8 = 1, type u8 (1 request, 2 oneway), cmdcode u16, ver2 u8, requestId u32, codec u8, timeout i32 (ms), classLen u16, headerLen u16, contentLen u32 (22 bytes) |
//! | response | proto u8 = 1, type u8 = 0, cmdcode u16, ver2 u8, requestId u32, codec u8, respStatus u16, classLen u16, headerLen u16, contentLen u32 (20 bytes) |
//!
//! then the class name (UTF-8), the header bytes and the content. cmdcode 0 is a heartbeat,
//! 1 an RPC request, 2 an RPC response. A frame that is not v1, is larger than the limit or
//! names its class in bad UTF-8 is an error: the connection is closed rather than buffering
//! without bound or guessing.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

pub const PROTOCOL_V1: u8 = 1;
const VERSION2: u8 = 1;
pub const CODEC_HESSIAN2: u8 = 1;
pub const CODEC_PROTOBUF: u8 = 11;
pub const CMD_HEARTBEAT: u16 = 0;
pub const CMD_REQUEST: u16 = 1;
pub const CMD_RESPONSE: u16 = 2;
pub const STATUS_SUCCESS: u16 = 0;

const REQUEST_HEADER: usize = 22;
const RESPONSE_HEADER: usize = 20;

/// Whether a frame is a request (answered), a oneway request or a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Response,
    Request,
    Oneway,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Response => 0,
            Kind::Request => 1,
            Kind::Oneway => 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub kind: Kind,
    pub command: u16,
    pub id: u32,
    pub codec: u8,
    /// Requests: how long the sender waits for the answer (ms).
    pub timeout_ms: i32,
    /// Responses: 0 for success.
    pub status: u16,
    pub class: String,
    pub header: Bytes,
    pub content: Bytes,
}

impl Frame {
    /// An RPC request carrying a protobuf message of Java class `class`.
    pub fn request(id: u32, class: &str, content: Bytes, timeout_ms: i32) -> Frame {
        Frame {
            kind: Kind::Request,
            command: CMD_REQUEST,
            id,
            codec: CODEC_PROTOBUF,
            timeout_ms,
            status: 0,
            class: class.to_owned(),
            header: Bytes::new(),
            content,
        }
    }

    pub fn heartbeat(id: u32, timeout_ms: i32) -> Frame {
        Frame {
            kind: Kind::Request,
            command: CMD_HEARTBEAT,
            id,
            codec: CODEC_HESSIAN2,
            timeout_ms,
            status: 0,
            class: String::new(),
            header: Bytes::new(),
            content: Bytes::new(),
        }
    }

    /// The answer to request `id`: a protobuf message of Java class `class`.
    pub fn response(id: u32, command: u16, status: u16, class: &str, content: Bytes) -> Frame {
        Frame {
            kind: Kind::Response,
            command,
            id,
            codec: CODEC_PROTOBUF,
            timeout_ms: 0,
            status,
            class: class.to_owned(),
            header: Bytes::new(),
            content,
        }
    }
}

/// The codec; `max_frame` bounds what one frame may hold.
pub struct BoltCodec {
    pub max_frame: usize,
}

fn invalid(why: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

impl Decoder for BoltCodec {
    type Item = Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, Self::Error> {
        if src.len() < 2 {
            return Ok(None);
        }
        if src[0] != PROTOCOL_V1 {
            return Err(invalid(format!(
                "not a SOFABolt v1 frame: protocol byte {:#04x}",
                src[0]
            )));
        }
        let kind = match src[1] {
            0 => Kind::Response,
            1 => Kind::Request,
            2 => Kind::Oneway,
            t => return Err(invalid(format!("SOFABolt frame of unknown type {t}"))),
        };
        let header_len = if kind == Kind::Response {
            RESPONSE_HEADER
        } else {
            REQUEST_HEADER
        };
        if src.len() < header_len {
            return Ok(None);
        }
        let mut h = &src[2..header_len];
        let command = h.get_u16();
        let _version2 = h.get_u8();
        let id = h.get_u32();
        let codec = h.get_u8();
        let (timeout_ms, status) = if kind == Kind::Response {
            (0, h.get_u16())
        } else {
            (h.get_i32(), 0)
        };
        let class_len = usize::from(h.get_u16());
        let extra_len = usize::from(h.get_u16());
        let content_len = h.get_u32() as usize;
        let total = header_len + class_len + extra_len + content_len;
        if total > self.max_frame {
            return Err(invalid(format!(
                "SOFABolt frame {id} of {total} bytes is over the limit of {} bytes",
                self.max_frame
            )));
        }
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(total).freeze();
        frame.advance(header_len);
        let class = frame.split_to(class_len);
        let class = String::from_utf8(class.to_vec())
            .map_err(|_| invalid(format!("SOFABolt frame {id} names its class in bad UTF-8")))?;
        let header = frame.split_to(extra_len);
        Ok(Some(Frame {
            kind,
            command,
            id,
            codec,
            timeout_ms,
            status,
            class,
            header,
            content: frame,
        }))
    }
}

impl Encoder<Frame> for BoltCodec {
    type Error = std::io::Error;

    fn encode(&mut self, f: Frame, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let too_long = |what: &str| invalid(format!("SOFABolt frame {}: {what} too long", f.id));
        let class_len = u16::try_from(f.class.len()).map_err(|_| too_long("class name"))?;
        let header_len = u16::try_from(f.header.len()).map_err(|_| too_long("header"))?;
        let content_len = u32::try_from(f.content.len()).map_err(|_| too_long("content"))?;
        let fixed = if f.kind == Kind::Response {
            RESPONSE_HEADER
        } else {
            REQUEST_HEADER
        };
        dst.reserve(fixed + f.class.len() + f.header.len() + f.content.len());
        dst.put_u8(PROTOCOL_V1);
        dst.put_u8(f.kind.byte());
        dst.put_u16(f.command);
        dst.put_u8(VERSION2);
        dst.put_u32(f.id);
        dst.put_u8(f.codec);
        if f.kind == Kind::Response {
            dst.put_u16(f.status);
        } else {
            dst.put_i32(f.timeout_ms);
        }
        dst.put_u16(class_len);
        dst.put_u16(header_len);
        dst.put_u32(content_len);
        dst.put_slice(f.class.as_bytes());
        dst.put_slice(&f.header);
        dst.put_slice(&f.content);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> BoltCodec {
        BoltCodec { max_frame: 1024 }
    }

    fn encoded(f: Frame) -> BytesMut {
        let mut buf = BytesMut::new();
        codec().encode(f, &mut buf).unwrap();
        buf
    }

    #[test]
    fn requests_responses_and_heartbeats_round_trip() {
        let frames = [
            Frame::request(7, "a.b.C", Bytes::from_static(b"\x08\x01"), 3000),
            Frame::response(
                7,
                CMD_RESPONSE,
                STATUS_SUCCESS,
                "a.b.R",
                Bytes::from_static(b"x"),
            ),
            Frame::heartbeat(8, 1000),
            Frame::response(8, CMD_HEARTBEAT, STATUS_SUCCESS, "", Bytes::new()),
        ];
        let mut buf = BytesMut::new();
        for f in frames.clone() {
            codec().encode(f, &mut buf).unwrap();
        }
        for f in frames {
            assert_eq!(codec().decode(&mut buf).unwrap(), Some(f));
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn the_request_header_is_22_bytes_and_the_response_header_20() {
        let req = encoded(Frame::request(1, "C", Bytes::from_static(b"xy"), 5));
        assert_eq!(req.len(), 22 + 1 + 2);
        assert_eq!(&req[..4], &[1, 1, 0, 1]);
        assert_eq!(req[9], CODEC_PROTOBUF);
        let resp = encoded(Frame::response(1, CMD_RESPONSE, 0, "C", Bytes::new()));
        assert_eq!(resp.len(), 20 + 1);
        assert_eq!(&resp[..4], &[1, 0, 0, 2]);
    }

    #[test]
    fn a_truncated_frame_waits_for_the_rest() {
        let whole = encoded(Frame::request(
            3,
            "some.Class",
            Bytes::from_static(b"body"),
            1,
        ));
        let mut buf = BytesMut::new();
        for (i, b) in whole.iter().enumerate() {
            assert!(
                codec().decode(&mut buf).unwrap().is_none(),
                "decoded after {i} bytes"
            );
            buf.put_u8(*b);
        }
        assert_eq!(codec().decode(&mut buf).unwrap().unwrap().id, 3);
    }

    #[test]
    fn bad_frames_are_errors_that_name_the_problem() {
        let big = encoded(Frame::request(4, "C", Bytes::from(vec![0u8; 2000]), 1));
        let mut small = BoltCodec { max_frame: 1000 };
        let e = small.decode(&mut big.clone()).unwrap_err();
        assert!(
            e.to_string().contains("over the limit of 1000 bytes"),
            "{e}"
        );
        // Refused from the header alone, before the body arrives.
        let e = small.decode(&mut BytesMut::from(&big[..22])).unwrap_err();
        assert!(e.to_string().contains("over the limit"), "{e}");

        let e = codec()
            .decode(&mut BytesMut::from(&b"\x02\x01rest"[..]))
            .unwrap_err();
        assert!(e.to_string().contains("protocol byte 0x02"), "{e}");
        let e = codec()
            .decode(&mut BytesMut::from(&b"\x01\x07"[..]))
            .unwrap_err();
        assert!(e.to_string().contains("unknown type 7"), "{e}");

        let mut bad_class = encoded(Frame::request(5, "ab", Bytes::new(), 1));
        bad_class[22] = 0xff;
        let e = codec().decode(&mut bad_class).unwrap_err();
        assert!(e.to_string().contains("bad UTF-8"), "{e}");
    }
}
