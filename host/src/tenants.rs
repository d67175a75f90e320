//! Tenant API keys: random, shown once, stored as a hash, checked in constant time.
//!
//! A key reads `mk_<key id>_<secret>`. The key id (public) finds the stored record; only the
//! SHA-256 of the 256-bit random secret is kept. A slow password hash buys nothing for a secret
//! with that much entropy, and SHA-256 keeps authentication off the request's critical path.

use rand::RngCore as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use crate::store::ApiKeyRecord;

const PREFIX: &str = "mk_";

/// A freshly generated key: give `secret_text` to the tenant once; store `record`.
#[derive(Debug)]
pub struct NewApiKey {
    pub secret_text: String,
    pub record: ApiKeyRecord,
}

pub fn generate_api_key(tenant_id: &str) -> NewApiKey {
    let mut rng = rand::rng();
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let (key_id, secret) = (hex::encode(id), hex::encode(secret));
    NewApiKey {
        secret_text: format!("{PREFIX}{key_id}_{secret}"),
        record: ApiKeyRecord {
            key_id,
            tenant_id: tenant_id.to_owned(),
            secret_hash: Sha256::digest(secret.as_bytes()).to_vec(),
        },
    }
}

/// Splits a presented key into (key id, secret); `None` if it is not shaped like one.
pub fn parse_api_key(text: &str) -> Option<(&str, &str)> {
    let (key_id, secret) = text.strip_prefix(PREFIX)?.split_once('_')?;
    let hex = |s: &str, len| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(key_id, 16) && hex(secret, 64)).then_some((key_id, secret))
}

/// Whether `secret` is the one whose hash was stored.
pub fn secret_matches(secret: &str, stored_hash: &[u8]) -> bool {
    Sha256::digest(secret.as_bytes())
        .as_slice()
        .ct_eq(stored_hash)
        .into()
}

/// Constant-time comparison of a presented admin token with the configured one (hashed first,
/// so the comparison's length does not depend on the token's).
pub fn admin_token_matches(presented: &str, configured: &str) -> bool {
    Sha256::digest(presented.as_bytes())
        .ct_eq(&Sha256::digest(configured.as_bytes()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_verifies_and_a_changed_one_does_not() {
        let key = generate_api_key("t1");
        let (id, secret) = parse_api_key(&key.secret_text).expect("well-formed");
        assert_eq!(id, key.record.key_id);
        assert!(secret_matches(secret, &key.record.secret_hash));
        let mut wrong = secret.to_owned();
        wrong.replace_range(0..1, if secret.starts_with('0') { "1" } else { "0" });
        assert!(!secret_matches(&wrong, &key.record.secret_hash));
        assert!(parse_api_key("mk_short_abc").is_none());
        assert!(admin_token_matches(
            "s3cret-admin-token",
            "s3cret-admin-token"
        ));
        assert!(!admin_token_matches(
            "s3cret-admin-token",
            "s3cret-admin-tokex"
        ));
    }
}
