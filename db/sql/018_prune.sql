-- cdscan schema, version 18: scans that other records point at are found
-- by index, so that `cdscan prune` can keep them.
--
-- Every run writes a scan and its server rows for each delegation: ~770
-- bytes of table and index a delegation a night on the bench's world,
-- ~280 GB a year for a registry of 1M. `cdscan prune` deletes old scans
-- (db/prune.c) but keeps every scan another record names as its
-- evidence. Those records are few (changes, requests, events), and the
-- indexes are partial: only rows that name a scan are in them.
--
--   cdscan.audit           audit_scan_id
--   cdscan.change_request  change_request_scan_id
--   cdscan.csync_change    csync_change_scan_id
--   cdscan.epp_outbox      epp_outbox_scan_id
--   cdscan.event           event_scan_id

CREATE INDEX audit_scan_id ON cdscan.audit (scan_id)
    WHERE scan_id IS NOT NULL;
CREATE INDEX change_request_scan_id ON cdscan.change_request (scan_id)
    WHERE scan_id IS NOT NULL;
CREATE INDEX csync_change_scan_id ON cdscan.csync_change (scan_id)
    WHERE scan_id IS NOT NULL;
CREATE INDEX epp_outbox_scan_id ON cdscan.epp_outbox (scan_id)
    WHERE scan_id IS NOT NULL;
CREATE INDEX event_scan_id ON cdscan.event (scan_id)
    WHERE scan_id IS NOT NULL;
