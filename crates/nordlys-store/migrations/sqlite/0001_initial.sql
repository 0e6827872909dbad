-- Master data, imports, meter values (compact day chunks with versions), spot prices, exchange rates.
-- Times are integer Unix microseconds (UTC) or ISO dates as text; money and prices are decimal text.

CREATE TABLE imports (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    started_at_us INTEGER NOT NULL,
    rows          INTEGER NOT NULL DEFAULT 0,
    inserted      INTEGER NOT NULL DEFAULT 0,
    updated       INTEGER NOT NULL DEFAULT 0,
    unchanged     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE customers (
    customer_id  TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    country      TEXT NOT NULL,
    identity     TEXT NOT NULL,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    phone        TEXT NOT NULL,
    street       TEXT NOT NULL,
    postcode     TEXT NOT NULL,
    city         TEXT NOT NULL,
    municipality TEXT NOT NULL,
    county       TEXT NOT NULL
);

CREATE TABLE accounts (
    account_id        TEXT PRIMARY KEY,
    customer_id       TEXT NOT NULL REFERENCES customers (customer_id),
    payer_customer_id TEXT NOT NULL REFERENCES customers (customer_id),
    invoice_channel   TEXT NOT NULL,
    language          TEXT NOT NULL,
    email             TEXT NOT NULL,
    invoice_street    TEXT,
    invoice_postcode  TEXT,
    invoice_city      TEXT,
    invoice_municipality TEXT,
    invoice_county    TEXT
);

CREATE TABLE metering_points (
    id           INTEGER PRIMARY KEY,
    gsrn         TEXT NOT NULL UNIQUE,
    market       TEXT NOT NULL,
    price_area   TEXT NOT NULL,
    grid_owner   TEXT NOT NULL,
    resolution   TEXT NOT NULL,
    utility      TEXT NOT NULL,
    usage        TEXT NOT NULL,
    street       TEXT NOT NULL,
    postcode     TEXT NOT NULL,
    city         TEXT NOT NULL,
    municipality TEXT NOT NULL,
    county       TEXT NOT NULL
);

CREATE TABLE contracts (
    contract_id       TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (account_id),
    metering_point    INTEGER REFERENCES metering_points (id),
    product_code      TEXT NOT NULL,
    role              TEXT NOT NULL,
    start_date        TEXT NOT NULL,
    end_date          TEXT
);
CREATE INDEX contracts_by_point ON contracts (metering_point, role);
CREATE INDEX contracts_by_account ON contracts (account_id);

-- One row per metering point, UTC day and version. A version is never changed once a later
-- import has seen it; a changed reading makes a new version with the whole day.
CREATE TABLE meter_value_chunks (
    metering_point INTEGER NOT NULL REFERENCES metering_points (id),
    utc_day        INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    import_id      INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    PRIMARY KEY (metering_point, utc_day, version)
) WITHOUT ROWID;

CREATE TABLE spot_prices (
    area           TEXT    NOT NULL,
    start_us       INTEGER NOT NULL,
    version        INTEGER NOT NULL,
    end_us         INTEGER NOT NULL,
    price_per_mwh  TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL,
    import_id      INTEGER NOT NULL,
    PRIMARY KEY (area, start_us, version)
) WITHOUT ROWID;

CREATE TABLE exchange_rates (
    date           TEXT NOT NULL,
    base           TEXT NOT NULL,
    quote          TEXT NOT NULL,
    rate           TEXT NOT NULL,
    PRIMARY KEY (date, base, quote)
) WITHOUT ROWID;
