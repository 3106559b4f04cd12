-- cdscan schema, version 7: accept-after-delay progress (RFC 8078 §3,
-- STANDARDS B1) as numbers, so that `cdscan status` and the registry's
-- own tools read them without parsing the detail text.
--
--   cdscan.scan  boot_scan      this scan's place in the streak of
--                               consistent bootstrap requests (1 = the
--                               first)
--                boot_needed    the scans policy.bootstrap-delay-scans
--                               asked for at the time of the scan
--                boot_eligible  when policy.bootstrap-delay is over
--                All three are set on the scans policy counted into a
--                streak (reason bootstrap-waiting, and the scan that
--                completed it), NULL on every other scan and on the
--                scans recorded before this version.

ALTER TABLE cdscan.scan
    ADD COLUMN boot_scan     integer CHECK (boot_scan >= 1),
    ADD COLUMN boot_needed   integer CHECK (boot_needed >= 1),
    ADD COLUMN boot_eligible timestamptz,
    ADD CONSTRAINT scan_boot_all_or_none
        CHECK ((boot_scan IS NULL) = (boot_needed IS NULL)
               AND (boot_scan IS NULL) = (boot_eligible IS NULL));
