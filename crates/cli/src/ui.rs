//! `streamctl ui`: a terminal dashboard for a Kafka-protocol cluster (ratatui + crossterm).
//!
//! ```text
//!  input thread ──Action::Key/Resize──┐
//!  poller task (data.rs) ──Action::Data──┤
//!  tail task (tail.rs) ──Action::Records─┴──▶ event loop: App::update ──▶ draw (pure)
//!                                                  │ Requests            │
//!                          Request::Refresh/Broker ▼ poller   Watch ────▶ poller
//!                          Request::Tail/Pause/Stop ▼ tail    Copy ─────▶ OSC 52
//! ```
//!
//! The event loop awaits only its action channel, never the network: polls and the tail run
//! in background tasks with deadlines, so keys answer while a broker is down. The terminal is
//! restored on exit, on error and on panic (ratatui's panic hook).

mod app;
mod data;
mod draw;
mod keymap;
mod model;
mod tail;
#[cfg(test)]
mod tests;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use ratatui::crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use streamctl_client::consumer::ConsumerConfig;
use streamctl_client::{Admin, ClientConfig};
use tokio::sync::{mpsc, watch};

use crate::cli::{Global, UiArgs};
use crate::devadmin::DevAdmin;
use app::{Action, App, Options, Request, Watch};
use data::{PollRequest, Poller};

/// The UI asks brokers with a shorter timeout than a batch client: a dead broker should make
/// a poll slow, not stale for half a minute. `-X request.timeout.ms=…` overrides it.
const REQUEST_TIMEOUT_MS: &str = "5000";

/// Parses `--refresh`: `2`, `2s`, `500ms`.
pub fn parse_refresh(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?}: expected seconds (2, 2s, 0.5) or milliseconds (500ms)");
    let d = if let Some(ms) = s.strip_suffix("ms") {
        Duration::from_millis(ms.trim().parse().map_err(|_| bad())?)
    } else {
        let secs: f64 = s.trim_end_matches('s').trim().parse().map_err(|_| bad())?;
        if !secs.is_finite() || secs <= 0.0 || secs > 3600.0 {
            return Err(bad());
        }
        Duration::from_secs_f64(secs)
    };
    if d < Duration::from_millis(100) {
        return Err(format!("{s:?}: at least 100ms"));
    }
    Ok(d)
}

/// Where the UI's log lines go: `--log-file`, or nowhere (stderr is the dashboard's screen).
pub fn log_writer(args: &UiArgs) -> tracing_subscriber::fmt::writer::BoxMakeWriter {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    match &args.log_file {
        None => BoxMakeWriter::new(std::io::sink),
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => BoxMakeWriter::new(std::sync::Mutex::new(file)),
            Err(e) => {
                eprintln!("streamctl: cannot write the log to {}: {e}", path.display());
                BoxMakeWriter::new(std::io::sink)
            }
        },
    }
}

/// The tail's consumer settings before `-b`/`-X`: no group, never creating the topic it
/// reads (a typo in `:tail` must say so), an offset past the log starting at its beginning.
pub fn tail_config() -> anyhow::Result<ConsumerConfig> {
    let mut config = ConsumerConfig::default();
    config.set("request.timeout.ms", REQUEST_TIMEOUT_MS)?;
    config.set("allow.auto.create.topics", "false")?;
    config.set("auto.offset.reset", "earliest")?;
    Ok(config)
}

/// Runs `streamctl ui`.
pub async fn run(global: &Global, args: UiArgs) -> anyhow::Result<ExitCode> {
    let mut config = ClientConfig::default();
    config.set("request.timeout.ms", REQUEST_TIMEOUT_MS)?;
    crate::config::apply_global(global, |k, v| config.set(k, v).map(|_| ()))?;
    let admin = Admin::connect(config).await.map_err(|e| {
        let context = crate::config::connect_context(&global.brokers, &e);
        anyhow::Error::new(e).context(context)
    })?;
    let mut consumer_config = tail_config()?;
    crate::config::apply_global(global, |k, v| consumer_config.set(k, v).map(|_| ()))?;

    // A devcluster is detected by its admin plane answering GET /v1/cluster.
    let mut startup_status = None;
    // `--admin-url`, else the profile's (filled in by `main`).
    let dev = match &args.admin_url {
        None => None,
        Some(url) => {
            let dev = DevAdmin::new(url)?;
            // The plane must belong to the cluster shown: a profile's url and a `-b` pointing
            // elsewhere must not put another cluster's brokers under the K key.
            let kafka_id = admin.cluster().snapshot().cluster_id().map(str::to_string);
            match dev.cluster().await {
                Ok(state)
                    if kafka_id.is_none() || kafka_id.as_deref() == Some(&state.cluster_id) =>
                {
                    Some(dev)
                }
                Ok(state) => {
                    startup_status = Some(format!(
                        "the admin plane at {url} belongs to cluster {}, not this one; broker controls off",
                        state.cluster_id
                    ));
                    None
                }
                Err(e) => {
                    startup_status = Some(format!(
                        "{url} is not a devcluster admin plane ({e:#}); broker controls off"
                    ));
                    None
                }
            }
        }
    };
    let options = Options {
        read_only: args.read_only,
        devcluster: dev.is_some(),
        brokers: global.brokers.clone(),
    };

    let (action_tx, mut action_rx) = mpsc::unbounded_channel();
    let (watch_tx, watch_rx) = watch::channel(Watch::default());
    let (poll_tx, poll_rx) = mpsc::unbounded_channel();
    let (tail_tx, tail_rx) = mpsc::unbounded_channel();
    let poller = tokio::spawn(
        Poller::new(admin, dev, action_tx.clone(), watch_rx).run(poll_rx, args.refresh),
    );
    // Schema-encoded values are decoded when a registry is named (the profile `dev up` wrote
    // names its own); without one they show as stored.
    let decoder = match crate::schemas::registry_client(global, args.schema_registry.as_deref()) {
        Ok(registry) => Some(tail::TailDecoder::new(registry)),
        Err(_) => None,
    };
    let tail = tokio::spawn(tail::run(
        consumer_config,
        decoder,
        tail_rx,
        action_tx.clone(),
    ));

    // The guard comes first so a half-done setup (raw mode on, no alternate screen) is undone.
    let _restore = Restore;
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let stop_input = Arc::new(AtomicBool::new(false));
    let input = spawn_input(action_tx, stop_input.clone());

    let mut app = App::new(options);
    app.status = startup_status;
    if let Ok(size) = terminal.size() {
        app.update(Action::Resize(size.width, size.height));
    }
    let result: anyhow::Result<()> = async {
        loop {
            // Synchronized output (DEC mode 2026): terminals that know it show the frame whole,
            // the others ignore the escape.
            ratatui::crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
            terminal.draw(|f| draw::draw(f, &app))?;
            ratatui::crossterm::execute!(terminal.backend_mut(), EndSynchronizedUpdate)?;
            let Some(action) = action_rx.recv().await else {
                break;
            };
            let mut requests = app.update(action);
            // Apply everything that queued up before drawing again.
            while let Ok(action) = action_rx.try_recv() {
                requests.extend(app.update(action));
            }
            watch_tx.send_if_modified(|w| {
                let now = app.watch();
                let changed = *w != now;
                *w = now;
                changed
            });
            for request in requests {
                match request {
                    Request::Refresh => {
                        let _ = poll_tx.send(PollRequest::Refresh);
                    }
                    Request::Broker { id, op } => {
                        let _ = poll_tx.send(PollRequest::Broker(id, op));
                    }
                    Request::Copy(text) => copy(&text)?,
                    tail_request => {
                        let _ = tail_tx.send(tail_request);
                    }
                }
            }
            if app.quit {
                break;
            }
        }
        Ok(())
    }
    .await;
    stop_input.store(true, Ordering::Relaxed);
    drop(poll_tx);
    drop(tail_tx);
    poller.abort();
    // The tail closes its consumer; give it a moment, not forever.
    let _ = tokio::time::timeout(Duration::from_secs(2), tail).await;
    let _ = input.join();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Restores the terminal when dropped (normal exit and errors; panics use ratatui's hook).
struct Restore;

impl Drop for Restore {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// Reads terminal events on a thread (crossterm's reads block) and posts them as actions.
fn spawn_input(
    actions: mpsc::UnboundedSender<Action>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(100)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let action = match event::read() {
                Ok(Event::Key(key)) if key.kind != KeyEventKind::Release => Action::Key(key),
                Ok(Event::Resize(w, h)) => Action::Resize(w, h),
                Ok(_) => continue,
                Err(_) => return,
            };
            if actions.send(action).is_err() {
                return;
            }
        }
    })
}

/// Puts `text` on the clipboard of the terminal (OSC 52; tmux passes it on with
/// `set-clipboard on`), which works over ssh, unlike a local clipboard library.
fn copy(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    write!(
        out,
        "\x1b]52;c;{}\x07",
        crate::jsonl::base64(text.as_bytes())
    )?;
    out.flush()?;
    Ok(())
}
