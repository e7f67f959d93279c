//! The watch view laid out on a terminal of a given size: one line of text and one tone
//! per row, pure, so that what is drawn for a room can be tested without a terminal.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::model::View;

/// How a row is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tone {
    /// Default text.
    #[default]
    Plain,
    /// Bold.
    Strong,
    /// Dimmed: headings and hints.
    Faint,
    /// The countdown of a running turn.
    Running,
    /// The countdown of a stopped timer.
    Stopped,
    /// The countdown of a break.
    Break,
    /// A good link.
    Good,
    /// A lost link.
    Alert,
    /// A passing message.
    Notice,
}

/// One row of the screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Line {
    /// The text, at most as wide as the screen.
    pub text: String,
    /// How it is drawn.
    pub tone: Tone,
}

/// How long a row is kept on a screen too short for all of them: the rows of the lowest
/// rank go first (the lowest of them first), and spacing before all of them.
type Rank = u8;

/// Spacing: dropped first.
const SPACING: Rank = 0;
/// A goal after the first shown, and the count of those not shown.
const MORE_GOALS: Rank = 1;
/// The first goal.
const FIRST_GOAL: Rank = 2;
/// The room's code.
const TITLE: Rank = 3;
/// Who is here.
const HERE: Rank = 4;
/// Who waits for a turn.
const WAITING: Rank = 5;
/// The link and the passing notice.
const STATUS: Rank = 6;
/// The countdown, its state, the driver, the navigator and the keys: kept to the last.
const ESSENTIAL: Rank = 9;

/// The most goals listed.
pub const GOALS_SHOWN: usize = 3;

/// The width of the row labels ("navigator  ").
const LABEL: usize = 11;

/// Names listed after a row's label, fitted to the room the row has once placed.
struct List {
    names: Vec<String>,
    tail: String,
}

/// The rows' content, before placement.
struct Row {
    text: String,
    /// Names that follow `text`, as many as fit.
    list: Option<List>,
    tone: Tone,
    centred: bool,
    rank: Rank,
    /// Of changing length (the link, a notice, lists of names): it does not widen the
    /// block, so the block stays put, and it is cut at the screen's edge instead.
    loose: bool,
}

fn row(text: String, tone: Tone) -> Row {
    Row {
        text,
        list: None,
        tone,
        centred: false,
        rank: ESSENTIAL,
        loose: false,
    }
}

fn loose(text: String, tone: Tone, rank: Rank) -> Row {
    Row {
        loose: true,
        rank,
        ..row(text, tone)
    }
}

fn centred(text: String, tone: Tone) -> Row {
    Row {
        centred: true,
        ..row(text, tone)
    }
}

fn spacer() -> Row {
    Row {
        rank: SPACING,
        ..row(String::new(), Tone::Plain)
    }
}

/// `text` cut to `width` columns, with `…` where it was cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// `names`, comma-separated, then `tail`, in at most `width` columns: the names that fit
/// and `+N` for the others, the tail always there (cut only when nothing else fits).
pub fn fit_names(names: &[String], tail: &str, width: usize) -> String {
    for shown in (0..=names.len()).rev() {
        let mut parts: Vec<String> = names[..shown].to_vec();
        if shown < names.len() {
            parts.push(format!("+{}", names.len() - shown));
        }
        let text = format!("{}{tail}", parts.join(", "));
        if text.width() <= width {
            return text;
        }
    }
    fit(&format!("+{}{tail}", names.len()), width)
}

/// A row of `label` (padded to the labels' width) and `names`, then `tail`.
fn listing(label: &str, names: &[String], tail: String, tone: Tone, rank: Rank) -> Row {
    Row {
        list: Some(List {
            names: names.to_vec(),
            tail,
        }),
        ..loose(format!("{label:<LABEL$}"), tone, rank)
    }
}

/// Who is here: "Ann, Bob · 3 watching". `None` when there is nobody to tell of: the
/// server does not say, or the only stream is this one, unnamed.
fn here_row(view: &View) -> Option<Row> {
    let watching = view.watching?;
    let count = format!("{watching} watching");
    if view.here.is_empty() {
        return (watching > 1)
            .then(|| loose(format!("{:<LABEL$}{count}", "here"), Tone::Faint, HERE));
    }
    Some(listing(
        "here",
        &view.here,
        format!(" · {count}"),
        Tone::Faint,
        HERE,
    ))
}

/// The keys row: the widest wording that fits `width`. `n` is listed in a team's room,
/// where it is how the keyboard passes on.
fn keys_text(view: &View, width: usize) -> String {
    let mut keys = vec![
        format!("space {}", view.space),
        "r reset".into(),
        "s swap".into(),
    ];
    if !view.waiting.is_empty() {
        keys.push("n next".into());
    }
    keys.push("q quit".into());
    let full = keys.join("   ");
    if full.width() <= width {
        return full;
    }
    let tight = keys.join(" ");
    if tight.width() <= width {
        return tight;
    }
    // The keys alone: "keys: space r s n q".
    let letters: Vec<&str> = keys.iter().filter_map(|k| k.split(' ').next()).collect();
    format!("keys: {}", letters.join(" "))
}

fn rows(view: &View, width: usize) -> Vec<Row> {
    let countdown_tone = match (view.phase, view.state) {
        ("break", _) => Tone::Break,
        (_, "running") => Tone::Running,
        _ => Tone::Stopped,
    };
    let status = match view.round {
        Some(round) => format!("{} · {} · round {round}", view.state, view.phase),
        None => "waiting for the room…".to_string(),
    };
    let (mark, link_tone) = if view.connected {
        ("●", Tone::Good)
    } else {
        ("○", Tone::Alert)
    };
    let mut out = vec![
        Row {
            rank: TITLE,
            ..row(format!("pairsync · room {}", view.room), Tone::Faint)
        },
        spacer(),
        centred(view.clock.clone(), countdown_tone),
        centred(status, Tone::Plain),
        spacer(),
        row(format!("driver     {}", view.driver), Tone::Strong),
        row(format!("navigator  {}", view.navigator), Tone::Plain),
    ];
    if !view.waiting.is_empty() {
        out.push(listing(
            "waiting",
            &view.waiting,
            String::new(),
            Tone::Plain,
            WAITING,
        ));
    }
    out.extend(here_row(view));
    if view.goals > 0 {
        out.push(spacer());
        if view.open_goals.is_empty() {
            out.push(loose(
                format!("goals      all {} done", view.goals),
                Tone::Faint,
                FIRST_GOAL,
            ));
        }
        for (i, goal) in view.open_goals.iter().take(GOALS_SHOWN).enumerate() {
            let (label, rank) = if i == 0 {
                ("goals", FIRST_GOAL)
            } else {
                ("", MORE_GOALS)
            };
            out.push(loose(format!("{label:<LABEL$}{goal}"), Tone::Plain, rank));
        }
        let more = view.open_goals.len().saturating_sub(GOALS_SHOWN);
        if more > 0 {
            out.push(loose(
                format!("{:<LABEL$}+{more} more", ""),
                Tone::Faint,
                MORE_GOALS,
            ));
        }
    }
    out.extend([
        spacer(),
        loose(format!("{mark} {}", view.link), link_tone, STATUS),
        loose(
            view.notice.clone().unwrap_or_default(),
            Tone::Notice,
            STATUS,
        ),
        spacer(),
        row(keys_text(view, width), Tone::Faint),
    ]);
    out
}

/// Drops rows until `content` fits `height`: all the spacing first, then the rows of
/// the lowest rank, the last of them first.
fn shorten(content: &mut Vec<Row>, height: usize) {
    if content.len() > height {
        content.retain(|r| r.rank != SPACING);
    }
    while content.len() > height {
        let lowest = content.iter().map(|r| r.rank).min().unwrap_or(ESSENTIAL);
        match content.iter().rposition(|r| r.rank == lowest) {
            Some(i) => {
                content.remove(i);
            }
            None => break,
        }
    }
}

/// The screen for `view` on a `width` × `height` terminal: exactly `height` lines, the
/// content centred, spacing and then the least needed rows dropped on a short screen,
/// and rows cut on a narrow one.
pub fn layout(view: &View, width: u16, height: u16) -> Vec<Line> {
    let (width, height) = (usize::from(width), usize::from(height));
    let mut content = rows(view, width);
    shorten(&mut content, height);
    let block = content
        .iter()
        .filter(|r| !r.loose)
        .map(|r| r.text.width())
        .max()
        .unwrap_or(0)
        .min(width);
    let left = (width - block) / 2;
    let top = (height - content.len()) / 2;
    let mut lines = vec![Line::default(); height];
    for (i, r) in content.into_iter().enumerate() {
        if r.text.is_empty() {
            continue;
        }
        let indent = if r.centred {
            left + block.saturating_sub(r.text.width()) / 2
        } else {
            left
        };
        let indent = indent.min(width);
        let room = width - indent;
        let text = match &r.list {
            Some(list) => {
                let names = fit_names(&list.names, &list.tail, room.saturating_sub(r.text.width()));
                fit(&format!("{}{names}", r.text), room)
            }
            None => fit(&r.text, room),
        };
        lines[top + i] = Line {
            text: format!("{}{text}", " ".repeat(indent)),
            tone: r.tone,
        };
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view() -> View {
        View {
            room: "AbCdEfGh12".into(),
            driver: "Bob".into(),
            navigator: "Ann".into(),
            clock: "04:59".into(),
            state: "running",
            phase: "turn",
            round: Some(2),
            connected: true,
            link: "connected".into(),
            notice: None,
            space: "pause",
            waiting: vec![],
            here: vec![],
            watching: None,
            open_goals: vec![],
            goals: 0,
        }
    }

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.text.trim().to_string()).collect()
    }

    #[test]
    fn a_room_shows_countdown_state_phase_round_names_link_and_keys() {
        let lines = layout(&view(), 80, 24);
        assert_eq!(lines.len(), 24);
        let shown: Vec<String> = text(&lines).into_iter().filter(|t| !t.is_empty()).collect();
        assert_eq!(
            shown,
            [
                "pairsync · room AbCdEfGh12",
                "04:59",
                "running · turn · round 2",
                "driver     Bob",
                "navigator  Ann",
                "● connected",
                "space pause   r reset   s swap   q quit",
            ]
        );
        let clock = lines
            .iter()
            .find(|l| l.text.trim() == "04:59")
            .expect("clock");
        assert_eq!(clock.tone, Tone::Running);
    }

    #[test]
    fn the_block_is_centred() {
        let lines = layout(&view(), 80, 24);
        let keys = lines
            .iter()
            .position(|l| l.text.contains("q quit"))
            .expect("keys row");
        let first = lines
            .iter()
            .position(|l| !l.text.is_empty())
            .expect("a row");
        // 12 rows on 24: six above, six below.
        assert_eq!((first, keys), (6, 17));
        let hint = "space pause   r reset   s swap   q quit";
        assert_eq!(
            lines[keys].text,
            format!("{}{hint}", " ".repeat((80 - hint.len()) / 2))
        );
    }

    #[test]
    fn a_lost_link_and_a_break_have_their_own_tones() {
        let mut v = view();
        v.connected = false;
        v.link = "reconnecting in 2s (connection refused)".into();
        v.phase = "break";
        let lines = layout(&v, 80, 24);
        let link = lines
            .iter()
            .find(|l| l.text.contains("reconnecting in 2s"))
            .expect("link row");
        assert_eq!(link.tone, Tone::Alert);
        assert!(link.text.trim().starts_with('○'));
        let clock = lines
            .iter()
            .find(|l| l.text.trim() == "04:59")
            .expect("clock");
        assert_eq!(clock.tone, Tone::Break);
        assert!(text(&lines).contains(&"running · break · round 2".to_string()));
    }

    #[test]
    fn a_long_link_or_notice_does_not_move_the_block() {
        let settled = layout(&view(), 80, 24);
        let mut v = view();
        v.connected = false;
        v.link = "reconnecting in 10s (the server closed the stream, again)".into();
        v.notice = Some("swap failed: the round has changed since the key was pressed".into());
        let lost = layout(&v, 80, 24);
        let column = |lines: &[Line]| {
            let driver = lines
                .iter()
                .find(|l| l.text.contains("driver"))
                .expect("driver");
            driver.text.len() - driver.text.trim_start().len()
        };
        assert_eq!(column(&settled), column(&lost));
        assert!(lost.iter().all(|l| l.text.width() <= 80));
    }

    #[test]
    fn a_short_screen_drops_the_spacing_first() {
        let lines = layout(&view(), 80, 8);
        let shown = text(&lines);
        assert_eq!(shown.len(), 8);
        assert_eq!(shown[1], "04:59");
        assert_eq!(shown[7], "space pause   r reset   s swap   q quit");
    }

    #[test]
    fn a_tiny_screen_keeps_what_fits_and_never_overflows() {
        for (w, h) in [(10, 3), (1, 1), (0, 0), (20, 5)] {
            let lines = layout(&view(), w, h);
            assert_eq!(lines.len(), usize::from(h));
            for l in &lines {
                assert!(
                    l.text.width() <= usize::from(w),
                    "{:?} wider than {w}",
                    l.text
                );
            }
        }
    }

    #[test]
    fn wide_names_are_measured_in_columns() {
        let mut v = view();
        v.driver = "李小龍李小龍".into();
        let lines = layout(&v, 16, 24);
        let driver = lines
            .iter()
            .find(|l| l.text.contains("driver"))
            .expect("driver row");
        assert!(driver.text.width() <= 16);
        assert!(driver.text.ends_with('…'));
    }

    /// A team of five, three of them here among four streams, with goals.
    fn team_view() -> View {
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        View {
            driver: "Ada".into(),
            navigator: "Grace".into(),
            waiting: names(&["Linus", "Ken", "Dennis"]),
            here: names(&["Ada", "Grace", "Ken"]),
            watching: Some(4),
            open_goals: names(&["Parse the header", "Fix the flaky test", "Ship", "Tidy up"]),
            goals: 5,
            space: "start",
            state: "idle",
            ..view()
        }
    }

    fn shown(lines: &[Line]) -> Vec<String> {
        text(lines).into_iter().filter(|t| !t.is_empty()).collect()
    }

    #[test]
    fn a_team_shows_the_order_who_is_here_the_open_goals_and_n() {
        let lines = layout(&team_view(), 80, 24);
        assert_eq!(
            shown(&lines),
            [
                "pairsync · room AbCdEfGh12",
                "04:59",
                "idle · turn · round 2",
                "driver     Ada",
                "navigator  Grace",
                "waiting    Linus, Ken, Dennis",
                "here       Ada, Grace, Ken · 4 watching",
                "goals      Parse the header",
                "Fix the flaky test",
                "Ship",
                "+1 more",
                "● connected",
                "space start   r reset   s swap   n next   q quit",
            ]
        );
        // The lists line up under the names, the goals under the first.
        let column = |needle: &str| {
            let l = lines
                .iter()
                .find(|l| l.text.contains(needle))
                .expect(needle);
            let at = l.text.find(needle).expect(needle);
            l.text[..at].width()
        };
        assert_eq!(column("driver"), column("waiting"));
        assert_eq!(column("driver"), column("here"));
        assert_eq!(column("Ada"), column("Linus"));
        assert_eq!(column("Ada"), column("Parse the header"));
        assert_eq!(column("Parse the header"), column("Fix the flaky test"));
        assert_eq!(column("Parse the header"), column("+1 more"));
    }

    #[test]
    fn presence_is_told_when_someone_is_named_or_others_watch() {
        let alone = View {
            watching: Some(1),
            ..view()
        };
        assert!(!text(&layout(&alone, 80, 24))
            .iter()
            .any(|l| l.starts_with("here")));
        let named = View {
            here: vec!["Ann".into()],
            watching: Some(1),
            ..view()
        };
        assert!(text(&layout(&named, 80, 24)).contains(&"here       Ann · 1 watching".to_string()));
        let anonymous = View {
            watching: Some(3),
            ..view()
        };
        assert!(text(&layout(&anonymous, 80, 24)).contains(&"here       3 watching".to_string()));
        // An older server says nothing of it.
        assert!(!text(&layout(&view(), 80, 24))
            .iter()
            .any(|l| l.starts_with("here")));
    }

    #[test]
    fn all_goals_done_says_so_and_no_goals_shows_nothing() {
        let done = View { goals: 2, ..view() };
        assert!(text(&layout(&done, 80, 24)).contains(&"goals      all 2 done".to_string()));
        assert!(!text(&layout(&view(), 80, 24))
            .iter()
            .any(|l| l.contains("goals")));
    }

    #[test]
    fn a_narrow_screen_lists_the_names_that_fit_and_counts_the_rest() {
        let lines = layout(&team_view(), 30, 24);
        let rows = shown(&lines);
        assert!(
            rows.contains(&"waiting    Linus, Ken, +1".to_string()),
            "{rows:#?}"
        );
        assert!(
            rows.contains(&"here       +3 · 4 watching".to_string()),
            "{rows:#?}"
        );
        assert!(
            rows.contains(&"keys: space r s n q".to_string()),
            "{rows:#?}"
        );
        let wider = shown(&layout(&team_view(), 44, 24));
        assert!(
            wider.contains(&"space start r reset s swap n next q quit".to_string()),
            "{wider:#?}"
        );
        for l in &lines {
            assert!(l.text.width() <= 30, "{:?}", l.text);
        }
    }

    #[test]
    fn a_short_screen_drops_goals_then_the_title_then_presence_before_the_essentials() {
        let at = |h| shown(&layout(&team_view(), 80, h));
        // 14 rows without spacing (the notice's empty): the whole of it.
        assert_eq!(at(14).len(), 13);
        assert!(!at(13).contains(&"+1 more".to_string()));
        assert!(at(13).contains(&"Ship".to_string()));
        let at_11 = at(11);
        assert!(
            at_11.contains(&"goals      Parse the header".to_string()),
            "{at_11:#?}"
        );
        assert!(!at_11.iter().any(|l| l.contains("flaky")), "{at_11:#?}");
        let at_9 = at(9);
        assert!(
            !at_9
                .iter()
                .any(|l| l.contains("goals") || l.contains("room")),
            "{at_9:#?}"
        );
        assert!(at_9.iter().any(|l| l.starts_with("here")), "{at_9:#?}");
        let at_7 = at(7);
        assert_eq!(
            at_7,
            [
                "04:59",
                "idle · turn · round 2",
                "driver     Ada",
                "navigator  Grace",
                "● connected",
                "space start   r reset   s swap   n next   q quit",
            ],
        );
        let at_3 = at(3);
        assert_eq!(at_3, ["04:59", "idle · turn · round 2", "driver     Ada"]);
    }

    #[test]
    fn a_team_fits_every_size() {
        for (w, h) in [
            (80, 24),
            (80, 12),
            (50, 12),
            (40, 10),
            (30, 8),
            (20, 5),
            (12, 3),
            (1, 1),
            (0, 0),
        ] {
            let lines = layout(&team_view(), w, h);
            assert_eq!(lines.len(), usize::from(h));
            for l in &lines {
                assert!(
                    l.text.width() <= usize::from(w),
                    "{:?} wider than {w}",
                    l.text
                );
            }
        }
    }

    #[test]
    fn fit_names_keeps_the_tail_and_counts_what_it_leaves_out() {
        let names: Vec<String> = ["Ann", "Bob", "Cyrus"]
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(fit_names(&names, " · 3", 19), "Ann, Bob, Cyrus · 3");
        assert_eq!(fit_names(&names, " · 3", 18), "Ann, Bob, +1 · 3");
        assert_eq!(fit_names(&names, " · 3", 15), "Ann, +2 · 3");
        assert_eq!(fit_names(&names, " · 3", 7), "+3 · 3");
        assert_eq!(fit_names(&names, " · 3", 3), "+3…");
        assert_eq!(fit_names(&[], "", 10), "");
    }

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 10), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 0), "");
    }
}
