-- cdscan schema, version 10: no foreign key from a run's items to the run.
--
--   cdscan.run_item  run_item_run_id_fkey is dropped. The items of a run
--                    are written once, by the one statement that lists the
--                    run right after its cdscan.run row (db/run.c), and
--                    never moved to another run, so the key could not
--                    fail; but PostgreSQL checked it row by row: 90 ms of
--                    the 156 ms that listing a run of 20000 delegations
--                    took, ~5% of the database's CPU in a scan where
--                    nothing changes (docs/BENCH.md). Runs are never
--                    deleted by cdscan; whoever deletes one deletes its
--                    items with it (cdscan-sql(7)). The keys of the scan
--                    records (cdscan.scan, scan_server, audit), which
--                    operators read and may prune, stay.

ALTER TABLE cdscan.run_item DROP CONSTRAINT IF EXISTS run_item_run_id_fkey;
