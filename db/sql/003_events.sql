-- cdscan schema, version 3: registrar opt-out and notifications.
--
--   registry.registrar   the registrars, with an opt-out that covers every
--                        domain they sponsor (STANDARDS §14: opt-out per
--                        domain and per registrar).
--   cdscan.registrar     the SQL interface to it (in): a registry with its
--                        own schema redefines this view over its tables.
--   cdscan.event         one row per thing worth telling someone about: a
--                        DS change applied or requested, a bootstrap that
--                        completed, a domain rejected on several scans in a
--                        row. `cdscan notify` hands each to notify.hook and
--                        keeps its delivery state here.

-- registry.domain.registrar names a row of this table by id. It is not a
-- foreign key: domains arrive from zone files and the registry's own
-- tools before (or without) their registrar's row, and a domain whose
-- registrar has no row simply has not opted out.
CREATE TABLE registry.registrar (
    id          text PRIMARY KEY,
    name        text,
    -- The registrar asked that no automation touch its domains.
    optout      boolean NOT NULL DEFAULT false
);

-- ---- the SQL interface: in ------------------------------------------------

-- Registrars by the id cdscan.delegation.registrar gives, with opt-out.
CREATE VIEW cdscan.registrar AS
SELECT r.id, r.optout FROM registry.registrar r;

-- ---- cdscan's own state ---------------------------------------------------

-- Events, written in the transaction of what they report (the audit row,
-- or the batch of scans that completed a streak of rejections) and
-- delivered later by `cdscan notify`: pending until the hook exits 0
-- (delivered), retried with back-off after a failure, failed after
-- notify.max-attempts. payload is what the hook receives, together with
-- id, time, domain and kind.
CREATE TABLE cdscan.event (
    id           bigserial PRIMARY KEY,
    time         timestamptz NOT NULL,
    domain       text NOT NULL,
    kind         text NOT NULL
                 CHECK (kind IN ('ds-update', 'ds-delete', 'bootstrap',
                                 'rejected')),
    payload      jsonb NOT NULL DEFAULT '{}',
    run_id       bigint,
    scan_id      bigint,
    audit_id     bigint,
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL,
    last_error   text,
    delivered    timestamptz
);
CREATE INDEX event_due ON cdscan.event (next_attempt, id)
    WHERE state = 'pending';
CREATE INDEX event_domain_time ON cdscan.event (domain, time DESC, id DESC);

-- Every DS change cdscan made or requested (audit actor 'scan') is an
-- event in the same transaction as its audit row, whichever path wrote
-- it (sink db, sink requests, later EPP). A change whose before is empty
-- is a bootstrap: the delegation became secure.
CREATE FUNCTION cdscan.audit_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cdscan.event (time, domain, kind, payload, run_id, scan_id,
                              audit_id, next_attempt)
    SELECT NEW.time, NEW.domain,
           CASE WHEN cardinality(NEW.before_ds) = 0
                     AND cardinality(NEW.after_ds) > 0 THEN 'bootstrap'
                WHEN NEW.kind = 'ds-delete' THEN 'ds-delete'
                ELSE 'ds-update' END,
           jsonb_build_object(
               'before', to_jsonb(NEW.before_ds),
               'after', to_jsonb(NEW.after_ds),
               'outcome', NEW.evidence ->> 'outcome',
               'reason', NEW.evidence ->> 'reason',
               'detail', NEW.evidence ->> 'detail',
               'registrar', (SELECT d.registrar FROM cdscan.delegation d
                             WHERE d.name = NEW.domain),
               'run', NEW.run_id, 'scan', NEW.scan_id, 'audit', NEW.id),
           NEW.run_id, NEW.scan_id, NEW.id, NEW.time;
    RETURN NULL;
END $$;

CREATE TRIGGER audit_event AFTER INSERT ON cdscan.audit
    FOR EACH ROW WHEN (NEW.actor = 'scan')
    EXECUTE FUNCTION cdscan.audit_event();
