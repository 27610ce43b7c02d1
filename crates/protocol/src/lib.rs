//! Sans-io Kafka wire protocol: messages, frames and record batches.
//!
//! ```text
//!  socket bytes ─▶ frame::FrameDecoder ─▶ RequestHeader + body bytes ─▶ RequestBody (enum)
//!                                                     records bytes ─▶ record_batch::RecordBatch
//! ```
//!
//! No I/O and no async runtime: the client and the dev cluster drive these types over their own
//! sockets. Every decoder is safe against any input: it returns a [`DecodeError`] instead of
//! panicking and never allocates more than the input can justify.
//!
//! Messages are defined with [`kafka_message!`]/[`kafka_struct!`], one file per API under
//! [`messages`], covering exactly the API versions listed in [`messages::SUPPORTED`].
//! [`sasl`] holds what the SASL tokens carry (SCRAM for both ends), with no I/O either.

#[macro_use]
mod macros;

pub mod api_key;
pub mod compression;
pub mod error;
pub mod error_code;
pub mod frame;
pub mod messages;
pub mod primitives;
pub mod record_batch;
pub mod sasl;

#[cfg(any(test, feature = "testing"))]
pub mod generate;
#[cfg(test)]
mod hostile_input_tests;
#[cfg(test)]
mod testing;

pub use api_key::ApiKey;
pub use error::{DecodeError, EncodeError};
pub use error_code::ErrorCode;
pub use messages::{RequestBody, ResponseBody};

use bytes::{Bytes, BytesMut};

/// A top-level request or response body of one Kafka API.
pub trait Message: primitives::Field + Default + Clone + PartialEq + std::fmt::Debug {
    /// The API this message belongs to.
    const API_KEY: ApiKey;
    /// Lowest version this crate implements.
    const MIN_VERSION: i16;
    /// Highest version this crate implements.
    const MAX_VERSION: i16;
    /// First flexible version (compact encodings, tagged fields); `i16::MAX` if none.
    const FLEXIBLE_FROM: i16;

    /// Whether `version` is one this crate implements for the message.
    fn supports(version: i16) -> bool {
        (Self::MIN_VERSION..=Self::MAX_VERSION).contains(&version)
    }

    /// Appends the body at `version` to `buf`.
    fn encode_to(&self, buf: &mut BytesMut, version: i16) -> Result<(), EncodeError> {
        if !Self::supports(version) {
            return Err(EncodeError::UnsupportedVersion {
                api_key: Self::API_KEY.code(),
                version,
            });
        }
        primitives::Field::encode(self, buf, Self::ctx(version))
    }

    /// Encodes the body at `version` into a fresh buffer.
    fn to_bytes(&self, version: i16) -> Result<Bytes, EncodeError> {
        let mut buf = BytesMut::new();
        self.encode_to(&mut buf, version)?;
        Ok(buf.freeze())
    }

    /// Decodes a body at `version` from the front of `buf`.
    fn decode_from(buf: &mut Bytes, version: i16) -> Result<Self, DecodeError> {
        if !Self::supports(version) {
            return Err(DecodeError::UnsupportedVersion {
                api_key: Self::API_KEY.code(),
                version,
            });
        }
        primitives::Field::decode(buf, Self::ctx(version))
    }

    /// The field context of the message's top level at `version`.
    fn ctx(version: i16) -> primitives::Ctx {
        primitives::Ctx {
            version,
            flexible: version >= Self::FLEXIBLE_FROM,
            nullable: false,
        }
    }
}
