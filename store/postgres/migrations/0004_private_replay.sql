-- Server secrets (the key of replay and stamp hashes).
CREATE TABLE secrets (
	name  text  PRIMARY KEY,
	value bytea NOT NULL
);

-- Replay hashes and spent stamps keep the day only (its end, UTC), never
-- the arrival time.
UPDATE replay SET at = date_trunc('day', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day';
UPDATE hashcash SET at = date_trunc('day', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day';
