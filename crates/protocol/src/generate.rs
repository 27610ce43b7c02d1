//! Random values of every message, for property tests here and in the crates that use this
//! one (feature `testing`): every message type implements [`Gen`] through the message
//! macros, driven by `arbitrary::Unstructured` so proptest can shrink the input bytes.
//! [`crate::RequestBody::generate`] picks the request type by API key.

pub use arbitrary;
use arbitrary::{Result, Unstructured};
use bytes::Bytes;
use uuid::Uuid;

use crate::primitives::RawTaggedField;

/// Builds a random value; collections stay small so nested messages stay small.
pub trait Gen: Sized {
    /// A value built from `u`'s bytes.
    fn gen(u: &mut Unstructured<'_>) -> Result<Self>;
}

macro_rules! gen_via_arbitrary {
    ($($t:ty),*) => {$(
        impl Gen for $t {
            fn gen(u: &mut Unstructured<'_>) -> Result<Self> {
                u.arbitrary()
            }
        }
    )*};
}
gen_via_arbitrary!(bool, i8, i16, i32, i64, u16, u32);

impl Gen for f64 {
    fn gen(u: &mut Unstructured<'_>) -> Result<Self> {
        // NaN != NaN would break equality checks; integers-as-floats are exact.
        Ok(f64::from(u.arbitrary::<i32>()?))
    }
}

impl Gen for Uuid {
    fn gen(u: &mut Unstructured<'_>) -> Result<Self> {
        Ok(Uuid::from_bytes(u.arbitrary()?))
    }
}

impl Gen for String {
    fn gen(u: &mut Unstructured<'_>) -> Result<Self> {
        let n = u.int_in_range(0..=12)?;
        (0..n).map(|_| u.arbitrary::<char>()).collect()
    }
}

impl Gen for Bytes {
    fn gen(u: &mut Unstructured<'_>) -> Result<Self> {
        let n = u.int_in_range(0..=16)?;
        Ok(Bytes::copy_from_slice(u.bytes(n)?))
    }
}

impl<T: Gen> Gen for Vec<T> {
    fn gen(u: &mut Unstructured<'_>) -> Result<Self> {
        let n = u.int_in_range(0..=3)?;
        (0..n).map(|_| T::gen(u)).collect()
    }
}

impl<T: Gen> Gen for Option<T> {
    fn gen(u: &mut Unstructured<'_>) -> Result<Self> {
        if u.ratio(1, 5)? {
            Ok(None)
        } else {
            T::gen(u).map(Some)
        }
    }
}

/// Unknown tagged fields with tags far above the known ones (so their position relative to
/// known tags cannot differ between encoders), ascending and unique.
pub fn gen_unknown_tags(u: &mut Unstructured<'_>, known: &[u32]) -> Result<Vec<RawTaggedField>> {
    let mut tags: Vec<u32> = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        let tag = 1000 + u32::from(u.arbitrary::<u8>()?);
        if !known.contains(&tag) && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags.sort_unstable();
    tags.into_iter()
        .map(|tag| {
            Ok(RawTaggedField {
                tag,
                data: Bytes::gen(u)?,
            })
        })
        .collect()
}
