//! Input rules shared by the client (which refuses bad input before sending it) and the
//! server (which refuses it from any client). One place, so both say the same thing.

use std::fmt;

/// The separator inside a dataInfoId; forbidden inside its parts.
pub const DATA_INFO_SEPARATOR: &str = "#@#";
pub const DEFAULT_GROUP: &str = "DEFAULT_GROUP";
pub const DEFAULT_INSTANCE_ID: &str = "DEFAULT_INSTANCE_ID";
/// Longest registId, clientId, zone or dataCenter accepted.
pub const MAX_ID_BYTES: usize = 128;

/// What the server accepts; announced to clients in `Welcome.limits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_data_id_bytes: usize,
    pub max_data_items: usize,
    pub max_payload_bytes: usize,
    /// Publishers and subscribers one session may hold.
    pub max_registrations_per_session: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_data_id_bytes: 512,
            max_data_items: 128,
            max_payload_bytes: 64 * 1024,
            max_registrations_per_session: 100_000,
        }
    }
}

impl From<&crate::v1::Limits> for Limits {
    fn from(l: &crate::v1::Limits) -> Self {
        Self {
            max_data_id_bytes: l.max_data_id_bytes as usize,
            max_data_items: l.max_data_items as usize,
            max_payload_bytes: l.max_payload_bytes as usize,
            max_registrations_per_session: match l.max_registrations_per_session {
                0 => usize::MAX,
                n => n as usize,
            },
        }
    }
}

impl From<Limits> for crate::v1::Limits {
    fn from(l: Limits) -> Self {
        let clamp = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Self {
            max_data_id_bytes: clamp(l.max_data_id_bytes),
            max_data_items: clamp(l.max_data_items),
            max_payload_bytes: clamp(l.max_payload_bytes),
            max_registrations_per_session: clamp(l.max_registrations_per_session),
        }
    }
}

/// Why an input was refused: the field and what was wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    /// Wire name of the field, e.g. `dataId` or `data[3]`.
    pub field: String,
    pub reason: String,
    /// True when a configured limit (rather than the format) was exceeded.
    pub limit: bool,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.reason)
    }
}

impl std::error::Error for RuleError {}

fn err(field: &str, reason: impl Into<String>) -> RuleError {
    RuleError {
        field: field.to_owned(),
        reason: reason.into(),
        limit: false,
    }
}

/// An identifier (dataId, group, instanceId, registId, zone...): non-empty, at most `max`
/// bytes, no control characters, and no dataInfoId separator.
pub fn check_identifier(field: &str, value: &str, max: usize) -> Result<(), RuleError> {
    if value.is_empty() {
        return Err(err(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(RuleError {
            limit: true,
            ..err(
                field,
                format!("is {} bytes, longer than the limit of {max}", value.len()),
            )
        });
    }
    if let Some((i, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
        return Err(err(
            field,
            format!("contains the control character {:?} at byte {i}", c),
        ));
    }
    if value.contains(DATA_INFO_SEPARATOR) {
        return Err(err(
            field,
            format!("must not contain the separator {DATA_INFO_SEPARATOR:?}"),
        ));
    }
    Ok(())
}

/// The parts of a dataInfoId. Empty group and instanceId mean the defaults and are checked
/// by the caller after defaulting.
pub fn check_key(
    data_id: &str,
    group: &str,
    instance_id: &str,
    limits: &Limits,
) -> Result<(), RuleError> {
    check_identifier("dataId", data_id, limits.max_data_id_bytes)?;
    check_identifier("group", group, limits.max_data_id_bytes)?;
    check_identifier("instanceId", instance_id, limits.max_data_id_bytes)
}

/// A publisher's data: at most `max_data_items` items of valid UTF-8 without control
/// characters other than tab and line breaks, `max_payload_bytes` in all.
pub fn check_data<T: AsRef<[u8]>>(items: &[T], limits: &Limits) -> Result<(), RuleError> {
    if items.len() > limits.max_data_items {
        return Err(RuleError {
            limit: true,
            ..err(
                "data",
                format!(
                    "has {} items, more than the limit of {}",
                    items.len(),
                    limits.max_data_items
                ),
            )
        });
    }
    let mut total = 0usize;
    for (i, item) in items.iter().enumerate() {
        let bytes = item.as_ref();
        total += bytes.len();
        let text = std::str::from_utf8(bytes).map_err(|e| {
            err(
                &format!("data[{i}]"),
                format!("is not valid UTF-8 (at byte {})", e.valid_up_to()),
            )
        })?;
        if let Some((at, c)) = text
            .char_indices()
            .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(err(
                &format!("data[{i}]"),
                format!("contains the control character {:?} at byte {at}", c),
            ));
        }
    }
    if total > limits.max_payload_bytes {
        return Err(RuleError {
            limit: true,
            ..err(
                "data",
                format!(
                    "is {total} bytes, more than the limit of {}",
                    limits.max_payload_bytes
                ),
            )
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(check_identifier("dataId", "com.example.Svc:1.0", 64).is_ok());
        assert_eq!(
            check_identifier("dataId", "", 64).unwrap_err().to_string(),
            "dataId must not be empty"
        );
        let long = check_identifier("dataId", &"x".repeat(65), 64).unwrap_err();
        assert!(
            long.limit && long.to_string().contains("65 bytes"),
            "{long}"
        );
        assert!(check_identifier("group", "a\u{1}b", 64)
            .unwrap_err()
            .to_string()
            .contains("control"));
        assert!(check_identifier("group", "a#@#b", 64)
            .unwrap_err()
            .to_string()
            .contains("separator"));
    }

    #[test]
    fn data_items() {
        let l = Limits {
            max_data_id_bytes: 64,
            max_data_items: 2,
            max_payload_bytes: 10,
            ..Limits::default()
        };
        assert!(check_data(&["abc", "de\tf"], &l).is_ok());
        assert!(check_data(&["a", "b", "c"], &l)
            .unwrap_err()
            .to_string()
            .contains("3 items"));
        assert_eq!(
            check_data(&[&b"ok"[..], &[0xff, 0x41][..]], &l)
                .unwrap_err()
                .to_string(),
            "data[1] is not valid UTF-8 (at byte 0)"
        );
        assert!(check_data(&["a\u{0}"], &l)
            .unwrap_err()
            .to_string()
            .starts_with("data[0] contains"));
        assert!(check_data(&["123456", "123456"], &l)
            .unwrap_err()
            .to_string()
            .contains("12 bytes"));
    }
}
