ALTER TABLE rooms RENAME COLUMN phase TO period;
ALTER TABLE rooms RENAME COLUMN state TO phase;
