-- 001_init.sql: the foundation schema.  Times are seconds since the epoch
-- (UTC) on the clock of the run that recorded them (`--now`).  Sizes are
-- bytes.  Hashes are in Nix's normal form "sha256:<nix32>".

-- Key/value facts about this DB.  store_dir: the Nix store every recorded
-- path lives in; a cache with another StoreDir is refused.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('store_dir', '/nix/store');

-- One row per binary cache.  url is normalized: "file:///abs/dir" for a
-- directory, "http(s)://host[:port][/prefix]" without a trailing slash.
CREATE TABLE caches (
	id              INTEGER PRIMARY KEY,
	url             TEXT NOT NULL UNIQUE,
	store_dir       TEXT NOT NULL DEFAULT '/nix/store',
	want_mass_query INTEGER,             -- from nix-cache-info, NULL if absent
	priority        INTEGER,             -- from nix-cache-info, NULL if absent
	added_at        INTEGER NOT NULL
);

-- One row per crawl of a cache.  Only a crawl with status 'complete' marks
-- paths it did not find as gone; an interrupted crawl leaves the facts it
-- fetched (they are immutable) and the next crawl goes on from there.
CREATE TABLE crawls (
	id          INTEGER PRIMARY KEY,
	cache_id    INTEGER NOT NULL REFERENCES caches(id),
	started_at  INTEGER NOT NULL,
	finished_at INTEGER,
	status      TEXT NOT NULL
	            CHECK (status IN ('running', 'complete', 'interrupted', 'failed')),
	n_new       INTEGER NOT NULL DEFAULT 0,  -- narinfos recorded for the first time
	n_present   INTEGER NOT NULL DEFAULT 0,  -- known narinfos still there
	n_gone      INTEGER NOT NULL DEFAULT 0,  -- present before, not found now
	n_rejected  INTEGER NOT NULL DEFAULT 0,  -- narinfos that failed to parse/validate
	n_absent    INTEGER NOT NULL DEFAULT 0,  -- asked for and not in the cache
	n_unknown   INTEGER NOT NULL DEFAULT 0   -- presence could not be determined
);
CREATE INDEX crawls_by_cache ON crawls (cache_id, id);

-- Narinfos a crawl could not record, and why (file or URL, 1-based line
-- or 0 for the whole record).
CREATE TABLE crawl_rejects (
	crawl_id INTEGER NOT NULL REFERENCES crawls(id),
	source   TEXT NOT NULL,
	line     INTEGER NOT NULL,
	message  TEXT NOT NULL
);

-- Every store path cachegc has heard of: from a narinfo, a reference, or
-- (later) an evaluation.  The full path is meta.store_dir || '/' || hash
-- || '-' || name.
CREATE TABLE paths (
	id   INTEGER PRIMARY KEY,
	hash TEXT NOT NULL UNIQUE,   -- 32 chars of nix32
	name TEXT NOT NULL
);

-- The facts of one path's narinfo in one cache.  A narinfo is immutable:
-- recorded once, never updated, kept after the path is gone (for history).
-- References and signatures are kept in the row as JSON arrays (one row per
-- narinfo keeps a crawl of a million paths fast); the views refs and sigs
-- below give them one row each.
CREATE TABLE narinfos (
	cache_id    INTEGER NOT NULL REFERENCES caches(id),
	path_id     INTEGER NOT NULL REFERENCES paths(id),
	url         TEXT NOT NULL,
	compression TEXT NOT NULL,       -- 'bzip2' when the narinfo had none
	file_hash   TEXT,
	file_size   INTEGER,             -- NULL when the narinfo had none
	nar_hash    TEXT NOT NULL,
	nar_size    INTEGER NOT NULL,
	deriver     TEXT,                -- .drv basename; NULL for unknown-deriver
	ca          TEXT,
	system      TEXT,
	refs        TEXT NOT NULL,       -- JSON array of paths.id, ascending; may
	                                 -- hold path_id itself (a self-reference)
	sigs        TEXT NOT NULL,       -- JSON array of "keyname:base64sig", as given
	crawl_id    INTEGER NOT NULL REFERENCES crawls(id),
	fetched_at  INTEGER NOT NULL,
	PRIMARY KEY (cache_id, path_id)
) WITHOUT ROWID;

-- References of a narinfo, one row each (may include the path itself).
CREATE VIEW refs (cache_id, path_id, ref_id) AS
	SELECT n.cache_id, n.path_id, r.value
	FROM narinfos n, json_each(n.refs) r;

-- Signatures of a narinfo, one row each: "key_name:sig" split at the first
-- colon; sig is base64 as in the narinfo.
CREATE VIEW sigs (cache_id, path_id, key_name, sig) AS
	SELECT n.cache_id, n.path_id,
	       substr(s.value, 1, instr(s.value, ':') - 1),
	       substr(s.value, instr(s.value, ':') + 1)
	FROM narinfos n, json_each(n.sigs) s;

-- Presence history: one row per episode of a path being in a cache.  An
-- open episode (gone_at NULL) means present as of last_seen; a path has at
-- most one open episode per cache.  A path that comes back after being gone
-- opens a new episode.
CREATE TABLE presence (
	id            INTEGER PRIMARY KEY,
	cache_id      INTEGER NOT NULL REFERENCES caches(id),
	path_id       INTEGER NOT NULL REFERENCES paths(id),
	push_time     INTEGER,           -- narinfo mtime / Last-Modified, if known
	first_seen    INTEGER NOT NULL,  -- clock of the crawl that first saw it
	last_seen     INTEGER NOT NULL,  -- clock of the last crawl that saw it
	last_crawl_id INTEGER NOT NULL,
	gone_at       INTEGER,           -- clock of the first complete crawl without it
	gone_crawl_id INTEGER
);
CREATE INDEX presence_by_path ON presence (cache_id, path_id);
