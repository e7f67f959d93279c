-- Members: every room's order of names as a JSON array; the driver first, the navigator
-- second. Every existing room's driver and navigator become its first two members.
ALTER TABLE rooms ADD COLUMN members TEXT NOT NULL DEFAULT '[]';
UPDATE rooms SET members = json_build_array(driver, navigator)::text;

-- How long the current turn's countdown ran before its current run (ms), and when the
-- current run began (epoch ms, while running).
ALTER TABLE rooms ADD COLUMN ran_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rooms ADD COLUMN resumed_at BIGINT;

-- Every completed turn, written in the same transaction as the time-up or `next` that
-- ended it; gone with its room.
CREATE TABLE turns (
    access_code TEXT NOT NULL REFERENCES rooms (access_code) ON DELETE CASCADE,
    round BIGINT NOT NULL,
    driver TEXT NOT NULL,
    navigator TEXT NOT NULL,
    ended_at BIGINT NOT NULL,
    ran_ms BIGINT NOT NULL,
    ended_by TEXT NOT NULL,
    PRIMARY KEY (access_code, round)
);

-- The distinct names of a process's named streams on a room, as a JSON array.
ALTER TABLE presence ADD COLUMN names TEXT NOT NULL DEFAULT '[]';
