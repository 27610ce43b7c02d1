//! The declarative macros that define every message.
//!
//! A message is written once, as Kafka's schema describes it: each field with the versions it
//! exists in, the versions it may be null in, its tag when it is a tagged field, and its
//! default. The macro generates the struct, `Default`, the versioned encoder and decoder
//! (through [`crate::primitives::Field`]) and, in tests, a random generator.
//!
//! ```ignore
//! kafka_struct! {
//!     /// A topic in a metadata request.
//!     pub struct MetadataRequestTopic {
//!         /// The topic id.
//!         topic_id: Uuid [10..],
//!         /// The topic name.
//!         name: Option<String> [0.., nullable 10..],
//!     }
//! }
//! kafka_message! {
//!     /// Asks for brokers, topics and partitions.
//!     pub struct MetadataRequest: Metadata, versions 0..=12, flexible 9 {
//!         topics: Option<Vec<MetadataRequestTopic>> [0.., nullable 1..],
//!         allow_auto_topic_creation: bool [4.., default true],
//!     }
//! }
//! ```
//!
//! Field options, in this order, all optional: `nullable <range>`, `tag <n>`, `default <expr>`.
//! Fields outside their version range are neither written nor read (they decode to their
//! default). A tagged field is written only in flexible versions and only when it differs
//! from its default, as Kafka does.

#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_default {
    () => {
        ::core::default::Default::default()
    };
    ($e:expr) => {
        $e
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_tag {
    () => {
        ::core::option::Option::<u32>::None
    };
    ($t:literal) => {
        ::core::option::Option::<u32>::Some($t)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_nullable {
    ($v:ident;) => {
        false
    };
    ($v:ident; $r:expr) => {
        ($r).contains(&$v)
    };
}

/// Keeps its input when this crate is built for tests or with feature `testing`, else drops
/// it. The choice is made here, where the feature is known, rather than where the message
/// macros expand: a crate declaring its own messages (the dev cluster's internal records)
/// gets the test generators exactly when this crate has them.
#[doc(hidden)]
#[cfg(any(test, feature = "testing"))]
#[macro_export]
macro_rules! __kafka_if_testing {
    ($($t:tt)*) => { $($t)* };
}

/// See the other definition.
#[doc(hidden)]
#[cfg(not(any(test, feature = "testing")))]
#[macro_export]
macro_rules! __kafka_if_testing {
    ($($t:tt)*) => {};
}

/// Defines a (nested) struct of a Kafka message: fields with version ranges, nullable ranges,
/// tags and defaults (see the crate's `macros` module for the syntax).
#[macro_export]
macro_rules! kafka_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty [ $vr:expr $(, nullable $nr:expr)? $(, tag $tag:literal)? $(, default $def:expr)? ]
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
            /// Tagged fields this crate does not know; kept so they survive a round trip.
            pub unknown_tagged_fields: ::std::vec::Vec<$crate::primitives::RawTaggedField>,
        }

        impl ::core::default::Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: $crate::__kafka_default!($($def)?), )*
                    unknown_tagged_fields: ::std::vec::Vec::new(),
                }
            }
        }

        impl $crate::primitives::NullableStruct for $name {}

        impl $crate::primitives::Field for $name {
            #[allow(unused_variables, unused_mut, clippy::nonminimal_bool)]
            fn encode(
                &self,
                buf: &mut ::bytes::BytesMut,
                ctx: $crate::primitives::Ctx,
            ) -> ::core::result::Result<(), $crate::error::EncodeError> {
                let version = ctx.version;
                let flexible = ctx.flexible;
                let mut tagged: ::std::vec::Vec<(u32, ::bytes::BytesMut)> = ::std::vec::Vec::new();
                $(
                    if ($vr).contains(&version) {
                        let fctx = $crate::primitives::Ctx {
                            version,
                            flexible,
                            nullable: $crate::__kafka_nullable!(version; $($nr)?),
                        };
                        match $crate::__kafka_tag!($($tag)?) {
                            ::core::option::Option::None => {
                                $crate::primitives::Field::encode(&self.$field, buf, fctx)?
                            }
                            ::core::option::Option::Some(tag) => {
                                let default: $ty = $crate::__kafka_default!($($def)?);
                                if flexible && self.$field != default {
                                    let mut data = ::bytes::BytesMut::new();
                                    $crate::primitives::Field::encode(&self.$field, &mut data, fctx)?;
                                    tagged.push((tag, data));
                                }
                            }
                        }
                    }
                )*
                if flexible {
                    $crate::primitives::put_tagged_fields(buf, tagged, &self.unknown_tagged_fields)?;
                }
                Ok(())
            }

            #[allow(unused_variables, unused_mut, clippy::nonminimal_bool)]
            fn decode(
                buf: &mut ::bytes::Bytes,
                ctx: $crate::primitives::Ctx,
            ) -> ::core::result::Result<Self, $crate::error::DecodeError> {
                let version = ctx.version;
                let flexible = ctx.flexible;
                let mut this = <Self as ::core::default::Default>::default();
                $(
                    if ($vr).contains(&version) && $crate::__kafka_tag!($($tag)?).is_none() {
                        let fctx = $crate::primitives::Ctx {
                            version,
                            flexible,
                            nullable: $crate::__kafka_nullable!(version; $($nr)?),
                        };
                        this.$field = $crate::primitives::Field::decode(buf, fctx)?;
                    }
                )*
                if flexible {
                    let mut unknown = ::std::vec::Vec::new();
                    $crate::primitives::get_tagged_fields(buf, |tag, mut data| {
                        $(
                            if $crate::__kafka_tag!($($tag)?) == ::core::option::Option::Some(tag)
                                && ($vr).contains(&version)
                            {
                                let fctx = $crate::primitives::Ctx {
                                    version,
                                    flexible,
                                    nullable: $crate::__kafka_nullable!(version; $($nr)?),
                                };
                                this.$field = $crate::primitives::Field::decode(&mut data, fctx)?;
                                return Ok(());
                            }
                        )*
                        unknown.push($crate::primitives::RawTaggedField { tag, data });
                        Ok(())
                    })?;
                    this.unknown_tagged_fields = unknown;
                }
                Ok(this)
            }
        }

        $crate::__kafka_if_testing! {
        impl $crate::generate::Gen for $name {
            #[allow(unused_mut)]
            fn gen(
                u: &mut $crate::generate::arbitrary::Unstructured<'_>,
            ) -> $crate::generate::arbitrary::Result<Self> {
                let known_tags: &[u32] = &[$($($tag,)?)*];
                Ok(Self {
                    $( $field: $crate::generate::Gen::gen(u)?, )*
                    unknown_tagged_fields: $crate::generate::gen_unknown_tags(u, known_tags)?,
                })
            }
        }
        }
    };
}

/// Defines a top-level request or response: a [`kafka_struct!`] plus its [`crate::Message`]
/// identity (API key, versions, first flexible version; `flexible none` if it has none).
#[macro_export]
macro_rules! kafka_message {
    (
        $(#[$meta:meta])*
        pub struct $name:ident : $api:ident, versions $min:literal ..= $max:literal, flexible $flex:tt {
            $($body:tt)*
        }
    ) => {
        $crate::kafka_struct! {
            $(#[$meta])*
            pub struct $name { $($body)* }
        }

        impl $crate::Message for $name {
            const API_KEY: $crate::ApiKey = $crate::ApiKey::$api;
            const MIN_VERSION: i16 = $min;
            const MAX_VERSION: i16 = $max;
            const FLEXIBLE_FROM: i16 = $crate::__kafka_flexible!($flex);
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __kafka_flexible {
    (none) => {
        i16::MAX
    };
    ($v:literal) => {
        $v
    };
}
