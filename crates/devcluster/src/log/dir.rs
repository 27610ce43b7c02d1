//! The partition directory: segment file names, finding the segments at open, and the
//! `log-start-offset` checkpoint.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use super::segment::Segment;
use super::store::remove_file;
use super::{LogConfig, LogError};

/// The file that keeps the log start offset when DeleteRecords has raised it above the first
/// segment's base offset.
pub(super) const LOG_START_OFFSET_FILE: &str = "log-start-offset";
/// Written first, then renamed over [`LOG_START_OFFSET_FILE`], so that a crash leaves the old
/// value or the new one, never half a number.
const LOG_START_OFFSET_TMP: &str = "log-start-offset.tmp";

/// `<20-digit base offset>.<suffix>`, Kafka's segment file name, so that `ls` sorts segments
/// in offset order.
pub(super) fn file_name(base_offset: i64, suffix: &str) -> String {
    format!("{base_offset:020}.{suffix}")
}

/// The base offset in a segment file stem, if it is one.
pub(super) fn parse_base_offset(stem: &str) -> Option<i64> {
    if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
        stem.parse().ok()
    } else {
        None
    }
}

/// Opens (or creates) the segments in `dir` and recovers them: `(sealed, active, log_start_offset)`.
pub(super) fn open(
    dir: &Path,
    config: &LogConfig,
) -> Result<(VecDeque<Segment>, Segment, i64), LogError> {
    let io_err = |action: &'static str| {
        move |source| LogError::Io {
            action,
            path: dir.to_path_buf(),
            source,
        }
    };
    fs::create_dir_all(dir).map_err(io_err("create"))?;
    recover_cleaning(dir)?;
    let mut bases = Vec::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list"))? {
        let entry = entry.map_err(io_err("list"))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name == LOG_START_OFFSET_TMP {
            // A checkpoint write that did not finish: the old value stands.
            remove_file(&entry.path())?;
            continue;
        }
        let Some((stem, suffix)) = name.rsplit_once('.') else {
            continue;
        };
        // Other files (the broker's own checkpoints) are not the log's business.
        match (parse_base_offset(stem), suffix) {
            (Some(base), "log") => bases.push(base),
            (Some(base), "index" | "timeindex" | "txnindex") => indexes.push((base, entry.path())),
            _ => {}
        }
    }
    bases.sort_unstable();
    for (base, path) in indexes {
        if bases.binary_search(&base).is_err() {
            // Left by a segment deletion that stopped after removing the `.log`.
            tracing::warn!(path = %path.display(), "removing an index without its segment");
            remove_file(&path)?;
        }
    }
    let checkpoint = read_log_start_offset(dir)?;

    let mut sealed = VecDeque::new();
    let active = match bases.split_last() {
        None => Segment::create(Some(dir), checkpoint.unwrap_or(0))?,
        Some((&last, older)) => {
            for &base in older {
                sealed.push_back(Segment::open(
                    dir,
                    base,
                    false,
                    config.index_interval_bytes,
                )?);
            }
            Segment::open(dir, last, true, config.index_interval_bytes)?
        }
    };

    let mut previous: Option<&Segment> = None;
    for segment in sealed.iter().chain(std::iter::once(&active)) {
        if let Some(previous) = previous {
            if previous.next_offset() > segment.base_offset() {
                return Err(LogError::Corrupt {
                    path: segment.log_path().to_path_buf(),
                    position: 0,
                    reason: format!(
                        "segment overlaps the one before it, which ends at offset {}",
                        previous.next_offset()
                    ),
                });
            }
            if previous.next_offset() < segment.base_offset() {
                // Log compaction removes the last batches of a segment as well as others.
                tracing::debug!(
                    path = %segment.log_path().display(),
                    missing_from = previous.next_offset(),
                    "offsets missing before segment"
                );
            }
        }
        previous = Some(segment);
    }

    let first_base = sealed.front().unwrap_or(&active).base_offset();
    let log_end_offset = active.next_offset();
    let mut log_start_offset = checkpoint.unwrap_or(first_base).max(first_base);
    if log_start_offset > log_end_offset {
        // Batches above the recorded start were lost in a crash; serve what is left.
        tracing::warn!(
            dir = %dir.display(),
            log_start_offset,
            log_end_offset,
            "log start offset is past the log end, lowering it"
        );
        log_start_offset = log_end_offset;
    }
    Ok((sealed, active, log_start_offset))
}

/// Finishes or undoes a cleaning that a crash interrupted (`cleaner.rs`): a segment whose
/// `.log.swap` exists was cleaned and committed, so its swap files replace its files; any
/// other swap file, and the cleaner's staging directory, belong to a cleaning that did not
/// reach its commit point, whose old segment is whole.
fn recover_cleaning(dir: &Path) -> Result<(), LogError> {
    use super::cleaner::{recover_swap, swap_path, CLEANER_DIR, SWAP_SUFFIX};
    use super::store::io_error as io_err;
    let staging = dir.join(CLEANER_DIR);
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_err("remove", &staging))?;
    }
    let mut swaps = Vec::new();
    let mut bases = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if let Some(base) = name.strip_suffix(".log").and_then(parse_base_offset) {
            bases.push(base);
        }
        let Some(rest) = name.strip_suffix(&format!(".{SWAP_SUFFIX}")) else {
            continue;
        };
        if let Some(base) = rest
            .split_once('.')
            .and_then(|(stem, _)| parse_base_offset(stem))
        {
            swaps.push((base, entry.path()));
        }
    }
    let committed: std::collections::BTreeSet<i64> = swaps
        .iter()
        .map(|(base, _)| *base)
        .filter(|base| swap_path(dir, *base, "log").exists())
        .collect();
    for (base, path) in &swaps {
        if !committed.contains(base) {
            tracing::warn!(path = %path.display(), "removing a cleaned segment that was not swapped in");
            remove_file(path)?;
        }
    }
    for base in committed {
        tracing::warn!(base, "finishing the swap of a cleaned segment");
        recover_swap(dir, base, &bases)?;
        // Rebuilt from the `.log` at open, in case the renames reached the disk out of order.
        for suffix in ["index", "timeindex"] {
            let path = dir.join(file_name(base, suffix));
            if path.exists() {
                remove_file(&path)?;
            }
        }
    }
    Ok(())
}

/// The checkpointed log start offset, if there is a readable one. An unreadable value is only
/// a warning: it can come from nothing but a damaged disk, and failing the partition for it
/// would lose more than the DeleteRecords it recorded.
fn read_log_start_offset(dir: &Path) -> Result<Option<i64>, LogError> {
    let path = dir.join(LOG_START_OFFSET_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let parsed = text.trim().parse::<i64>().ok().filter(|v| *v >= 0);
            if parsed.is_none() {
                tracing::warn!(path = %path.display(), "ignoring an unreadable log start offset");
            }
            Ok(parsed)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LogError::Io {
            action: "read",
            path,
            source,
        }),
    }
}

/// Records the log start offset, replacing the file atomically.
pub(super) fn write_log_start_offset(dir: &Path, offset: i64) -> Result<(), LogError> {
    let tmp = dir.join(LOG_START_OFFSET_TMP);
    let path = dir.join(LOG_START_OFFSET_FILE);
    let write = || -> io::Result<()> {
        let mut file = File::create(&tmp)?;
        writeln!(file, "{offset}")?;
        // DeleteRecords is acknowledged as done: it must survive a crash, not only a
        // restart, and it is rare enough to pay for two fsyncs.
        file.sync_all()?;
        fs::rename(&tmp, &path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|source| LogError::Io {
        action: "write",
        path,
        source,
    })
}

/// Fsyncs the directory, so that created, renamed and removed files are durable.
pub(super) fn sync(dir: &Path) -> Result<(), LogError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| LogError::Io {
            action: "sync",
            path: dir.to_path_buf(),
            source,
        })
}
