-- Moving in becomes a work order too (kind `move_in`): the customer names the supplier product
-- they choose, kept in `product_code` (NULL for the other kinds). SQLite cannot change a CHECK
-- constraint, so the table is made again and its rows copied.
CREATE TABLE work_orders_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL CHECK (kind IN ('move_out', 'move_in', 'postpone')),
    customer_id     TEXT    NOT NULL,
    account_id      TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    requested_date  TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('requested', 'approved', 'rejected')),
    requested_at_us INTEGER NOT NULL,
    decided_by      TEXT,
    decided_at_us   INTEGER,
    decision_note   TEXT,
    product_code    TEXT
);
INSERT INTO work_orders_new (id, kind, customer_id, account_id, subject, requested_date, detail,
        status, requested_at_us, decided_by, decided_at_us, decision_note)
    SELECT id, kind, customer_id, account_id, subject, requested_date, detail,
        status, requested_at_us, decided_by, decided_at_us, decision_note
    FROM work_orders;
DROP TABLE work_orders;
ALTER TABLE work_orders_new RENAME TO work_orders;
CREATE INDEX work_orders_by_status ON work_orders (status, id);
CREATE INDEX work_orders_by_customer ON work_orders (customer_id, id);
