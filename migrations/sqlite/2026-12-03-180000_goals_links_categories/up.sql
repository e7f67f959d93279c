-- A room's goals: `position` is 0 … n−1 over the room's goals; ids are random, unique
-- over every room (the paths that carry them carry no access code).
CREATE TABLE goals (
    id BIGINT PRIMARY KEY NOT NULL,
    access_code TEXT NOT NULL REFERENCES rooms (access_code) ON DELETE CASCADE,
    content TEXT NOT NULL,
    checked BOOLEAN NOT NULL,
    position BIGINT NOT NULL
);
CREATE INDEX goals_by_room ON goals (access_code);

-- A room's categories of links; names are unique in the room.
CREATE TABLE categories (
    access_code TEXT NOT NULL REFERENCES rooms (access_code) ON DELETE CASCADE,
    id TEXT NOT NULL,
    value TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (access_code, id)
);

-- A room's reference links, each in at most one category.
CREATE TABLE links (
    id BIGINT PRIMARY KEY NOT NULL,
    access_code TEXT NOT NULL REFERENCES rooms (access_code) ON DELETE CASCADE,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    category_id TEXT,
    added_at BIGINT NOT NULL
);
CREATE INDEX links_by_room ON links (access_code);
