-- One vocabulary: the timer's `state` (idle, running, paused) and its `phase` (turn, break),
-- as the API names them.
ALTER TABLE rooms RENAME COLUMN phase TO state;
ALTER TABLE rooms RENAME COLUMN period TO phase;
