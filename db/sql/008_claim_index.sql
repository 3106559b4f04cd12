-- cdscan schema, version 8: an index for the claim's todo range.
--
--   cdscan.run_item  run_item_todo: the items of a run still to claim, in
--                    name order, and nothing else. The claim (db/run.c)
--                    reads the first batch of them; with only run_item_pkey
--                    and run_item_open to choose from, the planner (whose
--                    statistics, taken when the run was listed, say every
--                    item is todo) walked the primary key from the start
--                    of the run and filtered out every item already
--                    claimed or done: 17000 rows passed over for the 18th
--                    batch of 1000, a claim's cost growing with the run
--                    (docs/BENCH.md). An item enters this index once,
--                    when the run is listed; claiming it adds no entry.

CREATE INDEX run_item_todo ON cdscan.run_item (run_id, domain)
    WHERE state = 'todo';
