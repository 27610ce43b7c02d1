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

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::keymap;
use super::model::{GroupView, MessageView, Snapshot, TopicView};

/// How many points a sparkline keeps (one per refresh).
pub const HISTORY: usize = 60;
/// How many records the tail keeps; older ones fall off the end.
pub const TAIL_CAPACITY: usize = 2_000;
/// Records per partition the tail shows when it opens (the newest ones).
pub const TAIL_START: i64 = 50;
/// Rows above a list body: header line, tab line, the list's border and its column header.
const CHROME_ROWS: u16 = 2 + 1 + 2 + 1;

/// A kind of screen (a [`Screen`] without its subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScreenKind {
    /// Cluster summary.
    Overview,
    /// Brokers and the devcluster controls.
    Brokers,
    /// Every topic.
    Topics,
    /// One topic's partitions and groups.
    TopicDetail,
    /// Every group.
    Groups,
    /// One group's members and lag.
    GroupDetail,
    /// Live tail of a topic.
    Messages,
}

impl ScreenKind {
    /// The screen's name in the header and in `:` jumps.
    pub fn name(self) -> &'static str {
        match self {
            ScreenKind::Overview => "overview",
            ScreenKind::Brokers => "brokers",
            ScreenKind::Topics => "topics",
            ScreenKind::TopicDetail => "topic",
            ScreenKind::Groups => "groups",
            ScreenKind::GroupDetail => "group",
            ScreenKind::Messages => "messages",
        }
    }
}

/// A screen with its subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    /// Cluster summary.
    Overview,
    /// Brokers.
    Brokers,
    /// Topics.
    Topics,
    /// One topic.
    TopicDetail(String),
    /// Groups.
    Groups,
    /// One group.
    GroupDetail(String),
    /// The tail of a topic.
    Messages(String),
}

impl Screen {
    /// Its kind.
    pub fn kind(&self) -> ScreenKind {
        match self {
            Screen::Overview => ScreenKind::Overview,
            Screen::Brokers => ScreenKind::Brokers,
            Screen::Topics => ScreenKind::Topics,
            Screen::TopicDetail(_) => ScreenKind::TopicDetail,
            Screen::Groups => ScreenKind::Groups,
            Screen::GroupDetail(_) => ScreenKind::GroupDetail,
            Screen::Messages(_) => ScreenKind::Messages,
        }
    }
}

/// What a key binding asks for (see [`keymap::BINDINGS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Selection up.
    Up,
    /// Selection down.
    Down,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// A page up.
    PageUp,
    /// A page down.
    PageDown,
    /// Drill into the selected row.
    Enter,
    /// Back out (or clear the filter first).
    Back,
    /// Edit the filter of the current list.
    StartFilter,
    /// Type a `:` jump.
    StartJump,
    /// Type a seek target for the tail.
    StartSeek,
    /// Next topic sort order.
    Sort,
    /// Show or hide internal topics.
    ToggleInternal,
    /// Tail the selected topic.
    Tail,
    /// Pause or resume (the tail on the messages screen, the refresh elsewhere).
    Pause,
    /// Tail from the log start.
    SeekBeginning,
    /// Tail from the end (new records only).
    SeekEnd,
    /// Tail the next partition (all → 0 → 1 → … → all).
    NextPartition,
    /// Tail the previous partition.
    PrevPartition,
    /// Copy the selected record as JSON.
    Copy,
    /// Stop the selected broker cleanly (devcluster).
    BrokerStop,
    /// Kill the selected broker (devcluster).
    BrokerKill,
    /// Start the selected broker (devcluster).
    BrokerStart,
    /// Go to a top-level screen.
    Goto(ScreenKind),
    /// Poll the cluster now.
    Refresh,
    /// Show the keys.
    Help,
    /// Leave.
    Quit,
}

/// Everything that can happen to the app.
#[derive(Debug, Clone)]
pub enum Action {
    /// A key press.
    Key(KeyEvent),
    /// The terminal's new size (columns, rows).
    Resize(u16, u16),
    /// A poll of the cluster finished.
    Data(Box<Snapshot>),
    /// The tail read records (oldest first, as fetched).
    Records(Vec<MessageView>),
    /// The tail (re)started on these partitions.
    TailStarted {
        /// The topic.
        topic: String,
        /// Its partitions.
        partitions: Vec<i32>,
    },
    /// A line for the status bar (an operation's outcome, an error).
    Status(String),
}

/// Work for the background tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Poll now.
    Refresh,
    /// A devcluster broker operation.
    Broker {
        /// The node id.
        id: i32,
        /// What to do.
        op: BrokerOp,
    },
    /// (Re)start the tail.
    Tail(TailRequest),
    /// Stop the tail.
    StopTail,
    /// Pause (`true`) or resume the tail's fetching.
    PauseTail(bool),
    /// Put this text on the clipboard.
    Copy(String),
}

/// A devcluster broker operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerOp {
    /// Clean stop (leaderships move first).
    Stop,
    /// As if the process died.
    Kill,
    /// Start again on the same port.
    Start,
}

impl BrokerOp {
    /// The admin plane's path segment.
    pub fn path(self) -> &'static str {
        match self {
            BrokerOp::Stop => "stop",
            BrokerOp::Kill => "kill",
            BrokerOp::Start => "start",
        }
    }
}

/// What the tail reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailRequest {
    /// The topic.
    pub topic: String,
    /// One partition, or all.
    pub partition: Option<i32>,
    /// Where to start.
    pub from: Seek,
}

/// Where the tail starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seek {
    /// The log start.
    Beginning,
    /// The end: only new records.
    End,
    /// This offset (clamped by the broker's offset reset to the log).
    Offset(i64),
    /// N records before the end of each partition.
    FromEnd(i64),
    /// The first record at or after this time (ms since the epoch).
    Timestamp(i64),
    /// The first record at or after this long ago.
    Ago(Duration),
}

impl Seek {
    /// Parses what the user typed after `o`: `beginning`, `end`, `N` (an offset), `-N` (N
    /// before the end), `-30s`/`-5m`/`-2h`/`-1d` (that long ago), `@MS` (a timestamp) or a UTC
    /// time `2025-11-22T08:30[:15]` (a space works as the separator too).
    pub fn parse(s: &str) -> Result<Seek, String> {
        let s = s.trim();
        let bad = || {
            format!(
                "seek {s:?}: expected beginning, end, N, -N, -5m (30s, 2h, 1d), @epoch-ms or YYYY-MM-DDTHH:MM[:SS]"
            )
        };
        if let Some(ms) = parse_utc(s) {
            return Ok(Seek::Timestamp(ms));
        }
        match s {
            "b" | "beginning" => return Ok(Seek::Beginning),
            "e" | "end" => return Ok(Seek::End),
            _ => {}
        }
        if let Some(ms) = s.strip_prefix('@') {
            return ms.parse().map(Seek::Timestamp).map_err(|_| bad());
        }
        if let Some(rest) = s.strip_prefix('-') {
            if let Ok(n) = rest.parse::<i64>() {
                return Ok(Seek::FromEnd(n));
            }
            let (digits, unit) = rest.split_at(rest.len().saturating_sub(1));
            let n: u64 = digits.parse().map_err(|_| bad())?;
            let secs = match unit {
                "s" => n,
                "m" => n.saturating_mul(60),
                "h" => n.saturating_mul(3600),
                "d" => n.saturating_mul(86_400),
                _ => return Err(bad()),
            };
            return Ok(Seek::Ago(Duration::from_secs(secs)));
        }
        s.parse().map(Seek::Offset).map_err(|_| bad())
    }

    /// How the header shows it.
    pub fn label(self) -> String {
        match self {
            Seek::Beginning => "from beginning".into(),
            Seek::End => "from end".into(),
            Seek::Offset(o) => format!("from offset {o}"),
            Seek::FromEnd(n) => format!("last {n} per partition"),
            Seek::Timestamp(ms) => format!("from @{ms}"),
            Seek::Ago(d) => format!("from {}s ago", d.as_secs()),
        }
    }
}

/// `YYYY-MM-DD[T| ]HH:MM[:SS]` in UTC as ms since the epoch.
fn parse_utc(s: &str) -> Option<i64> {
    let (date, time) = s.split_once(['T', ' '])?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute) = (t.next()??, t.next()??);
    let second = t.next().unwrap_or(Some(0))?;
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..=60).contains(&second)
    {
        return None;
    }
    // Howard Hinnant's days-from-civil algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + hour * 3600 + minute * 60 + second) * 1000)
}

/// Input modes: normal keys, or a line being typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keys run bindings.
    Normal,
    /// Typing the current list's filter (applied as typed).
    Filter,
    /// Typing a `:` jump.
    Jump(String),
    /// Typing a seek target.
    Seek(String),
    /// The help overlay.
    Help,
}

/// Topic sort orders, in the order `s` cycles through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicSort {
    /// By name.
    Name,
    /// Most partitions first.
    Partitions,
    /// Most records first.
    Messages,
    /// Highest produce rate first.
    Rate,
    /// Highest group lag first.
    Lag,
    /// Most under-replicated partitions first.
    UnderReplicated,
}

impl TopicSort {
    fn next(self) -> Self {
        match self {
            TopicSort::Name => TopicSort::Partitions,
            TopicSort::Partitions => TopicSort::Messages,
            TopicSort::Messages => TopicSort::Rate,
            TopicSort::Rate => TopicSort::Lag,
            TopicSort::Lag => TopicSort::UnderReplicated,
            TopicSort::UnderReplicated => TopicSort::Name,
        }
    }

    /// How the title shows it.
    pub fn label(self) -> &'static str {
        match self {
            TopicSort::Name => "name",
            TopicSort::Partitions => "partitions",
            TopicSort::Messages => "messages",
            TopicSort::Rate => "rate",
            TopicSort::Lag => "lag",
            TopicSort::UnderReplicated => "under-replicated",
        }
    }
}

/// A list's selected row and first visible row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The selected row.
    pub selected: usize,
    /// The first row shown.
    pub offset: usize,
}

impl Cursor {
    fn apply(&mut self, command: Command, len: usize, height: usize) {
        let height = height.max(1);
        let last = len.saturating_sub(1);
        self.selected = match command {
            Command::Up => self.selected.saturating_sub(1),
            Command::Down => (self.selected + 1).min(last),
            Command::Top => 0,
            Command::Bottom => last,
            Command::PageUp => self.selected.saturating_sub(height),
            Command::PageDown => (self.selected + height).min(last),
            _ => self.selected,
        };
        self.fit(len, height);
    }

    /// Keeps the selection inside the list and the offset such that it is visible.
    pub fn fit(&mut self, len: usize, height: usize) {
        let height = height.max(1);
        self.selected = self.selected.min(len.saturating_sub(1));
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + height {
            self.offset = self.selected + 1 - height;
        }
        self.offset = self.offset.min(len.saturating_sub(height));
    }
}

/// A produce-rate or lag history for a sparkline.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The last sample (when, value) that a rate is a delta from.
    last: Option<(Instant, i64)>,
    /// Points, oldest first.
    pub points: VecDeque<u64>,
}

impl History {
    fn push(&mut self, v: u64) {
        if self.points.len() == HISTORY {
            self.points.pop_front();
        }
        self.points.push_back(v);
    }

    /// The newest point.
    pub fn latest(&self) -> Option<u64> {
        self.points.back().copied()
    }

    /// Adds the rate per second since the last sample, if there was one earlier.
    fn sample_rate(&mut self, at: Instant, value: i64) {
        match self.last {
            Some((t0, v0)) if at > t0 => {
                let secs = at.duration_since(t0).as_secs_f64();
                let rate = ((value - v0).max(0) as f64 / secs).round() as u64;
                self.push(rate);
                self.last = Some((at, value));
            }
            Some(_) => {}
            None => self.last = Some((at, value)),
        }
    }
}

/// The tail's state on the messages screen.
#[derive(Debug, Clone, Default)]
pub struct TailState {
    /// The topic.
    pub topic: String,
    /// Its partitions (from the tail task, for partition choice).
    pub partitions: Vec<i32>,
    /// The partition shown, or all.
    pub partition: Option<i32>,
    /// Where reading started.
    pub from: Option<Seek>,
    /// Records, newest first.
    pub records: VecDeque<MessageView>,
    /// Records that came while paused, oldest first; shown on resume.
    pub held: Vec<MessageView>,
    /// Whether the view is frozen.
    pub paused: bool,
    /// Key/value filter.
    pub filter: String,
    /// Selection.
    pub cursor: Cursor,
    /// Whether the detail pane is open.
    pub detail: bool,
}

impl TailState {
    /// The records that pass the filter, newest first.
    pub fn visible(&self) -> impl Iterator<Item = &MessageView> {
        self.records.iter().filter(|m| m.matches(&self.filter))
    }

    fn add(&mut self, mut records: Vec<MessageView>) {
        // A fetch answers partition by partition; order the batch by time so the newest
        // record of any partition ends up on top.
        records.sort_by_key(|r| (r.timestamp, r.partition, r.offset));
        for r in records {
            self.records.push_front(r);
        }
        self.records.truncate(TAIL_CAPACITY);
    }
}

/// Options from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Hide and refuse mutations.
    pub read_only: bool,
    /// A devcluster admin plane is configured.
    pub devcluster: bool,
    /// Where the cluster is, for the header.
    pub brokers: String,
}

/// What the data layer should fetch in detail (the rest is fetched in a slow rotation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watch {
    /// Topics whose watermarks are fetched every tick: the visible ones.
    pub topics: Vec<String>,
    /// The group to describe (group-detail screen).
    pub group: Option<String>,
    /// Refresh paused.
    pub paused: bool,
}

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
            (_, None) if is("brokers") => self.command(Command::Goto(ScreenKind::Brokers)),
            (_, None) if is("overview") => self.command(Command::Goto(ScreenKind::Overview)),
            _ => {
                self.status = Some(format!(
                    "unknown jump :{line} (try :topics, :groups, :brokers, :overview, :topic NAME, :group ID, :tail NAME)"
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
