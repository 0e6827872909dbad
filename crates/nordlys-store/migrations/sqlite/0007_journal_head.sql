-- The journal's head: the last sequence number given out. Journal appends take its row lock as
-- the last step of their transaction, which makes `changes.seq` commit-ordered and gapless on
-- every backend (see src/journal.rs).
CREATE TABLE journal_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq INTEGER NOT NULL
);
INSERT INTO journal_head (id, last_seq) VALUES (1, (SELECT coalesce(max(seq), 0) FROM changes));
