//! `pairsync` in a pseudo-terminal of 80×24, under `sh`, which prints the client's exit
//! status and then the terminal's modes once it has ended, as a person's shell would
//! find them. What the client writes goes through a terminal emulator, so tests look at
//! the screen a person would see.

use std::io::ErrorKind;
use std::process::Command;
use std::time::{Duration, Instant};

use std::num::NonZeroU16;

use expectrl::session::OsSession;
use expectrl::{Expect, Session};

/// Longest wait for something to appear on the screen.
pub const SCREEN_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the screen is looked at while waiting.
const POLL: Duration = Duration::from_millis(10);
const ROWS: u16 = 24;
const COLS: u16 = 80;

/// Counts the bells the emulated terminal hears.
#[derive(Default)]
struct Bells(usize);

impl vt100::Callbacks for Bells {
    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.0 += 1;
    }
}

/// A client running in a pseudo-terminal.
pub struct Pty {
    session: OsSession,
    screen: vt100::Parser<Bells>,
    /// Every byte the client wrote.
    raw: Vec<u8>,
}

/// How a client ended.
#[derive(Debug)]
pub struct Ended {
    /// Its exit status.
    pub status: i32,
    /// Whether the terminal is back in its usual modes afterwards (line editing and
    /// signal keys on; raw mode turns them off).
    pub modes_restored: bool,
    /// Whether the main screen is back with a visible cursor.
    pub screen_restored: bool,
    /// The screen after it ended.
    pub screen: String,
}

impl Pty {
    /// Runs `pairsync ARGS` with only `env` set (besides `TERM` and `PATH`).
    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Pty {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(r#""$0" "$@"; echo "exit=$?"; stty -a"#)
            .arg(env!("CARGO_BIN_EXE_pairsync"))
            .args(args)
            .env_clear()
            .env("TERM", "xterm-256color")
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut session = Session::spawn(cmd).expect("a pseudo-terminal");
        session
            .get_process_mut()
            .set_window_size(COLS, ROWS)
            .expect("a window size");
        Pty {
            session,
            screen: vt100::Parser::new_with_callbacks(
                NonZeroU16::new(ROWS).expect("rows"),
                NonZeroU16::new(COLS).expect("columns"),
                0,
                Bells::default(),
            ),
            raw: Vec::new(),
        }
    }

    /// Takes in whatever the client wrote since the last look.
    fn read(&mut self) {
        let mut buf = [0u8; 8192];
        loop {
            match self.session.try_read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    self.screen.process(&buf[..n]);
                    self.raw.extend_from_slice(&buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                // The other end is closed (EIO on Linux): nothing more will come.
                Err(_) => return,
            }
        }
    }

    /// The screen as text, one line per row.
    pub fn screen(&mut self) -> String {
        self.read();
        self.screen.screen().contents()
    }

    /// Waits until the screen satisfies `ok`; the screen then.
    pub fn until(&mut self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            assert!(
                start.elapsed() < SCREEN_TIMEOUT,
                "the screen never showed {what}; it shows:\n{screen}"
            );
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the screen shows `text`.
    pub fn shows(&mut self, text: &str) -> String {
        self.until(&format!("{text:?}"), |s| s.contains(text))
    }

    /// How many bytes the client has written so far.
    pub fn written(&mut self) -> usize {
        self.read();
        self.raw.len()
    }

    /// What the client wrote from byte `from` on, as text.
    pub fn written_since(&mut self, from: usize) -> String {
        self.read();
        String::from_utf8_lossy(&self.raw[from..]).into_owned()
    }

    /// How many times the bell has rung.
    pub fn bells(&mut self) -> usize {
        self.read();
        self.screen.callbacks().0
    }

    /// Gives the terminal a new size, as a person dragging the window's corner does.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.read();
        self.session
            .get_process_mut()
            .set_window_size(cols, rows)
            .expect("a window size");
        self.screen.set_size(
            NonZeroU16::new(rows).expect("rows"),
            NonZeroU16::new(cols).expect("columns"),
        );
    }

    /// Types `keys`.
    pub fn send(&mut self, keys: &str) {
        self.session.send(keys).expect("keys reach the client");
    }

    /// Waits for the client to end.
    pub fn finish(&mut self) -> Ended {
        let start = Instant::now();
        // The shell's lines may have scrolled off a small screen: read them from the output.
        let after = loop {
            let written = self.written_since(0);
            if let Some((_, after)) = written.rsplit_once("exit=") {
                if after.contains("icanon") {
                    break after.to_string();
                }
            }
            assert!(
                start.elapsed() < SCREEN_TIMEOUT,
                "the client never ended; the screen shows:\n{}",
                self.screen()
            );
            std::thread::sleep(POLL);
        };
        let status = after
            .split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a numeric exit status");
        let words: Vec<&str> = after.split_whitespace().collect();
        let screen = self.screen();
        let state = self.screen.screen();
        Ended {
            status,
            modes_restored: words.contains(&"icanon") && words.contains(&"isig"),
            screen_restored: !state.alternate_screen() && !state.hide_cursor(),
            screen,
        }
    }
}

impl Ended {
    /// Exited with 0 and left the terminal as it found it.
    pub fn quit_cleanly(&self) -> bool {
        self.status == 0 && self.modes_restored && self.screen_restored
    }
}
