//! `partition.metadata`: the file in a partition directory that names the topic id its data
//! belongs to (Kafka's `PartitionMetadataFile`, KIP-516), so a topic deleted and re-created
//! under the same name never serves the old topic's records.
//!
//! It is written with Kafka's layout (`version: 0` then `topic_id: <uuid>`), atomically:
//! a temporary file, fsync, rename, fsync of the directory. Reading tells a well-formed marker
//! apart from a missing or unreadable one, because only a well-formed marker naming another
//! topic may lead to files being removed (`BrokerShared::storage_for`).

use std::fs::File;
use std::io::Write;
use std::path::Path;

const FILE: &str = "partition.metadata";

/// What a partition directory's marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Marker {
    /// No marker (a new directory, or none was ever written).
    Missing,
    /// A well-formed marker naming this topic id.
    Topic(uuid::Uuid),
    /// A marker that cannot be read or parsed (empty, torn, garbage), with why.
    Unreadable(String),
}

/// Reads the marker in `dir`.
pub(crate) fn read(dir: &Path) -> Marker {
    let text = match std::fs::read_to_string(dir.join(FILE)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Marker::Missing,
        Err(e) => return Marker::Unreadable(e.to_string()),
    };
    parse(&text)
}

fn parse(text: &str) -> Marker {
    let id = text
        .lines()
        .find_map(|line| line.strip_prefix("topic_id:"))
        .map(str::trim);
    match id.map(uuid::Uuid::parse_str) {
        Some(Ok(id)) => Marker::Topic(id),
        Some(Err(e)) => Marker::Unreadable(format!("bad topic id: {e}")),
        None => Marker::Unreadable(format!("no topic_id line in {} bytes", text.len())),
    }
}

/// Creates `dir` if needed and writes its marker for `topic_id`, atomically.
pub(crate) fn write(dir: &Path, topic_id: uuid::Uuid) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{FILE}.tmp"));
    let mut file = File::create(&tmp)?;
    write!(file, "version: 0\ntopic_id: {topic_id}\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(FILE))?;
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_marker_names_a_topic() {
        let id = uuid::Uuid::new_v4();
        assert_eq!(
            parse(&format!("version: 0\ntopic_id: {id}\n")),
            Marker::Topic(id)
        );
        // The layout older versions of this broker wrote.
        assert_eq!(parse(&format!("topic_id: {id}\n")), Marker::Topic(id));
        for torn in ["", "topic_id: ", "version: 0\n", "topic_id: 1234"] {
            assert!(
                matches!(parse(torn), Marker::Unreadable(_)),
                "{torn:?} was taken for a topic id"
            );
        }
    }
}
