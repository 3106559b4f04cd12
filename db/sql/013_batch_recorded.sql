-- cdscan schema, version 13: a batch counts what is recorded of it.
--
--   cdscan.run_batch  gains recorded: how many of the batch's items have
--                     their scan in the run. The transaction that records
--                     scans adds to it, in the same commit, what it
--                     inserted (a scan the run already had is neither
--                     inserted nor counted), so it is exact: a batch has
--                     size - recorded items left.
--
-- Before, whether a batch was recorded whole was asked of every item: a
-- probe of scan_once_per_run each, when the claim marked the batches its
-- worker had finished done (1000 probes, half of a claim's time in a
-- scan where nothing changes, docs/BENCH.md), and again for progress,
-- release and the end of the run.
--
-- Batches of runs listed before this version get the count of their
-- items that have a scan; a batch already done counts as whole.

ALTER TABLE cdscan.run_batch ADD COLUMN recorded integer NOT NULL DEFAULT 0;

UPDATE cdscan.run_batch b SET recorded = CASE
    WHEN b.state = 'done' THEN b.size
    ELSE (SELECT count(*) FROM cdscan.run_item i
          WHERE i.run_id = b.run_id AND i.batch = b.batch
          AND EXISTS (SELECT 1 FROM cdscan.scan s
                      WHERE s.run_id = i.run_id AND s.domain = i.domain))
    END;
