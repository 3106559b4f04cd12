-- cdscan schema, version 1.
--
-- Three parts:
--   registry.*  the reference registry tables: domains, their NS names,
--               hosts with glue, DS records, status flags, opt-out. A
--               registry that keeps its own schema does not use them.
--   cdscan.delegation, cdscan.glue, cdscan.apply_ds()
--               the SQL interface: views in, changes out. A registry with
--               its own schema redefines these three over its tables (see
--               docs/cdscan-sql.7) and cdscan reads and writes nothing else
--               of the registry's.
--   cdscan.*    cdscan's own state: runs and their work queue, what every
--               server said, decisions, the audit trail, change requests.
--
-- Names are stored in lower case with the trailing dot ("example.test.").
-- DS records are stored in presentation form without the owner:
-- "KEYTAG ALG DIGESTTYPE HEXDIGEST", digest in upper case.

CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.domain (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE
                CHECK (name = lower(name) AND name LIKE '%_.'),
    registrar   text,
    -- EPP status values (RFC 5731 §2.3), e.g. serverUpdateProhibited.
    statuses    text[] NOT NULL DEFAULT '{}',
    -- The registrant asked that no automation touch this domain.
    optout      boolean NOT NULL DEFAULT false,
    created     timestamptz NOT NULL DEFAULT now(),
    updated     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE registry.domain_ns (
    domain_id   bigint NOT NULL REFERENCES registry.domain (id)
                ON DELETE CASCADE,
    ns_name     text NOT NULL CHECK (ns_name = lower(ns_name)
                                     AND ns_name LIKE '%_.'),
    PRIMARY KEY (domain_id, ns_name)
);

-- Host objects with their addresses: the glue of in-bailiwick NS names
-- (and, where a registry keeps them, addresses of others).
CREATE TABLE registry.host (
    name        text NOT NULL CHECK (name = lower(name) AND name LIKE '%_.'),
    addr        inet NOT NULL,
    PRIMARY KEY (name, addr)
);

CREATE TABLE registry.ds (
    domain_id   bigint NOT NULL REFERENCES registry.domain (id)
                ON DELETE CASCADE,
    keytag      integer NOT NULL CHECK (keytag BETWEEN 0 AND 65535),
    algorithm   smallint NOT NULL CHECK (algorithm BETWEEN 0 AND 255),
    digest_type smallint NOT NULL CHECK (digest_type BETWEEN 0 AND 255),
    digest      text NOT NULL CHECK (digest ~ '^[0-9A-F]*$'),
    PRIMARY KEY (domain_id, keytag, algorithm, digest_type, digest)
);

CREATE SCHEMA IF NOT EXISTS cdscan;

-- ---- the SQL interface: in ------------------------------------------------

-- One row per delegation. ns and ds are sorted; ds in presentation form.
CREATE VIEW cdscan.delegation AS
SELECT d.name,
       ARRAY(SELECT n.ns_name FROM registry.domain_ns n
             WHERE n.domain_id = d.id ORDER BY n.ns_name) AS ns,
       ARRAY(SELECT s.keytag || ' ' || s.algorithm || ' ' || s.digest_type
                    || ' ' || s.digest
             FROM registry.ds s WHERE s.domain_id = d.id
             ORDER BY s.keytag, s.algorithm, s.digest_type, s.digest) AS ds,
       d.statuses,
       d.optout,
       d.registrar
FROM registry.domain d;

-- Addresses the registry holds for NS names.
CREATE VIEW cdscan.glue AS
SELECT h.name AS host, h.addr FROM registry.host h;

-- ---- the SQL interface: out -----------------------------------------------

-- Replace the DS set of p_domain by p_after, if it is still p_before.
-- Returns false, changing nothing, when the domain is gone or its DS set
-- is no longer p_before (a change by other means during the scan). Runs
-- inside cdscan's transaction, next to the audit row.
CREATE FUNCTION cdscan.apply_ds(p_domain text, p_before text[],
                                p_after text[])
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    v_id  bigint;
    v_now text[];
BEGIN
    SELECT id INTO v_id FROM registry.domain WHERE name = p_domain
        FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    SELECT ds INTO v_now FROM cdscan.delegation WHERE name = p_domain;
    IF v_now IS DISTINCT FROM p_before THEN
        RETURN false;
    END IF;
    DELETE FROM registry.ds WHERE domain_id = v_id;
    INSERT INTO registry.ds (domain_id, keytag, algorithm, digest_type, digest)
    SELECT v_id, f[1]::integer, f[2]::smallint, f[3]::smallint, f[4]
    FROM unnest(p_after) AS r, regexp_split_to_array(r, ' ') AS f;
    UPDATE registry.domain SET updated = now() WHERE id = v_id;
    RETURN true;
END $$;

-- With `sink: requests`, accepted changes land here instead, for the
-- registry's own process to carry out. It sets state and note.
CREATE TABLE cdscan.change_request (
    id          bigserial PRIMARY KEY,
    created     timestamptz NOT NULL DEFAULT now(),
    domain      text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('ds-update', 'ds-delete')),
    before_ds   text[] NOT NULL,
    after_ds    text[] NOT NULL,
    run_id      bigint,
    scan_id     bigint,
    state       text NOT NULL DEFAULT 'new'
                CHECK (state IN ('new', 'done', 'refused')),
    processed   timestamptz,
    note        text
);
CREATE INDEX change_request_new ON cdscan.change_request (id)
    WHERE state = 'new';

-- ---- cdscan's own state ---------------------------------------------------

-- One run: a scan of a selection ('all', or the domain names given,
-- space-separated). At most one unfinished run per selection and mode:
-- a later `cdscan scan` of the same selection joins or resumes it.
CREATE TABLE cdscan.run (
    id          bigserial PRIMARY KEY,
    selection   text NOT NULL,
    dry_run     boolean NOT NULL,
    state       text NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'done')),
    started     timestamptz NOT NULL DEFAULT now(),
    finished    timestamptz,
    total       integer NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX run_one_unfinished ON cdscan.run (selection, dry_run)
    WHERE state = 'running';

-- The work queue of a run. Workers claim batches with FOR UPDATE SKIP
-- LOCKED; a claim lapses at lease_until unless renewed, and is then
-- taken over. An item becomes 'done' in the transaction that records its
-- scan, so each delegation is recorded once per run.
CREATE TABLE cdscan.run_item (
    run_id      bigint NOT NULL REFERENCES cdscan.run (id) ON DELETE CASCADE,
    domain      text NOT NULL,
    state       text NOT NULL DEFAULT 'todo'
                CHECK (state IN ('todo', 'claimed', 'done')),
    worker      text,
    lease_until timestamptz,
    claims      smallint NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, domain)
);
CREATE INDEX run_item_open ON cdscan.run_item (run_id, state, domain)
    WHERE state <> 'done';

-- Workers that took part in a run ("host:pid").
CREATE TABLE cdscan.worker (
    run_id      bigint NOT NULL REFERENCES cdscan.run (id) ON DELETE CASCADE,
    worker      text NOT NULL,
    started     timestamptz NOT NULL DEFAULT now(),
    last_seen   timestamptz NOT NULL DEFAULT now(),
    scanned     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, worker)
);

-- One scan of one delegation: the decision and why.
CREATE TABLE cdscan.scan (
    id          bigserial PRIMARY KEY,
    run_id      bigint REFERENCES cdscan.run (id) ON DELETE SET NULL,
    domain      text NOT NULL,
    time        timestamptz NOT NULL,
    worker      text,
    dry_run     boolean NOT NULL DEFAULT false,
    verdict     text NOT NULL,
    reason      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    current_ds  text[] NOT NULL DEFAULT '{}',
    proposed_ds text[] NOT NULL DEFAULT '{}',
    queries     integer NOT NULL DEFAULT 0,
    -- what became of an accepted change: applied, requested (sink
    -- requests), stale (the DS changed meanwhile), or NULL (no change)
    outcome     text CHECK (outcome IN ('applied', 'requested', 'stale'))
);
CREATE INDEX scan_domain_time ON cdscan.scan (domain, time DESC, id DESC);
CREATE UNIQUE INDEX scan_once_per_run ON cdscan.scan (run_id, domain);

-- What each server address said in that scan.
CREATE TABLE cdscan.scan_server (
    scan_id       bigint NOT NULL REFERENCES cdscan.scan (id)
                  ON DELETE CASCADE,
    seq           smallint NOT NULL,
    ns_name       text NOT NULL,
    addr          text,
    transport     text,
    error         text,
    soa_serial    bigint,
    dnskey_state  text,
    dnskey_proven boolean,
    cds_state     text,
    cds_sig       text,
    cds           text[],
    cdnskey_state text,
    cdnskey_sig   text,
    cdnskey       text[],
    PRIMARY KEY (scan_id, seq)
);

-- Every change to a DS set, by cdscan or by import: before, after, the
-- evidence, when, and in which run.
CREATE TABLE cdscan.audit (
    id          bigserial PRIMARY KEY,
    time        timestamptz NOT NULL DEFAULT now(),
    domain      text NOT NULL,
    actor       text NOT NULL,
    kind        text NOT NULL,
    before_ds   text[] NOT NULL,
    after_ds    text[] NOT NULL,
    run_id      bigint,
    scan_id     bigint,
    evidence    jsonb
);
CREATE INDEX audit_domain_time ON cdscan.audit (domain, time DESC, id DESC);
