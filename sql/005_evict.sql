-- 005_evict.sql: eviction plans and the journal of applying them.  Written
-- by `cachegc plan evict` and `cachegc evict --plan ID [--apply]`.
--
-- A plan is immutable once stored: the paths to evict from one cache, in
-- the order they are deleted (referrers before what they reference, so a
-- cache cut short at any point of the plan still holds every closure it
-- serves), each with why it goes and what it breaks.  Applying a plan is
-- journaled write-ahead: a step is recorded as 'intent' (and committed)
-- before its file is unlinked and as 'done' after, so a run killed at any
-- instant is completed by running it again.

-- One row per plan.  Sizes are what the cache stores: FileSize, NarSize
-- where the narinfo has none, summed over the present paths of the cache as
-- of the crawl the plan was built from (crawl_id).
CREATE TABLE evict_plans (
	id            INTEGER PRIMARY KEY,
	cache_id      INTEGER NOT NULL REFERENCES caches(id),
	crawl_id      INTEGER REFERENCES crawls(id),  -- latest crawl of the cache
	created_at    INTEGER NOT NULL,
	policy        TEXT NOT NULL,     -- the policy that proposed the candidates:
	                                 -- priority, cachix, attic, niks3 or reach
	weights       TEXT,              -- --weights FILE (priority), NULL: defaults
	retention     INTEGER,           -- --retention in seconds (attic, niks3),
	                                 -- NULL: the policy's default
	limit_bytes   INTEGER NOT NULL,  -- --limit
	size_before   INTEGER NOT NULL,  -- stored bytes of the present paths
	size_after    INTEGER NOT NULL,  -- size_before minus the evicted paths
	paths_before  INTEGER NOT NULL,  -- present paths
	n_paths       INTEGER NOT NULL,  -- paths evicted
	n_jobs        INTEGER NOT NULL,  -- jobs broken (evict_plan_jobs)
	limit_reached INTEGER NOT NULL,  -- 0: closure safety stopped the plan
	                                 -- above the limit
	status        TEXT NOT NULL DEFAULT 'planned'
	              CHECK (status IN ('planned', 'applying', 'applied')),
	applied_at    INTEGER            -- clock of the run that completed it
);
CREATE INDEX evict_plans_by_cache ON evict_plans (cache_id, id);

-- The paths a plan evicts, in deletion order (seq from 1).
--   reason  unreached   reached by no evaluation output's closure
--           superseded  reached only by outputs of evaluations that a newer
--                       evaluation of the same branch, capabilities and
--                       system replaced
--           low-value   reached by a current evaluation's output: the
--                       lowest-valued of those go first
--   and, with the GC models as the policy (gc.h):
--           lru              least recently accessed (cachix)
--           expired          older than the retention (attic, niks3)
--           dependency-lost  a path it references goes (cachix)
-- url is the NAR URL as recorded by the crawl; the file's own URL, read
-- when the plan is applied, wins (evict_journal.url).
CREATE TABLE evict_plan_paths (
	plan_id     INTEGER NOT NULL REFERENCES evict_plans(id),
	seq         INTEGER NOT NULL,
	path_id     INTEGER NOT NULL REFERENCES paths(id),
	reason      TEXT NOT NULL CHECK (reason IN ('unreached', 'superseded', 'low-value',
	                                        'lru', 'expired', 'dependency-lost')),
	url         TEXT NOT NULL,
	stored_size INTEGER NOT NULL,    -- FileSize, else NarSize
	file_size   INTEGER,             -- NULL when the narinfo had none
	nar_size    INTEGER NOT NULL,
	breaks      INTEGER NOT NULL,    -- jobs whose (whole) closure holds it
	PRIMARY KEY (plan_id, seq),
	UNIQUE (plan_id, path_id)
) WITHOUT ROWID;

-- Jobs a plan breaks: (evaluation, attr, output) whose output's closure is
-- wholly in the cache before the plan and not after.  path_id is the
-- output path (always evicted too: a plan never keeps a path whose
-- closure it cuts).
CREATE TABLE evict_plan_jobs (
	plan_id       INTEGER NOT NULL REFERENCES evict_plans(id),
	evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
	attr          TEXT NOT NULL,
	output        TEXT NOT NULL,
	path_id       INTEGER NOT NULL REFERENCES paths(id),
	PRIMARY KEY (plan_id, evaluation_id, attr, output)
) WITHOUT ROWID;

-- Which broken jobs each evicted path takes down: at most 20 per path (the
-- newest evaluations first); evict_plan_paths.breaks has the full count.
CREATE TABLE evict_plan_breaks (
	plan_id       INTEGER NOT NULL REFERENCES evict_plans(id),
	seq           INTEGER NOT NULL,
	evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
	attr          TEXT NOT NULL,
	output        TEXT NOT NULL,
	PRIMARY KEY (plan_id, seq, evaluation_id, attr, output)
) WITHOUT ROWID;

-- Runs of `cachegc evict --plan ID --apply` (dry runs write nothing).  A
-- run killed before it ends stays 'running' until the next run on its
-- directory (which holds the directory's lock) marks it 'interrupted'; the
-- next run of the plan goes on from the journal.  'incomplete': the run
-- went through but left paths it refused or had to keep (n_refused,
-- n_held).
CREATE TABLE evict_runs (
	id          INTEGER PRIMARY KEY,
	plan_id     INTEGER NOT NULL REFERENCES evict_plans(id),
	dir         TEXT NOT NULL,       -- the cache directory it worked on
	started_at  INTEGER NOT NULL,
	finished_at INTEGER,
	status      TEXT NOT NULL
	            CHECK (status IN ('running', 'complete', 'incomplete', 'interrupted', 'failed')),
	n_deleted   INTEGER NOT NULL DEFAULT 0,  -- files unlinked by this run
	n_refused   INTEGER NOT NULL DEFAULT 0,  -- paths refused (unsafe URL, file type)
	n_held      INTEGER NOT NULL DEFAULT 0   -- paths kept: a kept narinfo needs them
);

-- The apply journal: one row per file of a plan, keyed by its name
-- relative to the cache directory ('<hash>.narinfo', '<hash>.ls', the NAR
-- URL).  state:
--   intent   about to be unlinked (committed before the unlink)
--   done     unlinked, or found already missing
--   refused  not touched: the reason is in detail
-- A narinfo row's url is the NAR URL its file named when it was deleted,
-- so a re-run knows which NAR to consider after the narinfo is gone.
CREATE TABLE evict_journal (
	plan_id  INTEGER NOT NULL REFERENCES evict_plans(id),
	object   TEXT NOT NULL,
	kind     TEXT NOT NULL CHECK (kind IN ('narinfo', 'ls', 'nar')),
	path_id  INTEGER NOT NULL REFERENCES paths(id),
	url      TEXT,
	state    TEXT NOT NULL CHECK (state IN ('intent', 'done', 'refused')),
	detail   TEXT,
	run_id   INTEGER NOT NULL REFERENCES evict_runs(id),
	at       INTEGER NOT NULL,
	PRIMARY KEY (plan_id, object)
) WITHOUT ROWID;
