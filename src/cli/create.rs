//! The room `pairsync new` asks for: the request body made from its arguments, every
//! argument checked before anything is sent, each problem said in a person's words.
//!
//! The checks follow the server's rules (names trimmed, 1 to 20 characters, no control
//! characters, no two alike; 2 to 12 members; a turn of 1 s to 24 h; a break after every
//! 0 to 20 turns, lasting 1 s to 60 min). v2's form alone (`--driver`, `--navigator`,
//! `--minutes`) is sent unchecked, as v2 sent it: the server judges it. A refusal is
//! said first in the same words as the checks (minutes and flags, not the API's field
//! names and milliseconds; [`refusal_words`]), then as the server said it.

use serde_json::{json, Map, Value};

use super::args::NewArgs;

/// The longest name, in characters, after trimming.
const MAX_NAME_CHARS: usize = 20;
/// The fewest members of a room.
const MIN_MEMBERS: usize = 2;
/// The most members of a room.
const MAX_MEMBERS: usize = 12;
/// The shortest turn or break, ms.
const MIN_LENGTH_MS: i64 = 1_000;
/// The longest turn, ms.
const MAX_TURN_MS: i64 = 86_400_000;
/// The longest break, ms.
const MAX_BREAK_MS: i64 = 3_600_000;
/// The most turns between two breaks.
const MAX_BREAK_EVERY: i64 = 20;

/// `raw` as a name: trimmed, or why it cannot be one.
pub fn name(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    let chars = trimmed.chars().count();
    if chars == 0 {
        return Err("A name cannot be empty".to_string());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!(
            "Names can be at most {MAX_NAME_CHARS} characters: \"{trimmed}\" has {chars}"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(format!(
            "Names cannot hold control characters: \"{}\"",
            trimmed.escape_debug()
        ));
    }
    Ok(trimmed.to_string())
}

/// The problems with `names` as a room's members, in the order given.
fn check_names(names: &[&str], problems: &mut Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    let mut twice: Vec<(String, usize)> = Vec::new();
    for raw in names {
        match name(raw) {
            Ok(n) if kept.contains(&n) => match twice.iter_mut().find(|(t, _)| *t == n) {
                Some((_, count)) => *count += 1,
                None => twice.push((n, 2)),
            },
            Ok(n) => kept.push(n),
            Err(problem) => problems.push(problem),
        }
    }
    for (n, count) in twice {
        problems.push(match count {
            2 => format!("{n} is named twice"),
            _ => format!("{n} is named {count} times"),
        });
    }
    kept
}

/// How long `ms` is, for a bound: "1 second", "60 minutes", "24 hours" (hours past the
/// first, as `--minutes` counts them).
fn length(ms: i64) -> String {
    let (n, unit) = if ms % 3_600_000 == 0 && ms > 3_600_000 {
        (ms / 3_600_000, "hour")
    } else if ms % 60_000 == 0 {
        (ms / 60_000, "minute")
    } else if ms % 1_000 == 0 {
        (ms / 1_000, "second")
    } else {
        (ms, "millisecond")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// A refusal of `POST /api/pair-room` (its 400 message, which names the API's field) in
/// the words of `pairsync new`'s checks, naming the flag; `None` when the message is
/// about nothing `new` sends.
pub fn refusal_words(message: &str) -> Option<String> {
    let (field, rest) = message.split_once(' ')?;
    let bound = |rest: &str| -> Option<(&'static str, i64)> {
        let (side, n) = rest.strip_prefix("must be ")?.rsplit_once(' ')?;
        let side = match side {
            "at least" => "at least",
            "at most" => "at most",
            _ => return None,
        };
        Some((side, n.parse().ok()?))
    };
    let words = match field {
        "timerDuration" => {
            let (side, ms) = bound(rest)?;
            format!("A turn lasts {side} {} (--minutes)", length(ms))
        }
        "breakDuration" => {
            let (side, ms) = bound(rest)?;
            format!("A break lasts {side} {} (--break-minutes)", length(ms))
        }
        "breakEvery" => match bound(rest)? {
            ("at most", n) => format!("Breaks can be at most {n} turns apart (--break-every)"),
            _ => "--break-every cannot be negative (0 means no breaks)".to_string(),
        },
        "driver" | "navigator" if rest.starts_with("must differ") => {
            "The driver and the navigator need names of their own (--driver, --navigator)"
                .to_string()
        }
        "driver" | "navigator" if rest.contains("1 to 20 characters") => {
            format!("Names are 1 to {MAX_NAME_CHARS} characters (--{field})")
        }
        "driver" | "navigator" if rest.contains("control characters") => {
            format!("Names cannot hold control characters (--{field})")
        }
        _ => return None,
    };
    Some(words)
}

/// The body of `POST /api/pair-room` for `args`, or every problem found with them.
pub fn request(args: &NewArgs) -> Result<Value, Vec<String>> {
    let mut body = Map::new();
    if args.is_pair_only() {
        body.insert("driver".into(), json!(args.driver));
        body.insert("navigator".into(), json!(args.navigator));
        body.insert("timerDuration".into(), json!(args.duration_ms()));
        return Ok(Value::Object(body));
    }
    let mut problems = Vec::new();
    let given: Vec<&str> = if args.members.is_empty() {
        [args.driver.as_deref(), args.navigator.as_deref()]
            .into_iter()
            .flatten()
            .collect()
    } else {
        args.members.iter().map(String::as_str).collect()
    };
    let names = check_names(&given, &mut problems);
    if !args.members.is_empty() {
        if given.len() < MIN_MEMBERS {
            problems.push(format!(
                "A room needs at least {MIN_MEMBERS} members: give --member once for each person"
            ));
        } else if given.len() > MAX_MEMBERS {
            problems.push(format!(
                "A room holds at most {MAX_MEMBERS} members, not {}",
                given.len()
            ));
        }
    }
    let turn = args.duration_ms();
    if turn < MIN_LENGTH_MS {
        problems.push(format!("A turn lasts at least {}", length(MIN_LENGTH_MS)));
    } else if turn > MAX_TURN_MS {
        problems.push(format!("A turn lasts at most {}", length(MAX_TURN_MS)));
    }
    if let Some(every) = args.break_every {
        if every < 0 {
            problems.push("--break-every cannot be negative (0 means no breaks)".to_string());
        } else if every > MAX_BREAK_EVERY {
            problems.push(format!(
                "Breaks can be at most {MAX_BREAK_EVERY} turns apart, not {every}"
            ));
        }
    }
    if let Some(ms) = args.break_ms() {
        if ms < MIN_LENGTH_MS {
            problems.push(format!("A break lasts at least {}", length(MIN_LENGTH_MS)));
        } else if ms > MAX_BREAK_MS {
            problems.push(format!("A break lasts at most {}", length(MAX_BREAK_MS)));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    match (args.members.is_empty(), names.as_slice()) {
        (true, [driver, navigator]) => {
            body.insert("driver".into(), json!(driver));
            body.insert("navigator".into(), json!(navigator));
        }
        _ => {
            body.insert("members".into(), json!(names));
        }
    }
    body.insert("timerDuration".into(), json!(turn));
    if args.auto_start {
        body.insert("autoStart".into(), json!(true));
    }
    if let Some(every) = args.break_every {
        body.insert("breakEvery".into(), json!(every));
    }
    if let Some(ms) = args.break_ms() {
        body.insert("breakDuration".into(), json!(ms));
    }
    Ok(Value::Object(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{parse, Client, Invocation};

    fn new_args(args: &[&str]) -> NewArgs {
        let all = ["pairsync", "new"].into_iter().chain(args.iter().copied());
        match parse(all) {
            Ok(Invocation::Client(Client::New(args))) => args,
            other => panic!("expected new, got {other:?}"),
        }
    }

    fn problems(args: &[&str]) -> Vec<String> {
        request(&new_args(args)).expect_err("refused")
    }

    #[test]
    fn members_make_a_members_body_with_the_settings() {
        let body = request(&new_args(&[
            "--member",
            " Ann ",
            "--member",
            "Bob",
            "--member",
            "Cy",
            "--minutes",
            "0.5",
            "--auto-start",
            "--break-every",
            "3",
            "--break-minutes",
            "10",
        ]))
        .expect("a body");
        assert_eq!(
            body,
            json!({
                "members": ["Ann", "Bob", "Cy"],
                "timerDuration": 30_000,
                "autoStart": true,
                "breakEvery": 3,
                "breakDuration": 600_000,
            })
        );
    }

    #[test]
    fn settings_not_given_are_left_to_the_servers_defaults() {
        let body = request(&new_args(&["--member", "Ann", "--member", "Bob"])).expect("a body");
        assert_eq!(
            body,
            json!({"members": ["Ann", "Bob"], "timerDuration": 1_500_000})
        );
    }

    #[test]
    fn the_pair_form_alone_goes_unchecked_as_v2_sent_it() {
        let body = request(&new_args(&[
            "--driver",
            "Ann",
            "--navigator",
            "Ann",
            "--minutes",
            "0",
        ]))
        .expect("sent as it is");
        assert_eq!(
            body,
            json!({"driver": "Ann", "navigator": "Ann", "timerDuration": 0})
        );
    }

    #[test]
    fn the_pair_form_with_settings_is_checked_and_sent_with_them() {
        assert_eq!(
            problems(&["--driver", "Ann", "--navigator", "Ann", "--auto-start"]),
            ["Ann is named twice"]
        );
        let body = request(&new_args(&[
            "--driver",
            "Bob",
            "--navigator",
            "Ann",
            "--break-every",
            "0",
        ]))
        .expect("a body");
        assert_eq!(
            body,
            json!({"driver": "Bob", "navigator": "Ann", "timerDuration": 1_500_000, "breakEvery": 0})
        );
    }

    #[test]
    fn every_problem_is_told_at_once_in_words() {
        assert_eq!(
            problems(&[
                "--member",
                "Ann",
                "--member",
                "Bartholomew Fitzwilliam",
                "--member",
                "Ann",
                "--member",
                "  ",
                "--member",
                "Ann",
                "--member",
                "Bo\tb",
                "--minutes",
                "0.01",
                "--break-every",
                "21",
                "--break-minutes",
                "61",
            ]),
            [
                "Names can be at most 20 characters: \"Bartholomew Fitzwilliam\" has 23",
                "A name cannot be empty",
                "Names cannot hold control characters: \"Bo\\tb\"",
                "Ann is named 3 times",
                "A turn lasts at least 1 second",
                "Breaks can be at most 20 turns apart, not 21",
                "A break lasts at most 60 minutes",
            ]
        );
    }

    #[test]
    fn the_bounds_are_the_servers() {
        let ok = |args: &[&str]| {
            let mut all = vec!["--member", "A", "--member", "B"];
            all.extend_from_slice(args);
            request(&new_args(&all))
        };
        assert!(ok(&[
            "--minutes",
            "1440",
            "--break-every",
            "20",
            "--break-minutes",
            "60"
        ])
        .is_ok());
        assert!(ok(&["--minutes", "0.0167", "--break-minutes", "0.0167"]).is_ok());
        assert_eq!(
            ok(&["--minutes", "1441"]).expect_err("too long"),
            ["A turn lasts at most 24 hours"]
        );
        assert_eq!(
            ok(&["--break-minutes", "0"]).expect_err("too short"),
            ["A break lasts at least 1 second"]
        );
        assert_eq!(
            ok(&["--break-every", "-2"]).expect_err("negative"),
            ["--break-every cannot be negative (0 means no breaks)"]
        );
        let twenty = "x".repeat(20);
        assert!(ok(&["--member", &twenty]).is_ok());
    }

    #[test]
    fn a_room_has_two_to_twelve_members() {
        assert_eq!(
            problems(&["--member", "Ann"]),
            ["A room needs at least 2 members: give --member once for each person"]
        );
        let thirteen: Vec<String> = (0..13).map(|i| format!("M{i}")).collect();
        let mut args = Vec::new();
        for n in &thirteen {
            args.extend(["--member", n.as_str()]);
        }
        assert_eq!(problems(&args), ["A room holds at most 12 members, not 13"]);
        args.truncate(24);
        assert!(request(&new_args(&args)).is_ok());
    }

    #[test]
    fn the_servers_refusals_are_said_in_minutes_and_flags() {
        let said = |m: &str| refusal_words(m);
        assert_eq!(
            said("timerDuration must be at least 1000").as_deref(),
            Some("A turn lasts at least 1 second (--minutes)")
        );
        assert_eq!(
            said("timerDuration must be at most 86400000").as_deref(),
            Some("A turn lasts at most 24 hours (--minutes)")
        );
        assert_eq!(
            said("breakDuration must be at most 3600000").as_deref(),
            Some("A break lasts at most 60 minutes (--break-minutes)")
        );
        assert_eq!(
            said("breakEvery must be at most 20").as_deref(),
            Some("Breaks can be at most 20 turns apart (--break-every)")
        );
        assert_eq!(
            said("driver must differ from navigator").as_deref(),
            Some("The driver and the navigator need names of their own (--driver, --navigator)")
        );
        assert_eq!(
            said("navigator must be 1 to 20 characters after trimming").as_deref(),
            Some("Names are 1 to 20 characters (--navigator)")
        );
        assert_eq!(
            said("missionUrl must be at most 2048 characters long"),
            None
        );
        assert_eq!(said("the room could not be saved"), None);
    }

    #[test]
    fn lengths_are_said_in_the_unit_that_reads_best() {
        assert_eq!(length(1_000), "1 second");
        assert_eq!(length(30_000), "30 seconds");
        assert_eq!(length(60_000), "1 minute");
        assert_eq!(length(3_600_000), "60 minutes");
        assert_eq!(length(86_400_000), "24 hours");
        assert_eq!(length(1_500), "1500 milliseconds");
    }

    #[test]
    fn a_name_is_trimmed_and_counted_in_characters() {
        assert_eq!(name("  Zoë  "), Ok("Zoë".to_string()));
        assert!(name(&"é".repeat(20)).is_ok());
        assert!(name(&"é".repeat(21)).is_err());
        assert_eq!(name(""), Err("A name cannot be empty".to_string()));
    }
}
