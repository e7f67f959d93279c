ALTER TABLE rooms DROP COLUMN break_duration_ms;
ALTER TABLE rooms DROP COLUMN break_every;
ALTER TABLE rooms DROP COLUMN auto_start;
ALTER TABLE rooms DROP COLUMN period;
