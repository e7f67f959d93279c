-- One row per pair room: the committed truth that room actors mirror.
CREATE TABLE rooms (
    access_code  TEXT    PRIMARY KEY NOT NULL,
    navigator    TEXT    NOT NULL,
    driver       TEXT    NOT NULL,
    mission_url  TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    duration_ms  BIGINT  NOT NULL,
    -- 'idle', 'running' or 'paused'
    phase        TEXT    NOT NULL,
    -- paused: the remaining ms; idle: the duration; running: the remaining ms at the write
    remaining_ms BIGINT  NOT NULL,
    -- running: the instant (epoch ms) the countdown reaches 0
    deadline_at  BIGINT,
    round        BIGINT  NOT NULL DEFAULT 0,
    -- bumped by every write; a write that expects an older version changes nothing
    version      BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);

CREATE INDEX rooms_running ON rooms (phase) WHERE phase = 'running';
