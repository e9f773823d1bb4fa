-- 009_shards.sql: sharded crawls.  `cachegc crawl --shard K/N --crawl-id
-- NAME` crawls only the narinfos whose store hash falls in shard K of N
-- (by the hash's first four nix32 characters, so each shard is one range
-- of hashes); N such processes, on one machine or many, record one crawl
-- between them.  A sharded crawl is one crawls row, shared by its shards:
-- every narinfo, presence and reject row they record carries its id and
-- its time (started_at, the first shard's clock), so the joined rows are
-- those one unsharded crawl records, and every analysis reads it as one.
-- Its status stays 'running' until all N shards are complete; then it is
-- 'complete', with the counts summed over its shards.  Each shard marks
-- gone only the paths of its own range.
--
-- name:   the --crawl-id every shard of the crawl was given; NULL for an
--         unsharded crawl.  Unique per cache.
-- shards: N, the number of shards; NULL for an unsharded crawl.
ALTER TABLE crawls ADD COLUMN name TEXT;
ALTER TABLE crawls ADD COLUMN shards INTEGER;
CREATE UNIQUE INDEX crawls_by_name ON crawls (cache_id, name) WHERE name IS NOT NULL;

-- One row per shard of a sharded crawl that has started.  A shard killed
-- mid-way stays 'running' (the crawl is not complete); running it again
-- with the same --shard and --crawl-id goes on from what it recorded and
-- completes it.  started_at and finished_at are the shard process's own
-- clock (--now); the counts are as in crawls, for this shard alone
-- (n_new counts the narinfos this crawl recorded first, also those an
-- earlier, interrupted run of the shard recorded).
CREATE TABLE crawl_shards (
	crawl_id    INTEGER NOT NULL REFERENCES crawls(id),
	shard       INTEGER NOT NULL,    -- K, 1..crawls.shards
	started_at  INTEGER NOT NULL,    -- the latest run of this shard
	finished_at INTEGER,
	status      TEXT NOT NULL
	            CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
	runs        INTEGER NOT NULL DEFAULT 1,  -- runs of this shard so far
	n_new       INTEGER NOT NULL DEFAULT 0,
	n_present   INTEGER NOT NULL DEFAULT 0,
	n_gone      INTEGER NOT NULL DEFAULT 0,
	n_rejected  INTEGER NOT NULL DEFAULT 0,
	n_absent    INTEGER NOT NULL DEFAULT 0,
	n_unknown   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (crawl_id, shard)
) WITHOUT ROWID;
