-- Server secrets (the key of replay and stamp hashes).
CREATE TABLE secrets (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) WITHOUT ROWID;

-- Replay hashes and spent stamps keep the day only (its end, in
-- microseconds), never the arrival time.
UPDATE replay SET at = at - (at % 86400000000) + 86400000000;
UPDATE hashcash SET at = at - (at % 86400000000) + 86400000000;
