//! The names every binding shows: error kinds with their codes and class names, and the
//! migration status. Modes and scopes have theirs in the core (`as_str`, `FromStr`).

use roster_core::{ErrorKind, MigrationStatus, PublishMode, Result, Scope, SubscribeMode};

/// One error kind as bindings name it.
#[derive(Clone, Copy, Debug)]
pub struct ErrorKindName {
    pub kind: ErrorKind,
    /// The stable code, e.g. `INVALID_ARGUMENT` (also `ErrorKind::code`).
    pub code: &'static str,
    /// The class stem, e.g. `InvalidArgument` (`InvalidArgumentError` in Python and JS,
    /// `Code.INVALID_ARGUMENT` in Java).
    pub name: &'static str,
    pub doc: &'static str,
}

const fn kind(kind: ErrorKind, name: &'static str) -> ErrorKindName {
    ErrorKindName {
        kind,
        code: kind.code(),
        name,
        doc: kind.description(),
    }
}

/// Every error kind of the core, in a stable order. `ErrorKind` is non-exhaustive: a
/// binding maps a kind it does not know to its base error.
pub const ERROR_KINDS: &[ErrorKindName] = &[
    kind(ErrorKind::InvalidArgument, "InvalidArgument"),
    kind(ErrorKind::NotConnected, "NotConnected"),
    kind(ErrorKind::Timeout, "Timeout"),
    kind(ErrorKind::Refused, "Refused"),
    kind(ErrorKind::NotLeader, "NotLeader"),
    kind(ErrorKind::NotFound, "NotFound"),
    kind(ErrorKind::ShutDown, "ShutDown"),
    kind(ErrorKind::Io, "Io"),
    kind(ErrorKind::Internal, "Internal"),
    // Added after the first release's kinds: appended, so the C codes of those stay.
    kind(ErrorKind::Unauthenticated, "Unauthenticated"),
    kind(ErrorKind::PermissionDenied, "PermissionDenied"),
];

/// The entry of `kind`, if this build knows it.
pub fn error_kind(kind: ErrorKind) -> Option<&'static ErrorKindName> {
    ERROR_KINDS.iter().find(|k| k.kind == kind)
}

/// The codes of the error kinds whose description `source`'s doc comments do not say word
/// for word: for a crate whose doc comments become another language's docs (C's header,
/// uniffi's Kotlin and Swift), so those say what the core says.
pub fn kinds_not_documented_in(source: &str) -> Vec<&'static str> {
    let docs = source
        .split_whitespace()
        .filter(|w| *w != "///")
        .collect::<Vec<_>>()
        .join(" ");
    ERROR_KINDS
        .iter()
        .filter(|k| !docs.contains(k.doc))
        .map(|k| k.code)
        .collect()
}

/// The names of an enum's values in declaration order, for a binding whose own enum lists
/// the same values in the same order (Java's `Scope`, `PublishMode`, `SubscribeMode`):
/// `kind` is `"scope"`, `"publishMode"` or `"subscribeMode"`.
pub fn enum_names(kind: &str) -> Option<Vec<&'static str>> {
    Some(match kind {
        "scope" => Scope::ALL.iter().map(|v| v.as_str()).collect(),
        "publishMode" => PublishMode::ALL.iter().map(|v| v.as_str()).collect(),
        "subscribeMode" => SubscribeMode::ALL.iter().map(|v| v.as_str()).collect(),
        _ => return None,
    })
}

/// The position of `name` among `enum_names(kind)`, or the core's `INVALID_ARGUMENT` listing
/// the names.
pub fn enum_index(kind: &str, name: &str) -> Result<usize> {
    match kind {
        "scope" => position(Scope::ALL, name),
        "publishMode" => position(PublishMode::ALL, name),
        "subscribeMode" => position(SubscribeMode::ALL, name),
        _ => Err(roster_core::Error::new(
            ErrorKind::Internal,
            format!("no enum named {kind}"),
        )),
    }
}

/// Where the value named `name` stands in `all` (the core's parse, so its error).
fn position<T: std::str::FromStr<Err = roster_core::Error> + PartialEq>(
    all: &[T],
    name: &str,
) -> Result<usize> {
    let value: T = name.parse()?;
    Ok(all
        .iter()
        .position(|v| *v == value)
        .expect("`ALL` lists every value of the enum"))
}

/// A migration status as its name and, while pending, the counts (application-level
/// addresses, interface-level ones).
pub fn migration_status(s: MigrationStatus) -> (&'static str, Option<(usize, usize)>) {
    match s {
        MigrationStatus::ForceInterface => ("force-interface", None),
        MigrationStatus::ApplicationFirst => ("application-first", None),
        MigrationStatus::Pending {
            application,
            interface,
        } => ("pending", Some((application, interface))),
        MigrationStatus::ForceApplication => ("force-application", None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kind_is_documented_when_its_description_is_in_the_doc_comments() {
        let all: String = ERROR_KINDS
            .iter()
            .map(|k| format!("/// {}\n", k.doc))
            .collect();
        assert!(kinds_not_documented_in(&all).is_empty());
        let without_timeout = all.replace("did not answer in time", "was slow");
        assert_eq!(kinds_not_documented_in(&without_timeout), ["TIMEOUT"]);
    }

    #[test]
    fn enum_names_round_trip_and_unknown_ones_are_refused_by_the_core() {
        for kind in ["scope", "publishMode", "subscribeMode"] {
            for (i, name) in enum_names(kind).unwrap().iter().enumerate() {
                assert_eq!(enum_index(kind, name).unwrap(), i, "{kind} {name}");
            }
        }
        assert_eq!(
            enum_names("scope").unwrap(),
            ["zone", "dataCenter", "global"]
        );
        let e = enum_index("scope", "galaxy").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            e.message(),
            "scope \"galaxy\" is not one of \"zone\", \"dataCenter\", \"global\""
        );
        assert!(enum_names("colour").is_none());
    }

    #[test]
    fn every_kind_is_named_once_with_its_code() {
        for k in ERROR_KINDS {
            assert_eq!(k.code, k.kind.code());
            assert_eq!(ERROR_KINDS.iter().filter(|o| o.code == k.code).count(), 1);
        }
        assert_eq!(error_kind(ErrorKind::Timeout).unwrap().name, "Timeout");
    }
}
