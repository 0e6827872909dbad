-- no-transaction
-- Settlement integrity (issue 7):
-- * documents: a KID and a due date only where the document asks for payment (credit notes carry
--   neither unless the utility's policy says so); a correction may reference several originals.
-- * KIDs unique across every series of the utility: one counter for all KID-bearing documents and
--   a registry that refuses a KID twice. Legacy credit notes keep the KID they were issued with
--   (issued documents are never edited) but are not in the registry.
-- * contract_settlements: the journal sequence the settlement read up to (corrections look for
--   changes after it) and the product version and statutory tables it was rated with.
-- * run_locks: one billing run at a time, naming the run and process that holds it.
-- * missing_basis_tasks: a typed reason (code and details) beside the text.

-- Rebuild `documents` without NOT NULL on kid and due_date and without references_document
-- (SQLite's documented procedure for a changed column: foreign keys off outside the
-- transaction, and legacy_alter_table so that the other tables' foreign keys keep naming
-- "documents" and refer to the new table).
PRAGMA foreign_keys = OFF;
BEGIN;
PRAGMA legacy_alter_table = ON;
ALTER TABLE documents RENAME TO documents_before_0006;
CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    series       TEXT    NOT NULL,
    number       INTEGER NOT NULL,
    kid          TEXT,
    account_id   TEXT    NOT NULL REFERENCES accounts (account_id),
    period       TEXT    NOT NULL,
    issue_date   TEXT    NOT NULL,
    due_date     TEXT,
    currency     TEXT    NOT NULL,
    net          TEXT    NOT NULL,
    vat          TEXT    NOT NULL,
    gross        TEXT    NOT NULL,
    run_id       INTEGER NOT NULL REFERENCES settlement_runs (id),
    issued_at_us INTEGER NOT NULL,
    UNIQUE (series, number)
);
INSERT INTO documents (id, kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross, run_id, issued_at_us)
    SELECT id, kind, series, number, kid, account_id, period, issue_date, due_date, currency, net, vat, gross, run_id, issued_at_us
    FROM documents_before_0006;

-- The documents a correction corrects, in the order their lines were billed.
CREATE TABLE document_references (
    document_id            INTEGER NOT NULL REFERENCES documents (id),
    position               INTEGER NOT NULL,
    referenced_document_id INTEGER NOT NULL REFERENCES documents (id),
    PRIMARY KEY (document_id, position)
) WITHOUT ROWID;
INSERT INTO document_references (document_id, position, referenced_document_id)
    SELECT id, 1, references_document FROM documents_before_0006 WHERE references_document IS NOT NULL;

DROP TABLE documents_before_0006;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX documents_by_account ON documents (account_id, period);

CREATE TABLE kid_registry (
    kid         TEXT    PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents (id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO kid_registry (kid, document_id)
    SELECT kid, id FROM documents WHERE kind = 'invoice' AND kid IS NOT NULL ORDER BY id;

CREATE TABLE kid_counter (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    next_value INTEGER NOT NULL
);
INSERT INTO kid_counter (id, next_value) VALUES (1, (SELECT coalesce(max(number), 0) + 1 FROM documents));

-- revision: bumped by every correction, the compare-and-set guard of a correction.
ALTER TABLE contract_settlements ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contract_settlements ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE contract_settlements ADD COLUMN product_code TEXT;
ALTER TABLE contract_settlements ADD COLUMN product_version INTEGER;
ALTER TABLE contract_settlements ADD COLUMN statutory_version TEXT;
CREATE INDEX contract_settlements_by_point ON contract_settlements (metering_point);
CREATE INDEX contract_settlements_by_area ON contract_settlements (price_area);
CREATE INDEX contract_settlements_by_product ON contract_settlements (product_code);

ALTER TABLE settlement_runs ADD COLUMN holder_pid INTEGER;
ALTER TABLE settlement_runs ADD COLUMN holder_host TEXT;
ALTER TABLE settlement_runs ADD COLUMN read_seq INTEGER;

CREATE TABLE run_locks (
    name            TEXT    PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES settlement_runs (id),
    holder_pid      INTEGER NOT NULL,
    holder_host     TEXT    NOT NULL,
    acquired_at_us  INTEGER NOT NULL,
    heartbeat_at_us INTEGER NOT NULL
) WITHOUT ROWID;

ALTER TABLE missing_basis_tasks ADD COLUMN reason_code TEXT NOT NULL DEFAULT 'other';
ALTER TABLE missing_basis_tasks ADD COLUMN details TEXT;

COMMIT;
PRAGMA foreign_keys = ON;
