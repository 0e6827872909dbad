//! Who may use the API: service accounts with tokens and scopes. A token is made from 32 random
//! bytes and shown once; the store keeps only its SHA-256 (a token is not a password: it has
//! full entropy, so a fast hash is safe and lets every request be checked in microseconds).

use nordlys_core::ParseError;
use nordlys_store::{Store, StoreError, StoredApiToken};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::Clock;

/// The prefix of every token, so that a leaked one is recognised (secret scanners, logs).
pub const TOKEN_PREFIX: &str = "nordlys_";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Read master data, readings, prices, runs, documents and the journal (no identity numbers).
    Read,
    /// Write master data and readings.
    Write,
    /// Start billing runs.
    Billing,
    /// See personal data: national identity numbers.
    PersonalData,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Read,
        Scope::Write,
        Scope::Billing,
        Scope::PersonalData,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Billing => "billing",
            Scope::PersonalData => "personal_data",
        }
    }

    pub fn parse(code: &str) -> Result<Scope, ParseError> {
        Scope::ALL
            .into_iter()
            .find(|s| s.code() == code)
            .ok_or_else(|| {
                let known: Vec<&str> = Scope::ALL.iter().map(|s| s.code()).collect();
                ParseError::new(
                    "scope",
                    code,
                    format!("unknown scope; one of {}", known.join(", ")),
                )
            })
    }
}

/// The caller of a request: a service account and what its token may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn may(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("{0}")]
    Invalid(ParseError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token just made: its secret (shown once, never stored) and how it is stored.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub secret: String,
    pub token: StoredApiToken,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a token's secret, as the store keeps it.
pub fn secret_sha256(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Make a token named `name` with `scopes` (at least one; duplicates dropped).
pub async fn create_token(
    store: &Store,
    name: &str,
    scopes: &[Scope],
    clock: &dyn Clock,
) -> Result<NewToken, AccessError> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(AccessError::Invalid(ParseError::new(
            "name",
            name,
            "a token name is 1 to 64 letters, digits, '-', '_' or '.'",
        )));
    }
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    if scopes.is_empty() {
        return Err(AccessError::Invalid(ParseError::new(
            "scope",
            "",
            "give at least one scope",
        )));
    }
    let mut random = [0u8; 32];
    rand::rng().fill_bytes(&mut random);
    let secret = format!("{TOKEN_PREFIX}{}", hex(&random));
    let prefix = secret[..TOKEN_PREFIX.len() + 6].to_owned();
    let codes: Vec<String> = scopes.iter().map(|s| s.code().to_owned()).collect();
    let mut tx = store
        .begin_import("api_token", &format!("token {name}"), clock.now())
        .await?;
    let token = tx
        .create_api_token(name, &codes, &secret_sha256(&secret), &prefix)
        .await?;
    tx.commit(Default::default()).await?;
    Ok(NewToken { secret, token })
}

/// Revoke the token named `name`: `false` if it was revoked already.
pub async fn revoke_token(
    store: &Store,
    name: &str,
    clock: &dyn Clock,
) -> Result<bool, AccessError> {
    let mut tx = store
        .begin_import("api_token", &format!("revoke token {name}"), clock.now())
        .await?;
    let revoked = tx.revoke_api_token(name).await?;
    tx.commit(Default::default()).await?;
    Ok(revoked)
}

/// The caller a bearer secret names, or `None` for an unknown or revoked token.
pub async fn authenticate(store: &Store, secret: &str) -> Result<Option<Principal>, StoreError> {
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 128 {
        return Ok(None);
    }
    let Some(token) = store.api_token_by_hash(&secret_sha256(secret)).await? else {
        return Ok(None);
    };
    if token.revoked_at_us.is_some() {
        return Ok(None);
    }
    Ok(Some(principal_of(&token)))
}

/// The caller a stored token stands for (scopes it does not know are dropped).
pub fn principal_of(token: &StoredApiToken) -> Principal {
    Principal {
        token_id: token.id,
        name: token.name.clone(),
        scopes: token
            .scopes
            .iter()
            .filter_map(|code| Scope::parse(code).ok())
            .collect(),
    }
}
