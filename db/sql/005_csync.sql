-- cdscan schema, version 5: CSYNC (RFC 7477, STANDARDS §6): NS and glue
-- changes the child asks for.
--
--   cdscan.scan          the CSYNC verdict, reason and detail of each scan
--                        beside the DS ones, and what became of a change
--   cdscan.scan_server   the CSYNC each server showed: serial, flags, the
--                        types of its bit map, the NS set it served
--   cdscan.csync_change  every CSYNC change cdscan acted on or holds: the
--                        NS set and glue before and after, the evidence,
--                        and its state (held for approval, applied, ...)
--   cdscan.apply_ns()    the SQL interface (out) for NS and glue, beside
--                        cdscan.apply_ds(): a registry with its own schema
--                        redefines it, or uses `sink: requests`, where NS
--                        changes land in cdscan.change_request (kind
--                        'ns-update', columns before_ns .. after_glue)
--   cdscan.audit         NS/glue changes are audit rows too (kind
--                        'ns-update', before_ns .. after_glue filled; the
--                        DS columns hold the unchanged DS set), and so
--                        are approvals and rejections of held changes
--
-- Glue is stored as "NAME ADDRESS" strings ("ns1.example.test. 192.0.2.1"),
-- only for NS names inside the delegated domain (in-bailiwick, RFC 7477
-- §3.2.2): glue of other names is never touched.

ALTER TABLE cdscan.scan
    ADD COLUMN csync_verdict text,
    ADD COLUMN csync_reason  text,
    ADD COLUMN csync_detail  text,
    -- applied, requested, held, stale, or NULL (nothing to carry out)
    ADD COLUMN csync_outcome text
        CHECK (csync_outcome IN ('applied', 'requested', 'held', 'stale'));

ALTER TABLE cdscan.scan_server
    ADD COLUMN csync_state  text,
    ADD COLUMN csync_sig    text,
    ADD COLUMN csync_serial bigint,
    ADD COLUMN csync_flags  integer,
    ADD COLUMN csync_types  integer[],
    ADD COLUMN csync_ns     text[];

-- The glue of a domain as cdscan compares it: "name addr" of every
-- address of every NS name of the domain that lies inside the domain,
-- sorted. A registry with its own schema gets it from its views.
CREATE FUNCTION cdscan.inbailiwick_glue(p_domain text)
RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(g.host || ' ' || host(g.addr::inet)
                              ORDER BY g.host || ' ' || host(g.addr::inet)),
                    '{}')
    FROM cdscan.glue g
    WHERE g.host = ANY ((SELECT d.ns FROM cdscan.delegation d
                         WHERE d.name = p_domain)::text[])
      AND (g.host = p_domain OR right(g.host, length(p_domain) + 1)
                                = '.' || p_domain)
$$;

-- Replace the NS set of p_domain by p_after_ns and the glue of its
-- in-bailiwick names by p_after_glue ("name addr" strings), if the NS set
-- is still p_before_ns and that glue still p_before_glue (arrays compared
-- as sets). Returns false, changing nothing, when the domain is gone or
-- either moved (a change by other means: stale). Host rows of
-- in-bailiwick names that another domain still uses as NS are kept.
CREATE FUNCTION cdscan.apply_ns(p_domain text, p_before_ns text[],
                                p_after_ns text[], p_before_glue text[],
                                p_after_glue text[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    SELECT id INTO v_id FROM registry.domain WHERE name = p_domain
        FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    IF (SELECT coalesce(array_agg(n ORDER BY n), '{}') FROM
            unnest((SELECT d.ns FROM cdscan.delegation d
                    WHERE d.name = p_domain)::text[]) n)
       IS DISTINCT FROM
       (SELECT coalesce(array_agg(DISTINCT n ORDER BY n), '{}')
        FROM unnest(p_before_ns) n)
       OR cdscan.inbailiwick_glue(p_domain) IS DISTINCT FROM
       (SELECT coalesce(array_agg(DISTINCT g ORDER BY g), '{}')
        FROM unnest(p_before_glue) g) THEN
        RETURN false;
    END IF;
    DELETE FROM registry.host h
     WHERE (h.name = p_domain OR right(h.name, length(p_domain) + 1)
                                  = '.' || p_domain)
       AND (h.name = ANY (p_before_ns) OR h.name = ANY (p_after_ns))
       AND NOT EXISTS (SELECT 1 FROM registry.domain_ns o
                       WHERE o.ns_name = h.name AND o.domain_id <> v_id);
    DELETE FROM registry.domain_ns WHERE domain_id = v_id;
    INSERT INTO registry.domain_ns (domain_id, ns_name)
    SELECT DISTINCT v_id, n FROM unnest(p_after_ns) n;
    INSERT INTO registry.host (name, addr)
    SELECT DISTINCT f[1], f[2]::inet
    FROM unnest(p_after_glue) g, regexp_split_to_array(g, ' ') f
    ON CONFLICT DO NOTHING;
    UPDATE registry.domain SET updated = now() WHERE id = v_id;
    RETURN true;
END $$;

-- Sink requests: an NS change request carries the sets; the DS columns
-- hold the (unchanged) DS set.
ALTER TABLE cdscan.change_request
    DROP CONSTRAINT IF EXISTS change_request_kind_check;
ALTER TABLE cdscan.change_request
    ADD CONSTRAINT change_request_kind_check
        CHECK (kind IN ('ds-update', 'ds-delete', 'ns-update')),
    ADD COLUMN before_ns   text[],
    ADD COLUMN after_ns    text[],
    ADD COLUMN before_glue text[],
    ADD COLUMN after_glue  text[];

ALTER TABLE cdscan.audit
    ADD COLUMN before_ns   text[],
    ADD COLUMN after_ns    text[],
    ADD COLUMN before_glue text[],
    ADD COLUMN after_glue  text[];

-- Every CSYNC change cdscan carried out, requested or holds:
--   held        immediate flag unset (Y3) or policy.csync-immediate off:
--               waits for `cdscan approve` / `cdscan reject`
--   applied     the registry tables changed (sink db), by a scan or by
--               an approval (decided_by says whose)
--   requested   written as a change request (sink requests)
--   approved    approved with sink requests: the request was written
--   rejected    an operator refused it (decided_by, why)
--   superseded  a newer CSYNC decision, or the registry's NS set moving
--               away from `before`, replaced it while it was held
CREATE TABLE cdscan.csync_change (
    id          bigserial PRIMARY KEY,
    created     timestamptz NOT NULL DEFAULT now(),
    domain      text NOT NULL,
    serial      bigint NOT NULL,
    flags       integer NOT NULL,
    before_ns   text[] NOT NULL,
    after_ns    text[] NOT NULL,
    before_glue text[] NOT NULL,
    after_glue  text[] NOT NULL,
    evidence    jsonb,
    run_id      bigint,
    scan_id     bigint,
    state       text NOT NULL
                CHECK (state IN ('held', 'applied', 'requested', 'approved',
                                 'rejected', 'superseded')),
    decided     timestamptz,
    decided_by  text,
    why         text
);
CREATE INDEX csync_change_domain ON cdscan.csync_change (domain, id DESC);
CREATE UNIQUE INDEX csync_change_one_held ON cdscan.csync_change (domain)
    WHERE state = 'held';

-- Events: an NS change cdscan made or requested is an event like a DS
-- change (same trigger, its own kind).
ALTER TABLE cdscan.event DROP CONSTRAINT IF EXISTS event_kind_check;
ALTER TABLE cdscan.event ADD CONSTRAINT event_kind_check
    CHECK (kind IN ('ds-update', 'ds-delete', 'bootstrap', 'rejected',
                    'ns-update'));

CREATE OR REPLACE FUNCTION cdscan.audit_event() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cdscan.event (time, domain, kind, payload, run_id, scan_id,
                              audit_id, next_attempt)
    SELECT NEW.time, NEW.domain,
           CASE WHEN NEW.kind = 'ns-update' THEN 'ns-update'
                WHEN cardinality(NEW.before_ds) = 0
                     AND cardinality(NEW.after_ds) > 0 THEN 'bootstrap'
                WHEN NEW.kind = 'ds-delete' THEN 'ds-delete'
                ELSE 'ds-update' END,
           jsonb_build_object(
               'before', CASE WHEN NEW.kind = 'ns-update'
                              THEN to_jsonb(NEW.before_ns)
                              ELSE to_jsonb(NEW.before_ds) END,
               'after', CASE WHEN NEW.kind = 'ns-update'
                             THEN to_jsonb(NEW.after_ns)
                             ELSE to_jsonb(NEW.after_ds) END,
               'outcome', NEW.evidence ->> 'outcome',
               'reason', NEW.evidence ->> 'reason',
               'detail', NEW.evidence ->> 'detail',
               'registrar', (SELECT d.registrar FROM cdscan.delegation d
                             WHERE d.name = NEW.domain),
               'run', NEW.run_id, 'scan', NEW.scan_id, 'audit', NEW.id),
           NEW.run_id, NEW.scan_id, NEW.id, NEW.time;
    RETURN NULL;
END $$;
