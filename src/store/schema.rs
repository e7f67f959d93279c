//! The database schema, as diesel sees it (kept in step with `migrations/`).
// @generated automatically by Diesel CLI.

diesel::table! {
    /// One row per pair room.
    rooms (access_code) {
        /// The room's access code.
        access_code -> Text,
        /// Who guides.
        navigator -> Text,
        /// Who types.
        driver -> Text,
        /// Link to the pair's task, `""` when none.
        mission_url -> Text,
        /// Creation instant, epoch ms.
        created_at -> BigInt,
        /// Full countdown length, ms.
        duration_ms -> BigInt,
        /// `idle`, `running` or `paused`: the timer's state.
        state -> Text,
        /// Remaining ms when the row was written.
        remaining_ms -> BigInt,
        /// The deadline while running, epoch ms.
        deadline_at -> Nullable<BigInt>,
        /// Completed countdowns.
        round -> BigInt,
        /// Bumped by every write.
        version -> BigInt,
        /// Last write instant, epoch ms.
        updated_at -> BigInt,
        /// `IN_PROGRESS` or `COMPLETED`.
        status -> Text,
        /// The latest time-up, epoch ms, while no request has changed the room since.
        time_up_at -> Nullable<BigInt>,
        /// `turn` or `break`: the timer's phase, what the countdown is for.
        phase -> Text,
        /// After a time-up, the next turn starts by itself.
        auto_start -> Bool,
        /// A break after every `break_every`-th time-up; 0: never.
        break_every -> BigInt,
        /// How long a break lasts, ms.
        break_duration_ms -> BigInt,
        /// Every member in turn order, as a JSON array of names (`driver` and `navigator`
        /// repeat its first two).
        members -> Text,
        /// How long the current turn's countdown ran before its current run, ms.
        ran_ms -> BigInt,
        /// When the current run began, epoch ms, while running.
        resumed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Every completed turn of every room.
    turns (access_code, round) {
        /// The room.
        access_code -> Text,
        /// The round the turn completed.
        round -> BigInt,
        /// Who drove.
        driver -> Text,
        /// Who navigated.
        navigator -> Text,
        /// When it ended, epoch ms.
        ended_at -> BigInt,
        /// How long its countdown ran, ms, pauses excluded.
        ran_ms -> BigInt,
        /// `time-up` or `next`.
        ended_by -> Text,
    }
}

diesel::table! {
    /// The processes serving this database (several only on PostgreSQL).
    processes (process_id) {
        /// A process's own random id, made at its start.
        process_id -> Text,
        /// Its latest heartbeat, epoch ms.
        heartbeat_at -> BigInt,
    }
}

diesel::table! {
    /// How many streams each process holds on each room.
    presence (process_id, access_code) {
        /// The process.
        process_id -> Text,
        /// The room.
        access_code -> Text,
        /// Streams the process holds on the room.
        streams -> BigInt,
        /// When its count last fell to 0, epoch ms; NULL while it holds some.
        empty_since -> Nullable<BigInt>,
        /// The distinct names of its named streams on the room, as a JSON array.
        names -> Text,
    }
}

diesel::table! {
    /// Every room's goals.
    goals (id) {
        /// A random id, unique over every room.
        id -> BigInt,
        /// The room.
        access_code -> Text,
        /// What the goal says.
        content -> Text,
        /// Whether it is done.
        checked -> Bool,
        /// Its position, `0 … n−1` over the room's goals.
        position -> BigInt,
    }
}

diesel::table! {
    /// Every room's categories of links.
    categories (access_code, id) {
        /// The room.
        access_code -> Text,
        /// An id, unique in the room.
        id -> Text,
        /// Its name, unique in the room.
        value -> Text,
        /// Its place among the room's categories, oldest first.
        position -> BigInt,
    }
}

diesel::table! {
    /// Every room's reference links.
    links (id) {
        /// A random id, unique over every room.
        id -> BigInt,
        /// The room.
        access_code -> Text,
        /// The URL.
        url -> Text,
        /// The URL's host.
        host -> Text,
        /// Its category's id, if any.
        category_id -> Nullable<Text>,
        /// When it was added, epoch ms.
        added_at -> BigInt,
    }
}

diesel::joinable!(turns -> rooms (access_code));
diesel::joinable!(goals -> rooms (access_code));
diesel::joinable!(links -> rooms (access_code));

diesel::allow_tables_to_appear_in_same_query!(
    rooms, turns, goals, categories, links, processes, presence
);
