//! The client's error type: one enum for every layer of the client.
//!
//! A Kafka error answered by a broker keeps its [`ErrorCode`], the broker's own message and the
//! topic/partition it was about, so callers can both match on it and show it. Everything that
//! can be retried says so through [`Error::is_retriable`], which is what the producer's and the
//! consumer's retry loops consult.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use streamctl_protocol::{ApiKey, DecodeError, EncodeError, ErrorCode};

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the client.
///
/// `Clone`, because one failure (a batch, a connection) is reported to every record or
/// request that shared it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A broker answered with a Kafka error code.
    #[error("{}", BrokerErrorDisplay::new(.code, .message, .topic, .partition))]
    Broker {
        /// The Kafka error code.
        code: ErrorCode,
        /// The broker's own message, when it sent one.
        message: Option<String>,
        /// The topic the error is about, when it is about one.
        topic: Option<String>,
        /// The partition the error is about, when it is about one.
        partition: Option<i32>,
    },

    /// A TCP connection to a broker could not be opened.
    #[error("cannot connect to broker {broker}")]
    Connect {
        /// The broker's `host:port`.
        broker: String,
        /// The underlying I/O error (shared: the error is cloned to every waiter).
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },

    /// An open connection to a broker stopped working; requests in flight on it failed.
    #[error("connection to broker {broker} lost")]
    ConnectionLost {
        /// The broker's `host:port`.
        broker: String,
        /// Why the connection stopped working.
        #[source]
        reason: Disconnect,
    },

    /// The broker and the client could not establish who is who: a TLS certificate was not
    /// accepted (either way), or SASL authentication failed. Not retried: the next attempt
    /// would fail the same way.
    #[error("authentication with broker {broker} failed: {reason}")]
    Authentication {
        /// The broker's `host:port`.
        broker: String,
        /// What failed, with the broker's message when it sent one (never a secret).
        reason: String,
    },

    /// Something did not finish in time.
    #[error("{what} timed out after {} ms", .timeout.as_millis())]
    Timeout {
        /// What timed out, e.g. `Fetch request to broker 127.0.0.1:9092`.
        what: String,
        /// The time limit that passed.
        timeout: Duration,
    },

    /// A broker does not support any version of an API that this client implements.
    #[error("broker {broker} does not support {api} at any version this client implements")]
    UnsupportedVersion {
        /// The broker's `host:port`.
        broker: String,
        /// The API.
        api: ApiKey,
    },

    /// A request could not be encoded (a field too long for the wire, or a version mismatch).
    #[error("cannot encode {api} request")]
    Encode {
        /// The API of the request.
        api: ApiKey,
        /// What the encoder reported.
        #[source]
        source: EncodeError,
    },

    /// A request the caller built, or a call, is not valid here (assign after subscribe, a
    /// partition not assigned to this consumer, a partitioner's out-of-range choice).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The producer or consumer was closed (or its background task stopped) before the
    /// operation could finish.
    #[error("{0} is closed")]
    Closed(&'static str),

    /// A record cannot be put in a batch (it does not fit the batch's encoding limits).
    #[error("record cannot be sent: {0}")]
    RecordTooLarge(String),

    /// A broker's answer does not make sense for the request (a result missing for something
    /// asked about, undecodable group assignment bytes, an assignor not offered).
    #[error("invalid response: {0}")]
    InvalidResponse(String),

    /// A broken invariant inside the client: a bug to report, never the caller's fault.
    #[error("internal error: {0}")]
    Internal(String),

    /// A configuration property has a value the client cannot use.
    #[error("invalid value {value:?} for property {property}: {reason}")]
    InvalidConfig {
        /// The Kafka property name, e.g. `request.timeout.ms`.
        property: String,
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A configuration property name that no layer of the client knows.
    #[error("unknown property {property}")]
    UnknownProperty {
        /// The property name as given.
        property: String,
    },

    /// No broker could be reached: every address in `bootstrap.servers` and every known broker
    /// failed.
    #[error("no broker could be reached (tried {tried})")]
    NoBrokerAvailable {
        /// The addresses tried, comma-separated.
        tried: String,
        /// The error of the last attempt.
        #[source]
        last: Box<Error>,
    },

    /// Metadata does not name a broker with this node id.
    #[error("no broker with node id {node_id} in the cluster metadata")]
    UnknownNode {
        /// The node id asked for.
        node_id: i32,
    },

    /// A transactional producer's error, typed by what the application must do next (see
    /// [`TransactionErrorKind`]).
    #[error("transaction error ({kind:?}): {message}")]
    Transaction {
        /// How to recover.
        kind: TransactionErrorKind,
        /// What happened.
        message: String,
    },
}

/// What a transactional producer's error asks of the application (Kafka's split between
/// fatal and abortable errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionErrorKind {
    /// Another producer with the same `transactional.id` took over (PRODUCER_FENCED): this
    /// producer can do nothing more; close it (the new one carries on).
    Fenced,
    /// The producer cannot go on for another reason (not authorized, an unsupported
    /// version, the coordinator no longer knows the id, an out-of-order EndTxn): close it.
    Fatal,
    /// The open transaction cannot commit (a record failed, the partition was not in the
    /// transaction, the coordinator aborted it): call `abort_transaction`, then start again.
    Abortable,
    /// The call does not fit the producer's state (commit without begin, a transactional call
    /// on a producer without `transactional.id`, after a fatal error).
    InvalidState,
}

impl Error {
    /// Whether retrying the same operation later may succeed.
    ///
    /// Broker errors follow Kafka's classification ([`ErrorCode::is_retriable`]). Lost or
    /// refused connections, timeouts, unreachable clusters and unknown node ids are retriable
    /// too: the next attempt reconnects or refreshes metadata. Configuration, encoding and
    /// version errors are not: they come back identical on every attempt.
    pub fn is_retriable(&self) -> bool {
        match self {
            Error::Broker { code, .. } => code.is_retriable(),
            Error::Connect { .. }
            | Error::ConnectionLost { .. }
            | Error::Timeout { .. }
            | Error::NoBrokerAvailable { .. }
            | Error::UnknownNode { .. } => true,
            Error::UnsupportedVersion { .. }
            | Error::Encode { .. }
            | Error::InvalidRequest(_)
            | Error::Closed(_)
            | Error::RecordTooLarge(_)
            | Error::InvalidResponse(_)
            | Error::Internal(_)
            | Error::InvalidConfig { .. }
            | Error::UnknownProperty { .. }
            | Error::Authentication { .. }
            | Error::Transaction { .. } => false,
        }
    }

    /// A transactional producer's error of `kind`.
    pub fn transaction(kind: TransactionErrorKind, message: impl Into<String>) -> Self {
        Error::Transaction {
            kind,
            message: message.into(),
        }
    }

    /// The recovery a transactional producer's error asks for, if it is one.
    pub fn transaction_kind(&self) -> Option<TransactionErrorKind> {
        match self {
            Error::Transaction { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// The Kafka error code, for errors a broker answered.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Error::Broker { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A broker error with no message and no topic/partition.
    pub fn broker(code: ErrorCode) -> Self {
        Error::Broker {
            code,
            message: None,
            topic: None,
            partition: None,
        }
    }

    /// A broker error about a topic (and a partition, when `partition` is given).
    pub fn broker_for(
        code: ErrorCode,
        message: Option<String>,
        topic: impl Into<String>,
        partition: Option<i32>,
    ) -> Self {
        Error::Broker {
            code,
            message: message.filter(|m| !m.is_empty()),
            topic: Some(topic.into()),
            partition,
        }
    }

    /// `Ok(())` for error code 0, the broker error otherwise.
    ///
    /// Meant for the error codes of responses: `Error::check(resp.error_code)?`.
    pub fn check(code: i16) -> Result<()> {
        let code = ErrorCode::from_code(code);
        if code.is_ok() {
            Ok(())
        } else {
            Err(Error::broker(code))
        }
    }

    /// The invalid-config error for `property`.
    pub(crate) fn invalid_config(property: &str, value: &str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            property: property.to_string(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// Formats a broker error as `NOT_LEADER_OR_FOLLOWER (6) for orders-3: <message>`.
struct BrokerErrorDisplay<'a> {
    code: ErrorCode,
    message: Option<&'a str>,
    topic: Option<&'a str>,
    partition: Option<i32>,
}

impl<'a> BrokerErrorDisplay<'a> {
    fn new(
        code: &ErrorCode,
        message: &'a Option<String>,
        topic: &'a Option<String>,
        partition: &Option<i32>,
    ) -> Self {
        Self {
            code: *code,
            message: message.as_deref(),
            topic: topic.as_deref(),
            partition: *partition,
        }
    }
}

impl fmt::Display for BrokerErrorDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broker returned {}", self.code)?;
        match (self.topic, self.partition) {
            (Some(topic), Some(partition)) => write!(f, " for {topic}-{partition}")?,
            (Some(topic), None) => write!(f, " for topic {topic}")?,
            (None, Some(partition)) => write!(f, " for partition {partition}")?,
            (None, None) => {}
        }
        // The broker's message is usually more specific than the code's description; show
        // the description only when the broker sent nothing.
        match self.message {
            Some(message) => write!(f, ": {message}"),
            None => write!(f, ": {}", self.code.message()),
        }
    }
}

/// Why a connection stopped working. Shared by every request that was in flight on it, so it
/// is cheap to clone.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Disconnect {
    /// The broker closed the connection.
    #[error("the broker closed the connection")]
    Closed,
    /// Reading or writing the socket failed.
    #[error("socket error")]
    Io(#[source] Arc<std::io::Error>),
    /// A response could not be decoded; the byte stream cannot be trusted any more.
    #[error("undecodable response")]
    Decode(#[source] DecodeError),
    /// A response answered a request that is not in flight.
    #[error("response with unknown correlation id {0}")]
    UnknownCorrelationId(i32),
    /// A request timed out; as in Kafka's Java client, that closes the connection, since the
    /// broker answers a connection's requests in order and every later one would wait too.
    #[error("a {api} request timed out after {} ms", .timeout.as_millis())]
    RequestTimedOut {
        /// The API of the request that timed out.
        api: ApiKey,
        /// The request timeout.
        timeout: Duration,
    },
    /// The client closed the connection (an explicit close, or the last handle was dropped).
    #[error("the client closed the connection")]
    ClosedByClient,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_errors_name_code_topic_partition_and_message() {
        let e = Error::broker_for(
            ErrorCode::NotLeaderOrFollower,
            Some("leader is 2".into()),
            "orders",
            Some(3),
        );
        assert_eq!(
            e.to_string(),
            "broker returned NOT_LEADER_OR_FOLLOWER (6) for orders-3: leader is 2"
        );
        assert!(e.is_retriable());
        assert_eq!(e.code(), Some(ErrorCode::NotLeaderOrFollower));

        let e = Error::broker_for(ErrorCode::TopicAuthorizationFailed, None, "t", None);
        assert_eq!(
            e.to_string(),
            "broker returned TOPIC_AUTHORIZATION_FAILED (29) for topic t: not authorized to access the topic"
        );
        assert!(!e.is_retriable());
    }

    #[test]
    fn other_errors_say_what_and_where() {
        let e = Error::Timeout {
            what: "Fetch request to broker 127.0.0.1:9092".into(),
            timeout: Duration::from_millis(1500),
        };
        assert_eq!(
            e.to_string(),
            "Fetch request to broker 127.0.0.1:9092 timed out after 1500 ms"
        );
        assert!(e.is_retriable());

        let e = Error::invalid_config("request.timeout.ms", "abc", "expected milliseconds");
        assert_eq!(
            e.to_string(),
            "invalid value \"abc\" for property request.timeout.ms: expected milliseconds"
        );
        assert!(!e.is_retriable());

        let e = Error::ConnectionLost {
            broker: "b:1".into(),
            reason: Disconnect::UnknownCorrelationId(7),
        };
        assert_eq!(e.to_string(), "connection to broker b:1 lost");
        let source = std::error::Error::source(&e).map(ToString::to_string);
        assert_eq!(
            source.as_deref(),
            Some("response with unknown correlation id 7")
        );
        assert!(e.is_retriable());
    }

    #[test]
    fn check_maps_codes() {
        assert!(Error::check(0).is_ok());
        let e = Error::check(3).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::UnknownTopicOrPartition));
    }
}
