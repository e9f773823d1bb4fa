-- sql/clickhouse/001_crawl.sql: the crawl tables of a ClickHouse store
-- (`--db clickhouse://HOST:PORT/DATABASE`).  ClickHouse has no
-- multi-statement transactions, so nothing here is updated in place:
-- every table only grows, every row is written once by the crawl that
-- learnt it, and a crawl counts only once its row with status 'complete'
-- is in crawls, written after all its other rows.  A re-run writes the
-- same facts again: the engines below fold repeated rows, and every
-- reader groups by the key, so a repeat never counts twice.  Paths are
-- named by their hash (the 32 nix32 characters) and basename; there are
-- no integer ids (they are given when a graph is loaded).  Times are
-- seconds since the epoch as in SQLite.  {db} is the database of the URL;
-- these tables may also be Distributed tables of the same names over
-- these ones on each shard (tests/lib/clickhouse.sh builds two shards).
-- Only SQL that clickhouse-server 18.16 (Debian 12) runs.

-- The caches crawled, one row per crawl that wrote it (the same facts).
CREATE TABLE IF NOT EXISTS {db}.caches (
	url             String,
	store_dir       String,
	want_mass_query Nullable(Int64),
	priority        Nullable(Int64),
	added_at        Int64
) ENGINE = ReplacingMergeTree ORDER BY url;

-- Each crawl: a row with status 'running' when it starts to write, one
-- with its final status ('complete', 'interrupted', 'failed') and counts
-- after everything else it wrote.  crawl_id is random (64 bits), so
-- crawlers of one store need no coordination.
CREATE TABLE IF NOT EXISTS {db}.crawls (
	crawl_id    UInt64,
	cache       String,
	started_at  Int64,
	finished_at Int64,
	status      String,
	n_new       Int64,
	n_present   Int64,
	n_gone      Int64,
	n_rejected  Int64,
	n_absent    Int64,
	n_unknown   Int64
) ENGINE = ReplacingMergeTree ORDER BY (cache, crawl_id, status);

-- Narinfos, immutable: written once by the crawl that fetched it (the
-- crawl writes only narinfos the store lacks), refs as basenames
-- (hash-name, sorted) and sigs as given.
CREATE TABLE IF NOT EXISTS {db}.narinfos (
	cache       String,
	hash        String,
	name        String,
	url         String,
	compression String,
	file_hash   Nullable(String),
	file_size   Nullable(Int64),
	nar_hash    String,
	nar_size    Int64,
	deriver     Nullable(String),
	ca          Nullable(String),
	system      Nullable(String),
	refs        Array(String),
	sigs        Array(String),
	crawl_id    UInt64,
	fetched_at  Int64
) ENGINE = ReplacingMergeTree ORDER BY (cache, hash);

-- Presence history: the episodes of a path being in a cache, as SQLite's
-- presence table, one row per crawl that changed an episode (saw it, or
-- found it gone): (cache, hash, first_seen) names the episode, a later
-- row of it has a later last_seen or a gone_at.  An episode is as its
-- latest row among those of complete crawls and, since only a complete
-- crawl marks a path gone, the open rows of any crawl (as a SQLite crawl
-- that was interrupted still counts what it saw as present).
CREATE TABLE IF NOT EXISTS {db}.presence (
	crawl_id   UInt64,
	cache      String,
	hash       String,
	first_seen Int64,
	push_time  Nullable(Int64),
	last_seen  Int64,
	gone_at    Nullable(Int64)
) ENGINE = ReplacingMergeTree ORDER BY (cache, hash, first_seen, crawl_id);
