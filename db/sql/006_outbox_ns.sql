-- cdscan schema, version 6: CSYNC changes through the EPP outbox, and the
-- operator's decisions on held CSYNC changes as events.
--
--   cdscan.epp_outbox    rows of kind 'ns-update': an NS set and the
--                        in-bailiwick glue, before and after ("NAME
--                        ADDRESS" strings, as cdscan.csync_change), sent
--                        by `cdscan epp send` with host and domain:update
--                        commands; before_ds/after_ds hold the unchanged
--                        DS set. csync_id names the csync_change row it
--                        carries. Done means the registry confirmed and
--                        cdscan.apply_ns() ran in the same statement.
--   cdscan.csync_change  'queued': the change waits in the outbox (sink
--                        epp); it becomes 'applied' when the registry
--                        confirms, 'refused' when it refuses (why says
--                        its answer), 'superseded' when a newer NS change
--                        replaces it in the outbox.
--   cdscan.event         approvals (kind ns-update) and rejections (kind
--                        csync-rejected) of held changes are events like
--                        the changes scans make, so the registrar's hook
--                        hears of them; payload.actor says who decided.

ALTER TABLE cdscan.epp_outbox DROP CONSTRAINT IF EXISTS epp_outbox_kind_check;
ALTER TABLE cdscan.epp_outbox
    ADD CONSTRAINT epp_outbox_kind_check
        CHECK (kind IN ('ds-update', 'ds-delete', 'ns-update')),
    ADD COLUMN before_ns   text[],
    ADD COLUMN after_ns    text[],
    ADD COLUMN before_glue text[],
    ADD COLUMN after_glue  text[],
    ADD COLUMN csync_id    bigint,
    ADD CONSTRAINT epp_outbox_ns_sets
        CHECK (kind <> 'ns-update' OR (before_ns IS NOT NULL
               AND after_ns IS NOT NULL AND before_glue IS NOT NULL
               AND after_glue IS NOT NULL));

ALTER TABLE cdscan.csync_change
    DROP CONSTRAINT IF EXISTS csync_change_state_check;
ALTER TABLE cdscan.csync_change
    ADD CONSTRAINT csync_change_state_check
        CHECK (state IN ('held', 'applied', 'requested', 'approved',
                         'rejected', 'superseded', 'queued', 'refused'));

ALTER TABLE cdscan.scan DROP CONSTRAINT IF EXISTS scan_csync_outcome_check;
ALTER TABLE cdscan.scan ADD CONSTRAINT scan_csync_outcome_check
    CHECK (csync_outcome IN ('applied', 'requested', 'held', 'stale',
                             'queued'));

ALTER TABLE cdscan.event DROP CONSTRAINT IF EXISTS event_kind_check;
ALTER TABLE cdscan.event ADD CONSTRAINT event_kind_check
    CHECK (kind IN ('ds-update', 'ds-delete', 'bootstrap', 'rejected',
                    'ns-update', 'csync-rejected'));

CREATE OR REPLACE FUNCTION cdscan.audit_event() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_ns boolean := NEW.kind IN ('ns-update', 'ns-rejected');
BEGIN
    INSERT INTO cdscan.event (time, domain, kind, payload, run_id, scan_id,
                              audit_id, next_attempt)
    SELECT NEW.time, NEW.domain,
           CASE WHEN NEW.kind = 'ns-update' THEN 'ns-update'
                WHEN NEW.kind = 'ns-rejected' THEN 'csync-rejected'
                WHEN cardinality(NEW.before_ds) = 0
                     AND cardinality(NEW.after_ds) > 0 THEN 'bootstrap'
                WHEN NEW.kind = 'ds-delete' THEN 'ds-delete'
                ELSE 'ds-update' END,
           jsonb_build_object(
               'before', CASE WHEN v_ns THEN to_jsonb(NEW.before_ns)
                              ELSE to_jsonb(NEW.before_ds) END,
               -- a rejection's after is what the child asked for
               'after', CASE WHEN NEW.kind = 'ns-rejected'
                             THEN NEW.evidence -> 'asked_ns'
                             WHEN v_ns THEN to_jsonb(NEW.after_ns)
                             ELSE to_jsonb(NEW.after_ds) END,
               'outcome', CASE WHEN NEW.actor = 'scan'
                               THEN NEW.evidence ->> 'outcome'
                               WHEN NEW.kind = 'ns-rejected'
                               THEN 'rejected'
                               ELSE coalesce(NEW.evidence ->> 'decided',
                                             'approved') END,
               'reason', NEW.evidence ->> 'reason',
               'detail', coalesce(NEW.evidence ->> 'why',
                                  NEW.evidence ->> 'detail'),
               'actor', NEW.actor,
               'registrar', (SELECT d.registrar FROM cdscan.delegation d
                             WHERE d.name = NEW.domain),
               'run', NEW.run_id, 'scan', NEW.scan_id, 'audit', NEW.id),
           NEW.run_id, NEW.scan_id, NEW.id, NEW.time;
    RETURN NULL;
END $$;

-- Changes scans made or queued (actor 'scan'), and the operator's
-- approvals and rejections of held CSYNC changes; not the bookkeeping of
-- a held change superseded (kind ns-superseded), which tells no one of a
-- change.
DROP TRIGGER IF EXISTS audit_event ON cdscan.audit;
CREATE TRIGGER audit_event AFTER INSERT ON cdscan.audit
    FOR EACH ROW WHEN ((NEW.actor = 'scan' AND NEW.kind <> 'ns-superseded')
                       OR NEW.kind IN ('ns-update', 'ns-rejected'))
    EXECUTE FUNCTION cdscan.audit_event();
