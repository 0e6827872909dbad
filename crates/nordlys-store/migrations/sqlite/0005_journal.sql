-- The change journal: every write appends change records in the same transaction as the data
-- (see src/journal.rs), and history for the billing inputs that were overwritten in place
-- (exchange rates, usage quantities): a changed value is a new version, as for spot prices.

-- One row per write transaction (an import, later a settlement batch).
CREATE TABLE store_transactions (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    started_at_us INTEGER NOT NULL
);

CREATE TABLE changes (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,  -- commit-ordered (one writer; BEGIN IMMEDIATE)
    tx_id          INTEGER NOT NULL REFERENCES store_transactions (id),
    domain         TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    op             TEXT    NOT NULL CHECK (op IN ('create', 'update', 'delete')),
    schema_version INTEGER NOT NULL,
    before         TEXT,   -- JSON text, external schema `schema_version`
    after          TEXT,   -- JSON text
    changed_at_us  INTEGER NOT NULL,
    -- scope, for finding the settlements a change can affect (NULL: not applicable)
    metering_point INTEGER,
    price_area     TEXT,
    contract_id    TEXT,
    product_code   TEXT,
    first_utc_day  INTEGER,
    last_utc_day   INTEGER
);
CREATE INDEX changes_by_domain ON changes (domain, seq);
CREATE INDEX changes_by_key ON changes (domain, key, seq);

-- Exchange rates, versioned: (date, base, quote, version). Rows from before this migration
-- become version 1, recorded at the epoch (their recording time was not kept) by no transaction.
CREATE TABLE exchange_rate_versions (
    date           TEXT    NOT NULL,
    base           TEXT    NOT NULL,
    quote          TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    rate           TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    tx_id          INTEGER REFERENCES store_transactions (id),
    PRIMARY KEY (date, base, quote, version)
) WITHOUT ROWID;
INSERT INTO exchange_rate_versions (date, base, quote, version, rate, recorded_at_us, tx_id)
    SELECT date, base, quote, 1, rate, 0, NULL FROM exchange_rates;
DROP TABLE exchange_rates;
ALTER TABLE exchange_rate_versions RENAME TO exchange_rates;

-- Usage quantities, versioned: (contract, date, component, version). Existing rows become
-- version 1 with the time they were recorded at.
CREATE TABLE usage_quantity_versions (
    contract_id    TEXT    NOT NULL REFERENCES contracts (contract_id),
    date           TEXT    NOT NULL,
    component      TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    quantity       TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    tx_id          INTEGER REFERENCES store_transactions (id),
    PRIMARY KEY (contract_id, date, component, version)
) WITHOUT ROWID;
INSERT INTO usage_quantity_versions (contract_id, date, component, version, quantity, recorded_at_us, tx_id)
    SELECT contract_id, date, component, 1, quantity, recorded_at_us, NULL FROM usage_quantities;
DROP TABLE usage_quantities;
ALTER TABLE usage_quantity_versions RENAME TO usage_quantities;
