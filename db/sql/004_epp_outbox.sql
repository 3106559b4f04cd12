-- cdscan schema, version 4: the EPP outbox (sink: epp, the registrar role).
--
-- With `sink: epp` an accepted change is not applied to the local tables:
-- it is written here, in the transaction that records its decision and
-- audit row, and `cdscan epp send` carries it to the registry over EPP
-- (STANDARDS §10). A row is never deleted; its state says where it is:
--
--   queued    waiting (next_attempt: not before; after a 2400 or a lost
--             connection it waits, doubling per attempt)
--   sending   a sender took it (sender "host:pid", lease_until); a sender
--             that died leaves it here and the next one takes it over,
--             re-reads domain:info first and sends only what is missing
--   pending   the registry answered 1001; a poll message settles it
--   done      the registry holds after_ds; the local tables followed
--   refused   a final refusal (2304, 2306, a stale set, ...): last_code
--             and last_message say why; never retried by itself
--   superseded a newer decision for the domain replaced it while it was
--             queued (perhaps tried already: the newer one then accepts
--             the registry holding this one's after_ds)
--
-- A registry or another tool may insert rows too: domain, kind, before_ds
-- and after_ds are all a sender needs (after_keys for keyData servers).

CREATE TABLE cdscan.epp_outbox (
    id           bigserial PRIMARY KEY,
    created      timestamptz NOT NULL DEFAULT now(),
    domain       text NOT NULL CHECK (domain = lower(domain)
                                      AND domain LIKE '%_.'),
    kind         text NOT NULL CHECK (kind IN ('ds-update', 'ds-delete')),
    -- DS sets in presentation form ("KEYTAG ALG TYPE HEX"), as the audit
    before_ds    text[] NOT NULL,
    after_ds     text[] NOT NULL,
    -- the DNSKEYs behind after_ds ("FLAGS PROTOCOL ALG BASE64"), for a
    -- registry that takes keyData (RFC 5910 §4)
    after_keys   text[] NOT NULL DEFAULT '{}',
    run_id       bigint,
    scan_id      bigint,
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'sending', 'pending', 'done',
                                  'refused', 'superseded')),
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt timestamptz NOT NULL DEFAULT now(),
    sender       text,
    lease_until  timestamptz,
    -- the clTRID of the update answered 1001, matched by the poll message
    cl_trid      text,
    last_code    integer,
    last_message text,
    updated      timestamptz NOT NULL DEFAULT now(),
    done_at      timestamptz,
    -- whether the local tables took after_ds when the registry confirmed
    local_applied boolean
);
CREATE INDEX epp_outbox_open ON cdscan.epp_outbox (id)
    WHERE state IN ('queued', 'sending', 'pending');
CREATE INDEX epp_outbox_domain ON cdscan.epp_outbox (domain, id);

-- A scan whose change went to the outbox says so.
ALTER TABLE cdscan.scan DROP CONSTRAINT IF EXISTS scan_outcome_check;
ALTER TABLE cdscan.scan ADD CONSTRAINT scan_outcome_check
    CHECK (outcome IN ('applied', 'requested', 'stale', 'queued'));
