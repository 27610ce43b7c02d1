//! The keymap: one table of bindings that decides what a key does, what the footer lists and
//! what `?` shows, so the three never disagree.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::app::{Command, ScreenKind};

/// Where a binding works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On every screen.
    Global,
    /// On screens with a selectable list (all but the overview).
    Lists,
    /// On these screens only.
    Screens(&'static [ScreenKind]),
}

/// One binding.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys that trigger it.
    pub keys: &'static [KeyCode],
    /// How the keys are written in the footer and help.
    pub label: &'static str,
    /// What it does, in a few words.
    pub help: &'static str,
    /// The command it runs.
    pub command: Command,
    /// Where it works.
    pub scope: Scope,
    /// Whether it changes the cluster (hidden and refused with `--read-only`).
    pub mutates: bool,
    /// Whether it needs a devcluster admin plane.
    pub devcluster: bool,
    /// Whether the footer lists it (the help lists everything).
    pub footer: bool,
}

const fn b(
    keys: &'static [KeyCode],
    label: &'static str,
    help: &'static str,
    command: Command,
    scope: Scope,
) -> Binding {
    Binding {
        keys,
        label,
        help,
        command,
        scope,
        mutates: false,
        devcluster: false,
        footer: true,
    }
}

const fn quiet(binding: Binding) -> Binding {
    Binding {
        footer: false,
        ..binding
    }
}

const fn dev(binding: Binding) -> Binding {
    Binding {
        mutates: true,
        devcluster: true,
        ..binding
    }
}

use KeyCode::{Backspace, Char, Down, End, Enter, Esc, Home, Left, PageDown, PageUp, Right, Up};
use ScreenKind as S;

const TAIL_SOURCES: &[ScreenKind] = &[S::Topics, S::TopicDetail];
const DRILL: &[ScreenKind] = &[
    S::Topics,
    S::Groups,
    S::TopicDetail,
    S::GroupDetail,
    S::Messages,
];
const FILTERABLE: &[ScreenKind] = &[S::Topics, S::Groups, S::Messages];

/// Every binding, in the order the help shows them.
pub const BINDINGS: &[Binding] = &[
    quiet(b(
        &[Char('j'), Down],
        "j/↓",
        "down",
        Command::Down,
        Scope::Lists,
    )),
    quiet(b(&[Char('k'), Up], "k/↑", "up", Command::Up, Scope::Lists)),
    quiet(b(
        &[Char('g'), Home],
        "g",
        "first row",
        Command::Top,
        Scope::Lists,
    )),
    quiet(b(
        &[Char('G'), End],
        "G",
        "last row",
        Command::Bottom,
        Scope::Lists,
    )),
    quiet(b(
        &[PageDown],
        "PgDn",
        "page down",
        Command::PageDown,
        Scope::Lists,
    )),
    quiet(b(
        &[PageUp],
        "PgUp",
        "page up",
        Command::PageUp,
        Scope::Lists,
    )),
    b(&[Enter], "⏎", "open", Command::Enter, Scope::Screens(DRILL)),
    b(
        &[Esc, Backspace],
        "esc",
        "back",
        Command::Back,
        Scope::Global,
    ),
    b(
        &[Char('/')],
        "/",
        "filter",
        Command::StartFilter,
        Scope::Screens(FILTERABLE),
    ),
    b(
        &[Char('s')],
        "s",
        "sort",
        Command::Sort,
        Scope::Screens(&[S::Topics]),
    ),
    b(
        &[Char('i')],
        "i",
        "internal",
        Command::ToggleInternal,
        Scope::Screens(&[S::Topics]),
    ),
    b(
        &[Char('m')],
        "m",
        "tail",
        Command::Tail,
        Scope::Screens(TAIL_SOURCES),
    ),
    b(&[Char('p')], "p", "pause", Command::Pause, Scope::Global),
    b(
        &[Char('b')],
        "b",
        "from beginning",
        Command::SeekBeginning,
        Scope::Screens(&[S::Messages]),
    ),
    b(
        &[Char('e')],
        "e",
        "from end",
        Command::SeekEnd,
        Scope::Screens(&[S::Messages]),
    ),
    b(
        &[Char('o')],
        "o",
        "seek",
        Command::StartSeek,
        Scope::Screens(&[S::Messages]),
    ),
    b(
        &[Char(']'), Right],
        "]/[",
        "partition",
        Command::NextPartition,
        Scope::Screens(&[S::Messages]),
    ),
    quiet(b(
        &[Char('['), Left],
        "[",
        "previous partition",
        Command::PrevPartition,
        Scope::Screens(&[S::Messages]),
    )),
    b(
        &[Char('c')],
        "c",
        "copy JSON",
        Command::Copy,
        Scope::Screens(&[S::Messages]),
    ),
    dev(b(
        &[Char('S')],
        "S",
        "stop broker",
        Command::BrokerStop,
        Scope::Screens(&[S::Brokers]),
    )),
    dev(b(
        &[Char('K')],
        "K",
        "kill broker",
        Command::BrokerKill,
        Scope::Screens(&[S::Brokers]),
    )),
    dev(b(
        &[Char('U')],
        "U",
        "start broker",
        Command::BrokerStart,
        Scope::Screens(&[S::Brokers]),
    )),
    quiet(b(
        &[Char('1')],
        "1",
        "overview",
        Command::Goto(S::Overview),
        Scope::Global,
    )),
    quiet(b(
        &[Char('2')],
        "2",
        "brokers",
        Command::Goto(S::Brokers),
        Scope::Global,
    )),
    quiet(b(
        &[Char('3')],
        "3",
        "topics",
        Command::Goto(S::Topics),
        Scope::Global,
    )),
    quiet(b(
        &[Char('4')],
        "4",
        "groups",
        Command::Goto(S::Groups),
        Scope::Global,
    )),
    quiet(b(
        &[Char('5')],
        "5",
        "transactions",
        Command::Goto(S::Transactions),
        Scope::Global,
    )),
    b(&[Char(':')], ":", "jump", Command::StartJump, Scope::Global),
    b(
        &[Char('r')],
        "r",
        "refresh",
        Command::Refresh,
        Scope::Global,
    ),
    b(&[Char('?')], "?", "help", Command::Help, Scope::Global),
    b(&[Char('q')], "q", "quit", Command::Quit, Scope::Global),
];

impl Binding {
    /// Whether the binding works on `screen` with these options.
    pub fn active(&self, screen: ScreenKind, read_only: bool, devcluster: bool) -> bool {
        if self.mutates && read_only {
            return false;
        }
        if self.devcluster && !devcluster {
            return false;
        }
        match self.scope {
            Scope::Global => true,
            Scope::Lists => screen != ScreenKind::Overview,
            Scope::Screens(screens) => screens.contains(&screen),
        }
    }

    fn matches(&self, key: &KeyEvent) -> bool {
        // Shifted letters arrive as upper-case chars, sometimes with SHIFT set: ignore SHIFT.
        let mods = key.modifiers - KeyModifiers::SHIFT;
        mods.is_empty() && self.keys.contains(&key.code)
    }
}

/// The command a key runs on `screen`, if any.
pub fn lookup(
    key: &KeyEvent,
    screen: ScreenKind,
    read_only: bool,
    devcluster: bool,
) -> Option<Command> {
    if key.code == Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(Command::Quit);
    }
    BINDINGS
        .iter()
        .find(|b| b.active(screen, read_only, devcluster) && b.matches(key))
        .map(|b| b.command)
}

/// The bindings that work on `screen` now.
pub fn active(
    screen: ScreenKind,
    read_only: bool,
    devcluster: bool,
) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |b| b.active(screen, read_only, devcluster))
}
