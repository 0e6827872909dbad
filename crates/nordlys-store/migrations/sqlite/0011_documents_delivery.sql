-- Documents as sent and their delivery (issue 9).
-- The issuer's profile (seller per market, branding, payment terms) as set, versioned.
CREATE TABLE issuer_profiles (
    version        INTEGER PRIMARY KEY,
    body           TEXT    NOT NULL,
    recorded_at_us INTEGER NOT NULL
);

-- The bytes of a document as first rendered, kept immutably with their SHA-256: the document
-- a customer received can be produced again byte for byte.
CREATE TABLE document_renditions (
    document_id    INTEGER NOT NULL REFERENCES documents (id),
    format         TEXT    NOT NULL CHECK (format IN ('xml', 'pdf')),
    content        BLOB    NOT NULL,
    sha256         TEXT    NOT NULL,
    size_bytes     INTEGER NOT NULL,
    issuer_version INTEGER NOT NULL,
    rendered_at_us INTEGER NOT NULL,
    PRIMARY KEY (document_id, format)
);

-- One delivery per document: its channel, where it stands, and a claim while a sender works
-- on it (a lease, and a claim counter so a late sender of a lost claim cannot record).
CREATE TABLE deliveries (
    document_id        INTEGER NOT NULL PRIMARY KEY REFERENCES documents (id),
    channel            TEXT    NOT NULL CHECK (channel IN ('ehf', 'email', 'print')),
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'held')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    claim              INTEGER NOT NULL DEFAULT 0,
    lease_until_us     INTEGER,
    next_attempt_at_us INTEGER,
    delivered_at_us    INTEGER,
    destination        TEXT    NOT NULL,
    detail             TEXT
);
CREATE INDEX deliveries_by_status ON deliveries (status, next_attempt_at_us);

-- Every attempt, with its result: the trail customer service and the auditor read.
CREATE TABLE delivery_attempts (
    document_id INTEGER NOT NULL REFERENCES documents (id),
    attempt     INTEGER NOT NULL,
    channel     TEXT    NOT NULL,
    at_us       INTEGER NOT NULL,
    result      TEXT    NOT NULL CHECK (result IN ('delivered', 'failed', 'held')),
    detail      TEXT    NOT NULL,
    PRIMARY KEY (document_id, attempt)
);
