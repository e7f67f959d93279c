//! `pairsync watch`: the full-screen view of one room, driven by its event stream, with
//! the keys that command it; the stream is reopened with backoff whenever it is lost.

use std::future::Future;
use std::io::IsTerminal;
use std::pin::Pin;
use std::time::Duration;

use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};

use super::address::RoomAddress;
use super::api::{Api, EventFeed};
use super::backoff::Backoff;
use super::error::ClientError;
use super::events::ServerEvent;
use super::keys::{self, Action, RoomCommand};
use super::model::{Effect, Model};
use super::screen::layout;
use super::terminal::Terminal;
use super::tls::Trust;

/// How often the screen is looked at when nothing on it moves by itself.
const IDLE_REDRAW: Duration = Duration::from_secs(1);

/// Longest wait for the room's state on a stream just opened.
const FIRST_STATE_TIMEOUT: Duration = Duration::from_secs(10);

/// The reason shown when the server ends a stream.
const STREAM_ENDED: &str = "the server closed the stream";

type Opening = Pin<Box<dyn Future<Output = Result<EventFeed, ClientError>> + Send>>;

/// The room's stream, or the way back to one.
enum Feed {
    /// Events are coming.
    Open(EventFeed),
    /// Waiting before the next attempt.
    Waiting(Pin<Box<Sleep>>),
    /// An attempt is under way.
    Opening(Opening),
}

/// What the feed did.
enum Step {
    Event(ServerEvent),
    Lost(String),
    Due,
    Opened(EventFeed),
    Failed(ClientError),
}

impl Feed {
    /// The feed's next step; safe to drop unfinished (every state is kept in `self`).
    async fn step(&mut self) -> Step {
        match self {
            Feed::Open(events) => match events.next().await {
                Some(Ok(event)) => Step::Event(event),
                Some(Err(e)) => Step::Lost(e.reason()),
                None => Step::Lost(STREAM_ENDED.to_string()),
            },
            Feed::Waiting(sleep) => {
                sleep.as_mut().await;
                Step::Due
            }
            Feed::Opening(attempt) => match attempt.as_mut().await {
                Ok(events) => Step::Opened(events),
                Err(e) => Step::Failed(e),
            },
        }
    }
}

/// Why the view ended without an error.
enum Outcome {
    Quit,
    Continue,
}

/// One watched room.
struct Watch {
    api: Api,
    code: String,
    /// Whose stream this is (anonymous for `None`).
    name: Option<String>,
    model: Model,
    backoff: Backoff,
    feed: Feed,
    origin: Instant,
    done_tx: mpsc::UnboundedSender<(RoomCommand, Result<(), ClientError>)>,
    done_rx: mpsc::UnboundedReceiver<(RoomCommand, Result<(), ClientError>)>,
}

fn label(command: RoomCommand) -> &'static str {
    match command {
        RoomCommand::Start => "start",
        RoomCommand::Stop => "pause",
        RoomCommand::Reset => "reset",
        RoomCommand::Swap { .. } => "swap",
        RoomCommand::Next { .. } => "next",
    }
}

/// What to tell of `command`'s failure, if anything. A `next` refused because its round
/// is over is not worth a word: someone else ended that turn first, and the stream
/// brings the new one.
fn complaint(command: RoomCommand, error: &ClientError) -> Option<String> {
    match (command, error) {
        (RoomCommand::Next { .. }, ClientError::Refused { status: 409, .. }) => None,
        _ => Some(format!("{} failed: {error}", label(command))),
    }
}

/// Resolves when the process is asked to stop: SIGTERM, SIGHUP (its terminal closed) or
/// SIGINT. (In raw mode Ctrl-C is a key, not a signal.)
async fn stop_requested() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut hangup = signal(SignalKind::hangup())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
            _ = interrupt.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}

/// Watches the room at `address` as `name` (anonymous for `None`), trusting `trust`
/// for HTTPS, until `q`, a signal, or an error that ends it.
pub async fn watch(
    address: RoomAddress,
    name: Option<String>,
    trust: Trust,
) -> Result<(), ClientError> {
    let api = Api::new(&address.server, trust)?;
    // An unknown room, an unreachable or untrusted server is said before the screen is
    // taken.
    let events = api.open_stream(&address.code, name.as_deref()).await?;
    if !std::io::stdout().is_terminal() {
        return Err(ClientError::Usage(
            "watch draws full-screen: run it in a terminal".into(),
        ));
    }
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let mut watch = Watch {
        model: Model::new(&address.code),
        api,
        code: address.code,
        name,
        backoff: Backoff::default(),
        feed: Feed::Open(events),
        origin: Instant::now(),
        done_tx,
        done_rx,
    };
    // The connect sequence ends with the room's state, sent at once: the first frame
    // shows the whole room.
    tokio::time::timeout(FIRST_STATE_TIMEOUT, watch.until_first_state())
        .await
        .map_err(|_| ClientError::Unreachable {
            server: watch.api.server().to_string(),
            reason: "the room's state did not arrive".into(),
        })??;
    let mut terminal = Terminal::enter()?;
    let outcome = watch.run(&mut terminal).await;
    drop(terminal);
    outcome
}

impl Watch {
    /// Reads the stream until the room's state has arrived.
    async fn until_first_state(&mut self) -> Result<(), ClientError> {
        while self.model.snapshot().is_none() {
            match self.feed.step().await {
                Step::Event(ServerEvent::Retry(retry)) => self.backoff.set_retry(retry),
                Step::Event(event) => {
                    let now = self.now();
                    if self.model.apply(event, now) == Some(Effect::Deleted) {
                        return Err(ClientError::RoomDeleted(self.code.clone()));
                    }
                }
                Step::Lost(reason) => {
                    return Err(ClientError::Unreachable {
                        server: self.api.server().to_string(),
                        reason,
                    })
                }
                Step::Due | Step::Opened(_) | Step::Failed(_) => {}
            }
        }
        Ok(())
    }

    /// Local monotonic ms since the view started.
    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    async fn run(&mut self, terminal: &mut Terminal) -> Result<(), ClientError> {
        let mut keys = EventStream::new();
        let stop = stop_requested();
        tokio::pin!(stop);
        loop {
            let now = self.now();
            let (width, height) = terminal.size();
            terminal.draw(&layout(&self.model.view(now), width, height))?;
            let wake = self.model.next_change(now).map_or(IDLE_REDRAW, |at| {
                Duration::from_millis(at.saturating_sub(now))
            });
            let outcome = tokio::select! {
                step = self.feed.step() => self.on_step(step, terminal)?,
                key = keys.next() => match key {
                    Some(Ok(Event::Key(key))) => {
                        self.on_key(keys::action(key, self.model.snapshot()))
                    }
                    Some(Ok(Event::Resize(width, height))) => {
                        terminal.resize(width, height)?;
                        Outcome::Continue
                    }
                    Some(Ok(_)) => Outcome::Continue,
                    Some(Err(e)) => return Err(e.into()),
                    // The terminal is gone.
                    None => Outcome::Quit,
                },
                Some((command, result)) = self.done_rx.recv() => self.on_done(command, result)?,
                () = tokio::time::sleep(wake) => Outcome::Continue,
                stopped = &mut stop => {
                    stopped?;
                    Outcome::Quit
                }
            };
            if let Outcome::Quit = outcome {
                return Ok(());
            }
        }
    }

    fn on_step(&mut self, step: Step, terminal: &mut Terminal) -> Result<Outcome, ClientError> {
        let now = self.now();
        match step {
            Step::Event(ServerEvent::Retry(retry)) => self.backoff.set_retry(retry),
            Step::Event(event) => match self.model.apply(event, now) {
                Some(Effect::Bell) => terminal.bell()?,
                Some(Effect::Deleted) => return Err(ClientError::RoomDeleted(self.code.clone())),
                None => {}
            },
            Step::Lost(reason) => self.retry_later(&reason, now),
            Step::Due => {
                self.model.reconnecting();
                let (api, code, name) = (self.api.clone(), self.code.clone(), self.name.clone());
                self.feed = Feed::Opening(Box::pin(async move {
                    api.open_stream(&code, name.as_deref()).await
                }));
            }
            Step::Opened(events) => {
                self.backoff.opened();
                self.feed = Feed::Open(events);
            }
            Step::Failed(e) if e.is_final() => return Err(e),
            Step::Failed(e) => self.retry_later(&e.reason(), now),
        }
        Ok(Outcome::Continue)
    }

    fn retry_later(&mut self, reason: &str, now: u64) {
        let delay = self.backoff.next_delay();
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.model.lost(reason, now.saturating_add(ms));
        self.feed = Feed::Waiting(Box::pin(tokio::time::sleep(delay)));
    }

    fn on_key(&mut self, action: Option<Action>) -> Outcome {
        match action {
            Some(Action::Quit) => Outcome::Quit,
            Some(Action::Send(command)) => {
                let (api, code, done) = (self.api.clone(), self.code.clone(), self.done_tx.clone());
                tokio::spawn(async move {
                    let result = api.send(&code, command).await;
                    // The view may have ended meanwhile; then nobody needs the answer.
                    let _ = done.send((command, result));
                });
                Outcome::Continue
            }
            None => Outcome::Continue,
        }
    }

    fn on_done(
        &mut self,
        command: RoomCommand,
        result: Result<(), ClientError>,
    ) -> Result<Outcome, ClientError> {
        match result {
            Ok(()) => {}
            Err(e @ ClientError::RoomNotFound(_)) => return Err(e),
            Err(e) => {
                if let Some(text) = complaint(command, &e) {
                    let now = self.now();
                    self.model.say(text, now);
                }
            }
        }
        Ok(Outcome::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict() -> ClientError {
        ClientError::Refused {
            status: 409,
            code: "round_changed".into(),
            message: "the round has changed".into(),
        }
    }

    #[test]
    fn a_next_too_late_is_silent_and_other_refusals_are_told() {
        assert_eq!(complaint(RoomCommand::Next { round: 3 }, &conflict()), None);
        assert_eq!(
            complaint(RoomCommand::Swap { round: 3 }, &conflict()).as_deref(),
            Some("swap failed: the round has changed")
        );
        let unreachable = ClientError::Unreachable {
            server: "http://h".into(),
            reason: "no answer in time".into(),
        };
        assert_eq!(
            complaint(RoomCommand::Next { round: 3 }, &unreachable).as_deref(),
            Some("next failed: cannot reach the server at http://h: no answer in time")
        );
    }
}
