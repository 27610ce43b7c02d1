//! Errors of the codec: one enum for decoding, one for encoding.
//!
//! Decoding errors say what was wrong with the bytes, never panic, and carry enough
//! context (which field type, which length) to log a useful line on the broker.

/// Why a sequence of bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("truncated input: needed {needed} more bytes for {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many bytes were missing (at least).
        needed: usize,
    },
    /// A length prefix is negative (where null is not allowed) or larger than the input.
    #[error("bad length {length} for {what}")]
    BadLength {
        /// What was being read.
        what: &'static str,
        /// The length found in the input.
        length: i64,
    },
    /// A varint ran over its maximum width.
    #[error("varint is too long")]
    VarintTooLong,
    /// A string was not valid UTF-8.
    #[error("string is not valid utf-8")]
    InvalidUtf8,
    /// A null was found where this version does not allow one.
    #[error("null {what} where the version does not allow null")]
    UnexpectedNull {
        /// What was being read.
        what: &'static str,
    },
    /// The API key is not one this crate knows.
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    /// The API version is outside what this crate implements for the API.
    #[error("unsupported version {version} of api key {api_key}")]
    UnsupportedVersion {
        /// The API key.
        api_key: i16,
        /// The requested version.
        version: i16,
    },
    /// A record batch's stored CRC-32C does not match its contents.
    #[error("record batch crc mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    CrcMismatch {
        /// CRC in the batch header.
        stored: u32,
        /// CRC computed over the batch.
        computed: u32,
    },
    /// A record batch uses a magic byte other than 2.
    #[error("unsupported record batch magic {0}")]
    UnsupportedMagic(i8),
    /// A record batch names a compression codec that does not exist.
    #[error("unknown compression codec {0}")]
    UnknownCompression(u8),
    /// Decompression failed or produced more than the allowed size.
    #[error("decompression failed ({codec}): {reason}")]
    Decompression {
        /// The codec name.
        codec: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A frame is larger than the configured maximum.
    #[error("frame of {size} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The announced size.
        size: i64,
        /// The maximum allowed size.
        max: usize,
    },
    /// The value was well-formed but inconsistent (e.g. a record count that does not match).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
}

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The message does not exist at the requested version.
    #[error("unsupported version {version} of api key {api_key}")]
    UnsupportedVersion {
        /// The API key.
        api_key: i16,
        /// The requested version.
        version: i16,
    },
    /// A string, byte array or array is longer than its length prefix can say.
    #[error("{what} of length {length} is too long to encode")]
    TooLong {
        /// What was being written.
        what: &'static str,
        /// Its length.
        length: usize,
    },
    /// Compression failed.
    #[error("compression failed ({codec}): {reason}")]
    Compression {
        /// The codec name.
        codec: &'static str,
        /// What went wrong.
        reason: String,
    },
    /// A value cannot be written where it was asked for.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being written.
        what: &'static str,
        /// Why it cannot be.
        reason: String,
    },
}
