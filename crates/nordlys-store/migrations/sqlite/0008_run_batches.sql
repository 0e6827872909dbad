-- Settlement that scales out: a run's accounts in batches (partitioned by a hash of the
-- account id) that worker processes claim with a time-limited lease they renew. A batch is
-- done in the same transaction as its invoices; a killed worker's batch is claimed again when
-- its lease runs out (`claim` counts the claims, so a late commit of a lost claim fails).
CREATE TABLE run_batches (
    run_id         INTEGER NOT NULL REFERENCES settlement_runs (id),
    batch_no       INTEGER NOT NULL,
    accounts       TEXT    NOT NULL,  -- JSON array of account ids
    account_count  INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'claimed', 'done', 'failed')),
    claim          INTEGER NOT NULL DEFAULT 0,
    worker         TEXT,
    lease_until_us INTEGER,
    claimed_at_us  INTEGER,
    finished_at_us INTEGER,
    invoices       INTEGER NOT NULL DEFAULT 0,
    not_ready      INTEGER NOT NULL DEFAULT 0,
    elapsed_ms     INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    PRIMARY KEY (run_id, batch_no)
);
CREATE INDEX run_batches_by_status ON run_batches (status, run_id, batch_no);
-- How the run was made: 'single' (one process) or 'batched' (its batches, any worker), with
-- the billing policy the workers apply (JSON) and the statutory tables' fingerprint.
ALTER TABLE settlement_runs ADD COLUMN mode TEXT NOT NULL DEFAULT 'single';
ALTER TABLE settlement_runs ADD COLUMN policy TEXT;
ALTER TABLE settlement_runs ADD COLUMN statutory_version TEXT;
