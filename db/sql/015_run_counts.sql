-- cdscan schema, version 15: a finished run keeps what its scans came to.
--
--   cdscan.run  gains counts (jsonb), written by the statement that
--               finishes the run: {"reasons": [[verdict, reason, scans,
--               queries, applied, requested, stale, newest scan's time
--               as seconds since the epoch], ...]}, one element per
--               verdict and reason. `cdscan runs` and the summary at the
--               end of a run read it instead of every scan of the run:
--               ~0.1 s per 100k delegations and run from a warm cache,
--               ~440 bytes of scan rows per delegation from disk
--               otherwise, for each run listed (docs/BENCH.md).
--
-- Runs finished before this version have none; their counts are taken
-- from their scans when asked for, as before.

ALTER TABLE cdscan.run ADD COLUMN counts jsonb;
