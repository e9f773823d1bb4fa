-- 002_http.sql: what an HTTP crawl learns that a directory listing cannot
-- say.  A directory crawl sees every narinfo there is; an HTTP crawl asks
-- for paths one by one (roots and their references), and the answer can
-- be "not there" or no answer at all.  Additive: no earlier table changes.

-- The last answer other than "yes" to "is this path in the cache?", one
-- row per (cache, path) asked about.  "Yes" lives in presence (an open
-- episode, as of last_seen), so a crawl that finds the path present
-- deletes its row here: a fully present cache has no rows, and a cache
-- crawled as a directory or over HTTP ends with the same tables.
--   absent    404 or 410: not in the cache.  A path with a narinfo
--             recorded here also has its presence episode closed (gone).
--   unknown   no usable answer after every try (timeouts, connection
--             errors, 5xx, 429, 403, TLS failures, a refused redirect):
--             never taken as absent.  A path present before stays
--             present as of its last_seen.
--   rejected  the cache answered with something that is not this path's
--             narinfo (crawl_rejects of crawl_id says why).
CREATE TABLE path_checks (
	cache_id   INTEGER NOT NULL REFERENCES caches(id),
	path_id    INTEGER NOT NULL REFERENCES paths(id),
	status     TEXT NOT NULL CHECK (status IN ('absent', 'unknown', 'rejected')),
	since      INTEGER NOT NULL,   -- clock of the first crawl in a row that
	                               -- got this status
	checked_at INTEGER NOT NULL,   -- clock of the latest crawl that asked
	crawl_id   INTEGER NOT NULL REFERENCES crawls(id),  -- that crawl
	http_code  INTEGER,            -- last HTTP status seen; NULL when none
	error      TEXT,               -- unknown, rejected: what went wrong
	PRIMARY KEY (cache_id, path_id)
) WITHOUT ROWID;
