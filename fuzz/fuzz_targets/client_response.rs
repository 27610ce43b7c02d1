//! Any bytes as a Fetch, Metadata or Produce answer, handled the way the client handles it:
//! the consumer's fetch decoding (batches, CRC, decompression, records past the fetch offset),
//! the metadata cache, the producer's per-partition outcome. Nothing may panic, and the
//! consumer's position never goes backwards.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = streamctl_client::fuzzing::response(data) {
        panic!("{broken}");
    }
});
