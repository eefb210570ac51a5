//! The names every binding shows: error kinds with their codes and class names, and the
//! migration status. Modes and scopes have theirs in the core (`as_str`, `FromStr`).

use roster_core::{ErrorKind, MigrationStatus};

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

const fn kind(kind: ErrorKind, name: &'static str, doc: &'static str) -> ErrorKindName {
    ErrorKindName {
        kind,
        code: kind.code(),
        name,
        doc,
    }
}

/// Every error kind of the core, in a stable order. `ErrorKind` is non-exhaustive: a
/// binding maps a kind it does not know to its base error.
pub const ERROR_KINDS: &[ErrorKindName] = &[
    kind(
        ErrorKind::InvalidArgument,
        "InvalidArgument",
        "An argument was empty, too long, malformed or over a limit; the message names it.",
    ),
    kind(
        ErrorKind::NotConnected,
        "NotConnected",
        "No registry node could be reached.",
    ),
    kind(
        ErrorKind::Timeout,
        "Timeout",
        "The registry did not answer in time.",
    ),
    kind(
        ErrorKind::Refused,
        "Refused",
        "The registry refused the request.",
    ),
    kind(
        ErrorKind::NotLeader,
        "NotLeader",
        "The node is not its cluster's leader.",
    ),
    kind(
        ErrorKind::NotFound,
        "NotFound",
        "The registration is not known to the registry.",
    ),
    kind(
        ErrorKind::ShutDown,
        "ShutDown",
        "The client (or the handle) was closed.",
    ),
    kind(
        ErrorKind::Io,
        "Io",
        "Reading or writing the cache directory failed.",
    ),
    kind(
        ErrorKind::Internal,
        "Internal",
        "A bug or an unexpected answer.",
    ),
    // Added after the first release's kinds: appended, so the C codes of those stay.
    kind(
        ErrorKind::Unauthenticated,
        "Unauthenticated",
        "The registry refused the client's credentials (missing, unknown key, wrong secret, clock skew, replay).",
    ),
    kind(
        ErrorKind::PermissionDenied,
        "PermissionDenied",
        "The client's access key may not do this (tenant or dataId).",
    ),
];

/// The entry of `kind`, if this build knows it.
pub fn error_kind(kind: ErrorKind) -> Option<&'static ErrorKindName> {
    ERROR_KINDS.iter().find(|k| k.kind == kind)
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
    fn every_kind_is_named_once_with_its_code() {
        for k in ERROR_KINDS {
            assert_eq!(k.code, k.kind.code());
            assert_eq!(ERROR_KINDS.iter().filter(|o| o.code == k.code).count(), 1);
        }
        assert_eq!(error_kind(ErrorKind::Timeout).unwrap().name, "Timeout");
    }
}
