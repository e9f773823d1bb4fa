-- 003_evals.sql: what CI evaluated, what it built, and the signing keys we
-- trust.  Filled by `cachegc import-eval`, `cachegc import-builds` and
-- `cachegc keys`; read by `cachegc coverage`.  Meant to be queried directly
-- too: the views at the end spell store paths out in full.
--
-- Times are seconds since the epoch (UTC).  Store paths are rows of the
-- global `paths` table (001_init.sql), so an evaluation's outputs join
-- straight onto narinfos, refs and presence.

-- One evaluation of nixpkgs: a branch at a revision, evaluated with one set
-- of cudaCapabilities for one system at one time.  Immutable once imported;
-- importing the same evaluation again changes nothing.
CREATE TABLE evaluations (
	id           INTEGER PRIMARY KEY,
	branch       TEXT NOT NULL,     -- as given: 'master', 'nixos-unstable', 'nixos-24.05'
	rev          TEXT NOT NULL,     -- nixpkgs revision as given (a git commit)
	capabilities TEXT NOT NULL,     -- cudaCapabilities as a normalized set: sorted
	                                -- numerically, deduplicated, joined by ',':
	                                -- '8.6,8.9' whether given as '8.9, 8.6' or '8.6 8.9'
	system       TEXT NOT NULL,     -- 'x86_64-linux'
	time         INTEGER NOT NULL,  -- when it was evaluated (--time, else the import's clock)
	jobset       TEXT,              -- free label (e.g. a Hydra jobset), or NULL
	source       TEXT NOT NULL,     -- the file it was imported from ('-': standard input)
	imported_at  INTEGER NOT NULL,
	bad_lines    INTEGER NOT NULL DEFAULT 0,  -- malformed input lines skipped
	UNIQUE (branch, rev, capabilities, system, time)
);
-- "The latest evaluation of each (branch, capability set) as of T".
CREATE INDEX evaluations_latest ON evaluations (branch, capabilities, system, time);

-- The jobs of an evaluation: one row per (attr, output).  An attr that
-- failed to evaluate has one row with output '' and its error; its paths
-- are NULL.
CREATE TABLE eval_jobs (
	evaluation_id      INTEGER NOT NULL REFERENCES evaluations(id),
	attr               TEXT NOT NULL,    -- 'python3Packages.torch'
	output             TEXT NOT NULL,    -- 'out', 'lib', ...; '' when error is set
	path_id            INTEGER REFERENCES paths(id),  -- the output path; NULL on error,
	                                     -- or when the evaluator could not know it
	                                     -- (floating content-addressed derivations)
	drv_id             INTEGER REFERENCES paths(id),  -- the .drv; NULL on error
	name               TEXT,             -- derivation name 'python3.12-torch-2.5.1'
	system             TEXT,             -- the job's own system
	error              TEXT,             -- evaluation error (raw, may hold ANSI colour codes)
	cache_status       TEXT,             -- nix-eval-jobs --check-cache-status:
	                                     -- 'local', 'cached' or 'notBuilt'; NULL if not run
	needed_builds      INTEGER,          -- how many derivations it still needed built
	needed_substitutes INTEGER,          -- how many paths it could substitute
	line               INTEGER NOT NULL, -- its line in the source file
	PRIMARY KEY (evaluation_id, attr, output)
) WITHOUT ROWID;
CREATE INDEX eval_jobs_by_path ON eval_jobs (path_id);
CREATE INDEX eval_jobs_by_drv ON eval_jobs (drv_id);

-- Build outcomes per derivation, from Hydra's build JSON or JSON lines.  A
-- derivation may have several (failed, then rebuilt): the one with the
-- greatest time is its latest; a NULL time (the record had none) counts as
-- imported_at.
CREATE TABLE builds (
	id           INTEGER PRIMARY KEY,
	drv_id       INTEGER NOT NULL REFERENCES paths(id),
	status       TEXT NOT NULL CHECK (status IN (
	               'succeeded', 'failed', 'dependency-failed', 'aborted',
	               'cancelled', 'failed-with-output', 'timed-out',
	               'cached-failure', 'unsupported', 'log-limit-exceeded',
	               'output-limit-exceeded', 'non-deterministic', 'queued')),
	hydra_status INTEGER,           -- Hydra's buildstatus code, when from Hydra
	hydra_id     INTEGER,           -- Hydra's build id, when from Hydra
	time         INTEGER,           -- finished (Hydra: stoptime) or, when queued,
	                                -- queued (Hydra: timestamp); NULL if unknown
	job          TEXT,              -- Hydra job / attr, when given
	name         TEXT,              -- derivation name (Hydra: nixname), when given
	system       TEXT,
	source       TEXT NOT NULL,     -- the file it was imported from
	imported_at  INTEGER NOT NULL
);
-- The same outcome imported twice is one row.
CREATE UNIQUE INDEX builds_outcome ON builds (drv_id, status, ifnull(time, -1));

-- Public keys whose signatures make a path trusted.  A revoked key's
-- signatures never count again, whenever they were made: Nix cannot date a
-- signature.
CREATE TABLE trusted_keys (
	name       TEXT PRIMARY KEY,    -- the key name as in 'Sig: NAME:...' lines
	public_key TEXT NOT NULL,       -- base64 of the 32-byte Ed25519 public key
	added_at   INTEGER NOT NULL,
	revoked_at INTEGER              -- NULL while trusted
);

-- Convenience views with full store paths, for direct queries.
CREATE VIEW eval_job_paths AS
SELECT e.id AS evaluation_id, e.branch, e.rev, e.capabilities,
       e.system AS eval_system, e.time AS eval_time,
       j.attr, j.output, j.name, j.system, j.error, j.cache_status,
       (SELECT value FROM meta WHERE key = 'store_dir') || '/' || o.hash || '-' || o.name
         AS out_path,
       (SELECT value FROM meta WHERE key = 'store_dir') || '/' || d.hash || '-' || d.name
         AS drv_path
FROM eval_jobs j
JOIN evaluations e ON e.id = j.evaluation_id
LEFT JOIN paths o ON o.id = j.path_id
LEFT JOIN paths d ON d.id = j.drv_id;

CREATE VIEW build_outcomes AS
SELECT b.id, (SELECT value FROM meta WHERE key = 'store_dir') || '/' || d.hash || '-' || d.name
         AS drv_path,
       b.status, b.hydra_status, b.hydra_id, b.time, b.job, b.name, b.system,
       b.source, b.imported_at
FROM builds b JOIN paths d ON d.id = b.drv_id;
