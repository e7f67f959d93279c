//! The terminal while the watch view is up: raw mode, the alternate screen and a hidden
//! cursor, set up once and put back on every way out (return, error, `q`, Ctrl-C, a
//! signal, a panic); drawing writes only the rows that changed since the last frame.

use std::fmt;
use std::io::{self, Write};
use std::sync::Once;

use crossterm::style::{Attribute, Color, Print, ResetColor, SetAttribute, SetForegroundColor};
use crossterm::terminal::{self, ClearType};
use crossterm::{cursor, execute, queue};

use super::screen::{Line, Tone};

/// The terminal bell (BEL), as a command among the others.
struct Bell;

impl crossterm::Command for Bell {
    fn write_ansi(&self, f: &mut impl fmt::Write) -> fmt::Result {
        f.write_char('\u{7}')
    }

    #[cfg(windows)]
    fn execute_winapi(&self) -> io::Result<()> {
        Ok(())
    }
}

/// The full-screen terminal; dropping it puts the terminal back as it was.
pub struct Terminal {
    out: io::Stdout,
    drawn: Vec<Line>,
    size: (u16, u16),
}

/// Puts the terminal back: cursor shown, main screen, cooked mode. Safe to call twice.
pub fn restore() {
    let mut out = io::stdout();
    let _ = execute!(
        out,
        ResetColor,
        SetAttribute(Attribute::Reset),
        terminal::EnableLineWrap,
        cursor::Show,
        terminal::LeaveAlternateScreen
    );
    let _ = terminal::disable_raw_mode();
}

/// Makes a panic restore the terminal before its message is printed, so that the
/// message lands on the main screen of a usable terminal.
fn restore_on_panic() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

/// The rows of `next` that differ from `drawn` (all of them when nothing was drawn).
pub fn changed_rows(drawn: &[Line], next: &[Line]) -> Vec<usize> {
    (0..next.len())
        .filter(|&row| drawn.get(row) != next.get(row))
        .collect()
}

fn style(tone: Tone) -> (Option<Attribute>, Option<Color>) {
    match tone {
        Tone::Plain => (None, None),
        Tone::Strong | Tone::Stopped => (Some(Attribute::Bold), None),
        Tone::Faint => (Some(Attribute::Dim), None),
        Tone::Running => (Some(Attribute::Bold), Some(Color::Green)),
        Tone::Break => (Some(Attribute::Bold), Some(Color::Cyan)),
        Tone::Good => (None, Some(Color::Green)),
        Tone::Alert => (Some(Attribute::Bold), Some(Color::Red)),
        Tone::Notice => (None, Some(Color::Yellow)),
    }
}

impl Terminal {
    /// Switches to raw mode and the alternate screen.
    pub fn enter() -> io::Result<Terminal> {
        restore_on_panic();
        let size = terminal::size()?;
        terminal::enable_raw_mode()?;
        // From here on, dropping `terminal` restores, whatever fails next.
        let mut terminal = Terminal {
            out: io::stdout(),
            drawn: Vec::new(),
            size,
        };
        execute!(
            terminal.out,
            terminal::EnterAlternateScreen,
            terminal::DisableLineWrap,
            cursor::Hide,
            terminal::Clear(ClearType::All)
        )?;
        Ok(terminal)
    }

    /// Columns and rows.
    pub fn size(&self) -> (u16, u16) {
        self.size
    }

    /// The terminal changed size: the next frame is drawn whole.
    pub fn resize(&mut self, width: u16, height: u16) -> io::Result<()> {
        self.size = (width, height);
        self.drawn.clear();
        execute!(self.out, terminal::Clear(ClearType::All))
    }

    /// Draws `lines`, one per row, writing only the rows that changed.
    pub fn draw(&mut self, lines: &[Line]) -> io::Result<()> {
        let rows = changed_rows(&self.drawn, lines);
        if rows.is_empty() {
            return Ok(());
        }
        for row in rows {
            let line = &lines[row];
            let y = u16::try_from(row).unwrap_or(u16::MAX);
            queue!(
                self.out,
                cursor::MoveTo(0, y),
                terminal::Clear(ClearType::CurrentLine)
            )?;
            if line.text.is_empty() {
                continue;
            }
            let (attribute, color) = style(line.tone);
            if let Some(attribute) = attribute {
                queue!(self.out, SetAttribute(attribute))?;
            }
            if let Some(color) = color {
                queue!(self.out, SetForegroundColor(color))?;
            }
            queue!(
                self.out,
                Print(&line.text),
                ResetColor,
                SetAttribute(Attribute::Reset)
            )?;
        }
        self.out.flush()?;
        self.drawn = lines.to_vec();
        Ok(())
    }

    /// Rings the terminal bell.
    pub fn bell(&mut self) -> io::Result<()> {
        execute!(self.out, Bell)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Line {
            text: text.into(),
            tone: Tone::Plain,
        }
    }

    #[test]
    fn only_the_rows_that_changed_are_written() {
        let before = vec![line("room"), line("04:59"), line("Bob")];
        let after = vec![line("room"), line("04:58"), line("Bob")];
        assert_eq!(changed_rows(&before, &after), [1]);
        assert!(changed_rows(&after, &after).is_empty());
    }

    #[test]
    fn a_new_tone_is_a_change_and_an_empty_screen_is_drawn_whole() {
        let before = vec![line("04:59")];
        let mut after = before.clone();
        after[0].tone = Tone::Running;
        assert_eq!(changed_rows(&before, &after), [0]);
        assert_eq!(changed_rows(&[], &after), [0]);
    }

    #[test]
    fn the_bell_is_the_bel_character() {
        let mut s = String::new();
        crossterm::Command::write_ansi(&Bell, &mut s).expect("writes");
        assert_eq!(s, "\u{7}");
    }
}
