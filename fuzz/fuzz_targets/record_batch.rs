//! Any bytes as a fetch response's records: batch splitting, CRC checks, decompression
//! (capped) and record iteration must never panic.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use streamctl_protocol::record_batch::RecordBatches;

fuzz_target!(|data: &[u8]| {
    for batch in RecordBatches::new(Bytes::copy_from_slice(data)) {
        let Ok(batch) = batch else { break };
        let _ = batch.verify_crc();
        if let Ok(records) = batch.records(1 << 20) {
            for r in records {
                if r.is_err() {
                    break;
                }
            }
        }
    }
});
