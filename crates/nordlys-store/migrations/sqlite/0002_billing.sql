-- Products (as imported, versioned), settlement runs, issued documents (immutable), gapless
-- number series, per contract-period settlement state, and missing-basis tasks.

CREATE TABLE products (
    code           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    format         TEXT    NOT NULL,
    source         TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    import_id      INTEGER NOT NULL,
    PRIMARY KEY (code, version)
) WITHOUT ROWID;

CREATE TABLE number_series (
    series      TEXT PRIMARY KEY,
    next_number INTEGER NOT NULL
);

CREATE TABLE settlement_runs (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL,
    period         TEXT    NOT NULL,
    started_at_us  INTEGER NOT NULL,
    finished_at_us INTEGER,
    invoices       INTEGER NOT NULL DEFAULT 0,
    credit_notes   INTEGER NOT NULL DEFAULT 0,
    not_ready      INTEGER NOT NULL DEFAULT 0
);

-- Never updated once inserted.
CREATE TABLE documents (
    id           INTEGER PRIMARY KEY,
    kind         TEXT    NOT NULL,
    series       TEXT    NOT NULL,
    number       INTEGER NOT NULL,
    kid          TEXT    NOT NULL,
    account_id   TEXT    NOT NULL REFERENCES accounts (account_id),
    period       TEXT    NOT NULL,
    issue_date   TEXT    NOT NULL,
    due_date     TEXT    NOT NULL,
    currency     TEXT    NOT NULL,
    net          TEXT    NOT NULL,
    vat          TEXT    NOT NULL,
    gross        TEXT    NOT NULL,
    references_document INTEGER REFERENCES documents (id),
    run_id       INTEGER NOT NULL REFERENCES settlement_runs (id),
    issued_at_us INTEGER NOT NULL,
    UNIQUE (series, number)
);
CREATE INDEX documents_by_account ON documents (account_id, period);

CREATE TABLE document_lines (
    document_id  INTEGER NOT NULL REFERENCES documents (id),
    line_no      INTEGER NOT NULL,
    contract_id  TEXT    NOT NULL,
    period       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    code         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    from_date    TEXT    NOT NULL,
    to_date      TEXT    NOT NULL,
    quantity     TEXT    NOT NULL,
    unit         TEXT    NOT NULL,
    unit_price   TEXT    NOT NULL,
    net          TEXT    NOT NULL,
    vat_category TEXT    NOT NULL,
    vat_percent  TEXT    NOT NULL,
    explanation  TEXT    NOT NULL,
    PRIMARY KEY (document_id, line_no)
) WITHOUT ROWID;
CREATE INDEX document_lines_by_contract ON document_lines (contract_id, period);

CREATE TABLE document_vat (
    document_id INTEGER NOT NULL REFERENCES documents (id),
    category    TEXT    NOT NULL,
    percent     TEXT    NOT NULL,
    taxable     TEXT    NOT NULL,
    vat         TEXT    NOT NULL,
    PRIMARY KEY (document_id, category, percent)
) WITHOUT ROWID;

-- One row per settled contract-period: the guard against billing twice, and what a
-- correction compares against (the inputs' range and when they were last settled).
CREATE TABLE contract_settlements (
    contract_id    TEXT    NOT NULL REFERENCES contracts (contract_id),
    period         TEXT    NOT NULL,
    account_id     TEXT    NOT NULL,
    metering_point INTEGER,
    price_area     TEXT,
    first_utc_day  INTEGER NOT NULL,
    last_utc_day   INTEGER NOT NULL,
    settled_at_us  INTEGER NOT NULL,
    last_document  INTEGER NOT NULL REFERENCES documents (id),
    PRIMARY KEY (contract_id, period)
) WITHOUT ROWID;

-- Readings or prices missing for a contract-period: to be re-requested from the datahub.
CREATE TABLE missing_basis_tasks (
    contract_id       TEXT    NOT NULL,
    period            TEXT    NOT NULL,
    metering_point    TEXT,
    reason            TEXT    NOT NULL,
    first_seen_at_us  INTEGER NOT NULL,
    last_seen_at_us   INTEGER NOT NULL,
    resolved_at_us    INTEGER,
    PRIMARY KEY (contract_id, period)
) WITHOUT ROWID;

-- Quantities of usage-priced services (consulting hours …), per contract, day and component.
CREATE TABLE usage_quantities (
    contract_id    TEXT    NOT NULL REFERENCES contracts (contract_id),
    date           TEXT    NOT NULL,
    component      TEXT    NOT NULL,
    quantity       TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    PRIMARY KEY (contract_id, date, component)
) WITHOUT ROWID;
