-- cdscan schema, version 14: a batch lists its own delegations.
--
--   cdscan.run_batch  gains domains: the batch's delegations in name
--                     order. A run is listed by one INSERT of a row per
--                     batch (100 rows for 100k delegations), and a claim
--                     reads its batch's names from the row it claims.
--                     The column is left out of the table's statistics
--                     (nothing filters on it), so that ANALYZE never
--                     reads the arrays.
--   cdscan.run_item   is dropped. Listing a run wrote a row per
--                     delegation with two index entries, then ANALYZEd
--                     them: ~0.6 s of a 100k rescan of ~9 s, during which
--                     nothing was scanned, and ~10 MB per 100k that stayed
--                     after the run (docs/BENCH.md).
--   cdscan.run        run_one_unfinished keys the selection by its md5:
--                     indexed whole, a selection of a few thousand names
--                     (a registrar's list of the domains it hosts) was
--                     larger than an index entry may be, and its run
--                     could not begin.
--
-- Runs listed before this version keep their batches; their names move
-- into the arrays, in the order the claims read them.

ALTER TABLE cdscan.run_batch ADD COLUMN domains text[];

UPDATE cdscan.run_batch b SET domains = i.domains
FROM (SELECT run_id, batch, array_agg(domain ORDER BY domain) AS domains
      FROM cdscan.run_item GROUP BY run_id, batch) i
WHERE i.run_id = b.run_id AND i.batch = b.batch;

UPDATE cdscan.run_batch SET domains = '{}' WHERE domains IS NULL;
ALTER TABLE cdscan.run_batch ALTER COLUMN domains SET NOT NULL;
ALTER TABLE cdscan.run_batch ALTER COLUMN domains SET STATISTICS 0;

DROP TABLE cdscan.run_item;

DROP INDEX cdscan.run_one_unfinished;
CREATE UNIQUE INDEX run_one_unfinished ON cdscan.run (md5(selection), dry_run)
    WHERE state = 'running';

-- Deleting runs deletes their batches (and with them their lists).
CREATE OR REPLACE FUNCTION cdscan.run_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cdscan.scan s SET run_id = NULL FROM gone g
        WHERE s.run_id = g.id;
    DELETE FROM cdscan.run_batch b USING gone g WHERE b.run_id = g.id;
    RETURN NULL;
END
$$;
