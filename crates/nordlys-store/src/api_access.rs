//! Access to the HTTP API as stored: service accounts' tokens (only a SHA-256 of each secret,
//! its scopes, revocation) and the answers kept for `Idempotency-Key` replays. Tokens are
//! journaled (domain `api_token`, never the secret); idempotency answers are a cache of
//! responses, like the Peppol lookup cache, and not journaled.

use serde_json::json;
use sqlx::Row;

use crate::db::{DbRow, sql_owned};
use crate::journal::{Change, ChangeScope, Domain};
use crate::{Store, StoreError, StoreTx};
use nordlys_core::ParseError;

/// A service account's token as stored (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApiToken {
    pub id: i64,
    pub name: String,
    /// Scope codes, as given when the token was made.
    pub scopes: Vec<String>,
    /// The first characters of the secret, to recognise a token in a list.
    pub prefix: String,
    pub created_at_us: i64,
    pub revoked_at_us: Option<i64>,
}

/// What a repeat of an idempotent request finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotentEntry {
    /// The key was free and is now reserved for this request until the lease ends.
    Reserved,
    /// An answer is kept: replay it (if the request is the same).
    Answered {
        request_sha256: String,
        status: u16,
        body: String,
    },
    /// Another request with this key is being answered right now.
    InProgress { request_sha256: String },
}

fn token_from_row(row: &DbRow) -> StoredApiToken {
    let scopes: String = row.get(2);
    StoredApiToken {
        id: row.get(0),
        name: row.get(1),
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        prefix: row.get(3),
        created_at_us: row.get(4),
        revoked_at_us: row.get(5),
    }
}

const TOKEN_COLUMNS: &str =
    "id, name, scopes, token_prefix, created_at_us, revoked_at_us FROM api_tokens";

impl StoreTx {
    /// Record a new token named `name`; a name already in use (revoked or not) is refused.
    pub async fn create_api_token(
        &mut self,
        name: &str,
        scopes: &[String],
        secret_sha256: &str,
        prefix: &str,
    ) -> Result<StoredApiToken, StoreError> {
        self.journal.lock_series("api_tokens").await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1")
            .bind(name)
            .fetch_optional(self.journal.conn())
            .await?;
        if taken.is_some() {
            return Err(StoreError::Rejected(ParseError::new(
                "name",
                name,
                "a token of this name exists already (names are never reused, also after revocation)",
            )));
        }
        let now_us = self.journal.now_us();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (name, scopes, token_sha256, token_prefix, created_at_us)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(scopes.join(" "))
        .bind(secret_sha256)
        .bind(prefix)
        .bind(now_us)
        .fetch_one(self.journal.conn())
        .await?;
        self.journal
            .record(Change::of_upsert(
                Domain::ApiToken,
                name.to_owned(),
                None,
                json!({"name": name, "scopes": scopes, "prefix": prefix}),
                ChangeScope::default(),
            ))
            .await?;
        Ok(StoredApiToken {
            id,
            name: name.to_owned(),
            scopes: scopes.to_vec(),
            prefix: prefix.to_owned(),
            created_at_us: now_us,
            revoked_at_us: None,
        })
    }

    /// Revoke the token named `name`: `Ok(false)` if it was revoked already.
    pub async fn revoke_api_token(&mut self, name: &str) -> Result<bool, StoreError> {
        self.journal.lock_series("api_tokens").await?;
        let row = sqlx::query(sql_owned(
            self.journal.backend(),
            format!("SELECT {TOKEN_COLUMNS} WHERE name = $1"),
        ))
        .bind(name)
        .fetch_optional(self.journal.conn())
        .await?;
        let Some(token) = row.as_ref().map(token_from_row) else {
            return Err(StoreError::NotFound(format!("token {name:?}")));
        };
        if token.revoked_at_us.is_some() {
            return Ok(false);
        }
        let now_us = self.journal.now_us();
        sqlx::query("UPDATE api_tokens SET revoked_at_us = $1 WHERE id = $2")
            .bind(now_us)
            .bind(token.id)
            .execute(self.journal.conn())
            .await?;
        let before = json!({"name": name, "scopes": token.scopes, "prefix": token.prefix});
        let mut after = before.clone();
        after["revoked"] = json!(true);
        self.journal
            .record(Change::of_upsert(
                Domain::ApiToken,
                name.to_owned(),
                Some(before),
                after,
                ChangeScope::default(),
            ))
            .await?;
        Ok(true)
    }
}

impl Store {
    /// Every token, oldest first.
    pub async fn api_tokens(&self) -> Result<Vec<StoredApiToken>, StoreError> {
        let rows = sqlx::query(sql_owned(
            self.backend,
            format!("SELECT {TOKEN_COLUMNS} ORDER BY id"),
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(token_from_row).collect())
    }

    /// The token whose secret hashes to `secret_sha256`, revoked or not.
    pub async fn api_token_by_hash(
        &self,
        secret_sha256: &str,
    ) -> Result<Option<StoredApiToken>, StoreError> {
        let row = sqlx::query(sql_owned(
            self.backend,
            format!("SELECT {TOKEN_COLUMNS} WHERE token_sha256 = $1"),
        ))
        .bind(secret_sha256)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(token_from_row))
    }

    /// Reserve `key` of token `token_id` for a request hashing to `request_sha256` until
    /// `reserved_until_us`, or say what holds it: a kept answer, or a request in progress.
    /// A reservation whose lease ran out (its process died) is taken over.
    pub async fn reserve_idempotency_key(
        &self,
        token_id: i64,
        key: &str,
        request_sha256: &str,
        now_us: i64,
        reserved_until_us: i64,
    ) -> Result<IdempotentEntry, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys
                 (token_id, idempotency_key, request_sha256, status, body, created_at_us, reserved_until_us)
             VALUES ($1, $2, $3, 0, '', $4, $5)
             ON CONFLICT (token_id, idempotency_key) DO UPDATE
                 SET request_sha256 = excluded.request_sha256, created_at_us = excluded.created_at_us,
                     reserved_until_us = excluded.reserved_until_us
                 WHERE idempotency_keys.status = 0 AND idempotency_keys.reserved_until_us < $4",
        )
        .bind(token_id)
        .bind(key)
        .bind(request_sha256)
        .bind(now_us)
        .bind(reserved_until_us)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(IdempotentEntry::Reserved);
        }
        let row = sqlx::query(
            "SELECT request_sha256, status, body FROM idempotency_keys
             WHERE token_id = $1 AND idempotency_key = $2",
        )
        .bind(token_id)
        .bind(key)
        .fetch_one(&self.pool)
        .await?;
        let status: i64 = row.get(1);
        Ok(if status == 0 {
            IdempotentEntry::InProgress {
                request_sha256: row.get(0),
            }
        } else {
            IdempotentEntry::Answered {
                request_sha256: row.get(0),
                status: u16::try_from(status).unwrap_or(500),
                body: row.get(2),
            }
        })
    }

    /// Keep the answer to the request that reserved `key` (replayed to its repeats).
    pub async fn keep_idempotent_answer(
        &self,
        token_id: i64,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET status = $1, body = $2
             WHERE token_id = $3 AND idempotency_key = $4 AND status = 0",
        )
        .bind(i64::from(status))
        .bind(body)
        .bind(token_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Free `key` after a request that changed nothing failed, so that it may be tried again.
    pub async fn release_idempotency_key(
        &self,
        token_id: i64,
        key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE token_id = $1 AND idempotency_key = $2 AND status = 0",
        )
        .bind(token_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
