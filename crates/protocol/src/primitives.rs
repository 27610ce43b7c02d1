//! The Kafka protocol's primitive types and the [`Field`] trait every message field implements.
//!
//! ```text
//!   Bytes ──decode──▶ i8/i16/i32/i64/u16/u32/f64/bool/Uuid
//!                     string / compact string      (i16 length | uvarint length+1)
//!                     bytes  / compact bytes       (i32 length | uvarint length+1)
//!                     array  / compact array       (i32 length | uvarint length+1)
//!                     tagged fields                (uvarint count, then tag, size, data)
//! ```
//!
//! Whether the compact forms are used depends on the message version ("flexible versions",
//! KIP-482), so every encode/decode takes a [`Ctx`]. Decoders never trust a length: an array,
//! string or byte length larger than the bytes that remain is an error before anything is
//! allocated, so the memory a decode uses is bounded by the size of its input.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use uuid::Uuid;

use crate::error::{DecodeError, EncodeError};

/// How a field is encoded at this point of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ctx {
    /// The message version being encoded or decoded.
    pub version: i16,
    /// Whether this version is a flexible one (compact lengths and tagged fields).
    pub flexible: bool,
    /// Whether this field may be null at this version.
    pub nullable: bool,
}

/// A value with a wire form in Kafka messages.
pub trait Field: Sized {
    /// Appends the wire form of `self` to `buf`.
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError>;
    /// Reads a value from the front of `buf`, advancing it.
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError>;
}

/// A tagged field this crate does not know, kept so it survives a decode/encode round trip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawTaggedField {
    /// The field's tag.
    pub tag: u32,
    /// The field's encoded value.
    pub data: Bytes,
}

#[inline]
fn need(buf: &Bytes, n: usize, what: &'static str) -> Result<(), DecodeError> {
    if buf.remaining() < n {
        Err(DecodeError::Truncated {
            what,
            needed: n - buf.remaining(),
        })
    } else {
        Ok(())
    }
}

/// Takes `n` bytes off the front of `buf` without copying.
pub fn take_bytes(buf: &mut Bytes, n: usize, what: &'static str) -> Result<Bytes, DecodeError> {
    need(buf, n, what)?;
    Ok(buf.split_to(n))
}

macro_rules! fixed {
    ($($t:ty => $get:ident, $put:ident, $n:literal;)*) => {$(
        impl Field for $t {
            #[inline]
            fn encode(&self, buf: &mut BytesMut, _ctx: Ctx) -> Result<(), EncodeError> {
                buf.$put(*self);
                Ok(())
            }
            #[inline]
            fn decode(buf: &mut Bytes, _ctx: Ctx) -> Result<Self, DecodeError> {
                need(buf, $n, stringify!($t))?;
                Ok(buf.$get())
            }
        }
    )*};
}

fixed! {
    i8 => get_i8, put_i8, 1;
    i16 => get_i16, put_i16, 2;
    i32 => get_i32, put_i32, 4;
    i64 => get_i64, put_i64, 8;
    u16 => get_u16, put_u16, 2;
    u32 => get_u32, put_u32, 4;
    f64 => get_f64, put_f64, 8;
}

impl Field for bool {
    fn encode(&self, buf: &mut BytesMut, _ctx: Ctx) -> Result<(), EncodeError> {
        buf.put_u8(u8::from(*self));
        Ok(())
    }
    fn decode(buf: &mut Bytes, _ctx: Ctx) -> Result<Self, DecodeError> {
        need(buf, 1, "bool")?;
        Ok(buf.get_u8() != 0)
    }
}

impl Field for Uuid {
    fn encode(&self, buf: &mut BytesMut, _ctx: Ctx) -> Result<(), EncodeError> {
        buf.put_slice(self.as_bytes());
        Ok(())
    }
    fn decode(buf: &mut Bytes, _ctx: Ctx) -> Result<Self, DecodeError> {
        need(buf, 16, "uuid")?;
        let mut raw = [0u8; 16];
        buf.copy_to_slice(&mut raw);
        Ok(Uuid::from_bytes(raw))
    }
}

// ---------------------------------------------------------------------------------------------
// Varints (protobuf style; signed ones zig-zag encoded)
// ---------------------------------------------------------------------------------------------

/// Writes an unsigned varint.
pub fn put_uvarint(buf: &mut impl BufMut, mut v: u32) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Writes an unsigned varlong.
pub fn put_uvarlong(buf: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

/// Writes a zig-zag encoded signed varint.
pub fn put_varint(buf: &mut impl BufMut, v: i32) {
    put_uvarint(buf, ((v << 1) ^ (v >> 31)) as u32);
}

/// Writes a zig-zag encoded signed varlong.
pub fn put_varlong(buf: &mut impl BufMut, v: i64) {
    put_uvarlong(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Number of bytes [`put_varint`] writes for `v`.
pub fn varint_len(v: i32) -> usize {
    uvarlong_len(u64::from(((v << 1) ^ (v >> 31)) as u32))
}

/// Number of bytes [`put_varlong`] writes for `v`.
pub fn varlong_len(v: i64) -> usize {
    uvarlong_len(((v << 1) ^ (v >> 63)) as u64)
}

/// Number of bytes an unsigned varlong of `v` takes.
pub fn uvarlong_len(v: u64) -> usize {
    let bits = 64 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads an unsigned varint (at most 5 bytes).
pub fn get_uvarint(buf: &mut impl Buf) -> Result<u32, DecodeError> {
    let v = get_uvarlong_max(buf, 5)?;
    u32::try_from(v).map_err(|_| DecodeError::VarintTooLong)
}

/// Reads an unsigned varlong (at most 10 bytes).
pub fn get_uvarlong(buf: &mut impl Buf) -> Result<u64, DecodeError> {
    get_uvarlong_max(buf, 10)
}

fn get_uvarlong_max(buf: &mut impl Buf, max_bytes: u32) -> Result<u64, DecodeError> {
    let mut value: u64 = 0;
    for i in 0..max_bytes {
        if !buf.has_remaining() {
            return Err(DecodeError::Truncated {
                what: "varint",
                needed: 1,
            });
        }
        let b = buf.get_u8();
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::VarintTooLong)
}

/// Reads a zig-zag encoded signed varint.
pub fn get_varint(buf: &mut impl Buf) -> Result<i32, DecodeError> {
    let v = get_uvarint(buf)?;
    Ok(((v >> 1) as i32) ^ -((v & 1) as i32))
}

/// Reads a zig-zag encoded signed varlong.
pub fn get_varlong(buf: &mut impl Buf) -> Result<i64, DecodeError> {
    let v = get_uvarlong(buf)?;
    Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
}

// ---------------------------------------------------------------------------------------------
// Length prefixes shared by strings, bytes and arrays
// ---------------------------------------------------------------------------------------------

/// The width of the non-compact length prefix.
#[derive(Clone, Copy)]
enum Prefix {
    I16,
    I32,
}

/// Writes a length, or null when `len` is `None`.
fn put_len(
    buf: &mut BytesMut,
    len: Option<usize>,
    ctx: Ctx,
    prefix: Prefix,
    what: &'static str,
) -> Result<(), EncodeError> {
    let too_long = |length| EncodeError::TooLong { what, length };
    match (ctx.flexible, len) {
        (true, None) => put_uvarint(buf, 0),
        (true, Some(n)) => {
            let n1 = u32::try_from(n)
                .ok()
                .and_then(|n| n.checked_add(1))
                .filter(|&n1| n1 <= i32::MAX as u32 || matches!(prefix, Prefix::I32))
                .ok_or_else(|| too_long(n))?;
            put_uvarint(buf, n1);
        }
        (false, None) => match prefix {
            Prefix::I16 => buf.put_i16(-1),
            Prefix::I32 => buf.put_i32(-1),
        },
        (false, Some(n)) => match prefix {
            Prefix::I16 => buf.put_i16(i16::try_from(n).map_err(|_| too_long(n))?),
            Prefix::I32 => buf.put_i32(i32::try_from(n).map_err(|_| too_long(n))?),
        },
    }
    Ok(())
}

/// Reads a length; `None` means null. A length larger than what remains is an error, so
/// callers can allocate `len` items knowing each takes at least one byte.
fn get_len(
    buf: &mut Bytes,
    ctx: Ctx,
    prefix: Prefix,
    what: &'static str,
) -> Result<Option<usize>, DecodeError> {
    let len: i64 = if ctx.flexible {
        i64::from(get_uvarint(buf)?) - 1
    } else {
        match prefix {
            Prefix::I16 => i64::from(i16::decode(buf, ctx)?),
            Prefix::I32 => i64::from(i32::decode(buf, ctx)?),
        }
    };
    if len == -1 {
        return Ok(None);
    }
    if len < 0 || len > buf.remaining() as i64 {
        return Err(DecodeError::BadLength { what, length: len });
    }
    Ok(Some(len as usize))
}

fn non_null<T>(v: Option<T>, what: &'static str) -> Result<T, DecodeError> {
    v.ok_or(DecodeError::UnexpectedNull { what })
}

fn null_allowed<T>(v: Option<T>, ctx: Ctx, what: &'static str) -> Result<Option<T>, DecodeError> {
    if v.is_none() && !ctx.nullable {
        return Err(DecodeError::UnexpectedNull { what });
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------------

fn decode_str(buf: &mut Bytes, len: usize) -> Result<String, DecodeError> {
    let raw = buf.split_to(len);
    String::from_utf8(raw.to_vec()).map_err(|_| DecodeError::InvalidUtf8)
}

impl Field for String {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        put_len(buf, Some(self.len()), ctx, Prefix::I16, "string")?;
        buf.put_slice(self.as_bytes());
        Ok(())
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        let len = non_null(get_len(buf, ctx, Prefix::I16, "string")?, "string")?;
        decode_str(buf, len)
    }
}

/// A nullable string. `None` at a version where the field is not nullable is written as
/// the empty string (Kafka's own clients would refuse to send it at all).
impl Field for Option<String> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(s) => s.encode(buf, ctx),
            None if ctx.nullable => put_len(buf, None, ctx, Prefix::I16, "string"),
            None => String::new().encode(buf, ctx),
        }
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        match null_allowed(get_len(buf, ctx, Prefix::I16, "string")?, ctx, "string")? {
            Some(len) => decode_str(buf, len).map(Some),
            None => Ok(None),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes (also used for the `records` type)
// ---------------------------------------------------------------------------------------------

impl Field for Bytes {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        put_len(buf, Some(self.len()), ctx, Prefix::I32, "bytes")?;
        buf.put_slice(self);
        Ok(())
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        let len = non_null(get_len(buf, ctx, Prefix::I32, "bytes")?, "bytes")?;
        Ok(buf.split_to(len))
    }
}

/// Nullable bytes; `None` at a non-nullable version is written as empty bytes.
impl Field for Option<Bytes> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(b) => b.encode(buf, ctx),
            None if ctx.nullable => put_len(buf, None, ctx, Prefix::I32, "bytes"),
            None => Bytes::new().encode(buf, ctx),
        }
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        match null_allowed(get_len(buf, ctx, Prefix::I32, "bytes")?, ctx, "bytes")? {
            Some(len) => Ok(Some(buf.split_to(len))),
            None => Ok(None),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Arrays
// ---------------------------------------------------------------------------------------------

fn element_ctx(ctx: Ctx) -> Ctx {
    Ctx {
        nullable: false,
        ..ctx
    }
}

fn encode_elements<T: Field>(items: &[T], buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
    put_len(buf, Some(items.len()), ctx, Prefix::I32, "array")?;
    let ectx = element_ctx(ctx);
    for item in items {
        item.encode(buf, ectx)?;
    }
    Ok(())
}

fn decode_elements<T: Field>(buf: &mut Bytes, len: usize, ctx: Ctx) -> Result<Vec<T>, DecodeError> {
    // `len` is bounded by the remaining bytes (see `get_len`), and every element takes at
    // least one byte, so this allocation is bounded by the input size.
    let mut out = Vec::with_capacity(len);
    let ectx = element_ctx(ctx);
    for _ in 0..len {
        out.push(T::decode(buf, ectx)?);
    }
    Ok(out)
}

impl<T: Field> Field for Vec<T> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        encode_elements(self, buf, ctx)
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        let len = non_null(get_len(buf, ctx, Prefix::I32, "array")?, "array")?;
        decode_elements(buf, len, ctx)
    }
}

/// A struct that may be null where its schema says so (`kafka_struct!` marks them all).
pub trait NullableStruct: Field + Default {}

/// A nullable struct: a signed byte, -1 for null and 1 for a struct that follows, as Kafka
/// writes it. `None` at a non-nullable version is written as the default struct.
impl<T: NullableStruct> Field for Option<T> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(value) => {
                buf.put_i8(1);
                value.encode(buf, ctx)
            }
            None if ctx.nullable => {
                buf.put_i8(-1);
                Ok(())
            }
            None => T::default().encode(buf, ctx),
        }
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        if !ctx.nullable {
            return T::decode(buf, ctx).map(Some);
        }
        need(buf, 1, "nullable struct")?;
        match buf.get_i8() {
            -1 => Ok(None),
            1 => T::decode(buf, ctx).map(Some),
            marker => Err(DecodeError::Invalid {
                what: "nullable struct",
                reason: format!("marker {marker}, not -1 or 1"),
            }),
        }
    }
}

/// A nullable array; `None` at a non-nullable version is written as an empty array.
impl<T: Field> Field for Option<Vec<T>> {
    fn encode(&self, buf: &mut BytesMut, ctx: Ctx) -> Result<(), EncodeError> {
        match self {
            Some(items) => encode_elements(items, buf, ctx),
            None if ctx.nullable => put_len(buf, None, ctx, Prefix::I32, "array"),
            None => encode_elements::<T>(&[], buf, ctx),
        }
    }
    fn decode(buf: &mut Bytes, ctx: Ctx) -> Result<Self, DecodeError> {
        match null_allowed(get_len(buf, ctx, Prefix::I32, "array")?, ctx, "array")? {
            Some(len) => decode_elements(buf, len, ctx).map(Some),
            None => Ok(None),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tagged fields
// ---------------------------------------------------------------------------------------------

/// Writes a tagged-field section: the known fields (already encoded) and the unknown ones,
/// merged in ascending tag order as Kafka writes them.
pub fn put_tagged_fields(
    buf: &mut BytesMut,
    mut known: Vec<(u32, BytesMut)>,
    unknown: &[RawTaggedField],
) -> Result<(), EncodeError> {
    let count = known.len() + unknown.len();
    let count = u32::try_from(count).map_err(|_| EncodeError::TooLong {
        what: "tagged fields",
        length: count,
    })?;
    put_uvarint(buf, count);
    if unknown.is_empty() {
        for (tag, data) in known {
            put_tagged(buf, tag, &data)?;
        }
        return Ok(());
    }
    let mut all: Vec<(u32, &[u8])> = known.iter_mut().map(|(t, d)| (*t, &d[..])).collect();
    all.extend(unknown.iter().map(|f| (f.tag, &f.data[..])));
    all.sort_by_key(|(t, _)| *t);
    for (tag, data) in all {
        put_tagged(buf, tag, data)?;
    }
    Ok(())
}

fn put_tagged(buf: &mut BytesMut, tag: u32, data: &[u8]) -> Result<(), EncodeError> {
    put_uvarint(buf, tag);
    let len = u32::try_from(data.len()).map_err(|_| EncodeError::TooLong {
        what: "tagged field",
        length: data.len(),
    })?;
    put_uvarint(buf, len);
    buf.put_slice(data);
    Ok(())
}

/// Reads the header of a tagged-field section and calls `each(tag, data)` per field.
pub fn get_tagged_fields(
    buf: &mut Bytes,
    mut each: impl FnMut(u32, Bytes) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let count = get_uvarint(buf)?;
    if count as usize > buf.remaining() {
        return Err(DecodeError::BadLength {
            what: "tagged fields",
            length: i64::from(count),
        });
    }
    for _ in 0..count {
        let tag = get_uvarint(buf)?;
        let size = get_uvarint(buf)? as usize;
        let data = take_bytes(buf, size, "tagged field")?;
        each(tag, data)?;
    }
    Ok(())
}

/// Writes an empty tagged-field section (used by headers that carry none).
pub fn put_empty_tagged_fields(buf: &mut BytesMut) {
    put_uvarint(buf, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEX: Ctx = Ctx {
        version: 0,
        flexible: true,
        nullable: true,
    };
    const CLASSIC: Ctx = Ctx {
        version: 0,
        flexible: false,
        nullable: true,
    };

    #[test]
    fn varints_match_known_encodings() {
        // Values and encodings from the protobuf/Kafka varint definition.
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for (v, enc) in cases {
            let mut b = BytesMut::new();
            put_varint(&mut b, *v);
            assert_eq!(&b[..], *enc, "encoding {v}");
            assert_eq!(varint_len(*v), enc.len());
            let mut r = Bytes::copy_from_slice(enc);
            assert_eq!(get_varint(&mut r).unwrap(), *v);
        }
        for v in [0i64, -1, 1, i64::MAX, i64::MIN, 300, -300] {
            let mut b = BytesMut::new();
            put_varlong(&mut b, v);
            assert_eq!(b.len(), varlong_len(v));
            assert_eq!(get_varlong(&mut b.freeze()).unwrap(), v);
        }
    }

    #[test]
    fn overlong_varint_is_an_error() {
        let mut r = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        assert_eq!(get_uvarint(&mut r), Err(DecodeError::VarintTooLong));
        let mut r = Bytes::from_static(&[0x80]);
        assert!(matches!(
            get_uvarint(&mut r),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn lengths_beyond_the_input_are_rejected_before_allocating() {
        // An array claiming i32::MAX elements with 3 bytes behind it.
        let mut r = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
        assert!(matches!(
            Vec::<i8>::decode(&mut r, CLASSIC),
            Err(DecodeError::BadLength { .. })
        ));
        let mut r = Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x07]);
        assert!(matches!(
            Vec::<i8>::decode(&mut r, FLEX),
            Err(DecodeError::BadLength { .. })
        ));
    }

    #[test]
    fn nullability_follows_the_context() {
        let mut b = BytesMut::new();
        None::<String>.encode(&mut b, CLASSIC).unwrap();
        assert_eq!(&b[..], &[0xff, 0xff]);
        let strict = Ctx {
            nullable: false,
            ..CLASSIC
        };
        assert_eq!(
            Option::<String>::decode(&mut b.clone().freeze(), strict),
            Err(DecodeError::UnexpectedNull { what: "string" })
        );
        assert_eq!(
            String::decode(&mut b.freeze(), CLASSIC),
            Err(DecodeError::UnexpectedNull { what: "string" })
        );
        let mut b = BytesMut::new();
        None::<Vec<i32>>.encode(&mut b, FLEX).unwrap();
        assert_eq!(&b[..], &[0]);
        assert_eq!(Option::<Vec<i32>>::decode(&mut b.freeze(), FLEX), Ok(None));
    }

    #[test]
    fn strings_round_trip_in_both_forms() {
        for ctx in [FLEX, CLASSIC] {
            let mut b = BytesMut::new();
            "héllo".to_string().encode(&mut b, ctx).unwrap();
            assert_eq!(String::decode(&mut b.freeze(), ctx).unwrap(), "héllo");
        }
        let mut bad = Bytes::from_static(&[0x00, 0x02, 0xc3, 0x28]);
        assert_eq!(
            String::decode(&mut bad, CLASSIC),
            Err(DecodeError::InvalidUtf8)
        );
    }

    #[test]
    fn tagged_fields_are_written_in_tag_order() {
        let mut b = BytesMut::new();
        let known = vec![(1u32, BytesMut::from(&b"a"[..]))];
        let unknown = [
            RawTaggedField {
                tag: 0,
                data: Bytes::from_static(b"z"),
            },
            RawTaggedField {
                tag: 7,
                data: Bytes::from_static(b""),
            },
        ];
        put_tagged_fields(&mut b, known, &unknown).unwrap();
        assert_eq!(&b[..], &[3, 0, 1, b'z', 1, 1, b'a', 7, 0]);
        let mut seen = vec![];
        get_tagged_fields(&mut b.freeze(), |t, d| {
            seen.push((t, d));
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1], (1, Bytes::from_static(b"a")));
    }
}
