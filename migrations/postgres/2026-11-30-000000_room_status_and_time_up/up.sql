-- Whether the pair is done ('IN_PROGRESS' or 'COMPLETED').
ALTER TABLE rooms ADD COLUMN status TEXT NOT NULL DEFAULT 'IN_PROGRESS';
-- The instant (epoch ms) of the latest time-up, while no request has changed the room
-- since: a swap without a round within 10 s of it is the time-up's own and changes nothing.
ALTER TABLE rooms ADD COLUMN time_up_at BIGINT;
