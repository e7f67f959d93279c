ALTER TABLE rooms DROP COLUMN time_up_at;
ALTER TABLE rooms DROP COLUMN status;
