-- Receivables (issue 11): payments in and what they settle. Invoices and credit notes are the
-- ledger's charges as issued (`documents`); these tables add the money that came in and where
-- it went. Every row is written once and never changed: a payment assigned by hand later is a
-- new allocation, and a payment is never deleted.

-- One imported payment file, by the SHA-256 of its bytes: the same file again changes nothing.
CREATE TABLE payment_files (
    id             INTEGER PRIMARY KEY,
    sha256         TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    format         TEXT    NOT NULL CHECK (format IN ('ocr', 'camt')),
    payments       INTEGER NOT NULL,
    total_minor    INTEGER NOT NULL,
    imported_at_us INTEGER NOT NULL
);

-- One payment into the utility's account. `bank_reference` is the bank's own key (OCR archive
-- reference, camt AcctSvcrRef): the same payment twice is refused.
CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    file_id         INTEGER REFERENCES payment_files (id),
    line            INTEGER NOT NULL,
    bank_reference  TEXT    NOT NULL UNIQUE,
    booking_date    TEXT    NOT NULL,
    amount_minor    INTEGER NOT NULL,
    currency        TEXT    NOT NULL,
    reference_kind  TEXT    NOT NULL,
    reference       TEXT,
    payer_name      TEXT,
    payer_account   TEXT,
    free_text       TEXT,
    payee_account   TEXT    NOT NULL,
    recorded_at_us  INTEGER NOT NULL
);
CREATE INDEX payments_by_date ON payments (booking_date);

-- Where a payment's money went: to an invoice (`document_id`), or to the account as a credit
-- (`document_id` NULL) that the account's next invoice draws on. `rule` says how it was
-- matched (kid, reference, amount, manual, credit) and `evidence` what matched.
CREATE TABLE payment_allocations (
    id             INTEGER PRIMARY KEY,
    payment_id     INTEGER NOT NULL REFERENCES payments (id),
    account_id     TEXT    NOT NULL REFERENCES accounts (account_id),
    document_id    INTEGER REFERENCES documents (id),
    amount_minor   INTEGER NOT NULL,
    rule           TEXT    NOT NULL,
    evidence       TEXT    NOT NULL,
    allocated_by   TEXT    NOT NULL,
    allocated_at_us INTEGER NOT NULL
);
CREATE INDEX payment_allocations_by_payment ON payment_allocations (payment_id);
CREATE INDEX payment_allocations_by_account ON payment_allocations (account_id);
CREATE INDEX payment_allocations_by_document ON payment_allocations (document_id);
CREATE INDEX documents_by_kid ON documents (kid);

-- Dunning steps taken, one row each and never changed: a reminder, a collection notice or the
-- handover of an invoice, with its fee (a charge on the invoice's claim) and deadline. A step
-- of an invoice is taken once (two runs at once cannot both take it).
CREATE TABLE dunning_steps (
    id             INTEGER PRIMARY KEY,
    document_id    INTEGER NOT NULL REFERENCES documents (id),
    account_id     TEXT    NOT NULL REFERENCES accounts (account_id),
    step           TEXT    NOT NULL CHECK (step IN ('reminder', 'collection_notice', 'handover')),
    step_index     INTEGER NOT NULL,
    sent_on        TEXT    NOT NULL,
    deadline       TEXT,
    fee_minor      INTEGER NOT NULL,
    rule           TEXT    NOT NULL,
    run_at_us      INTEGER NOT NULL,
    UNIQUE (document_id, step_index)
);
CREATE INDEX dunning_steps_by_account ON dunning_steps (account_id);
