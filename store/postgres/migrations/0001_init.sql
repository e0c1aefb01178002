CREATE TABLE groups (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name        text        NOT NULL UNIQUE,
	high        bigint      NOT NULL DEFAULT 0,
	low         bigint      NOT NULL DEFAULT 1,   -- high + 1 while empty
	count       bigint      NOT NULL DEFAULT 0,
	status      text        NOT NULL DEFAULT 'y',
	created_at  timestamptz NOT NULL,
	description text        NOT NULL DEFAULT ''
);
CREATE INDEX groups_created ON groups (created_at);

-- The article bytes exactly as received.
CREATE TABLE articles (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id text        NOT NULL UNIQUE,
	header     bytea       NOT NULL,
	body       bytea       NOT NULL,
	bytes      bigint      NOT NULL,
	lines      bigint      NOT NULL,
	arrived_at timestamptz NOT NULL,
	expires_at timestamptz            -- NULL: no Expires given
);
CREATE INDEX articles_arrived ON articles (arrived_at);
CREATE INDEX articles_expires ON articles (expires_at) WHERE expires_at IS NOT NULL;

-- One row per article and group: its number (allocated under the group's
-- row lock, never from a sequence) and its overview fields, so OVER is one
-- range scan of the primary key. Header-derived fields are bytea: headers
-- are bytes, often not UTF-8.
CREATE TABLE group_articles (
	group_id    bigint      NOT NULL REFERENCES groups (id),
	number      bigint      NOT NULL,
	article_id  bigint      NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
	arrived_at  timestamptz NOT NULL,
	subject     bytea       NOT NULL,
	from_header bytea       NOT NULL,
	date        bytea       NOT NULL,
	message_id  text        NOT NULL,
	refs        bytea       NOT NULL,
	bytes       bigint      NOT NULL,
	lines       bigint      NOT NULL,
	xref        bytea       NOT NULL,
	PRIMARY KEY (group_id, number)
);
CREATE INDEX group_articles_arrived ON group_articles (group_id, arrived_at);
CREATE INDEX group_articles_article ON group_articles (article_id);

-- Message-ids seen, stored or refused; outlives the articles.
CREATE TABLE history (
	message_id  text        PRIMARY KEY,
	status      text        NOT NULL,     -- 'stored' or 'refused'
	arrived_at  timestamptz NOT NULL,
	purge_after timestamptz
);
CREATE INDEX history_arrived ON history (arrived_at);

-- Injected posts awaiting release.
CREATE TABLE pending (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id  text        NOT NULL,
	groups      text[]      NOT NULL,
	subject     bytea       NOT NULL,
	body        bytea       NOT NULL,
	body_hash   bytea       NOT NULL,
	received_at timestamptz NOT NULL
);
CREATE INDEX pending_received ON pending (received_at, id);

CREATE TABLE replay (
	body_hash bytea       PRIMARY KEY,
	at        timestamptz NOT NULL
);
CREATE INDEX replay_at ON replay (at);

CREATE TABLE hashcash (
	stamp text        PRIMARY KEY,
	at    timestamptz NOT NULL
);
CREATE INDEX hashcash_at ON hashcash (at);

-- One row per peer and article still to send; senders claim rows with
-- FOR UPDATE SKIP LOCKED.
CREATE TABLE feed_queue (
	peer        text        NOT NULL,
	article_id  bigint      NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
	next_try_at timestamptz NOT NULL,
	attempts    integer     NOT NULL DEFAULT 0,
	lease       timestamptz,              -- end of the current lease, if leased
	PRIMARY KEY (peer, article_id)
);
CREATE INDEX feed_queue_next ON feed_queue (peer, next_try_at, article_id);
CREATE INDEX feed_queue_article ON feed_queue (article_id);
