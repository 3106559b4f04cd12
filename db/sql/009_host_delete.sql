-- cdscan schema, version 9: host objects an NS change left behind are
-- deleted at the registry (RFC 5732 §3.2.2).
--
--   cdscan.epp_outbox  rows of kind 'host-delete': queued in the statement
--                      that marks an ns-update row 'done' (db/outbox.c),
--                      so that a confirmed NS change never loses its
--                      cleanup, and sent as a step of its own after it:
--                      a failure here is retried like any outbox row and
--                      never sends the domain:update again.
--       of_id          the ns-update row whose change dropped the names
--       hosts          the host objects to delete: names the change
--                      removed that lie inside the domain (never one of
--                      its new NS names)
--       hosts_deleted  deleted (1000; 1001 counts: the registry took it)
--       hosts_gone     the registry no longer had them (2303)
--       hosts_left     "NAME CODE": kept at the registry, e.g. 2305
--                      (another domain still uses it); not a failure of
--                      the NS change, which stays done
--                      Each is written as its answer arrives, so that a
--                      retry sends host:delete only for what is still
--                      open.
--                      The row ends 'done', or 'refused' when a host was
--                      kept for a reason other than 2303/2305 (2201,
--                      2304...), for the operator to look at.

ALTER TABLE cdscan.epp_outbox DROP CONSTRAINT IF EXISTS epp_outbox_kind_check;
ALTER TABLE cdscan.epp_outbox
    ADD CONSTRAINT epp_outbox_kind_check
        CHECK (kind IN ('ds-update', 'ds-delete', 'ns-update',
                        'host-delete')),
    ADD COLUMN of_id         bigint,
    ADD COLUMN hosts         text[],
    ADD COLUMN hosts_deleted text[] NOT NULL DEFAULT '{}',
    ADD COLUMN hosts_gone    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN hosts_left    text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT epp_outbox_hosts
        CHECK (kind <> 'host-delete' OR cardinality(hosts) > 0);
