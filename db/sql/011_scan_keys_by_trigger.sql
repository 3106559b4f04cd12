-- cdscan schema, version 11: what the keys of the scan records did on
-- delete, done once per statement; nothing checked row by row on insert.
--
--   cdscan.scan         scan_run_id_fkey is dropped: each scan row was
--                       checked against cdscan.run as it was written, a
--                       trigger call and an index probe, ~4 µs a
--                       delegation on every scan. cdscan writes a scan
--                       only for the run it works in, in the statement
--                       that holds that run's items, so the check could
--                       not fail.
--   cdscan.scan_server  scan_server_scan_id_fkey is dropped for the same
--                       reason: the server rows are written by the
--                       statement that writes their scan, from the ids it
--                       returns. Together the two checks were ~15% of the
--                       database's CPU in a scan where nothing changes
--                       (docs/BENCH.md).
--
-- What the keys did when operators delete is kept, by statement-level
-- triggers that see every deleted row at once:
--
--   deleting scans      deletes their server rows (was ON DELETE CASCADE);
--   deleting runs       leaves their scans with run_id NULL (was ON DELETE
--                       SET NULL) and deletes their items (cdscan.run_item,
--                       whose key version 10 dropped).
--
-- TRUNCATE fires neither: truncate cdscan.scan_server with cdscan.scan.

ALTER TABLE cdscan.scan DROP CONSTRAINT IF EXISTS scan_run_id_fkey;
ALTER TABLE cdscan.scan_server
    DROP CONSTRAINT IF EXISTS scan_server_scan_id_fkey;

CREATE OR REPLACE FUNCTION cdscan.scan_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM cdscan.scan_server s USING gone g WHERE s.scan_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER scan_deleted AFTER DELETE ON cdscan.scan
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION cdscan.scan_deleted();

CREATE OR REPLACE FUNCTION cdscan.run_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cdscan.scan s SET run_id = NULL FROM gone g
        WHERE s.run_id = g.id;
    DELETE FROM cdscan.run_item i USING gone g WHERE i.run_id = g.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER run_deleted AFTER DELETE ON cdscan.run
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION cdscan.run_deleted();
