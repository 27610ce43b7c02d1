//! The parts of the app state: input mode, list cursors, sparkline histories, the tail.

use std::collections::VecDeque;
use std::time::Instant;

use super::{Command, Seek, HISTORY, TAIL_CAPACITY};
use crate::ui::model::MessageView;

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
    pub(super) fn next(self) -> Self {
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
    pub(super) fn apply(&mut self, command: Command, len: usize, height: usize) {
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
    pub(super) fn push(&mut self, v: u64) {
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
    pub(super) fn sample_rate(&mut self, at: Instant, value: i64) {
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

    pub(super) fn add(&mut self, mut records: Vec<MessageView>) {
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
