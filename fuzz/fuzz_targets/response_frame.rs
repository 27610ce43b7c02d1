//! Any bytes as the response to any supported (API, version): the client-side decoders must
//! never panic. The first three bytes choose the API and version.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use streamctl_protocol::frame;
use streamctl_protocol::messages::SUPPORTED;

fuzz_target!(|data: &[u8]| {
    let [a, v, ..] = data else { return };
    let Some(&(api, min, max)) = SUPPORTED.get(usize::from(*a) % SUPPORTED.len()) else {
        return;
    };
    let span = (max - min + 1) as u8;
    let version = min + i16::from(*v % span);
    let _ = frame::decode_response(Bytes::copy_from_slice(&data[2..]), api, version);
});
