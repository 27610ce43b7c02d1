//! Where a segment's bytes live: a file or a `Vec`, behind one small interface, so that the
//! rest of the segment code is the same for both storages.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::LogError;

/// How much a recovery scan reads per system call; batches are checked in memory.
const SCAN_CHUNK: usize = 1 << 20;

/// Maps an I/O error on `path` to [`LogError::Io`].
pub(super) fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> LogError + 'a {
    move |source| LogError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Where a segment's bytes live.
#[derive(Debug)]
pub(super) enum Store {
    /// The `.log` contents; memory segments keep their indexes only in `Segment`.
    Memory(Vec<u8>),
    /// The `.log` and its index files.
    Disk(Files),
}

/// The open files of a disk segment.
#[derive(Debug)]
pub(super) struct Files {
    pub(super) log: File,
    pub(super) index: File,
    pub(super) time_index: File,
    pub(super) index_path: PathBuf,
    pub(super) time_index_path: PathBuf,
}

impl Store {
    pub(super) fn read_exact_at(
        &self,
        pos: u64,
        buf: &mut [u8],
        path: &Path,
    ) -> Result<(), LogError> {
        match self {
            Store::Memory(data) => {
                let src = usize::try_from(pos)
                    .ok()
                    .and_then(|p| data.get(p..p.checked_add(buf.len())?))
                    .ok_or_else(|| LogError::Corrupt {
                        path: path.to_path_buf(),
                        position: pos,
                        reason: format!("read of {} bytes past the end", buf.len()),
                    })?;
                buf.copy_from_slice(src);
                Ok(())
            }
            Store::Disk(files) => files
                .log
                .read_exact_at(buf, pos)
                .map_err(io_error("read", path)),
        }
    }

    pub(super) fn write_at(&mut self, pos: u64, data: &[u8], path: &Path) -> Result<(), LogError> {
        match self {
            Store::Memory(log) => {
                log.truncate(usize::try_from(pos).unwrap_or(usize::MAX));
                log.extend_from_slice(data);
                Ok(())
            }
            // Positioned writes: the file has no cursor that a truncation could leave behind.
            Store::Disk(files) => files
                .log
                .write_all_at(data, pos)
                .map_err(io_error("write", path)),
        }
    }

    pub(super) fn set_len(&mut self, len: u64, path: &Path) -> Result<(), LogError> {
        match self {
            Store::Memory(log) => {
                log.truncate(usize::try_from(len).unwrap_or(usize::MAX));
                Ok(())
            }
            Store::Disk(files) => files.log.set_len(len).map_err(io_error("truncate", path)),
        }
    }
}

impl Store {
    pub(super) fn source(&self, path: &Path) -> Result<Source, LogError> {
        match self {
            Store::Memory(data) => Ok(Source::Memory(bytes::Bytes::copy_from_slice(data))),
            Store::Disk(files) => Ok(Source::Disk(
                files.log.try_clone().map_err(io_error("open", path))?,
            )),
        }
    }
}

/// A segment's bytes, read apart from the log (the cleaner reads them without the partition
/// lock).
#[derive(Debug)]
pub(super) enum Source {
    Memory(bytes::Bytes),
    Disk(File),
}

impl Source {
    /// The first `size` bytes.
    pub(super) fn read(&self, size: u64, path: &Path) -> Result<bytes::Bytes, LogError> {
        match self {
            Source::Memory(data) => {
                Ok(data.slice(..usize::try_from(size).unwrap_or(0).min(data.len())))
            }
            Source::Disk(file) => {
                let mut buf = vec![0; usize::try_from(size).unwrap_or(0)];
                file.read_exact_at(&mut buf, 0)
                    .map_err(io_error("read", path))?;
                Ok(bytes::Bytes::from(buf))
            }
        }
    }
}

/// A read-ahead buffer for recovery scans, so that checking a segment of small batches costs
/// one system call per [`SCAN_CHUNK`], not two per batch.
#[derive(Debug, Default)]
pub(super) struct Window {
    start: u64,
    buf: Vec<u8>,
}

impl Window {
    /// Up to `len` bytes at `pos`, fewer where the segment (of `size` bytes) ends first.
    pub(super) fn read<'a>(
        &'a mut self,
        store: &'a Store,
        path: &Path,
        size: u64,
        pos: u64,
        len: usize,
    ) -> Result<&'a [u8], LogError> {
        let avail = usize::try_from(size.saturating_sub(pos)).unwrap_or(usize::MAX);
        let len = len.min(avail);
        let files = match store {
            Store::Memory(data) => {
                return Ok(usize::try_from(pos)
                    .ok()
                    .and_then(|p| data.get(p..p.checked_add(len)?))
                    .unwrap_or_default());
            }
            Store::Disk(files) => files,
        };
        let end = pos.saturating_add(len as u64);
        let held = self.start.saturating_add(self.buf.len() as u64);
        if pos < self.start || end > held {
            self.buf.clear();
            self.buf.resize(len.max(SCAN_CHUNK).min(avail), 0);
            self.start = pos;
            files
                .log
                .read_exact_at(&mut self.buf, pos)
                .map_err(io_error("read", path))?;
        }
        let from = usize::try_from(pos - self.start).unwrap_or(usize::MAX);
        Ok(self
            .buf
            .get(from..from.saturating_add(len))
            .unwrap_or_default())
    }
}

/// Removes a file; one that is already gone is fine.
pub(super) fn remove_file(path: &Path) -> Result<(), LogError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error("remove", path)(e)),
        _ => Ok(()),
    }
}
