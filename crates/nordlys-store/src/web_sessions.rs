//! Sign-in to the web as stored: sessions and the development sign-in's one-time codes, each
//! kept by the SHA-256 of its secret (the cookie and the code are never stored), and the audit
//! log of staff actions and personal-data exports. Not journaled: none of it is business data.

use sqlx::Row;

use crate::{Store, StoreError};

/// Who a session or a code is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSubject {
    /// `customer` or `staff`.
    pub kind: String,
    /// The customer id, or the staff member's name.
    pub subject: String,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub subject: WebSubject,
    pub csrf_token: String,
    pub expires_at_us: i64,
}

/// A staff member who signs in with a password and a TOTP code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    pub name: String,
    /// argon2id, as a PHC string.
    pub password_hash: String,
    /// Base32.
    pub totp_secret: String,
    pub disabled: bool,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at_us: i64,
    pub actor_kind: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl Store {
    /// Store a session by the hash of its id.
    pub async fn create_web_session(
        &self,
        id_sha256: &str,
        subject: &WebSubject,
        csrf_token: &str,
        now_us: i64,
        expires_at_us: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO web_sessions (id_sha256, subject_kind, subject, csrf_token, created_at_us, expires_at_us)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id_sha256)
        .bind(&subject.kind)
        .bind(&subject.subject)
        .bind(csrf_token)
        .bind(now_us)
        .bind(expires_at_us)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The session whose id hashes to `id_sha256`, if it has not expired at `now_us`.
    pub async fn web_session(
        &self,
        id_sha256: &str,
        now_us: i64,
    ) -> Result<Option<WebSession>, StoreError> {
        let row = sqlx::query(
            "SELECT subject_kind, subject, csrf_token, expires_at_us FROM web_sessions
             WHERE id_sha256 = $1 AND expires_at_us > $2",
        )
        .bind(id_sha256)
        .bind(now_us)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| WebSession {
            subject: WebSubject {
                kind: row.get(0),
                subject: row.get(1),
            },
            csrf_token: row.get(2),
            expires_at_us: row.get(3),
        }))
    }

    /// End a session (sign-out), and every session that has expired by `now_us`.
    pub async fn end_web_session(&self, id_sha256: &str, now_us: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM web_sessions WHERE id_sha256 = $1 OR expires_at_us <= $2")
            .bind(id_sha256)
            .bind(now_us)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Store a one-time code by its hash.
    pub async fn create_sign_in_code(
        &self,
        code_sha256: &str,
        subject: &WebSubject,
        expires_at_us: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sign_in_codes (code_sha256, subject_kind, subject, expires_at_us)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(code_sha256)
        .bind(&subject.kind)
        .bind(&subject.subject)
        .bind(expires_at_us)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Use the code hashing to `code_sha256` for `subject`: `true` once, if it is unused and
    /// unexpired at `now_us`; every later use is refused.
    pub async fn use_sign_in_code(
        &self,
        code_sha256: &str,
        subject: &WebSubject,
        now_us: i64,
    ) -> Result<bool, StoreError> {
        let used = sqlx::query(
            "UPDATE sign_in_codes SET used_at_us = $1
             WHERE code_sha256 = $2 AND subject_kind = $3 AND subject = $4
               AND used_at_us IS NULL AND expires_at_us > $1",
        )
        .bind(now_us)
        .bind(code_sha256)
        .bind(&subject.kind)
        .bind(&subject.subject)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(used == 1)
    }

    /// Keep an OpenID sign-in in flight until its callback (or `expires_at_us`).
    pub async fn create_oidc_login(
        &self,
        state_sha256: &str,
        nonce: &str,
        pkce_verifier: &str,
        expires_at_us: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oidc_logins (state_sha256, nonce, pkce_verifier, expires_at_us) VALUES ($1, $2, $3, $4)",
        )
        .bind(state_sha256)
        .bind(nonce)
        .bind(pkce_verifier)
        .bind(expires_at_us)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Take the sign-in of `state_sha256` (once): its nonce and PKCE verifier, if it has not
    /// expired at `now_us`. Expired sign-ins are removed.
    pub async fn take_oidc_login(
        &self,
        state_sha256: &str,
        now_us: i64,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oidc_logins WHERE state_sha256 = $1 RETURNING nonce, pkce_verifier, expires_at_us",
        )
        .bind(state_sha256)
        .fetch_optional(&self.pool)
        .await?;
        sqlx::query("DELETE FROM oidc_logins WHERE expires_at_us <= $1")
            .bind(now_us)
            .execute(&self.pool)
            .await?;
        Ok(row
            .filter(|row| row.get::<i64, _>(2) > now_us)
            .map(|row| (row.get(0), row.get(1))))
    }

    /// The customer whose identity (national identity, CPR, organisation or CVR number) is
    /// `identity`, if exactly one has it.
    pub async fn customer_id_by_identity(
        &self,
        identity: &str,
    ) -> Result<Option<String>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("SELECT customer_id FROM customers WHERE identity = $1 LIMIT 2")
                .bind(identity)
                .fetch_all(&self.pool)
                .await?;
        Ok(match ids.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        })
    }

    /// Add a staff member; a name in use is refused.
    pub async fn create_staff_user(&self, user: &StaffUser, now_us: i64) -> Result<(), StoreError> {
        let taken: Option<String> =
            sqlx::query_scalar("SELECT name FROM staff_users WHERE name = $1")
                .bind(&user.name)
                .fetch_optional(&self.pool)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Rejected(nordlys_core::ParseError::new(
                "name",
                user.name.clone(),
                "a staff member of this name exists already",
            )));
        }
        sqlx::query(
            "INSERT INTO staff_users (name, password_hash, totp_secret, created_at_us) VALUES ($1, $2, $3, $4)",
        )
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(&user.totp_secret)
        .bind(now_us)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A staff member by name.
    pub async fn staff_user(&self, name: &str) -> Result<Option<StaffUser>, StoreError> {
        let row = sqlx::query(
            "SELECT name, password_hash, totp_secret, disabled_at_us FROM staff_users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|row| StaffUser {
            name: row.get(0),
            password_hash: row.get(1),
            totp_secret: row.get(2),
            disabled: row.get::<Option<i64>, _>(3).is_some(),
        }))
    }

    /// The customers holding an account whose document has KID `kid`.
    pub async fn customers_by_kid(&self, kid: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT a.customer_id FROM documents d JOIN accounts a ON a.account_id = d.account_id
             WHERE d.kid = $1 ORDER BY a.customer_id LIMIT 20",
        )
        .bind(kid)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The customers holding a contract on metering point `gsrn`, past or present.
    pub async fn customers_of_point(&self, gsrn: &str) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT a.customer_id FROM contracts c JOIN accounts a ON a.account_id = c.account_id
             JOIN metering_points m ON m.id = c.metering_point WHERE m.gsrn = $1 ORDER BY a.customer_id LIMIT 20",
        )
        .bind(gsrn)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The products of contracts of `role` (what the utility offers in that role).
    pub async fn product_codes_of_role(
        &self,
        role: nordlys_core::model::ContractRole,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT DISTINCT product_code FROM contracts WHERE role = $1 ORDER BY product_code",
        )
        .bind(role.code())
        .fetch_all(&self.pool)
        .await?)
    }

    /// Append to the audit log.
    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (at_us, actor_kind, actor, action, target, detail)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.at_us)
        .bind(&entry.actor_kind)
        .bind(&entry.actor)
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(&entry.detail)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest audit entries, of one target or all.
    pub async fn audit_log(
        &self,
        target: Option<&str>,
        limit: i64,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = match target {
            Some(target) => {
                sqlx::query(
                    "SELECT at_us, actor_kind, actor, action, target, detail FROM audit_log
                     WHERE target = $1 ORDER BY id DESC LIMIT $2",
                )
                .bind(target)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT at_us, actor_kind, actor, action, target, detail FROM audit_log
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows
            .iter()
            .map(|row| AuditEntry {
                at_us: row.get(0),
                actor_kind: row.get(1),
                actor: row.get(2),
                action: row.get(3),
                target: row.get(4),
                detail: row.get(5),
            })
            .collect())
    }
}
