-- Processes serving this database, each with its latest heartbeat (epoch ms). Only
-- written when several processes may share the database (PostgreSQL).
CREATE TABLE processes (
    process_id TEXT PRIMARY KEY NOT NULL,
    heartbeat_at BIGINT NOT NULL
);

-- How many streams each process holds on each room; `empty_since` is the instant (epoch
-- ms) its count last fell to 0, NULL while it holds some.
CREATE TABLE presence (
    process_id TEXT NOT NULL,
    access_code TEXT NOT NULL,
    streams BIGINT NOT NULL,
    empty_since BIGINT,
    PRIMARY KEY (process_id, access_code)
);

CREATE INDEX presence_by_room ON presence (access_code);
