//! A partition read back with the raw Fetch API, for tests that check what reached the log
//! without trusting the consumer under test:
//!
//! ```text
//!  Cluster ──leader_for──▶ Connection ──FetchRequest (offset)──▶ RecordBatches
//!     ▲                                                             │ CRC-32C checked
//!     └──────────── next fetch at the last batch's next offset ◀────┘ until nothing new
//! ```

use streamctl_client::protocol::messages::fetch::{FetchRequestPartition, FetchRequestTopic};
use streamctl_client::protocol::messages::FetchRequest;
use streamctl_client::protocol::record_batch::{RecordBatch, RecordBatches};
use streamctl_client::Cluster;

/// The largest record set a test decompresses from one batch.
const MAX_DECOMPRESSED: usize = 64 << 20;

/// Every batch of a partition from offset 0 up to the high watermark, in offset order, read
/// from the partition's leader; panics on a fetch error or a batch that fails its CRC-32C.
pub async fn read_batches(cluster: &Cluster, topic: &str, partition: i32) -> Vec<RecordBatch> {
    let mut batches: Vec<RecordBatch> = Vec::new();
    loop {
        let offset = batches.last().map_or(0, RecordBatch::next_offset);
        let fetched = fetch(cluster, topic, partition, offset)
            .await
            .unwrap_or_else(|e| panic!("reading {topic}-{partition} at offset {offset}: {e}"));
        if fetched.is_empty() {
            return batches;
        }
        batches.extend(fetched);
    }
}

/// One Fetch at `offset` from the partition's leader (metadata refreshed first): the
/// batches that end past `offset`, each checked against its CRC-32C.
async fn fetch(
    cluster: &Cluster,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Result<Vec<RecordBatch>, String> {
    cluster
        .refresh([topic])
        .await
        .map_err(|e| format!("metadata: {e}"))?;
    let leader = cluster
        .leader_for(topic, partition)
        .await
        .map_err(|e| format!("no leader: {e}"))?;
    let conn = cluster
        .connection(leader.node_id)
        .await
        .map_err(|e| format!("broker {}: {e}", leader.node_id))?;
    let topic_id = cluster
        .snapshot()
        .topic(topic)
        .ok_or("not in metadata")?
        .topic_id;
    let response = conn
        .call(FetchRequest {
            max_wait_ms: 0,
            min_bytes: 0,
            max_bytes: 16 << 20,
            topics: vec![FetchRequestTopic {
                topic: topic.into(),
                topic_id,
                partitions: vec![FetchRequestPartition {
                    partition,
                    fetch_offset: offset,
                    partition_max_bytes: 8 << 20,
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .map_err(|e| format!("fetch: {e}"))?;
    let p = response
        .responses
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or("a fetch response without the partition")?;
    if p.error_code != 0 {
        return Err(format!("fetch error code {}", p.error_code));
    }
    let mut batches = Vec::new();
    for batch in RecordBatches::new(p.records.clone().unwrap_or_default()) {
        let batch = batch.map_err(|e| format!("undecodable batch: {e}"))?;
        batch
            .verify_crc()
            .map_err(|e| format!("the batch at {}: {e}", batch.base_offset()))?;
        if batch.next_offset() > offset {
            batches.push(batch);
        }
    }
    Ok(batches)
}

/// One record of [`read_partition`]: a null key or value reads as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedRecord {
    /// The record's offset in its partition.
    pub offset: i64,
    /// The key, as UTF-8.
    pub key: String,
    /// The value, as UTF-8.
    pub value: String,
}

/// Every record of a partition, in offset order (see [`read_batches`]); panics on a key or
/// value that is not UTF-8.
pub async fn read_partition(cluster: &Cluster, topic: &str, partition: i32) -> Vec<FetchedRecord> {
    let mut out = Vec::new();
    for batch in read_batches(cluster, topic, partition).await {
        let at = batch.base_offset();
        decode(&batch, &mut out)
            .unwrap_or_else(|e| panic!("reading {topic}-{partition}: the batch at {at}: {e}"));
    }
    out
}

/// Appends the records of `batch` to `out`.
fn decode(batch: &RecordBatch, out: &mut Vec<FetchedRecord>) -> Result<(), String> {
    let text = |b: Option<&[u8]>| String::from_utf8(b.unwrap_or_default().to_vec());
    for r in batch.records(MAX_DECOMPRESSED).map_err(|e| e.to_string())? {
        let r = r.map_err(|e| e.to_string())?;
        let not_utf8 = |e| format!("offset {}: not UTF-8: {e}", r.offset);
        out.push(FetchedRecord {
            offset: r.offset,
            key: text(r.key.as_deref()).map_err(not_utf8)?,
            value: text(r.value.as_deref()).map_err(not_utf8)?,
        });
    }
    Ok(())
}
