-- Sign-in to the web (issue 10). Not business data, so not journaled: sessions and one-time
-- codes are kept by the SHA-256 of their secret only; the audit log is its own append-only trail.
CREATE TABLE web_sessions (
    id_sha256      TEXT    PRIMARY KEY,
    subject_kind   TEXT    NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject        TEXT    NOT NULL,
    csrf_token     TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL,
    expires_at_us  INTEGER NOT NULL
);

-- One-time sign-in codes of the development sign-in (demo mode only).
CREATE TABLE sign_in_codes (
    code_sha256    TEXT    PRIMARY KEY,
    subject_kind   TEXT    NOT NULL CHECK (subject_kind IN ('customer', 'staff')),
    subject        TEXT    NOT NULL,
    expires_at_us  INTEGER NOT NULL,
    used_at_us     INTEGER
);

-- Staff actions and every export of personal data: who, when, what, about whom.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at_us       INTEGER NOT NULL,
    actor_kind  TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);
CREATE INDEX audit_log_by_target ON audit_log (target, id);

-- A sign-in through an OpenID provider in flight: the state (by its hash), the nonce and the
-- PKCE verifier the callback needs, used once.
CREATE TABLE oidc_logins (
    state_sha256   TEXT    PRIMARY KEY,
    nonce          TEXT    NOT NULL,
    pkce_verifier  TEXT    NOT NULL,
    expires_at_us  INTEGER NOT NULL
);

-- Staff who sign in to the back-office with a password (argon2id, PHC string) and a TOTP code
-- (RFC 6238; the base32 secret). Made and disabled with `nordlys staff`, each in the audit log.
CREATE TABLE staff_users (
    name           TEXT    PRIMARY KEY,
    password_hash  TEXT    NOT NULL,
    totp_secret    TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL,
    disabled_at_us INTEGER
);

-- Work orders: what a customer asked for that changes their contracts or documents (a move out
-- of a metering point, a postponed due date), and what staff or the rules decided. Journaled
-- (domain work_order).
CREATE TABLE work_orders (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('move_out', 'postpone')),
    customer_id     TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    requested_date  TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    requested_at_us INTEGER NOT NULL,
    decided_by      TEXT,
    decided_at_us   INTEGER,
    decision_note   TEXT
);
CREATE INDEX work_orders_by_status ON work_orders (status, id);
CREATE INDEX work_orders_by_customer ON work_orders (customer_id, id);
