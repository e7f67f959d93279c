-- What the countdown is for: 'turn' or 'break' (the API's timer `phase`).
ALTER TABLE rooms ADD COLUMN period TEXT NOT NULL DEFAULT 'turn';
-- After a time-up, the next turn starts by itself.
ALTER TABLE rooms ADD COLUMN auto_start BOOLEAN NOT NULL DEFAULT FALSE;
-- A break after every break_every-th time-up; 0: never.
ALTER TABLE rooms ADD COLUMN break_every BIGINT NOT NULL DEFAULT 0;
-- How long a break lasts, ms.
ALTER TABLE rooms ADD COLUMN break_duration_ms BIGINT NOT NULL DEFAULT 300000;
