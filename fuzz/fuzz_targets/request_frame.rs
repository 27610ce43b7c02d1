//! Any bytes as a request frame body: header and body decoding must never panic, and what
//! decodes must re-encode.
#![no_main]

use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use streamctl_protocol::frame;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, Ok(body))) = frame::decode_request(Bytes::copy_from_slice(data)) {
        let mut out = BytesMut::new();
        let _ = body.encode_to(&mut out, header.api_version);
    }
});
