-- test/bench/variants/best_off.sql — for cpu_ab.sh / ab.sh only: events are
-- created not sold by best available (the benchmark event's seats are then
-- HOT-updated, best_free still generated), to measure the HOT change.
ALTER TABLE ticketres.events ALTER COLUMN best_available SET DEFAULT false;
