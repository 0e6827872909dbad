//! Documents as sent: the issuer's profile (versioned text, parsed by the app), the bytes of
//! every document as first rendered (immutable, with their SHA-256), and each document's
//! delivery — its channel, a claim while a sender works on it, every attempt and its result.
//!
//! A rendition is written once: two processes rendering the same document at once both get
//! the bytes that were stored first. A delivery is claimed (status `sending`, a lease, a claim
//! counter) before anything leaves the system, and its result is recorded only while that
//! claim stands, so two senders never deliver one document twice; a sender killed mid-send
//! leaves a claim that another takes over when the lease has run out.

use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::SqlBuilder;
use crate::journal::JournaledTx;
use crate::{Change, ChangeOp, ChangeScope, Domain, Store, StoreError, StoreTx, Upsert};

/// The issuer's profile as set, with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIssuerProfile {
    pub version: i64,
    pub body: String,
}

/// A document's bytes as first rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    pub document_id: i64,
    /// `xml` (EHF) or `pdf`.
    pub format: String,
    pub content: Vec<u8>,
    /// Lowercase hex SHA-256 of `content`.
    pub sha256: String,
    /// The issuer profile version it was rendered with.
    pub issuer_version: i64,
    pub rendered_at_us: i64,
}

/// How a document reaches its buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryChannel {
    /// EHF into the access point's outbox.
    Ehf,
    /// E-mail with the PDF attached.
    Email,
    /// Paper: in the print run's merged PDF.
    Print,
}

impl DeliveryChannel {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryChannel::Ehf => "ehf",
            DeliveryChannel::Email => "email",
            DeliveryChannel::Print => "print",
        }
    }

    fn parse(code: &str) -> Result<Self, StoreError> {
        match code {
            "ehf" => Ok(DeliveryChannel::Ehf),
            "email" => Ok(DeliveryChannel::Email),
            "print" => Ok(DeliveryChannel::Print),
            other => Err(crate::sql_values::bad("deliveries.channel", other)),
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not yet tried.
    Pending,
    /// A sender holds it (until its lease runs out).
    Sending,
    Delivered,
    /// The last attempt failed; it is tried again from `next_attempt_at`, or has given up
    /// (no next attempt) and is reported.
    Failed,
    /// It cannot be made or sent as it stands (its reason in `detail`); nothing was sent.
    Held,
}

impl DeliveryStatus {
    pub fn code(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Held => "held",
        }
    }

    fn parse(code: &str) -> Result<Self, StoreError> {
        Ok(match code {
            "pending" => DeliveryStatus::Pending,
            "sending" => DeliveryStatus::Sending,
            "delivered" => DeliveryStatus::Delivered,
            "failed" => DeliveryStatus::Failed,
            "held" => DeliveryStatus::Held,
            other => return Err(crate::sql_values::bad("deliveries.status", other)),
        })
    }
}

/// A delivery to plan: the channel chosen for a document and where it goes, or why it is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub document_id: i64,
    pub channel: DeliveryChannel,
    /// The e-mail address, the buyer's Peppol id, or the postal address as one line.
    pub destination: String,
    /// `Some(reason)`: held from the start (e.g. the buyer has no address).
    pub held: Option<String>,
}

/// A delivery a sender has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub document_id: i64,
    pub channel: DeliveryChannel,
    pub destination: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The claim number to record the result under.
    pub claim: i64,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// Delivered; `detail` says where (the message id, the outbox file).
    Delivered { detail: String },
    /// Failed; tried again at `retry_at_us`, or never again (`None`: gave up, reported).
    Failed {
        detail: String,
        retry_at_us: Option<i64>,
    },
    /// Cannot be made or sent as it stands.
    Held { reason: String },
}

/// One document's delivery as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryState {
    pub document_id: i64,
    pub number: String,
    pub channel: DeliveryChannel,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub destination: String,
    pub detail: Option<String>,
    pub next_attempt_at_us: Option<i64>,
    pub delivered_at_us: Option<i64>,
}

impl StoreTx {
    /// Set the issuer's profile; identical text is unchanged, other text a new version.
    pub async fn set_issuer_profile(&mut self, body: &str) -> Result<Upsert, StoreError> {
        self.journal.lock_series("issuer_profile").await?;
        let latest =
            sqlx::query("SELECT version, body FROM issuer_profiles ORDER BY version DESC LIMIT 1")
                .fetch_optional(self.journal.conn())
                .await?;
        let (version, before) = match latest {
            Some(row) if row.get::<String, _>(1) == body => return Ok(Upsert::Unchanged),
            Some(row) => {
                let version: i64 = row.get(0);
                let old: String = row.get(1);
                (version + 1, Some(json!({"version": version, "body": old})))
            }
            None => (1, None),
        };
        sqlx::query(
            "INSERT INTO issuer_profiles (version, body, recorded_at_us) VALUES ($1, $2, $3)",
        )
        .bind(version)
        .bind(body)
        .bind(self.journal.now_us())
        .execute(self.journal.conn())
        .await?;
        self.journal
            .record(Change::of_upsert(
                Domain::Issuer,
                "issuer".to_owned(),
                before,
                json!({"version": version, "body": body}),
                ChangeScope::default(),
            ))
            .await?;
        Ok(if version == 1 {
            Upsert::Inserted
        } else {
            Upsert::Updated
        })
    }
}

impl Store {
    /// The issuer's profile: the latest version, or the one numbered `version`.
    pub async fn issuer_profile(
        &self,
        version: Option<i64>,
    ) -> Result<Option<StoredIssuerProfile>, StoreError> {
        let row = match version {
            Some(version) => {
                sqlx::query("SELECT version, body FROM issuer_profiles WHERE version = $1")
                    .bind(version)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(
                    "SELECT version, body FROM issuer_profiles ORDER BY version DESC LIMIT 1",
                )
                .fetch_optional(&self.pool)
                .await?
            }
        };
        Ok(row.map(|row| StoredIssuerProfile {
            version: row.get(0),
            body: row.get(1),
        }))
    }

    /// The stored rendition of a document in `format`, if it was rendered.
    pub async fn rendition(
        &self,
        document_id: i64,
        format: &str,
    ) -> Result<Option<Rendition>, StoreError> {
        let row = sqlx::query(
            "SELECT content, sha256, issuer_version, rendered_at_us FROM document_renditions
             WHERE document_id = $1 AND format = $2",
        )
        .bind(document_id)
        .bind(format)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let rendition = Rendition {
            document_id,
            format: format.to_owned(),
            content: row.get(0),
            sha256: row.get(1),
            issuer_version: row.get(2),
            rendered_at_us: row.get(3),
        };
        if sha256_hex(&rendition.content) != rendition.sha256 {
            return Err(crate::sql_values::bad(
                "document_renditions.sha256",
                &format!("{} of document {document_id}", rendition.sha256),
            ));
        }
        Ok(Some(rendition))
    }

    /// Keep `content` as the rendition of a document in `format`, unless one is stored
    /// already; returns what is stored (the earlier bytes if another process was first).
    pub async fn keep_rendition(
        &self,
        document_id: i64,
        format: &str,
        content: Vec<u8>,
        issuer_version: i64,
        now: jiff::Timestamp,
    ) -> Result<Rendition, StoreError> {
        if let Some(stored) = self.rendition(document_id, format).await? {
            return Ok(stored);
        }
        let sha256 = sha256_hex(&content);
        let mut tx = JournaledTx::begin(
            self,
            "rendition",
            &format!("document {document_id}"),
            now.as_microsecond(),
        )
        .await?;
        let number: Option<(String, i64)> =
            sqlx::query_as("SELECT series, number FROM documents WHERE id = $1")
                .bind(document_id)
                .fetch_optional(tx.conn())
                .await?;
        let Some((series, number)) = number else {
            return Err(StoreError::NotFound(format!("document {document_id}")));
        };
        let inserted = sqlx::query(
            "INSERT INTO document_renditions (document_id, format, content, sha256, size_bytes, issuer_version, rendered_at_us)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (document_id, format) DO NOTHING",
        )
        .bind(document_id)
        .bind(format)
        .bind(&content)
        .bind(&sha256)
        .bind(content.len() as i64)
        .bind(issuer_version)
        .bind(tx.now_us())
        .execute(tx.conn())
        .await?
        .rows_affected();
        if inserted == 1 {
            let key = format!(
                "{}/{format}",
                nordlys_core::document::display_number(&series, number)
            );
            tx.record(Change {
                domain: Domain::Document,
                key,
                op: ChangeOp::Create,
                before: None,
                after: Some(json!({
                    "number": nordlys_core::document::display_number(&series, number),
                    "format": format,
                    "sha256": sha256,
                    "size_bytes": content.len(),
                    "issuer_version": issuer_version,
                })),
                scope: ChangeScope::default(),
            })
            .await?;
        }
        tx.commit().await?;
        self.rendition(document_id, format)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("rendition of document {document_id}")))
    }

    /// Issued documents to plan a delivery for, oldest first: those without one, and those
    /// held (planned again, in case what held them has been fixed); of one period if given.
    pub async fn documents_to_plan(&self, period: Option<&str>) -> Result<Vec<i64>, StoreError> {
        let mut query = SqlBuilder::new(
            "SELECT d.id FROM documents d LEFT JOIN deliveries x ON x.document_id = d.id
             WHERE (x.document_id IS NULL OR x.status = 'held')",
        );
        of_period(&mut query, period);
        query.push(" ORDER BY d.id");
        let rows: Vec<i64> = query
            .build(self.backend)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        Ok(rows)
    }

    /// Plan deliveries (idempotent): a document without a delivery gets the one planned; a held
    /// one is planned again when it is no longer held; any other keeps its own. Returns how
    /// many were planned (new, or released from being held).
    pub async fn plan_deliveries(
        &self,
        planned: &[PlannedDelivery],
        now: jiff::Timestamp,
    ) -> Result<u64, StoreError> {
        let mut tx = JournaledTx::begin(self, "delivery", "plan", now.as_microsecond()).await?;
        let mut new = 0;
        for delivery in planned {
            let status = match delivery.held {
                Some(_) => DeliveryStatus::Held,
                None => DeliveryStatus::Pending,
            };
            let standing: Option<String> = sqlx::query_scalar(crate::db::sql(
                self.backend,
                "SELECT status FROM deliveries WHERE document_id = $1 FOR UPDATE",
            ))
            .bind(delivery.document_id)
            .fetch_optional(tx.conn())
            .await?;
            match standing.as_deref() {
                None => {}
                Some("held") if delivery.held.is_none() => {
                    sqlx::query(
                        "UPDATE deliveries SET channel = $1, status = 'pending', destination = $2, detail = NULL
                         WHERE document_id = $3",
                    )
                    .bind(delivery.channel.code())
                    .bind(&delivery.destination)
                    .bind(delivery.document_id)
                    .execute(tx.conn())
                    .await?;
                    new += 1;
                    let record = DeliveryRecord {
                        channel: delivery.channel,
                        status: DeliveryStatus::Pending,
                        destination: Some(&delivery.destination),
                        attempt: None,
                        detail: Some("no longer held"),
                    };
                    journal_delivery(&mut tx, delivery.document_id, ChangeOp::Update, record)
                        .await?;
                    continue;
                }
                Some(_) => continue,
            }
            let inserted = sqlx::query(
                "INSERT INTO deliveries (document_id, channel, status, destination, detail)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (document_id) DO NOTHING",
            )
            .bind(delivery.document_id)
            .bind(delivery.channel.code())
            .bind(status.code())
            .bind(&delivery.destination)
            .bind(delivery.held.as_deref())
            .execute(tx.conn())
            .await?
            .rows_affected();
            if inserted == 1 {
                new += 1;
                if let Some(reason) = &delivery.held {
                    insert_attempt(
                        &mut tx,
                        delivery.document_id,
                        1,
                        delivery.channel,
                        "held",
                        reason,
                    )
                    .await?;
                    sqlx::query("UPDATE deliveries SET attempts = 1 WHERE document_id = $1")
                        .bind(delivery.document_id)
                        .execute(tx.conn())
                        .await?;
                }
                let record = DeliveryRecord {
                    channel: delivery.channel,
                    status,
                    destination: Some(&delivery.destination),
                    attempt: None,
                    detail: delivery.held.as_deref(),
                };
                journal_delivery(&mut tx, delivery.document_id, ChangeOp::Create, record).await?;
            }
        }
        tx.commit().await?;
        Ok(new)
    }

    /// Claim up to `limit` deliveries that are due: pending ones, failed ones whose next attempt
    /// came by `retries_due_by` (a sender passes the time it started, so what fails during its
    /// run waits for the next run), and ones whose sender's lease ran out. Each is `sending`
    /// under a new claim number with a lease until `lease_until`. Of one channel if given.
    pub async fn claim_deliveries(
        &self,
        channel: Option<DeliveryChannel>,
        limit: i64,
        now: jiff::Timestamp,
        retries_due_by: jiff::Timestamp,
        lease_until: jiff::Timestamp,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let now_us = now.as_microsecond();
        let mut tx = crate::journal::begin_write(self).await?;
        let mut select = SqlBuilder::new(
            "SELECT document_id FROM deliveries WHERE (status = 'pending' OR (status = 'failed' AND next_attempt_at_us IS NOT NULL AND next_attempt_at_us <= ",
        );
        select
            .bind(retries_due_by.as_microsecond())
            .push(") OR (status = 'sending' AND lease_until_us < ")
            .bind(now_us)
            .push("))");
        if let Some(channel) = channel {
            select.push(" AND channel = ").bind(channel.code());
        }
        select
            .push(" ORDER BY document_id LIMIT ")
            .bind(limit)
            .push(" FOR UPDATE SKIP LOCKED");
        let ids: Vec<i64> = select
            .build(self.backend)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query(
                "UPDATE deliveries SET status = 'sending', claim = claim + 1, lease_until_us = $1
                 WHERE document_id = $2 RETURNING channel, destination, attempts, claim",
            )
            .bind(lease_until.as_microsecond())
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(ClaimedDelivery {
                document_id: id,
                channel: DeliveryChannel::parse(row.get(0))?,
                destination: row.get(1),
                attempts: row.get(2),
                claim: row.get(3),
            });
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Record the result of an attempt under `claim`; `ClaimLost` if the claim no longer
    /// stands (another sender took the delivery over), and then nothing is recorded.
    pub async fn record_delivery_attempt(
        &self,
        delivery: &ClaimedDelivery,
        result: &AttemptResult,
        now: jiff::Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = JournaledTx::begin(
            self,
            "delivery",
            &format!("document {}", delivery.document_id),
            now.as_microsecond(),
        )
        .await?;
        let standing: Option<i64> = sqlx::query_scalar(crate::db::sql(
            self.backend,
            "SELECT claim FROM deliveries WHERE document_id = $1 AND status = 'sending' FOR UPDATE",
        ))
        .bind(delivery.document_id)
        .fetch_optional(tx.conn())
        .await?;
        if standing != Some(delivery.claim) {
            return Err(StoreError::DeliveryClaimLost {
                document_id: delivery.document_id,
            });
        }
        let attempt = delivery.attempts + 1;
        let (status, detail, next_us, delivered_us) = match result {
            AttemptResult::Delivered { detail } => {
                (DeliveryStatus::Delivered, detail, None, Some(tx.now_us()))
            }
            AttemptResult::Failed {
                detail,
                retry_at_us,
            } => (DeliveryStatus::Failed, detail, *retry_at_us, None),
            AttemptResult::Held { reason } => (DeliveryStatus::Held, reason, None, None),
        };
        insert_attempt(
            &mut tx,
            delivery.document_id,
            attempt,
            delivery.channel,
            match status {
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Held => "held",
                _ => "failed",
            },
            detail,
        )
        .await?;
        sqlx::query(
            "UPDATE deliveries SET status = $1, attempts = $2, lease_until_us = NULL,
                    next_attempt_at_us = $3, delivered_at_us = $4, detail = $5
             WHERE document_id = $6",
        )
        .bind(status.code())
        .bind(attempt)
        .bind(next_us)
        .bind(delivered_us)
        .bind(detail)
        .bind(delivery.document_id)
        .execute(tx.conn())
        .await?;
        let record = DeliveryRecord {
            channel: delivery.channel,
            status,
            destination: None,
            attempt: Some(attempt),
            detail: Some(detail),
        };
        journal_delivery(&mut tx, delivery.document_id, ChangeOp::Update, record).await?;
        tx.commit().await
    }

    /// Deliveries as they stand, by document id; of one period if given.
    pub async fn deliveries(&self, period: Option<&str>) -> Result<Vec<DeliveryState>, StoreError> {
        let mut query = SqlBuilder::new(
            "SELECT x.document_id, d.series, d.number, x.channel, x.status, x.attempts,
                    x.destination, x.detail, x.next_attempt_at_us, x.delivered_at_us
             FROM deliveries x JOIN documents d ON d.id = x.document_id WHERE 1 = 1",
        );
        of_period(&mut query, period);
        query.push(" ORDER BY x.document_id");
        let rows = query.build(self.backend).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryState {
                    document_id: row.get(0),
                    number: nordlys_core::document::display_number(
                        &row.get::<String, _>(1),
                        row.get(2),
                    ),
                    channel: DeliveryChannel::parse(row.get(3))?,
                    status: DeliveryStatus::parse(row.get(4))?,
                    attempts: row.get(5),
                    destination: row.get(6),
                    detail: row.get(7),
                    next_attempt_at_us: row.get(8),
                    delivered_at_us: row.get(9),
                })
            })
            .collect()
    }

    /// Every attempt of one document's delivery, in order: (attempt, channel, at, result, detail).
    pub async fn delivery_attempts(
        &self,
        document_id: i64,
    ) -> Result<Vec<(i64, String, i64, String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT attempt, channel, at_us, result, detail FROM delivery_attempts
             WHERE document_id = $1 ORDER BY attempt",
        )
        .bind(document_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

/// ` AND d.period = …` when a period is given (`d`: the documents table).
fn of_period(query: &mut SqlBuilder, period: Option<&str>) {
    if let Some(period) = period {
        query.push(" AND d.period = ").bind(period.to_owned());
    }
}

async fn insert_attempt(
    tx: &mut JournaledTx,
    document_id: i64,
    attempt: i64,
    channel: DeliveryChannel,
    result: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO delivery_attempts (document_id, attempt, channel, at_us, result, detail)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(document_id)
    .bind(attempt)
    .bind(channel.code())
    .bind(tx.now_us())
    .bind(result)
    .bind(detail)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// What a delivery's journal record says (domain `delivery`, keyed by the document's number).
struct DeliveryRecord<'a> {
    channel: DeliveryChannel,
    status: DeliveryStatus,
    destination: Option<&'a str>,
    attempt: Option<i64>,
    detail: Option<&'a str>,
}

async fn journal_delivery(
    tx: &mut JournaledTx,
    document_id: i64,
    op: ChangeOp,
    record: DeliveryRecord<'_>,
) -> Result<(), StoreError> {
    let number = document_number(tx, document_id).await?;
    let mut after = json!({
        "number": number,
        "channel": record.channel.code(),
        "status": record.status.code(),
        "detail": record.detail,
    });
    if let Some(destination) = record.destination {
        after["destination"] = json!(destination);
    }
    if let Some(attempt) = record.attempt {
        after["attempt"] = json!(attempt);
    }
    tx.record(Change {
        domain: Domain::Delivery,
        key: number,
        op,
        before: None,
        after: Some(after),
        scope: ChangeScope::default(),
    })
    .await
}

async fn document_number(tx: &mut JournaledTx, document_id: i64) -> Result<String, StoreError> {
    let (series, number): (String, i64) =
        sqlx::query_as("SELECT series, number FROM documents WHERE id = $1")
            .bind(document_id)
            .fetch_one(tx.conn())
            .await?;
    Ok(nordlys_core::document::display_number(&series, number))
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
