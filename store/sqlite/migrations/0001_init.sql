-- Times are Unix microseconds (INTEGER), so comparisons are exact and cheap.

CREATE TABLE groups (
	id          INTEGER PRIMARY KEY,
	name        TEXT    NOT NULL UNIQUE,
	high        INTEGER NOT NULL DEFAULT 0,
	low         INTEGER NOT NULL DEFAULT 1,   -- high + 1 while empty
	count       INTEGER NOT NULL DEFAULT 0,
	status      TEXT    NOT NULL DEFAULT 'y',
	created_at  INTEGER NOT NULL,
	description TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX groups_created ON groups (created_at);

-- The article bytes exactly as received, apart from the overview so that
-- OVER ranges scan a narrow table (docs/storage.md: 330k/s beside the bodies,
-- 565k-641k/s apart).
-- The small columns come first: SQLite reads a row's columns in order, and
-- the blobs spill onto overflow pages.
CREATE TABLE articles (
	id         INTEGER PRIMARY KEY,
	message_id TEXT    NOT NULL UNIQUE,
	bytes      INTEGER NOT NULL,
	lines      INTEGER NOT NULL,
	arrived_at INTEGER NOT NULL,
	expires_at INTEGER,           -- NULL: no Expires given
	header     BLOB    NOT NULL,
	body       BLOB    NOT NULL
);
CREATE INDEX articles_arrived ON articles (arrived_at);
CREATE INDEX articles_expires ON articles (expires_at) WHERE expires_at IS NOT NULL;

-- One row per article and group: its number and its overview fields.
CREATE TABLE group_articles (
	group_id    INTEGER NOT NULL REFERENCES groups (id),
	number      INTEGER NOT NULL,
	article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
	arrived_at  INTEGER NOT NULL,
	subject     TEXT    NOT NULL,
	from_header TEXT    NOT NULL,
	date        TEXT    NOT NULL,
	message_id  TEXT    NOT NULL,
	refs        TEXT    NOT NULL,
	bytes       INTEGER NOT NULL,
	lines       INTEGER NOT NULL,
	xref        TEXT    NOT NULL,
	PRIMARY KEY (group_id, number)
) WITHOUT ROWID;
CREATE INDEX group_articles_arrived ON group_articles (group_id, arrived_at);
CREATE INDEX group_articles_article ON group_articles (article_id);

-- Message-ids seen, stored or refused; outlives the articles.
CREATE TABLE history (
	message_id  TEXT    PRIMARY KEY,
	status      TEXT    NOT NULL,     -- 'stored' or 'refused'
	arrived_at  INTEGER NOT NULL,
	purge_after INTEGER
) WITHOUT ROWID;
CREATE INDEX history_arrived ON history (arrived_at);

-- Injected posts awaiting release.
CREATE TABLE pending (
	id          INTEGER PRIMARY KEY,
	message_id  TEXT    NOT NULL,
	groups      TEXT    NOT NULL,     -- names separated by commas
	subject     TEXT    NOT NULL,
	body        BLOB    NOT NULL,
	body_hash   BLOB    NOT NULL,
	received_at INTEGER NOT NULL
);

CREATE TABLE replay (
	body_hash BLOB    PRIMARY KEY,
	at        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX replay_at ON replay (at);

CREATE TABLE hashcash (
	stamp TEXT    PRIMARY KEY,
	at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX hashcash_at ON hashcash (at);

-- One row per peer and article still to send.
CREATE TABLE feed_queue (
	peer        TEXT    NOT NULL,
	article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
	next_try_at INTEGER NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	lease       INTEGER,              -- end of the current lease, if leased
	PRIMARY KEY (peer, article_id)
) WITHOUT ROWID;
CREATE INDEX feed_queue_next ON feed_queue (peer, next_try_at, article_id);
CREATE INDEX feed_queue_article ON feed_queue (article_id);
