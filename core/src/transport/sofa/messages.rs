//! The engine's ops as SOFARegistry's protobuf messages, and its pushes and answers back.

use bytes::Bytes;
use roster_proto::prost::Message;
use roster_proto::rules::DATA_INFO_SEPARATOR;
use roster_proto::sofa as pb;

use crate::error::ErrorKind;
use crate::items::Item;
use crate::model::{DataInfoId, Scope, SubscriberData};
use crate::transport::{Acked, Op, Reg};

/// The Java package the server looks classes up in.
const PB: &str = "com.alipay.sofa.registry.common.model.client.pb.";

pub fn class(name: &str) -> String {
    format!("{PB}{name}")
}

pub const PUBLISHER: &str = "PublisherRegisterPb";
pub const SUBSCRIBER: &str = "SubscriberRegisterPb";
pub const RECEIVED_DATA: &str = "ReceivedDataPb";
pub const RESULT: &str = "ResultPb";

/// The simple class name of a fully qualified one.
pub fn simple(class: &str) -> &str {
    class.rsplit('.').next().unwrap_or(class)
}

/// Who registers: the fields every registration repeats.
#[derive(Clone, Debug)]
pub struct Context {
    pub client_id: String,
    pub app_name: String,
    pub zone: String,
    pub process_id: String,
    /// This end of the connection (the server overwrites them, but fills them in too).
    pub ip: String,
    pub port: i32,
}

fn scope_name(s: Scope) -> &'static str {
    // SOFARegistry's own spelling, which Scope::as_str shares.
    s.as_str()
}

fn base(ctx: &Context, reg: &Reg, event: &str) -> pb::BaseRegisterPb {
    let k = &reg.key;
    let sep = DATA_INFO_SEPARATOR;
    pb::BaseRegisterPb {
        instance_id: k.instance_id.clone(),
        zone: ctx.zone.clone(),
        app_name: ctx.app_name.clone(),
        data_id: k.data_id.clone(),
        group: k.group.clone(),
        process_id: ctx.process_id.clone(),
        regist_id: reg.regist_id.to_string(),
        client_id: ctx.client_id.clone(),
        data_info_id: format!("{}{sep}{}{sep}{}", k.data_id, k.instance_id, k.group),
        ip: ctx.ip.clone(),
        port: ctx.port,
        event_type: event.to_owned(),
        version: i64::try_from(reg.version).unwrap_or(i64::MAX),
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        attributes: Default::default(),
    }
}

/// An op as (simple class name, encoded message); `None` for what SOFARegistry has no
/// message for (the engine does not send those where the protocol lacks them).
pub fn encode(ctx: &Context, op: &Op) -> Option<(&'static str, Bytes)> {
    let publisher = |reg: &Reg, event: &str, data: &[String]| pb::PublisherRegisterPb {
        data_list: data
            .iter()
            .map(|d| pb::DataBoxPb { data: d.clone() })
            .collect(),
        base_register: Some(base(ctx, reg, event)),
    };
    let subscriber = |reg: &Reg, event: &str, scope: Scope| pb::SubscriberRegisterPb {
        scope: scope_name(scope).to_owned(),
        base_register: Some(base(ctx, reg, event)),
        accept_encoding: String::new(),
        accept_multi: false,
    };
    let (class, bytes) = match op {
        Op::Publish { reg, data } => (PUBLISHER, publisher(reg, "REGISTER", data).encode_to_vec()),
        Op::Unpublish { reg } => (PUBLISHER, publisher(reg, "UNREGISTER", &[]).encode_to_vec()),
        Op::Subscribe { reg, scope, .. } => (
            SUBSCRIBER,
            subscriber(reg, "REGISTER", *scope).encode_to_vec(),
        ),
        Op::Unsubscribe { reg, scope } => (
            SUBSCRIBER,
            subscriber(reg, "UNREGISTER", *scope).encode_to_vec(),
        ),
        Op::RegisterRevision(_) | Op::RedoComplete => return None,
    };
    Some((class, bytes.into()))
}

/// A registration's answer: a `RegisterResponsePb`, or a Bolt error status.
pub fn acked(status: u16, class: &str, content: &[u8]) -> Acked {
    let refused = |message: String| Acked::Refused {
        kind: ErrorKind::Refused,
        message,
    };
    if status != super::bolt::STATUS_SUCCESS {
        return refused(format!(
            "SOFABolt status {status} ({})",
            super::status_name(status)
        ));
    }
    if simple(class) != "RegisterResponsePb" {
        return refused(format!("unexpected answer of class {class}"));
    }
    match pb::RegisterResponsePb::decode(content) {
        Ok(r) if r.success && !r.refused => Acked::Ok,
        Ok(r) => refused(if r.message.is_empty() {
            "registration not successful".into()
        } else {
            r.message
        }),
        Err(e) => refused(format!("undecodable RegisterResponsePb: {e}")),
    }
}

/// A push, decoded: the subscribers' data and the registIds it is for.
pub fn push(content: &[u8]) -> Result<(SubscriberData, Vec<String>), String> {
    let p = pb::ReceivedDataPb::decode(content)
        .map_err(|e| format!("undecodable ReceivedDataPb: {e}"))?;
    if !p.encoding.is_empty() || !p.body.is_empty() {
        // Only sent to subscribers that accept an encoding, which this client never asks for.
        return Err(format!(
            "a compressed push ({:?}) was not asked for",
            p.encoding
        ));
    }
    let scope = match p.scope.as_str() {
        "dataCenter" => Scope::DataCenter,
        "global" => Scope::Global,
        _ => Scope::Zone,
    };
    let zones = p
        .data
        .into_iter()
        .map(|(zone, boxes)| {
            let items = boxes.data.into_iter().map(|b| Item::from(b.data)).collect();
            (zone, items)
        })
        .collect();
    let data = SubscriberData {
        data_info_id: DataInfoId {
            data_id: p.data_id,
            group: p.group,
            instance_id: p.instance_id,
        },
        version: u64::try_from(p.version).unwrap_or(0),
        scope,
        zones,
        from_cache: false,
        changes: Default::default(),
    };
    Ok((data, p.subscriber_regist_ids))
}

/// The answer to a push.
pub fn result(success: bool, message: &str) -> Bytes {
    pb::ResultPb {
        success,
        message: message.to_owned(),
    }
    .encode_to_vec()
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            client_id: "c1".into(),
            app_name: "shop".into(),
            zone: "DEFAULT_ZONE".into(),
            process_id: "42".into(),
            ip: "127.0.0.1".into(),
            port: 5000,
        }
    }

    fn reg(version: u64) -> Reg {
        Reg {
            regist_id: "r1".into(),
            key: DataInfoId::new("svc"),
            version,
        }
    }

    #[test]
    fn publishes_and_unregisters_carry_the_whole_registration() {
        let op = Op::Publish {
            reg: reg(2),
            data: vec!["bolt://a:1".into()],
        };
        let (class, bytes) = encode(&ctx(), &op).unwrap();
        assert_eq!(class, PUBLISHER);
        let p = pb::PublisherRegisterPb::decode(bytes).unwrap();
        let b = p.base_register.unwrap();
        assert_eq!(b.data_info_id, "svc#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP");
        assert_eq!((b.event_type.as_str(), b.version), ("REGISTER", 2));
        assert_eq!(b.regist_id, "r1");
        assert_eq!(p.data_list[0].data, "bolt://a:1");

        let (class, bytes) = encode(
            &ctx(),
            &Op::Unsubscribe {
                reg: reg(3),
                scope: Scope::DataCenter,
            },
        )
        .unwrap();
        assert_eq!(class, SUBSCRIBER);
        let s = pb::SubscriberRegisterPb::decode(bytes).unwrap();
        assert_eq!(s.scope, "dataCenter");
        assert!(!s.accept_multi);
        assert_eq!(s.base_register.unwrap().event_type, "UNREGISTER");
        assert!(encode(&ctx(), &Op::RedoComplete).is_none());
    }

    #[test]
    fn answers_map_to_results() {
        let ok = pb::RegisterResponsePb {
            success: true,
            ..Default::default()
        };
        let class = class("RegisterResponsePb");
        assert_eq!(acked(0, &class, &ok.encode_to_vec()), Acked::Ok);
        let no = pb::RegisterResponsePb {
            success: false,
            message: "Publisher register failed!Type:REGISTER".into(),
            ..Default::default()
        };
        let Acked::Refused { kind, message } = acked(0, &class, &no.encode_to_vec()) else {
            panic!("refused");
        };
        assert_eq!(kind, ErrorKind::Refused);
        assert_eq!(message, "Publisher register failed!Type:REGISTER");
        assert!(
            matches!(acked(2, "", b""), Acked::Refused { message, .. } if message.contains("status 2"))
        );
    }
}
