//! Password hashing with Argon2id (default parameters), off the async threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

use crate::domain::Password;
use crate::{Error, Result};

/// A valid Argon2id hash of a random string: verified against when the email is
/// unknown, so that a wrong email costs as much time as a wrong password.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2Yb3ZbSnlJHZ2ms4GZzoNQ1sNT2pT9jLw3i2r3ZcZ0Q";

/// Hashes a password with Argon2id on a blocking thread.
pub async fn hash(password: &Password) -> Result<String> {
    let pw = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(pw.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| Error::Internal(format!("join: {e}")))?
}

/// Verifies a password against a PHC hash on a blocking thread.
pub async fn verify(password: String, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed =
            PasswordHash::new(&phc).map_err(|e| Error::Internal(format!("argon2: {e}")))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| Error::Internal(format!("join: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_round_trip_and_dummy_hash_parses() {
        let pw = Password::parse("correct horse battery").unwrap();
        let h = hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), h.clone())
            .await
            .unwrap());
        assert!(!verify("wrong horse battery".into(), h).await.unwrap());
        assert!(!verify("anything".into(), DUMMY_HASH.into()).await.unwrap());
    }
}
