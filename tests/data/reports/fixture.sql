-- Rows as `cdscan import` and `cdscan scan` write them, with fixed times,
-- for the report tests (tests/integration/reports.sh). Four runs:
--   1  2026-01-02  all, done        everything unchanged (no CDS yet)
--   2  2026-01-03  all, done        rollover applied, pending, locked,
--                                   stale, requested
--   3  2026-01-04  two names, dry run, done
--   4  2026-01-05  all, running     one done, one claimed (lease lapsed),
--                                   the rest queued
-- quiet.test. is held but was never scanned and never changed.
BEGIN;
SET TIME ZONE 'UTC';

INSERT INTO registry.domain (id, name, registrar, statuses, optout) VALUES
 (1, 'rollover.test.', 'registrar-a', '{}', false),
 (2, 'pending.test.', 'registrar-a', '{}', false),
 (3, 'locked.test.', 'registrar-b',
     '{serverUpdateProhibited,clientTransferProhibited}', true),
 (4, 'stale.test.', NULL, '{}', false),
 (5, 'requested.test.', 'registrar-b', '{}', false),
 (6, 'quiet.test.', 'registrar-a', '{}', false);
INSERT INTO registry.domain_ns VALUES
 (1, 'ns1.rollover.test.'), (1, 'ns2.operator.example.'),
 (2, 'ns1.pending.test.'), (2, 'ns2.pending.test.'),
 (3, 'ns1.operator.example.'), (4, 'ns1.operator.example.'),
 (5, 'ns1.operator.example.'), (6, 'ns1.operator.example.');
INSERT INTO registry.host VALUES
 ('ns1.rollover.test.', '192.0.2.1'), ('ns1.rollover.test.', '2001:db8::1'),
 ('ns1.pending.test.', '192.0.2.21'), ('ns2.pending.test.', '192.0.2.22');
INSERT INTO registry.ds VALUES
 (1, 22222, 13, 2, '11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437'),
 (2, 33333, 13, 2, 'CB3A809BA87FBDFBE5072C6E93BFDA1F77D4EF2811FEC4E6CA89FBE10B11023E'),
 (3, 44444, 13, 2, '0C030586945FE504B604ECC2E875C38EDE400CD5CD73DA9730302162E6B02C6F'),
 (4, 55555, 13, 2, 'A03F2386AE06B21109577020844DF367857B72C2FCCE384C1896FED98A89C82B'),
 (4, 55555, 13, 4, '63376D140EAAC6D99E216EEDD6481F577C0249F421764CC20C25212BD0E9963163376D140EAAC6D99E216EEDD6481F57'),
 (5, 6666, 13, 2, 'C3F7BDF537C46724392C4428E47E04C148C56966190C3C9ED92114800C9F35BB');

INSERT INTO cdscan.run (id, selection, dry_run, state, started, finished, total)
VALUES
 (1, 'all', false, 'done', '2026-01-02 02:00:00', '2026-01-02 02:00:40', 5),
 (2, 'all', false, 'done', '2026-01-03 02:00:00', '2026-01-03 02:01:05', 5),
 (3, 'locked.test. pending.test.', true, 'done', '2026-01-04 02:00:00',
     '2026-01-04 02:00:02', 2),
 (4, 'all', false, 'running', '2026-01-05 02:00:00', NULL, 6);
INSERT INTO cdscan.worker (run_id, worker, started, last_seen, scanned) VALUES
 (1, 'scan1:100', '2026-01-02 02:00:00', '2026-01-02 02:00:40', 5),
 (2, 'scan1:200', '2026-01-03 02:00:00', '2026-01-03 02:01:05', 3),
 (2, 'scan2:201', '2026-01-03 02:00:01', '2026-01-03 02:01:05', 2),
 (2, 'scan3:202', '2026-01-03 02:00:01', '2026-01-03 02:01:04', 1),
 (3, 'scan1:300', '2026-01-04 02:00:00', '2026-01-04 02:00:02', 2),
 (4, 'scan1:400', '2026-01-05 02:00:00', '2026-01-05 02:00:10', 1);
-- Run 4: rollover.test. recorded, pending.test. still claimed, the rest
-- never claimed.
INSERT INTO cdscan.run_batch (run_id, batch, size, state, worker, lease_until,
                              claims, domains)
SELECT r, 0, count(*), 'done', 'scan1:' || r * 100, NULL, 1,
       array_agg(name ORDER BY name)
FROM registry.domain, generate_series(1, 2) r WHERE id <> 6 GROUP BY r;
INSERT INTO cdscan.run_batch (run_id, batch, size, state, worker, lease_until,
                              claims, domains)
VALUES (3, 0, 2, 'done', 'scan1:300', NULL, 1,
        '{locked.test.,pending.test.}'),
       (4, 0, 2, 'claimed', 'scan1:400', '2026-01-05 02:10:00', 1,
        '{pending.test.,rollover.test.}'),
       (4, 1, 4, 'todo', NULL, NULL, 0,
        '{locked.test.,quiet.test.,requested.test.,stale.test.}');

-- Run 1: no CDS anywhere yet (quiet.test. joined the registry later).
INSERT INTO cdscan.scan (id, run_id, domain, time, worker, verdict, reason,
                         detail, current_ds, queries)
SELECT 100 + d.id, 1, d.name, '2026-01-02 02:00:10'::timestamptz + d.id * interval '1 s',
       'scan1:100', 'unchanged', 'no-cds',
       'no server publishes CDS or CDNSKEY', v.ds, 8
FROM registry.domain d JOIN cdscan.delegation v ON v.name = d.name
WHERE d.id <> 6;
UPDATE cdscan.scan SET current_ds = '{"11111 13 2 CBA06B5736FAF67E54B07B561EAE94395E774C517A7D910A54369E1263CCFBD4"}'
WHERE id = 101;

-- Run 2.
INSERT INTO cdscan.scan (id, run_id, domain, time, worker, verdict, reason,
                         detail, current_ds, proposed_ds, queries, outcome)
VALUES
 (201, 2, 'rollover.test.', '2026-01-03 02:00:11', 'scan1:200', 'update',
  'apply-update', 'every server publishes the same CDS and CDNSKEY, signed by key 11111 of the current DS set; the new set validates the DNSKEY RRset',
  '{"11111 13 2 CBA06B5736FAF67E54B07B561EAE94395E774C517A7D910A54369E1263CCFBD4"}',
  '{"22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"}',
  12, 'applied'),
 (202, 2, 'pending.test.', '2026-01-03 02:00:12', 'scan2:201', 'pending',
  'server-unreachable', 'ns2.pending.test./192.0.2.22: SOA: timeout after 3 tries',
  '{"33333 13 2 CB3A809BA87FBDFBE5072C6E93BFDA1F77D4EF2811FEC4E6CA89FBE10B11023E"}',
  '{}', 7, NULL),
 (203, 2, 'locked.test.', '2026-01-03 02:00:13', 'scan2:201', 'rejected',
  'locked', 'status serverUpdateProhibited blocks automated DS changes',
  '{"44444 13 2 0C030586945FE504B604ECC2E875C38EDE400CD5CD73DA9730302162E6B02C6F"}',
  '{}', 8, NULL),
 (204, 2, 'stale.test.', '2026-01-03 02:00:14', 'scan3:202', 'update',
  'apply-update', 'CDS asks for key 55556',
  '{"55555 13 2 A03F2386AE06B21109577020844DF367857B72C2FCCE384C1896FED98A89C82B"}',
  '{"55556 13 2 63376D140EAAC6D99E216EEDD6481F577C0249F421764CC20C25212BD0E99631"}',
  8, 'stale'),
 (205, 2, 'requested.test.', '2026-01-03 02:00:15', 'scan1:200', 'update',
  'apply-update', 'CDS asks for key 6667',
  '{"6666 13 2 C3F7BDF537C46724392C4428E47E04C148C56966190C3C9ED92114800C9F35BB"}',
  '{"6667 13 2 7D2BEDC0C238F61FCC8899388A8B2D81DA4DC836E6FFB062B33CD3D1C5D83A9E"}',
  8, 'requested');

-- Run 3 (dry run) and run 4 (still running).
INSERT INTO cdscan.scan (id, run_id, domain, time, worker, dry_run, verdict,
                         reason, detail, current_ds, queries)
VALUES
 (301, 3, 'pending.test.', '2026-01-04 02:00:01', 'scan1:300', true, 'pending',
  'server-unreachable', 'ns2.pending.test./192.0.2.22: SOA: timeout after 3 tries; one server cannot be judged, so nothing may change until every server answers (RFC 9975 §3)',
  '{"33333 13 2 CB3A809BA87FBDFBE5072C6E93BFDA1F77D4EF2811FEC4E6CA89FBE10B11023E"}', 7),
 (302, 3, 'locked.test.', '2026-01-04 02:00:01', 'scan1:300', true, 'rejected',
  'locked', 'status serverUpdateProhibited blocks automated DS changes',
  '{"44444 13 2 0C030586945FE504B604ECC2E875C38EDE400CD5CD73DA9730302162E6B02C6F"}', 8),
 (401, 4, 'rollover.test.', '2026-01-05 02:00:10', 'scan1:400', false,
  'unchanged', 'same-as-current', 'CDS and CDNSKEY ask for the current DS set',
  '{"22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"}', 8);

INSERT INTO cdscan.scan_server (scan_id, seq, ns_name, addr, transport, error,
  soa_serial, dnskey_state, dnskey_proven, cds_state, cds_sig, cds,
  cdnskey_state, cdnskey_sig, cdnskey)
VALUES
 (401, 0, 'ns1.rollover.test.', '192.0.2.1', 'udp', NULL, 2026010501,
  'present', true, 'present', 'valid',
  '{"22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"}',
  'present', 'valid',
  '{"257 3 13 qlTe+eC7EcHrv8l6nuY6+elcT98dAysd3MDyFmH3SGUdKyuPuU6a4EF4BVTbKYFdqhwP6ZHdrlTv8MTCjNnSDA=="}'),
 (401, 1, 'ns1.rollover.test.', '2001:db8::1', 'tcp', NULL, 2026010501,
  'present', true, 'present', 'valid',
  '{"22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"}',
  'nodata', 'none', '{}'),
 (401, 2, 'ns2.operator.example.', '198.51.100.7', 'udp', NULL, 2026010501,
  'present', true, 'present', 'valid',
  '{"22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"}',
  'nodata', 'none', '{}'),
 (301, 0, 'ns1.pending.test.', '192.0.2.21', 'udp', NULL, 7, 'present', true,
  'nodata', 'none', '{}', 'nodata', 'none', '{}'),
 (301, 1, 'ns2.pending.test.', '192.0.2.22', NULL,
  'SOA: timeout after 3 tries', NULL, 'not-queried', NULL,
  'not-queried', 'none', NULL, 'not-queried', 'none', NULL);

-- The change request of requested.test. (sink requests), not yet done.
INSERT INTO cdscan.change_request (id, created, domain, kind, before_ds,
                                   after_ds, run_id, scan_id)
VALUES (1, '2026-01-03 02:00:15', 'requested.test.', 'ds-update',
  '{"6666 13 2 C3F7BDF537C46724392C4428E47E04C148C56966190C3C9ED92114800C9F35BB"}',
  '{"6667 13 2 7D2BEDC0C238F61FCC8899388A8B2D81DA4DC836E6FFB062B33CD3D1C5D83A9E"}',
  2, 205);

-- The audit trail: rollover.test. imported, then rolled by run 2.
INSERT INTO cdscan.audit (id, time, domain, actor, kind, before_ds, after_ds,
                          run_id, scan_id, evidence)
VALUES
 (1, '2026-01-01 12:00:00', 'rollover.test.', 'import', 'ds-import', '{}',
  '{"11111 13 2 CBA06B5736FAF67E54B07B561EAE94395E774C517A7D910A54369E1263CCFBD4"}',
  NULL, NULL, NULL),
 (2, '2026-01-03 02:00:11', 'rollover.test.', 'scan', 'ds-update',
  '{"11111 13 2 CBA06B5736FAF67E54B07B561EAE94395E774C517A7D910A54369E1263CCFBD4"}',
  '{"22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"}',
  2, 201,
  '{"decision": "update", "reason": "apply-update",
    "detail": "every server publishes the same CDS and CDNSKEY, signed by key 11111 of the current DS set; the new set validates the DNSKEY RRset",
    "outcome": "applied", "time": 1767405611,
    "servers": [
     {"name": "ns1.rollover.test.", "address": "192.0.2.1", "transport": "udp",
      "dnskey_proven": true,
      "cds_rrset": {"state": "present", "signature": "valid", "key_tag": 11111,
                    "inception": 1767225600, "expiration": 1769817600},
      "cds": ["22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"],
      "cdnskey_rrset": {"state": "present", "signature": "valid", "key_tag": 11111,
                        "inception": 1767225600, "expiration": 1769817600},
      "cdnskey": ["257 3 13 qlTe+eC7EcHrv8l6nuY6+elcT98dAysd3MDyFmH3SGUdKyuPuU6a4EF4BVTbKYFdqhwP6ZHdrlTv8MTCjNnSDA=="]},
     {"name": "ns2.operator.example.", "address": "198.51.100.7", "transport": "udp",
      "dnskey_proven": true,
      "cds_rrset": {"state": "present", "signature": "valid", "key_tag": 11111,
                    "inception": 1767225600, "expiration": 1769817600},
      "cds": ["22222 13 2 11507A0E2F5E69D5DFA40A62A1BD7B6EE57E6BCD85C67C9B8431B36FFF21C437"],
      "cdnskey_rrset": {"state": "nodata", "signature": "none"},
      "cdnskey": []}]}');

SELECT setval('registry.domain_id_seq', 6), setval('cdscan.run_id_seq', 4),
       setval('cdscan.scan_id_seq', 401), setval('cdscan.audit_id_seq', 2),
       setval('cdscan.change_request_id_seq', 1);
COMMIT;
