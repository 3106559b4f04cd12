-- cdscan schema, version 16: a run counts what its scans come to as it
-- goes, and lists its batches faster.
--
--   cdscan.run_tally  new: what the scans recorded by one transaction
--                     came to, per verdict and reason (scans, queries,
--                     applied, requested, stale, newest scan's time),
--                     written in the transaction that records them, next
--                     to cdscan.run_batch.recorded. The statement that
--                     finishes a run sums these few rows (a few per
--                     batch) into cdscan.run.counts, where it grouped
--                     every scan of the run: ~0.17 s per 100k
--                     delegations, at the end of the run, when nothing
--                     else runs (docs/BENCH.md). A run whose tallies do
--                     not add up to what its batches count as recorded
--                     (one begun before this version) is still counted
--                     from its scans.
--   cdscan.run_batch  domains compressed with lz4 where the server has
--                     it (pglz otherwise, as before): pglz took ~35 ms of
--                     the ~0.16 s in which a run of 100k delegations is
--                     listed, before anything is scanned.
--
-- Deleting runs deletes their tallies.

CREATE TABLE cdscan.run_tally (
    run_id    bigint NOT NULL,
    verdict   text NOT NULL,
    reason    text NOT NULL,
    n         bigint NOT NULL,
    queries   bigint NOT NULL,
    applied   bigint NOT NULL,
    requested bigint NOT NULL,
    stale     bigint NOT NULL,
    last      timestamptz NOT NULL
);
CREATE INDEX run_tally_run ON cdscan.run_tally (run_id);

DO $$
BEGIN
    EXECUTE 'ALTER TABLE cdscan.run_batch'
            ' ALTER COLUMN domains SET COMPRESSION lz4';
EXCEPTION WHEN OTHERS THEN
    NULL; -- a server without lz4 (or before version 14) keeps pglz
END
$$;

CREATE OR REPLACE FUNCTION cdscan.run_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cdscan.scan s SET run_id = NULL FROM gone g
        WHERE s.run_id = g.id;
    DELETE FROM cdscan.run_batch b USING gone g WHERE b.run_id = g.id;
    DELETE FROM cdscan.run_tally t USING gone g WHERE t.run_id = g.id;
    RETURN NULL;
END
$$;
