-- The day a metering point's Norgespris agreement took effect (local date, YYYY-MM-DD), if any.
ALTER TABLE metering_points ADD COLUMN norgespris_from TEXT;
