//! AK/SK authentication, shared by the client (which signs) and the server (which checks).
//!
//! A client holds an access key (public, names the key) and its secret key. When its
//! session starts it sends the access key, its clock in ms since the Unix epoch, and the
//! hex HMAC-SHA256, keyed with the secret, of `"{access_key}\n{client_id}\n{timestamp_ms}"`.
//! The server recomputes it with the secret from its keys file, refuses a timestamp outside
//! its allowed clock skew, and refuses a signature it has seen within that window (a
//! replay). The secret itself never travels.

use ring::hmac;

/// gRPC metadata of a signed unary call (`GetRevisions`): the same four values as a Hello.
pub const ACCESS_KEY: &str = "roster-access-key";
pub const CLIENT_ID: &str = "roster-client-id";
pub const TIMESTAMP: &str = "roster-timestamp-ms";
pub const SIGNATURE: &str = "roster-signature";

/// What is signed. The access key is part of it so a signature made for one key is never
/// valid for another holding the same secret.
pub fn string_to_sign(access_key: &str, client_id: &str, timestamp_ms: u64) -> String {
    format!("{access_key}\n{client_id}\n{timestamp_ms}")
}

/// The signature, as lowercase hex.
pub fn sign(secret: &str, access_key: &str, client_id: &str, timestamp_ms: u64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let tag = hmac::sign(
        &key,
        string_to_sign(access_key, client_id, timestamp_ms).as_bytes(),
    );
    tag.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// True when `signature` (hex) is the signature of these values with `secret`; compared in
/// constant time.
pub fn verify(
    secret: &str,
    access_key: &str,
    client_id: &str,
    timestamp_ms: u64,
    signature: &str,
) -> bool {
    let Some(tag) = unhex(signature) else {
        return false;
    };
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let text = string_to_sign(access_key, client_id, timestamp_ms);
    hmac::verify(&key, text.as_bytes(), &tag).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Milliseconds since the Unix epoch by this machine's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_own_secret_key_client_and_time() {
        let s = sign("secret", "ak", "c1", 1_700_000_000_000);
        assert_eq!(s.len(), 64);
        assert!(verify("secret", "ak", "c1", 1_700_000_000_000, &s));
        assert!(!verify("other", "ak", "c1", 1_700_000_000_000, &s));
        assert!(!verify("secret", "ak2", "c1", 1_700_000_000_000, &s));
        assert!(!verify("secret", "ak", "c2", 1_700_000_000_000, &s));
        assert!(!verify("secret", "ak", "c1", 1_700_000_000_001, &s));
        assert!(!verify("secret", "ak", "c1", 1_700_000_000_000, &s[..63]));
        assert!(!verify("secret", "ak", "c1", 1_700_000_000_000, "zz"));
        assert!(!verify("secret", "ak", "c1", 1_700_000_000_000, ""));
    }

    #[test]
    fn the_signature_is_the_documented_hmac() {
        // The same value as Python's
        // hmac.new(b"secret", b"ak\nc1\n1700000000000", hashlib.sha256).hexdigest().
        assert_eq!(
            sign("secret", "ak", "c1", 1_700_000_000_000),
            "5100c28705c799273c1f848de3c7ae7c87fd2e07ad1314e168511492a562406a"
        );
        assert_eq!(string_to_sign("ak", "c1", 5), "ak\nc1\n5");
    }
}
