//! The utility's staff as users of the back-office: a password kept as an argon2id hash and a
//! TOTP second factor (RFC 6238: 6 digits, 30 seconds, SHA-1, as every authenticator app reads
//! it) for installations without an identity provider, and the rule of a sign-in through one
//! (the provider's claim must name an existing staff user). Made with `nordlys staff add`; each
//! one made is written to the audit log.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use nordlys_core::ParseError;
use nordlys_store::{AuditEntry, StaffUser, Store, StoreError};
use rand::RngExt;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::Clock;

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("{} {:?}: {}", .0.field, .0.value, .0.rule)]
    Invalid(ParseError),
    #[error("{0}")]
    Crypto(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A staff member just made: the TOTP secret to enter in an authenticator app (shown once).
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub name: String,
    /// Base32.
    pub totp_secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_url: String,
}

fn totp(secret: &str, name: &str, issuer: &str) -> Result<TOTP, StaffError> {
    let bytes = Secret::Encoded(secret.to_owned())
        .to_bytes()
        .map_err(|e| StaffError::Crypto(format!("stored TOTP secret: {e:?}")))?;
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        bytes,
        Some(issuer.to_owned()),
        name.to_owned(),
    )
    .map_err(|e| StaffError::Crypto(format!("TOTP: {e}")))
}

/// Add staff member `name` with `password` (at least 12 characters).
pub async fn add_staff(
    store: &Store,
    name: &str,
    password: &str,
    clock: &dyn Clock,
) -> Result<NewStaff, StaffError> {
    let invalid = |field: &'static str, value: &str, rule: &str| {
        StaffError::Invalid(ParseError::new(field, value, rule))
    };
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
    {
        return Err(invalid(
            "name",
            name,
            "1 to 64 letters, digits, '-', '_', '.' or '@'",
        ));
    }
    if password.chars().count() < 12 {
        return Err(invalid("password", "(not shown)", "at least 12 characters"));
    }
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill(&mut salt_bytes);
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| StaffError::Crypto(e.to_string()))?;
    let hash = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| StaffError::Crypto(e.to_string()))?
        .to_string();
    let mut random = [0u8; 20];
    rand::rng().fill(&mut random);
    let secret = Secret::Raw(random.to_vec()).to_encoded().to_string();
    let totp = totp(&secret, name, "Nordlys")?;
    let now_us = clock.now().as_microsecond();
    store
        .create_staff_user(
            &StaffUser {
                name: name.to_owned(),
                password_hash: hash,
                totp_secret: secret.clone(),
                disabled: false,
            },
            now_us,
        )
        .await?;
    store
        .audit(&AuditEntry {
            at_us: now_us,
            actor_kind: "system".to_owned(),
            actor: "nordlys staff add".to_owned(),
            action: "staff_user_created".to_owned(),
            target: format!("staff:{name}"),
            detail: String::new(),
        })
        .await?;
    Ok(NewStaff {
        name: name.to_owned(),
        otpauth_url: totp.get_url(),
        totp_secret: secret,
    })
}

/// A random password of 20 letters and digits (for the demo's administrator).
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The current TOTP code of a base32 `secret` at `unix_seconds` (for tests and tools).
pub fn totp_code(secret: &str, unix_seconds: u64) -> Result<String, StaffError> {
    Ok(totp(secret, "staff", "Nordlys")?.generate(unix_seconds))
}

/// Whether `name` signs in with `password` and `code` at `unix_seconds`: the password against
/// its argon2id hash (off the async threads: it is slow by design), the code within one step
/// either side. A disabled or unknown member never does.
pub async fn verify_staff(
    store: &Store,
    name: &str,
    password: &str,
    code: &str,
    unix_seconds: u64,
) -> Result<bool, StaffError> {
    let Some(user) = store.staff_user(name).await? else {
        return Ok(false);
    };
    if user.disabled {
        return Ok(false);
    }
    let password = password.to_owned();
    let hash = user.password_hash.clone();
    let password_ok = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|e| StaffError::Crypto(e.to_string()))?;
    if !password_ok {
        return Ok(false);
    }
    let totp = totp(&user.totp_secret, name, "Nordlys")?;
    Ok(totp.check(code.trim(), unix_seconds))
}

/// Whether an identity provider's claim `name` (e.g. Entra ID's `preferred_username`) may sign in
/// to the back-office: only as a staff user of exactly that name made with `nordlys staff add`,
/// and not disabled. The provider vouches for the person; Nordlys decides who is staff.
pub async fn may_sign_in_through_provider(store: &Store, name: &str) -> Result<bool, StoreError> {
    Ok(store
        .staff_user(name)
        .await?
        .is_some_and(|user| !user.disabled))
}
