//! The app state and `update(action)`: everything the UI knows and every way it changes.
//!
//! ```text
//!  key press / data snapshot / records ──Action──▶ App::update ──▶ new state
//!                                                        └──▶ Vec<Request> for the data layer
//!  App::watch() ──▶ which topics and group the data layer fetches in detail
//! ```
//!
//! `update` does no I/O and never waits: it returns [`Request`]s that the event loop hands to
//! the background tasks. That keeps every key testable without a terminal or a cluster.

mod events;
mod seek;
mod state;

use std::collections::HashMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

pub use events::{Action, BrokerOp, Command, Request, Screen, ScreenKind, TailRequest};
pub use seek::Seek;
pub use state::{Cursor, History, Mode, Options, TailState, TopicSort, Watch};

use super::keymap;
use super::model::{GroupView, Snapshot, TopicView};

/// How many points a sparkline keeps (one per refresh).
pub const HISTORY: usize = 60;
/// How many records the tail keeps; older ones fall off the end.
pub const TAIL_CAPACITY: usize = 2_000;
/// Records per partition the tail shows when it opens (the newest ones).
pub const TAIL_START: i64 = 50;
/// Rows above a list body: header line, tab line, the list's border and its column header.
const CHROME_ROWS: u16 = 2 + 1 + 2 + 1;

/// The whole UI state.
#[derive(Debug)]
pub struct App {
    /// Command line options.
    pub options: Options,
    /// The screen shown.
    pub screen: Screen,
    /// Screens to go back to.
    pub stack: Vec<Screen>,
    /// The input mode.
    pub mode: Mode,
    /// The terminal size (columns, rows).
    pub size: (u16, u16),
    /// The last poll.
    pub data: Snapshot,
    /// Whether a poll has arrived yet.
    pub loaded: bool,
    /// Refresh paused.
    pub paused: bool,
    /// The status line.
    pub status: Option<String>,
    /// Set by `q`.
    pub quit: bool,
    /// Topics list state.
    pub topics: Cursor,
    /// Topics filter.
    pub topic_filter: String,
    /// Topics sort.
    pub topic_sort: TopicSort,
    /// Whether internal topics are listed.
    pub show_internal: bool,
    /// Brokers list state.
    pub brokers: Cursor,
    /// Groups list state.
    pub groups: Cursor,
    /// Groups filter.
    pub group_filter: String,
    /// Topic-detail partitions list state.
    pub partitions: Cursor,
    /// Group-detail lag list state.
    pub group_rows: Cursor,
    /// The transactions screen's selection.
    pub txns: Cursor,
    /// The tail.
    pub tail: TailState,
    /// Produce rate per topic (records/s).
    pub rates: HashMap<String, History>,
    /// Produce rate of all non-internal topics sampled (records/s).
    pub total_rate: History,
    /// Total lag per group.
    pub lag: HashMap<String, History>,
    /// Total lag of all groups.
    pub total_lag: History,
}

impl App {
    /// A fresh app on the overview.
    pub fn new(options: Options) -> Self {
        App {
            options,
            screen: Screen::Overview,
            stack: Vec::new(),
            mode: Mode::Normal,
            size: (120, 40),
            data: Snapshot::default(),
            loaded: false,
            paused: false,
            status: None,
            quit: false,
            topics: Cursor::default(),
            topic_filter: String::new(),
            topic_sort: TopicSort::Name,
            show_internal: false,
            brokers: Cursor::default(),
            groups: Cursor::default(),
            group_filter: String::new(),
            partitions: Cursor::default(),
            group_rows: Cursor::default(),
            txns: Cursor::default(),
            tail: TailState::default(),
            rates: HashMap::new(),
            total_rate: History::default(),
            lag: HashMap::new(),
            total_lag: History::default(),
        }
    }

    /// Rows a full-height list shows.
    pub fn list_height(&self) -> usize {
        usize::from(self.size.1.saturating_sub(CHROME_ROWS + 1))
    }

    /// The topics the topics screen lists: filtered, internal ones only when asked, sorted.
    pub fn topic_rows(&self) -> Vec<&TopicView> {
        let filter = self.topic_filter.to_lowercase();
        let mut rows: Vec<&TopicView> = self
            .data
            .topics
            .iter()
            .filter(|t| self.show_internal || !t.internal)
            .filter(|t| filter.is_empty() || t.name.to_lowercase().contains(&filter))
            .collect();
        let rate = |t: &TopicView| self.rates.get(&t.name).and_then(History::latest);
        match self.topic_sort {
            TopicSort::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
            TopicSort::Partitions => rows.sort_by_key(|t| std::cmp::Reverse(t.partitions.len())),
            TopicSort::Messages => rows.sort_by_key(|t| std::cmp::Reverse(t.messages())),
            TopicSort::Rate => rows.sort_by_key(|t| std::cmp::Reverse(rate(t))),
            TopicSort::Lag => rows.sort_by_key(|t| std::cmp::Reverse(self.max_lag(&t.name))),
            TopicSort::UnderReplicated => {
                rows.sort_by_key(|t| std::cmp::Reverse(t.under_replicated()))
            }
        }
        rows
    }

    /// The groups the groups screen lists.
    pub fn group_rows(&self) -> Vec<&GroupView> {
        let filter = self.group_filter.to_lowercase();
        let mut rows: Vec<&GroupView> = self
            .data
            .groups
            .iter()
            .flatten()
            .filter(|g| filter.is_empty() || g.group_id.to_lowercase().contains(&filter))
            .collect();
        rows.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        rows
    }

    /// The highest lag of any group on a topic.
    pub fn max_lag(&self, topic: &str) -> Option<i64> {
        self.data
            .groups
            .iter()
            .flatten()
            .filter_map(|g| g.lag_on(topic))
            .max()
    }

    /// The topic of the topic-detail or messages screen.
    pub fn topic(&self, name: &str) -> Option<&TopicView> {
        self.data.topics.iter().find(|t| t.name == name)
    }

    /// The group a group-detail screen shows.
    pub fn group(&self, id: &str) -> Option<&GroupView> {
        self.data.groups.iter().flatten().find(|g| g.group_id == id)
    }

    /// Brokers up and known.
    pub fn brokers_up(&self) -> (usize, usize) {
        let up = self.data.brokers.iter().filter(|b| b.up).count();
        (up, self.data.brokers.len())
    }

    /// What the data layer should fetch in detail now.
    pub fn watch(&self) -> Watch {
        let topics = match &self.screen {
            Screen::Topics => self
                .topic_rows()
                .into_iter()
                .skip(self.topics.offset)
                .take(self.list_height())
                .map(|t| t.name.clone())
                .collect(),
            Screen::TopicDetail(t) | Screen::Messages(t) => vec![t.clone()],
            _ => Vec::new(),
        };
        let group = match &self.screen {
            Screen::GroupDetail(g) => Some(g.clone()),
            _ => None,
        };
        Watch {
            topics,
            group,
            paused: self.paused,
        }
    }

    /// Applies one action; returns the work it asks of the background tasks.
    pub fn update(&mut self, action: Action) -> Vec<Request> {
        match action {
            Action::Key(key) => self.key(key),
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.fit_cursors();
                Vec::new()
            }
            Action::Data(snapshot) => {
                self.absorb(*snapshot);
                Vec::new()
            }
            Action::Records(records) => {
                if self.tail.paused {
                    self.tail.held.extend(records);
                    let excess = self.tail.held.len().saturating_sub(TAIL_CAPACITY);
                    self.tail.held.drain(..excess);
                } else {
                    let shown = records
                        .iter()
                        .filter(|r| r.matches(&self.tail.filter))
                        .count();
                    self.tail.add(records);
                    if self.tail.cursor.selected > 0 {
                        // Keep the selected record selected while new ones arrive above it.
                        self.tail.cursor.selected =
                            (self.tail.cursor.selected + shown).min(TAIL_CAPACITY - 1);
                    }
                }
                Vec::new()
            }
            Action::TailStarted { topic, partitions } => {
                if topic == self.tail.topic {
                    self.tail.partitions = partitions;
                }
                Vec::new()
            }
            Action::Status(s) => {
                self.status = Some(s);
                Vec::new()
            }
        }
    }

    fn absorb(&mut self, snapshot: Snapshot) {
        let selected_topic = self
            .topic_rows()
            .get(self.topics.selected)
            .map(|t| t.name.clone());
        let at = snapshot.at;
        let mut total = 0u64;
        let mut sampled = false;
        for t in &snapshot.topics {
            if let (Some(when), Some(sum)) = (t.watermarks_at, t.high_watermark_sum()) {
                let h = self.rates.entry(t.name.clone()).or_default();
                h.sample_rate(when, sum);
                if !t.internal {
                    if let Some(r) = h.latest() {
                        total += r;
                        sampled = true;
                    }
                }
            }
        }
        if sampled {
            self.total_rate.push(total);
        }
        if let Some(groups) = &snapshot.groups {
            let mut total_lag = 0u64;
            let mut any = false;
            for g in groups {
                if let Some(l) = g.total_lag() {
                    let lag = u64::try_from(l.max(0)).unwrap_or(0);
                    self.lag.entry(g.group_id.clone()).or_default().push(lag);
                    total_lag += lag;
                    any = true;
                }
            }
            if any {
                self.total_lag.push(total_lag);
            }
        }
        if let (Some(first), true) = (snapshot.errors.first(), at.is_some()) {
            self.status = Some(first.clone());
        }
        self.data = snapshot;
        self.loaded = true;
        if let Some(name) = selected_topic {
            if let Some(i) = self.topic_rows().iter().position(|t| t.name == name) {
                self.topics.selected = i;
            }
        }
        self.fit_cursors();
    }

    fn fit_cursors(&mut self) {
        let h = self.list_height();
        let n = self.topic_rows().len();
        self.topics.fit(n, h);
        let n = self.group_rows().len();
        self.groups.fit(n, h);
        let n = self.data.brokers.len();
        self.brokers.fit(n, h);
        let n = self.tail.visible().count();
        self.tail.cursor.fit(n, h);
    }

    fn key(&mut self, key: KeyEvent) -> Vec<Request> {
        match self.mode.clone() {
            Mode::Normal => {}
            Mode::Help => {
                // Any key closes the help; `q` closes it rather than quitting.
                self.mode = Mode::Normal;
                return Vec::new();
            }
            Mode::Filter => {
                self.edit_filter(key);
                return Vec::new();
            }
            Mode::Jump(mut line) => {
                return match key.code {
                    KeyCode::Enter => {
                        self.mode = Mode::Normal;
                        self.jump(&line)
                    }
                    KeyCode::Esc => {
                        self.mode = Mode::Normal;
                        Vec::new()
                    }
                    other => {
                        edit_line(&mut line, other);
                        self.mode = Mode::Jump(line);
                        Vec::new()
                    }
                };
            }
            Mode::Seek(mut line) => {
                return match key.code {
                    KeyCode::Enter => {
                        self.mode = Mode::Normal;
                        match Seek::parse(&line) {
                            Ok(seek) => self.restart_tail(seek),
                            Err(e) => {
                                self.status = Some(e);
                                Vec::new()
                            }
                        }
                    }
                    KeyCode::Esc => {
                        self.mode = Mode::Normal;
                        Vec::new()
                    }
                    other => {
                        edit_line(&mut line, other);
                        self.mode = Mode::Seek(line);
                        Vec::new()
                    }
                };
            }
        }
        let Some(command) = keymap::lookup(
            &key,
            self.screen.kind(),
            self.options.read_only,
            self.options.devcluster,
        ) else {
            return Vec::new();
        };
        self.command(command)
    }

    fn edit_filter(&mut self, key: KeyEvent) {
        let filter = match self.screen.kind() {
            ScreenKind::Topics => &mut self.topic_filter,
            ScreenKind::Groups => &mut self.group_filter,
            ScreenKind::Messages => &mut self.tail.filter,
            _ => {
                self.mode = Mode::Normal;
                return;
            }
        };
        match key.code {
            KeyCode::Enter => self.mode = Mode::Normal,
            KeyCode::Esc => {
                filter.clear();
                self.mode = Mode::Normal;
            }
            other => edit_line(filter, other),
        }
        // The list shrank or grew under the selection.
        self.topics.selected = 0;
        self.groups.selected = 0;
        self.tail.cursor.selected = 0;
        self.fit_cursors();
    }

    /// Runs one command.
    pub fn command(&mut self, command: Command) -> Vec<Request> {
        let height = self.list_height();
        match command {
            Command::Up
            | Command::Down
            | Command::Top
            | Command::Bottom
            | Command::PageUp
            | Command::PageDown => {
                let (cursor, len) = match &self.screen {
                    Screen::Overview => return Vec::new(),
                    Screen::Brokers => (&mut self.brokers, self.data.brokers.len()),
                    Screen::Topics => {
                        let n = self.topic_rows().len();
                        (&mut self.topics, n)
                    }
                    Screen::Groups => {
                        let n = self.group_rows().len();
                        (&mut self.groups, n)
                    }
                    Screen::TopicDetail(t) => {
                        let n = self.topic(t).map_or(0, |t| t.partitions.len());
                        (&mut self.partitions, n)
                    }
                    Screen::GroupDetail(g) => {
                        let n = self
                            .group(g)
                            .and_then(|g| g.lag.as_ref())
                            .map_or(0, Vec::len);
                        (&mut self.group_rows, n)
                    }
                    Screen::Transactions => {
                        let n = self.data.transactions.as_ref().map_or(0, Vec::len);
                        (&mut self.txns, n)
                    }
                    Screen::Messages(_) => {
                        let n = self.tail.visible().count();
                        (&mut self.tail.cursor, n)
                    }
                };
                cursor.apply(command, len, height);
                Vec::new()
            }
            Command::Enter => self.enter(),
            Command::Back => self.back(),
            Command::StartFilter => {
                self.mode = Mode::Filter;
                Vec::new()
            }
            Command::StartJump => {
                self.mode = Mode::Jump(String::new());
                Vec::new()
            }
            Command::StartSeek => {
                self.mode = Mode::Seek(String::new());
                Vec::new()
            }
            Command::Sort => {
                self.topic_sort = self.topic_sort.next();
                self.topics = Cursor::default();
                Vec::new()
            }
            Command::ToggleInternal => {
                self.show_internal = !self.show_internal;
                self.topics = Cursor::default();
                Vec::new()
            }
            Command::Tail => {
                let topic = match &self.screen {
                    Screen::Topics => self
                        .topic_rows()
                        .get(self.topics.selected)
                        .map(|t| t.name.clone()),
                    Screen::TopicDetail(t) => Some(t.clone()),
                    _ => None,
                };
                match topic {
                    Some(t) => self.open_tail(t, None),
                    None => Vec::new(),
                }
            }
            Command::Pause => {
                if self.screen.kind() == ScreenKind::Messages {
                    self.tail.paused = !self.tail.paused;
                    if !self.tail.paused {
                        let held = std::mem::take(&mut self.tail.held);
                        self.tail.add(held);
                    }
                    vec![Request::PauseTail(self.tail.paused)]
                } else {
                    self.paused = !self.paused;
                    Vec::new()
                }
            }
            Command::SeekBeginning => self.restart_tail(Seek::Beginning),
            Command::SeekEnd => self.restart_tail(Seek::End),
            Command::NextPartition | Command::PrevPartition => {
                let parts = &self.tail.partitions;
                if parts.is_empty() {
                    return Vec::new();
                }
                // The cycle is: all, p0, p1, …, pN, all.
                let pos = self
                    .tail
                    .partition
                    .and_then(|p| parts.iter().position(|&q| q == p));
                let n = parts.len();
                let next = match (command, pos) {
                    (Command::NextPartition, None) => Some(0),
                    (Command::NextPartition, Some(i)) if i + 1 < n => Some(i + 1),
                    (Command::NextPartition, Some(_)) => None,
                    (_, None) => Some(n - 1),
                    (_, Some(0)) => None,
                    (_, Some(i)) => Some(i - 1),
                };
                self.tail.partition = next.and_then(|i| parts.get(i).copied());
                let from = self.tail.from.unwrap_or(Seek::FromEnd(TAIL_START));
                self.restart_tail(from)
            }
            Command::Copy => {
                let Some(record) = self.tail.visible().nth(self.tail.cursor.selected) else {
                    self.status = Some("no record selected".into());
                    return Vec::new();
                };
                let json = record.to_json().to_string();
                self.status = Some(format!(
                    "copied {}-{}@{} as JSON ({} bytes)",
                    record.topic,
                    record.partition,
                    record.offset,
                    json.len()
                ));
                vec![Request::Copy(json)]
            }
            Command::BrokerStop | Command::BrokerKill | Command::BrokerStart => {
                if self.options.read_only || !self.options.devcluster {
                    return Vec::new();
                }
                let Some(broker) = self.data.brokers.get(self.brokers.selected) else {
                    return Vec::new();
                };
                let op = match command {
                    Command::BrokerStop => BrokerOp::Stop,
                    Command::BrokerKill => BrokerOp::Kill,
                    _ => BrokerOp::Start,
                };
                self.status = Some(format!("broker {}: {}…", broker.id, op.path()));
                vec![Request::Broker { id: broker.id, op }]
            }
            Command::Goto(kind) => {
                let screen = match kind {
                    ScreenKind::Brokers => Screen::Brokers,
                    ScreenKind::Topics => Screen::Topics,
                    ScreenKind::Groups => Screen::Groups,
                    ScreenKind::Transactions => Screen::Transactions,
                    _ => Screen::Overview,
                };
                self.go(screen, true)
            }
            Command::Refresh => {
                self.status = Some("refreshing…".into());
                vec![Request::Refresh]
            }
            Command::Help => {
                self.mode = Mode::Help;
                Vec::new()
            }
            Command::Quit => {
                self.quit = true;
                vec![Request::StopTail]
            }
        }
    }

    /// Switches screens; `reset` clears the back stack (top-level jumps).
    fn go(&mut self, screen: Screen, reset: bool) -> Vec<Request> {
        let mut requests = Vec::new();
        if self.screen.kind() == ScreenKind::Messages && screen.kind() != ScreenKind::Messages {
            requests.push(Request::StopTail);
        }
        if reset {
            self.stack.clear();
            if screen != Screen::Overview {
                self.stack.push(Screen::Overview);
            }
        } else {
            self.stack.push(self.screen.clone());
        }
        self.screen = screen;
        requests.push(Request::Refresh);
        requests
    }

    fn enter(&mut self) -> Vec<Request> {
        match self.screen.clone() {
            Screen::Topics => {
                let Some(name) = self
                    .topic_rows()
                    .get(self.topics.selected)
                    .map(|t| t.name.clone())
                else {
                    return Vec::new();
                };
                self.partitions = Cursor::default();
                self.go(Screen::TopicDetail(name), false)
            }
            Screen::Groups => {
                let Some(id) = self
                    .group_rows()
                    .get(self.groups.selected)
                    .map(|g| g.group_id.clone())
                else {
                    return Vec::new();
                };
                self.group_rows = Cursor::default();
                self.go(Screen::GroupDetail(id), false)
            }
            Screen::TopicDetail(t) => {
                let partition = self
                    .topic(&t)
                    .and_then(|t| t.partitions.get(self.partitions.selected))
                    .map(|p| p.partition);
                self.open_tail(t, partition)
            }
            Screen::GroupDetail(g) => {
                // A lag row opens its topic.
                let Some(topic) = self
                    .group(&g)
                    .and_then(|g| g.lag.as_ref()?.get(self.group_rows.selected))
                    .map(|l| l.topic.clone())
                else {
                    return Vec::new();
                };
                self.partitions = Cursor::default();
                self.go(Screen::TopicDetail(topic), false)
            }
            Screen::Messages(_) => {
                self.tail.detail = !self.tail.detail;
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn back(&mut self) -> Vec<Request> {
        let filter = match self.screen.kind() {
            ScreenKind::Topics => Some(&mut self.topic_filter),
            ScreenKind::Groups => Some(&mut self.group_filter),
            ScreenKind::Messages => Some(&mut self.tail.filter),
            _ => None,
        };
        if let Some(f) = filter {
            if !f.is_empty() {
                f.clear();
                return Vec::new();
            }
        }
        if self.screen.kind() == ScreenKind::Messages && self.tail.detail {
            self.tail.detail = false;
            return Vec::new();
        }
        let Some(previous) = self.stack.pop() else {
            return Vec::new();
        };
        let mut requests = Vec::new();
        if self.screen.kind() == ScreenKind::Messages {
            requests.push(Request::StopTail);
        }
        self.screen = previous;
        requests.push(Request::Refresh);
        requests
    }

    fn open_tail(&mut self, topic: String, partition: Option<i32>) -> Vec<Request> {
        let partitions = self
            .topic(&topic)
            .map(|t| t.partitions.iter().map(|p| p.partition).collect())
            .unwrap_or_default();
        self.tail = TailState {
            topic: topic.clone(),
            partitions,
            partition,
            ..TailState::default()
        };
        let mut requests = if self.screen.kind() == ScreenKind::Messages {
            self.screen = Screen::Messages(topic);
            Vec::new()
        } else {
            self.go(Screen::Messages(topic), false)
        };
        requests.retain(|r| *r != Request::StopTail);
        requests.extend(self.restart_tail(Seek::FromEnd(TAIL_START)));
        requests
    }

    fn restart_tail(&mut self, from: Seek) -> Vec<Request> {
        if self.screen.kind() != ScreenKind::Messages {
            return Vec::new();
        }
        self.tail.records.clear();
        self.tail.held.clear();
        self.tail.cursor = Cursor::default();
        self.tail.paused = false;
        self.tail.from = Some(from);
        vec![Request::Tail(TailRequest {
            topic: self.tail.topic.clone(),
            partition: self.tail.partition,
            from,
        })]
    }

    /// `:topics`, `:groups`, `:brokers`, `:overview` (any prefix), `:topic NAME`,
    /// `:group ID`, `:tail NAME`, `:q`.
    fn jump(&mut self, line: &str) -> Vec<Request> {
        let mut words = line.split_whitespace();
        let Some(word) = words.next() else {
            return Vec::new();
        };
        let arg = words.next().map(str::to_string);
        let is = |full: &str| full.starts_with(word);
        match (word, arg) {
            ("q" | "quit", _) => self.command(Command::Quit),
            (_, Some(name)) if is("topic") || is("topics") => {
                self.partitions = Cursor::default();
                self.go(Screen::TopicDetail(name), false)
            }
            (_, Some(id)) if is("group") || is("groups") => {
                self.group_rows = Cursor::default();
                self.go(Screen::GroupDetail(id), false)
            }
            (_, Some(name)) if is("tail") || is("messages") => self.open_tail(name, None),
            (_, None) if is("topics") => self.command(Command::Goto(ScreenKind::Topics)),
            (_, None) if is("groups") => self.command(Command::Goto(ScreenKind::Groups)),
            (_, None) if is("transactions") || is("txns") => {
                self.command(Command::Goto(ScreenKind::Transactions))
            }
            (_, None) if is("brokers") => self.command(Command::Goto(ScreenKind::Brokers)),
            (_, None) if is("overview") => self.command(Command::Goto(ScreenKind::Overview)),
            _ => {
                self.status = Some(format!(
                    "unknown jump :{line} (try :topics, :groups, :transactions, :brokers, :overview, :topic NAME, :group ID, :tail NAME)"
                ));
                Vec::new()
            }
        }
    }
}

fn edit_line(line: &mut String, key: KeyCode) {
    match key {
        KeyCode::Char(c) => line.push(c),
        KeyCode::Backspace => {
            line.pop();
        }
        _ => {}
    }
}
