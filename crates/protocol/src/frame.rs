//! Frames: the 4-byte size prefix, request headers v0–v2 and response headers v0–v1.
//!
//! ```text
//!  ┌──────────┬──────────────────────────────┬────────────────┐
//!  │ size i32 │ header (version by API+ver)  │ body (message) │
//!  └──────────┴──────────────────────────────┴────────────────┘
//! ```
//!
//! The header version follows from the API and its version: flexible requests use header v2
//! (v1 plus tagged fields), others v1; flexible responses use header v1, others v0 — except
//! ApiVersions responses, which always use v0 so a client that does not yet know the broker's
//! versions can read the answer (KIP-511).

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError};
use crate::messages::{self, RequestBody, ResponseBody};
use crate::primitives::{self, Ctx, Field, RawTaggedField};
use crate::ApiKey;

/// Default upper bound on a frame's size (Kafka's `socket.request.max.bytes` is 100 MiB).
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

/// Request header version for an API at a version (1 for unknown APIs, as a best guess).
pub fn request_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    match messages::flexible_from(api_key) {
        Some(flex) if api_version >= flex => 2,
        _ => 1,
    }
}

/// Response header version for an API at a version.
pub fn response_header_version(api_key: ApiKey, api_version: i16) -> i16 {
    if api_key == ApiKey::ApiVersions {
        return 0;
    }
    match messages::flexible_from(api_key) {
        Some(flex) if api_version >= flex => 1,
        _ => 0,
    }
}

/// The header of every request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHeader {
    /// The API key as sent (it may be one this crate does not know).
    pub api_key: i16,
    /// The API version.
    pub api_version: i16,
    /// Echoed in the response so the client can match it to the request.
    pub correlation_id: i32,
    /// The client's self-chosen id (header v1+), used in logs and quotas.
    pub client_id: Option<String>,
    /// Tagged fields of header v2 that this crate does not know.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl RequestHeader {
    /// The API key, if Kafka defines it.
    pub fn api(&self) -> Option<ApiKey> {
        ApiKey::from_code(self.api_key)
    }

    /// Appends the header to `buf` (the version follows from the API key and version).
    pub fn encode_to(&self, buf: &mut BytesMut) -> Result<(), EncodeError> {
        buf.put_i16(self.api_key);
        buf.put_i16(self.api_version);
        buf.put_i32(self.correlation_id);
        // The client id is a classic nullable string even in header v2.
        self.client_id.encode(buf, classic(true))?;
        let flexible = self
            .api()
            .is_some_and(|k| request_header_version(k, self.api_version) >= 2);
        if flexible {
            primitives::put_tagged_fields(buf, Vec::new(), &self.unknown_tagged_fields)?;
        }
        Ok(())
    }

    /// Reads a header from the front of a frame.
    ///
    /// An unknown API key is not an error here: the caller still needs the correlation id to
    /// answer, and decides what to do with a request it cannot serve.
    pub fn decode(buf: &mut Bytes) -> Result<Self, DecodeError> {
        let c = classic(true);
        let api_key = i16::decode(buf, c)?;
        let api_version = i16::decode(buf, c)?;
        let correlation_id = i32::decode(buf, c)?;
        let client_id = Option::<String>::decode(buf, c)?;
        let mut header = RequestHeader {
            api_key,
            api_version,
            correlation_id,
            client_id,
            unknown_tagged_fields: Vec::new(),
        };
        if header
            .api()
            .is_some_and(|k| request_header_version(k, api_version) >= 2)
        {
            primitives::get_tagged_fields(buf, |tag, data| {
                header
                    .unknown_tagged_fields
                    .push(RawTaggedField { tag, data });
                Ok(())
            })?;
        }
        Ok(header)
    }
}

/// The header of every response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
    /// Tagged fields of header v1 that this crate does not know.
    pub unknown_tagged_fields: Vec<RawTaggedField>,
}

impl ResponseHeader {
    /// Appends the header at `header_version` (0 or 1) to `buf`.
    pub fn encode_to(&self, buf: &mut BytesMut, header_version: i16) -> Result<(), EncodeError> {
        buf.put_i32(self.correlation_id);
        if header_version >= 1 {
            primitives::put_tagged_fields(buf, Vec::new(), &self.unknown_tagged_fields)?;
        }
        Ok(())
    }

    /// Reads a header at `header_version` (0 or 1) from the front of `buf`.
    pub fn decode(buf: &mut Bytes, header_version: i16) -> Result<Self, DecodeError> {
        let correlation_id = i32::decode(buf, classic(false))?;
        let mut header = ResponseHeader {
            correlation_id,
            unknown_tagged_fields: Vec::new(),
        };
        if header_version >= 1 {
            primitives::get_tagged_fields(buf, |tag, data| {
                header
                    .unknown_tagged_fields
                    .push(RawTaggedField { tag, data });
                Ok(())
            })?;
        }
        Ok(header)
    }
}

fn classic(nullable: bool) -> Ctx {
    Ctx {
        version: 0,
        flexible: false,
        nullable,
    }
}

/// Splits a byte stream into frames, enforcing a maximum frame size.
///
/// Sans-io: feed it whatever the socket produced; it returns complete frame bodies (without
/// the size prefix) and leaves partial ones in the buffer.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_FRAME_SIZE)
    }
}

impl FrameDecoder {
    /// A decoder refusing frames larger than `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        Self { max_frame_size }
    }

    /// The largest frame accepted.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Takes one complete frame off the front of `buf`, if there is one.
    ///
    /// A negative or oversized length is an error; the connection cannot be resynchronised
    /// after it and should be closed.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, DecodeError> {
        let Some(prefix) = buf.get(..4).and_then(|p| <[u8; 4]>::try_from(p).ok()) else {
            return Ok(None);
        };
        let size = i32::from_be_bytes(prefix);
        let size_ok = usize::try_from(size)
            .ok()
            .filter(|&s| s <= self.max_frame_size);
        let Some(size) = size_ok else {
            return Err(DecodeError::FrameTooLarge {
                size: i64::from(size),
                max: self.max_frame_size,
            });
        };
        if buf.len() < 4 + size {
            // Reserve what the announced frame needs (bounded by max_frame_size) so the
            // socket reads into one allocation.
            buf.reserve(4 + size - buf.len());
            return Ok(None);
        }
        buf.advance(4);
        Ok(Some(buf.split_to(size).freeze()))
    }
}

/// Encodes a whole request frame: size prefix, header and body.
pub fn encode_request(
    header: &RequestHeader,
    body: &RequestBody,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    with_size_prefix(buf, |buf| {
        header.encode_to(buf)?;
        body.encode_to(buf, header.api_version)
    })
}

/// Decodes a request frame (without its size prefix) into header and body.
///
/// On a body error the header is still returned so the caller can answer the client.
pub fn decode_request(
    mut frame: Bytes,
) -> Result<(RequestHeader, Result<RequestBody, DecodeError>), DecodeError> {
    let header = RequestHeader::decode(&mut frame)?;
    let body = match header.api() {
        Some(api_key) => RequestBody::decode(api_key, header.api_version, &mut frame),
        None => Err(DecodeError::UnknownApiKey(header.api_key)),
    };
    Ok((header, body))
}

/// Encodes a whole response frame: size prefix, header and body.
pub fn encode_response(
    correlation_id: i32,
    api_version: i16,
    body: &ResponseBody,
    buf: &mut BytesMut,
) -> Result<(), EncodeError> {
    let header_version = response_header_version(body.api_key(), api_version);
    with_size_prefix(buf, |buf| {
        ResponseHeader {
            correlation_id,
            unknown_tagged_fields: Vec::new(),
        }
        .encode_to(buf, header_version)?;
        body.encode_to(buf, api_version)
    })
}

/// Decodes a response frame (without its size prefix) for a request of `api_key`/`api_version`.
pub fn decode_response(
    mut frame: Bytes,
    api_key: ApiKey,
    api_version: i16,
) -> Result<(ResponseHeader, ResponseBody), DecodeError> {
    let header = ResponseHeader::decode(&mut frame, response_header_version(api_key, api_version))?;
    let body = ResponseBody::decode(api_key, api_version, &mut frame)?;
    Ok((header, body))
}

/// Writes a 4-byte size placeholder, runs `write`, then fills in the size.
pub fn with_size_prefix(
    buf: &mut BytesMut,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = buf.len();
    buf.put_i32(0);
    write(buf)?;
    let size = buf.len() - start - 4;
    let size_i32 = i32::try_from(size).map_err(|_| EncodeError::TooLong {
        what: "frame",
        length: size,
    })?;
    if let Some(slot) = buf.get_mut(start..start + 4) {
        slot.copy_from_slice(&size_i32.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::ApiVersionsRequest;

    #[test]
    fn header_versions_follow_flexibility() {
        assert_eq!(request_header_version(ApiKey::Metadata, 8), 1);
        assert_eq!(request_header_version(ApiKey::Metadata, 9), 2);
        assert_eq!(response_header_version(ApiKey::Metadata, 9), 1);
        assert_eq!(response_header_version(ApiKey::ApiVersions, 3), 0);
        assert_eq!(request_header_version(ApiKey::ApiVersions, 3), 2);
        assert_eq!(request_header_version(ApiKey::SaslHandshake, 1), 1);
    }

    #[test]
    fn frames_split_and_refuse_oversize() {
        let dec = FrameDecoder::new(16);
        let mut buf = BytesMut::from(&[0, 0, 0, 3, 1, 2][..]);
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(&[3, 0, 0]);
        assert_eq!(dec.decode(&mut buf).unwrap().unwrap(), &[1, 2, 3][..]);
        assert_eq!(dec.decode(&mut buf).unwrap(), None);
        let mut big = BytesMut::from(&[0, 0, 1, 0][..]);
        assert!(matches!(
            dec.decode(&mut big),
            Err(DecodeError::FrameTooLarge { size: 256, .. })
        ));
        let mut neg = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert!(dec.decode(&mut neg).is_err());
    }

    #[test]
    fn request_frame_round_trip_and_unknown_api() {
        let header = RequestHeader {
            api_key: ApiKey::ApiVersions.code(),
            api_version: 3,
            correlation_id: 7,
            client_id: Some("c".into()),
            unknown_tagged_fields: Vec::new(),
        };
        let body = RequestBody::from(ApiVersionsRequest::default());
        let mut buf = BytesMut::new();
        encode_request(&header, &body, &mut buf).unwrap();
        let frame = FrameDecoder::default().decode(&mut buf).unwrap().unwrap();
        let (h, b) = decode_request(frame).unwrap();
        assert_eq!(h, header);
        assert_eq!(b.unwrap(), body);

        let mut unknown = BytesMut::new();
        unknown.put_slice(&[0x7f, 0x00, 0, 1, 0, 0, 0, 9, 0xff, 0xff]);
        let (h, b) = decode_request(unknown.freeze()).unwrap();
        assert_eq!(h.correlation_id, 9);
        assert_eq!(b, Err(DecodeError::UnknownApiKey(0x7f00)));
    }
}
