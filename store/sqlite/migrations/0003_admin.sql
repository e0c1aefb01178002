-- The last outcome of feeding each peer, for nntpd peers and metrics.
CREATE TABLE peer_state (
	peer          TEXT    PRIMARY KEY,
	last_success  INTEGER,            -- NULL: never
	last_error_at INTEGER,            -- NULL: never
	last_error    TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;

-- A removed group (nntpd group remove) keeps its row, id and numbers, so
-- adding it again continues where it stopped; it is hidden until then.
ALTER TABLE groups ADD COLUMN removed_at INTEGER;
