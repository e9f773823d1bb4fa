-- 004_gc.sql: what the cache's clients fetched, from its access logs.
-- Written by `cachegc import-access`; read by the GC model (src/gc.c):
-- Cachix orders paths by their last access of any kind, Attic by the last
-- NAR download.
--
-- Accesses are kept per path and per UTC day (the last one of each kind
-- that day and how many), so a replay of the history knows what had been
-- fetched by any day without keeping every log line.

-- One row per imported log file.  digest is SHA-256 of the log's content
-- (after gunzip): the same log imported again is recognised and skipped,
-- so hit counts are never doubled.
CREATE TABLE access_logs (
	id          INTEGER PRIMARY KEY,
	cache_id    INTEGER NOT NULL REFERENCES caches(id),
	source      TEXT NOT NULL,       -- the file as named on the command line
	format      TEXT NOT NULL CHECK (format IN ('combined', 's3')),
	digest      TEXT NOT NULL,       -- hex SHA-256 of the content
	imported_at INTEGER NOT NULL,
	lines       INTEGER NOT NULL,    -- lines read
	requests    INTEGER NOT NULL,    -- successful narinfo and NAR requests
	recorded    INTEGER NOT NULL,    -- of which for paths this cache has
	unknown     INTEGER NOT NULL,    -- of which for paths or NARs it has not
	ignored     INTEGER NOT NULL,    -- other objects, failed or other methods
	malformed   INTEGER NOT NULL,    -- lines that could not be parsed
	first_at    INTEGER,             -- time of the earliest request recorded
	last_at     INTEGER,             -- and of the latest
	UNIQUE (cache_id, digest)
);

-- Per path and day: narinfo GETs/HEADs and NAR downloads that succeeded
-- (2xx or 304).  A NAR request counts for every narinfo whose URL names
-- that NAR.  *_last are NULL when there was none of that kind that day.
CREATE TABLE accesses (
	cache_id     INTEGER NOT NULL REFERENCES caches(id),
	path_id      INTEGER NOT NULL REFERENCES paths(id),
	day          INTEGER NOT NULL,   -- time / 86400 (UTC days since the epoch)
	narinfo_hits INTEGER NOT NULL DEFAULT 0,
	nar_hits     INTEGER NOT NULL DEFAULT 0,
	narinfo_last INTEGER,
	nar_last     INTEGER,
	PRIMARY KEY (cache_id, path_id, day)
) WITHOUT ROWID;

-- The last access per path, for direct queries.
CREATE VIEW last_access (cache_id, path_id, narinfo_last, nar_last, last) AS
	SELECT cache_id, path_id, max(narinfo_last), max(nar_last),
	       max(coalesce(max(narinfo_last), 0), coalesce(max(nar_last), 0))
	FROM accesses GROUP BY cache_id, path_id;
