-- cdscan schema, version 12: a run is claimed by batch, and an item is
-- done when its scan is recorded.
--
--   cdscan.run_batch  new: a run's delegations in batches, cut in name
--                     order when the run is listed (scan.batch-size of
--                     the worker that lists it). The claim and its lease
--                     are the batch's: todo, claimed (worker,
--                     lease_until) or done. A claim updates one row, not
--                     a thousand.
--   cdscan.run_item   loses state, worker, lease_until and claims (and
--                     the indexes run_item_open and run_item_todo); gains
--                     batch. An item is written once, when the run is
--                     listed, and never updated: that it is done is read
--                     from cdscan.scan (scan_once_per_run), written in the
--                     same transaction that recorded it anyway.
--
-- Before, claiming an item and marking it done each wrote a new version
-- of its row and of every index entry (state is in two partial indexes,
-- so no update was HOT): 9 ms of the 16 ms a claim of 1000 took, and
-- 4.4 ms of recording them, in a scan where nothing changes about a
-- quarter of what the database did (docs/BENCH.md).
--
-- Runs listed before this version are cut into batches of 1000. A batch
-- whose items were all done, or of a finished run, is done; any other is
-- todo (claims of workers still running across an upgrade are given
-- back), with claims = 1 where any of its items had been claimed, so
-- that its next claim leaves out what was recorded.

CREATE TABLE cdscan.run_batch (
    run_id      bigint NOT NULL,
    batch       integer NOT NULL,
    size        integer NOT NULL,
    state       text NOT NULL DEFAULT 'todo'
                CHECK (state IN ('todo', 'claimed', 'done')),
    worker      text,
    lease_until timestamptz,
    claims      smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, batch)
);

ALTER TABLE cdscan.run_item ADD COLUMN batch integer;

UPDATE cdscan.run_item i SET batch = x.batch
FROM (SELECT run_id, domain,
             ((row_number() OVER (PARTITION BY run_id ORDER BY domain)) - 1)
                 / 1000 AS batch
      FROM cdscan.run_item) x
WHERE i.run_id = x.run_id AND i.domain = x.domain;

INSERT INTO cdscan.run_batch (run_id, batch, size, state, claims)
SELECT i.run_id, i.batch, count(*),
       CASE WHEN bool_and(i.state = 'done')
                 OR bool_or(coalesce(r.state, 'done') = 'done')
            THEN 'done' ELSE 'todo' END,
       CASE WHEN bool_or(i.state <> 'todo') THEN 1 ELSE 0 END
FROM cdscan.run_item i LEFT JOIN cdscan.run r ON r.id = i.run_id
GROUP BY i.run_id, i.batch;

ALTER TABLE cdscan.run_item ALTER COLUMN batch SET NOT NULL;
DROP INDEX IF EXISTS cdscan.run_item_open;
DROP INDEX IF EXISTS cdscan.run_item_todo;
ALTER TABLE cdscan.run_item DROP COLUMN state, DROP COLUMN worker,
    DROP COLUMN lease_until, DROP COLUMN claims;
CREATE INDEX run_item_batch ON cdscan.run_item (run_id, batch);

-- Deleting runs also deletes their batches.
CREATE OR REPLACE FUNCTION cdscan.run_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cdscan.scan s SET run_id = NULL FROM gone g
        WHERE s.run_id = g.id;
    DELETE FROM cdscan.run_item i USING gone g WHERE i.run_id = g.id;
    DELETE FROM cdscan.run_batch b USING gone g WHERE b.run_id = g.id;
    RETURN NULL;
END
$$;
