-- 006_trust.sql: signature verdicts, so each narinfo signature is checked
-- with Ed25519 at most once.  Written by `cachegc verify` and `cachegc
-- coverage` (src/trust.c), read by both; a cache of facts that can always
-- be rebuilt (DELETE FROM sig_verdicts only costs time).
--
-- One row per (cache, path, key) that was checked: did a Sig line of that
-- narinfo naming key_name verify under public_key?  A narinfo never
-- changes, so neither does its verdict; the public key is part of the key
-- so that a key name bound to another key is checked again.  Whether the
-- key is trusted is not recorded here: trusted_keys says that, per moment.
CREATE TABLE sig_verdicts (
	cache_id   INTEGER NOT NULL REFERENCES caches(id),
	path_id    INTEGER NOT NULL REFERENCES paths(id),
	key_name   TEXT NOT NULL,
	public_key TEXT NOT NULL,    -- base64 of the 32-byte key, as in trusted_keys
	valid      INTEGER NOT NULL CHECK (valid IN (0, 1)),
	checked_at INTEGER NOT NULL, -- clock of the run that checked it
	PRIMARY KEY (cache_id, path_id, key_name, public_key)
) WITHOUT ROWID;
