-- test/bench/variants/best_off_plain.sql — for cpu_ab.sh / ab.sh only: as
-- best_off.sql, and seats.best_free a plain column (nothing computed per
-- update), to measure what the generated column costs. Only valid for events
-- not sold by best available: nothing keeps a plain best_free up to date.
ALTER TABLE ticketres.events ALTER COLUMN best_available SET DEFAULT false;
ALTER TABLE ticketres.seats ALTER COLUMN best_free DROP EXPRESSION;
ALTER TABLE ticketres.seats ALTER COLUMN best_free SET DEFAULT false;
