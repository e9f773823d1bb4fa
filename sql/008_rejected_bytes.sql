-- 008_rejected_bytes.sql: what a refused narinfo's files occupy.  Where
-- Nix refuses a narinfo its path is not substitutable, but its files are
-- still stored bytes of the cache: a crawl records them with the reject.
--
-- hash:  the store hash of the narinfo's file name '<hash>.narinfo', when
--        it is one (NULL otherwise).
-- bytes: the narinfo file's own size plus, in a directory crawl, the size
--        of the file its 'URL:' line names when that file exists inside the
--        cache directory, else its 'FileSize:' value when readable; over
--        HTTP the body's length plus FileSize when readable.  NULL when
--        nothing could be read (an unreadable file).
-- A narinfo refused at one crawl is refused again at the next (it has no
-- path row), so each complete crawl has its own rows; an analysis at time
-- T adds the bytes of the latest complete crawl at or before T.
ALTER TABLE crawl_rejects ADD COLUMN hash TEXT;
ALTER TABLE crawl_rejects ADD COLUMN bytes INTEGER;

-- The rejected bytes of a crawl are summed per crawl (store/rejected.c).
CREATE INDEX crawl_rejects_by_crawl ON crawl_rejects (crawl_id);
