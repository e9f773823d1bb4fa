-- 007_hydra.sql: what `cachegc import-hydra` needs to follow a Hydra
-- incrementally.  The evaluations, jobs and build outcomes themselves go
-- into evaluations, eval_jobs and builds (003_evals.sql), recorded as
-- `import-eval` and `import-builds` record them; these tables only say
-- which of Hydra's evaluations and builds they came from, so a second run
-- fetches only evaluations it has not recorded and builds that had not
-- finished.
--
-- Times are seconds since the epoch (UTC).  Ids named hydra's are Hydra's
-- own (its database's), unique within one Hydra only.

-- A Hydra followed: its base URL as given, normalized with one trailing
-- '/' ('https://hydra.nixos-cuda.org/').
CREATE TABLE hydras (
	id       INTEGER PRIMARY KEY,
	url      TEXT NOT NULL UNIQUE,
	added_at INTEGER NOT NULL
);

-- A jobset of a Hydra followed.
CREATE TABLE hydra_jobsets (
	id        INTEGER PRIMARY KEY,
	hydra_id  INTEGER NOT NULL REFERENCES hydras(id),
	project   TEXT NOT NULL,     -- Hydra's project name
	jobset    TEXT NOT NULL,     -- Hydra's jobset name
	added_at  INTEGER NOT NULL,
	last_run  INTEGER,           -- when an import-hydra last looked at it
	UNIQUE (hydra_id, project, jobset)
);

-- A Hydra evaluation wholly recorded (in one transaction with its
-- evaluations, jobs and builds).  One without a row here is fetched again
-- by the next run.
CREATE TABLE hydra_evals (
	jobset_id   INTEGER NOT NULL REFERENCES hydra_jobsets(id),
	hydra_eval  INTEGER NOT NULL,  -- Hydra's evaluation id (/eval/ID)
	timestamp   INTEGER NOT NULL,  -- Hydra's "timestamp": when it was evaluated;
	                               -- the evaluations' time
	rev         TEXT NOT NULL,     -- the revision recorded (the nixpkgs input's)
	builds      INTEGER NOT NULL,  -- builds Hydra listed for it
	skipped     INTEGER NOT NULL,  -- of which not recorded as jobs (another
	                               -- system than the map's, or an attr twice)
	recorded_at INTEGER NOT NULL,
	PRIMARY KEY (jobset_id, hydra_eval)
) WITHOUT ROWID;

-- The cachegc evaluations a Hydra evaluation was recorded as: one per
-- system its builds are for (cachegc evaluations are per system).
CREATE TABLE hydra_eval_evaluations (
	jobset_id     INTEGER NOT NULL,
	hydra_eval    INTEGER NOT NULL,
	system        TEXT NOT NULL,
	evaluation_id INTEGER NOT NULL REFERENCES evaluations(id),
	PRIMARY KEY (jobset_id, hydra_eval, system),
	FOREIGN KEY (jobset_id, hydra_eval) REFERENCES hydra_evals(jobset_id, hydra_eval)
) WITHOUT ROWID;

-- A Hydra build whose outcome is recorded in builds.  While finished is 0
-- the build was queued when last seen (its builds row has status
-- 'queued'); each run asks Hydra for it again (/build/ID) and, once it
-- finished, updates that row to the outcome instead of adding one.
CREATE TABLE hydra_builds (
	hydra_id    INTEGER NOT NULL REFERENCES hydras(id),
	hydra_build INTEGER NOT NULL,  -- Hydra's build id (/build/ID); also builds.hydra_id
	drv_id      INTEGER NOT NULL REFERENCES paths(id),
	build_row   INTEGER NOT NULL REFERENCES builds(id),  -- its outcome
	finished    INTEGER NOT NULL CHECK (finished IN (0, 1)),
	checked_at  INTEGER NOT NULL,  -- when Hydra was last asked about it
	PRIMARY KEY (hydra_id, hydra_build)
) WITHOUT ROWID;
CREATE INDEX hydra_builds_unfinished ON hydra_builds (hydra_id, finished);
