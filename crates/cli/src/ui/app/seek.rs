//! Where the tail starts reading, as typed after `o`.

use std::time::Duration;

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
            return crate::cli::parse_duration(rest)
                .map(Seek::Ago)
                .map_err(|_| bad());
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
