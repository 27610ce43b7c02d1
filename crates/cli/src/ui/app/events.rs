//! What flows through the app: screens, the commands keys run, the actions the event loop
//! feeds to `update`, and the requests `update` hands back for the background tasks.

use ratatui::crossterm::event::KeyEvent;

use super::Seek;
use crate::ui::model::{MessageView, Snapshot};

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
    /// Every transactional id.
    Transactions,
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
            ScreenKind::Transactions => "transactions",
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
    /// Transactions.
    Transactions,
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
            Screen::Transactions => ScreenKind::Transactions,
            Screen::Messages(_) => ScreenKind::Messages,
        }
    }
}

/// What a key binding asks for (see [`crate::ui::keymap::BINDINGS`]).
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
