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

/// The rows' content, before placement.
struct Row {
    text: String,
    tone: Tone,
    centred: bool,
    /// Dropped first when the screen is short.
    spacer: bool,
    /// Of changing length (the link, a notice): it does not widen the block, so the
    /// block stays put, and it is cut at the screen's edge instead.
    loose: bool,
}

fn row(text: String, tone: Tone) -> Row {
    Row {
        text,
        tone,
        centred: false,
        spacer: false,
        loose: false,
    }
}

fn loose(text: String, tone: Tone) -> Row {
    Row {
        loose: true,
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
        spacer: true,
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

fn rows(view: &View) -> Vec<Row> {
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
    vec![
        row(format!("pairsync · room {}", view.room), Tone::Faint),
        spacer(),
        centred(view.clock.clone(), countdown_tone),
        centred(status, Tone::Plain),
        spacer(),
        row(format!("driver     {}", view.driver), Tone::Strong),
        row(format!("navigator  {}", view.navigator), Tone::Plain),
        spacer(),
        loose(format!("{mark} {}", view.link), link_tone),
        loose(view.notice.clone().unwrap_or_default(), Tone::Notice),
        spacer(),
        row(
            format!("space {}   r reset   s swap   q quit", view.space),
            Tone::Faint,
        ),
    ]
}

/// The screen for `view` on a `width` × `height` terminal: exactly `height` lines, the
/// content centred, spacing dropped on a short screen and rows cut on a narrow one.
pub fn layout(view: &View, width: u16, height: u16) -> Vec<Line> {
    let (width, height) = (usize::from(width), usize::from(height));
    let mut content = rows(view);
    if content.len() > height {
        content.retain(|r| !r.spacer);
    }
    content.truncate(height);
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
        lines[top + i] = Line {
            text: format!("{}{}", " ".repeat(indent), fit(&r.text, width - indent)),
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

    #[test]
    fn fit_cuts_with_an_ellipsis() {
        assert_eq!(fit("abcdef", 10), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 0), "");
    }
}
