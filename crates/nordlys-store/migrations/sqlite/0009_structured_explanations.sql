-- A document line's explanation, stored structured: a versioned JSON text written and read by
-- the store (`explanations.rs`: {"version":1,"items":[…]}). NULL on the lines issued before this
-- migration, whose explanation stays what it was, the newline-joined English text in
-- `explanation`, and reads back as one note per line of it. Later lines have '' there.
-- Issued lines are never edited: nothing is converted.
ALTER TABLE document_lines ADD COLUMN explanation_json TEXT;
