-- The last outcome of feeding each peer, for nntpd peers and metrics.
CREATE TABLE peer_state (
	peer          text        PRIMARY KEY,
	last_success  timestamptz,            -- NULL: never
	last_error_at timestamptz,            -- NULL: never
	last_error    text        NOT NULL DEFAULT ''
);

-- A removed group (nntpd group remove) keeps its row, id and numbers, so
-- adding it again continues where it stopped; it is hidden until then.
ALTER TABLE groups ADD COLUMN removed_at timestamptz;
