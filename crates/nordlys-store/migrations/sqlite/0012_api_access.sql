-- Access to the HTTP API (issue 10).
-- Service accounts: a token is shown once when it is made; only its SHA-256 is kept.
CREATE TABLE api_tokens (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    scopes         TEXT    NOT NULL,
    token_sha256   TEXT    NOT NULL UNIQUE,
    token_prefix   TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL,
    revoked_at_us  INTEGER
);

-- The first answer to a POST with an Idempotency-Key, replayed to a repeat of it. A row with
-- status 0 is a request still being answered (reserved until reserved_until_us).
CREATE TABLE idempotency_keys (
    token_id          INTEGER NOT NULL,
    idempotency_key   TEXT    NOT NULL,
    request_sha256    TEXT    NOT NULL,
    status            INTEGER NOT NULL,
    body              TEXT    NOT NULL,
    created_at_us     INTEGER NOT NULL,
    reserved_until_us INTEGER NOT NULL,
    PRIMARY KEY (token_id, idempotency_key)
);
