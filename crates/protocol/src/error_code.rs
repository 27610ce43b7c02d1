//! Kafka's protocol error codes, as one table.
//!
//! Every response carries `i16` error codes; this module turns them into a typed,
//! never-failing [`ErrorCode`] with Kafka's name, a retry hint and a short description.

use std::fmt;

/// Declares [`ErrorCode`] and its lookups from one table.
///
/// Each row is `Variant = (code, "KAFKA_NAME", retriable, "description")`, so a
/// code is written once and `code`, `from_code`, `name`, `is_retriable` and
/// `message` cannot drift apart. A repeated code is an unreachable match arm,
/// which the lints reject.
macro_rules! error_codes {
    ($($variant:ident = ($code:literal, $name:literal, $retriable:literal, $message:literal),)+) => {
        /// A Kafka protocol error code.
        ///
        /// Variants follow Kafka's `Errors` enum (`UNKNOWN_SERVER_ERROR` is
        /// [`ErrorCode::UnknownServerError`], and so on). A code this table does
        /// not know decodes to [`ErrorCode::Unknown`], so decoding never fails.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($code), "): ", $message, ".")]
                $variant,
            )+
            /// A code that this table does not define, kept as received.
            ///
            /// [`ErrorCode::from_code`] only builds it for codes outside the table;
            /// build known codes with `from_code` too, so that equal codes compare equal.
            Unknown(i16),
        }

        impl ErrorCode {
            /// Every code in the table, in ascending code order (without [`ErrorCode::Unknown`]).
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The wire value of this error code.
            #[must_use]
            pub const fn code(self) -> i16 {
                match self {
                    $(ErrorCode::$variant => $code,)+
                    ErrorCode::Unknown(code) => code,
                }
            }

            /// Decodes a wire value; a code not in the table becomes [`ErrorCode::Unknown`].
            #[must_use]
            pub const fn from_code(code: i16) -> ErrorCode {
                match code {
                    $($code => ErrorCode::$variant,)+
                    other => ErrorCode::Unknown(other),
                }
            }

            /// Kafka's name for this code, such as `"NOT_LEADER_OR_FOLLOWER"`;
            /// `"UNKNOWN"` for [`ErrorCode::Unknown`].
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)+
                    ErrorCode::Unknown(_) => "UNKNOWN",
                }
            }

            /// Whether Kafka's Java client treats this error as retriable (its
            /// exception extends `RetriableException`).
            ///
            /// [`ErrorCode::Unknown`] is not retriable, as Kafka maps unknown codes
            /// to `UNKNOWN_SERVER_ERROR`.
            #[must_use]
            pub const fn is_retriable(self) -> bool {
                match self {
                    $(ErrorCode::$variant => $retriable,)+
                    ErrorCode::Unknown(_) => false,
                }
            }

            /// A short lowercase description of the error.
            #[must_use]
            pub const fn message(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $message,)+
                    ErrorCode::Unknown(_) => "the error code is not known to this client",
                }
            }
        }
    };
}

error_codes! {
    UnknownServerError = (-1, "UNKNOWN_SERVER_ERROR", false, "the server hit an unexpected error while handling the request"),
    None = (0, "NONE", false, "no error"),
    OffsetOutOfRange = (1, "OFFSET_OUT_OF_RANGE", false, "the requested offset is outside the range the partition holds"),
    CorruptMessage = (2, "CORRUPT_MESSAGE", true, "a message failed its checksum, is oversized or is otherwise malformed"),
    UnknownTopicOrPartition = (3, "UNKNOWN_TOPIC_OR_PARTITION", true, "this broker does not host the topic-partition"),
    InvalidFetchSize = (4, "INVALID_FETCH_SIZE", false, "the requested fetch size is not valid"),
    LeaderNotAvailable = (5, "LEADER_NOT_AVAILABLE", true, "the partition has no leader right now, usually during an election"),
    NotLeaderOrFollower = (6, "NOT_LEADER_OR_FOLLOWER", true, "this broker is not the leader, or not a replica, of the partition"),
    RequestTimedOut = (7, "REQUEST_TIMED_OUT", true, "the request did not complete in time"),
    BrokerNotAvailable = (8, "BROKER_NOT_AVAILABLE", false, "the broker is not available"),
    ReplicaNotAvailable = (9, "REPLICA_NOT_AVAILABLE", true, "the replica for the partition is not available"),
    MessageTooLarge = (10, "MESSAGE_TOO_LARGE", false, "a message is larger than the broker accepts"),
    StaleControllerEpoch = (11, "STALE_CONTROLLER_EPOCH", false, "the controller has moved to another broker"),
    OffsetMetadataTooLarge = (12, "OFFSET_METADATA_TOO_LARGE", false, "the metadata attached to the offset commit is too large"),
    NetworkException = (13, "NETWORK_EXCEPTION", true, "the connection closed before a response arrived"),
    CoordinatorLoadInProgress = (14, "COORDINATOR_LOAD_IN_PROGRESS", true, "the coordinator is still loading its state"),
    CoordinatorNotAvailable = (15, "COORDINATOR_NOT_AVAILABLE", true, "the coordinator is not available"),
    NotCoordinator = (16, "NOT_COORDINATOR", true, "this broker is not the coordinator for the group or transaction"),
    InvalidTopicException = (17, "INVALID_TOPIC_EXCEPTION", false, "the request refers to an invalid topic"),
    RecordListTooLarge = (18, "RECORD_LIST_TOO_LARGE", false, "a record batch is larger than the log segment size"),
    NotEnoughReplicas = (19, "NOT_ENOUGH_REPLICAS", true, "too few in-sync replicas to accept the write"),
    NotEnoughReplicasAfterAppend = (20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "the write was appended but reached too few in-sync replicas"),
    InvalidRequiredAcks = (21, "INVALID_REQUIRED_ACKS", false, "the produce request has an invalid acks value"),
    IllegalGeneration = (22, "ILLEGAL_GENERATION", false, "the group generation id is not current"),
    InconsistentGroupProtocol = (23, "INCONSISTENT_GROUP_PROTOCOL", false, "the member's protocols do not match the group's or are empty"),
    InvalidGroupId = (24, "INVALID_GROUP_ID", false, "the group id is not valid"),
    UnknownMemberId = (25, "UNKNOWN_MEMBER_ID", false, "the coordinator does not know this member id"),
    InvalidSessionTimeout = (26, "INVALID_SESSION_TIMEOUT", false, "the session timeout is outside the range the broker allows"),
    RebalanceInProgress = (27, "REBALANCE_IN_PROGRESS", false, "the group is rebalancing and the member must rejoin"),
    InvalidCommitOffsetSize = (28, "INVALID_COMMIT_OFFSET_SIZE", false, "the size of the offset commit data is not valid"),
    TopicAuthorizationFailed = (29, "TOPIC_AUTHORIZATION_FAILED", false, "not authorized to access the topic"),
    GroupAuthorizationFailed = (30, "GROUP_AUTHORIZATION_FAILED", false, "not authorized to access the group"),
    ClusterAuthorizationFailed = (31, "CLUSTER_AUTHORIZATION_FAILED", false, "not authorized for the cluster operation"),
    InvalidTimestamp = (32, "INVALID_TIMESTAMP", false, "a message timestamp is outside the accepted range"),
    UnsupportedSaslMechanism = (33, "UNSUPPORTED_SASL_MECHANISM", false, "the broker does not support this sasl mechanism"),
    IllegalSaslState = (34, "ILLEGAL_SASL_STATE", false, "the request is not allowed in the current sasl state"),
    UnsupportedVersion = (35, "UNSUPPORTED_VERSION", false, "the broker does not support this api version"),
    TopicAlreadyExists = (36, "TOPIC_ALREADY_EXISTS", false, "a topic with this name already exists"),
    InvalidPartitions = (37, "INVALID_PARTITIONS", false, "the partition count is not valid"),
    InvalidReplicationFactor = (38, "INVALID_REPLICATION_FACTOR", false, "the replication factor is not valid for this cluster"),
    InvalidReplicaAssignment = (39, "INVALID_REPLICA_ASSIGNMENT", false, "the replica assignment is not valid"),
    InvalidConfig = (40, "INVALID_CONFIG", false, "the configuration is not valid"),
    NotController = (41, "NOT_CONTROLLER", true, "this node is not the active controller"),
    InvalidRequest = (42, "INVALID_REQUEST", false, "the request is malformed or not supported by this broker"),
    UnsupportedForMessageFormat = (43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, "the broker's message format version does not support the request"),
    PolicyViolation = (44, "POLICY_VIOLATION", false, "the request breaks a configured broker policy"),
    OutOfOrderSequenceNumber = (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, "the broker got a producer sequence number out of order"),
    DuplicateSequenceNumber = (46, "DUPLICATE_SEQUENCE_NUMBER", false, "the broker got a duplicate producer sequence number"),
    InvalidProducerEpoch = (47, "INVALID_PRODUCER_EPOCH", false, "the producer epoch is older than the current one"),
    InvalidTxnState = (48, "INVALID_TXN_STATE", false, "the transactional operation is not allowed in the current state"),
    InvalidProducerIdMapping = (49, "INVALID_PRODUCER_ID_MAPPING", false, "the producer id is not assigned to this transactional id"),
    InvalidTransactionTimeout = (50, "INVALID_TRANSACTION_TIMEOUT", false, "the transaction timeout exceeds the broker maximum"),
    ConcurrentTransactions = (51, "CONCURRENT_TRANSACTIONS", true, "another operation on the same transaction is still in progress"),
    TransactionCoordinatorFenced = (52, "TRANSACTION_COORDINATOR_FENCED", false, "the sending transaction coordinator is no longer current"),
    TransactionalIdAuthorizationFailed = (53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, "not authorized to use the transactional id"),
    SecurityDisabled = (54, "SECURITY_DISABLED", false, "security features are disabled on the broker"),
    OperationNotAttempted = (55, "OPERATION_NOT_ATTEMPTED", false, "the broker skipped this operation because another in the batch failed"),
    KafkaStorageError = (56, "KAFKA_STORAGE_ERROR", true, "the broker hit a disk error accessing the log"),
    LogDirNotFound = (57, "LOG_DIR_NOT_FOUND", false, "the log directory is not in the broker configuration"),
    SaslAuthenticationFailed = (58, "SASL_AUTHENTICATION_FAILED", false, "sasl authentication failed"),
    UnknownProducerId = (59, "UNKNOWN_PRODUCER_ID", false, "the broker has no state for this producer id"),
    ReassignmentInProgress = (60, "REASSIGNMENT_IN_PROGRESS", false, "a partition reassignment is in progress"),
    DelegationTokenAuthDisabled = (61, "DELEGATION_TOKEN_AUTH_DISABLED", false, "delegation tokens are not enabled"),
    DelegationTokenNotFound = (62, "DELEGATION_TOKEN_NOT_FOUND", false, "the delegation token does not exist"),
    DelegationTokenOwnerMismatch = (63, "DELEGATION_TOKEN_OWNER_MISMATCH", false, "the principal is not the token's owner or renewer"),
    DelegationTokenRequestNotAllowed = (64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false, "delegation token requests are not allowed on this connection"),
    DelegationTokenAuthorizationFailed = (65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, "not authorized for the delegation token operation"),
    DelegationTokenExpired = (66, "DELEGATION_TOKEN_EXPIRED", false, "the delegation token has expired"),
    InvalidPrincipalType = (67, "INVALID_PRINCIPAL_TYPE", false, "the principal type is not supported"),
    NonEmptyGroup = (68, "NON_EMPTY_GROUP", false, "the group still has members"),
    GroupIdNotFound = (69, "GROUP_ID_NOT_FOUND", false, "the group does not exist"),
    FetchSessionIdNotFound = (70, "FETCH_SESSION_ID_NOT_FOUND", true, "the fetch session id is not known to the broker"),
    InvalidFetchSessionEpoch = (71, "INVALID_FETCH_SESSION_EPOCH", true, "the fetch session epoch is not valid"),
    ListenerNotFound = (72, "LISTENER_NOT_FOUND", true, "the leader has no listener matching the one the metadata came from"),
    TopicDeletionDisabled = (73, "TOPIC_DELETION_DISABLED", false, "topic deletion is disabled on the cluster"),
    FencedLeaderEpoch = (74, "FENCED_LEADER_EPOCH", true, "the request's leader epoch is older than the broker's"),
    UnknownLeaderEpoch = (75, "UNKNOWN_LEADER_EPOCH", true, "the request's leader epoch is newer than the broker's"),
    UnsupportedCompressionType = (76, "UNSUPPORTED_COMPRESSION_TYPE", false, "the client does not support the partition's compression type"),
    StaleBrokerEpoch = (77, "STALE_BROKER_EPOCH", false, "the broker epoch has changed"),
    OffsetNotAvailable = (78, "OFFSET_NOT_AVAILABLE", true, "the new leader's high watermark has not caught up yet"),
    MemberIdRequired = (79, "MEMBER_ID_REQUIRED", false, "the member must rejoin with the member id the coordinator assigned"),
    PreferredLeaderNotAvailable = (80, "PREFERRED_LEADER_NOT_AVAILABLE", true, "the preferred leader is not available"),
    GroupMaxSizeReached = (81, "GROUP_MAX_SIZE_REACHED", false, "the group is already at its maximum size"),
    FencedInstanceId = (82, "FENCED_INSTANCE_ID", false, "another member registered with the same group instance id"),
    EligibleLeadersNotAvailable = (83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, "no eligible leader is available for the partition"),
    ElectionNotNeeded = (84, "ELECTION_NOT_NEEDED", true, "the partition does not need a leader election"),
    NoReassignmentInProgress = (85, "NO_REASSIGNMENT_IN_PROGRESS", false, "no partition reassignment is in progress"),
    GroupSubscribedToTopic = (86, "GROUP_SUBSCRIBED_TO_TOPIC", false, "cannot delete offsets of a topic the group is subscribed to"),
    InvalidRecord = (87, "INVALID_RECORD", false, "the broker rejected a record that failed validation"),
    UnstableOffsetCommit = (88, "UNSTABLE_OFFSET_COMMIT", true, "pending transactional offsets must resolve first"),
    ThrottlingQuotaExceeded = (89, "THROTTLING_QUOTA_EXCEEDED", true, "the request exceeded a throttling quota"),
    ProducerFenced = (90, "PRODUCER_FENCED", false, "a newer producer with the same transactional id fenced this one"),
    ResourceNotFound = (91, "RESOURCE_NOT_FOUND", false, "the request refers to a resource that does not exist"),
    DuplicateResource = (92, "DUPLICATE_RESOURCE", false, "the request refers to the same resource twice"),
    UnacceptableCredential = (93, "UNACCEPTABLE_CREDENTIAL", false, "the credential does not meet the acceptance criteria"),
    InconsistentVoterSet = (94, "INCONSISTENT_VOTER_SET", false, "the sender or receiver is not one of the expected voters"),
    InvalidUpdateVersion = (95, "INVALID_UPDATE_VERSION", false, "the update version is not valid"),
    FeatureUpdateFailed = (96, "FEATURE_UPDATE_FAILED", false, "the finalized features could not be updated"),
    PrincipalDeserializationFailure = (97, "PRINCIPAL_DESERIALIZATION_FAILURE", false, "the forwarded request principal could not be deserialized"),
    SnapshotNotFound = (98, "SNAPSHOT_NOT_FOUND", false, "the requested snapshot does not exist"),
    PositionOutOfRange = (99, "POSITION_OUT_OF_RANGE", false, "the position is outside the snapshot"),
    UnknownTopicId = (100, "UNKNOWN_TOPIC_ID", true, "this broker does not host the topic id"),
    DuplicateBrokerRegistration = (101, "DUPLICATE_BROKER_REGISTRATION", false, "the broker id is already registered"),
    BrokerIdNotRegistered = (102, "BROKER_ID_NOT_REGISTERED", false, "the broker id is not registered"),
    InconsistentTopicId = (103, "INCONSISTENT_TOPIC_ID", true, "the topic id does not match the log's topic id"),
    InconsistentClusterId = (104, "INCONSISTENT_CLUSTER_ID", false, "the cluster id does not match this server's"),
    TransactionalIdNotFound = (105, "TRANSACTIONAL_ID_NOT_FOUND", false, "the transactional id does not exist"),
    FetchSessionTopicIdError = (106, "FETCH_SESSION_TOPIC_ID_ERROR", true, "the fetch session used topic ids inconsistently"),
    IneligibleReplica = (107, "INELIGIBLE_REPLICA", false, "the proposed isr contains an ineligible replica"),
    NewLeaderElected = (108, "NEW_LEADER_ELECTED", false, "the partition state was updated but a new leader was elected"),
    OffsetMovedToTieredStorage = (109, "OFFSET_MOVED_TO_TIERED_STORAGE", false, "the requested offset now lives in tiered storage"),
    FencedMemberEpoch = (110, "FENCED_MEMBER_EPOCH", false, "the member epoch is fenced and the member must rejoin"),
    UnreleasedInstanceId = (111, "UNRELEASED_INSTANCE_ID", false, "another member still holds the group instance id"),
    UnsupportedAssignor = (112, "UNSUPPORTED_ASSIGNOR", false, "the group does not support this assignor or version"),
    StaleMemberEpoch = (113, "STALE_MEMBER_EPOCH", false, "the member epoch is out of date"),
    MismatchedEndpointType = (114, "MISMATCHED_ENDPOINT_TYPE", false, "the request went to the wrong kind of endpoint"),
    UnsupportedEndpointType = (115, "UNSUPPORTED_ENDPOINT_TYPE", false, "this endpoint type is not supported"),
    UnknownControllerId = (116, "UNKNOWN_CONTROLLER_ID", false, "the controller id is not known"),
    UnknownSubscriptionId = (117, "UNKNOWN_SUBSCRIPTION_ID", false, "the telemetry subscription id is unknown or outdated"),
    TelemetryTooLarge = (118, "TELEMETRY_TOO_LARGE", false, "the telemetry payload is larger than the broker accepts"),
    InvalidRegistration = (119, "INVALID_REGISTRATION", false, "the controller considers the broker registration invalid"),
    TransactionAbortable = (120, "TRANSACTION_ABORTABLE", false, "the transaction failed and the client should abort it"),
    InvalidRecordState = (121, "INVALID_RECORD_STATE", false, "the record state does not allow this acknowledgement"),
    ShareSessionNotFound = (122, "SHARE_SESSION_NOT_FOUND", true, "the share session does not exist"),
    InvalidShareSessionEpoch = (123, "INVALID_SHARE_SESSION_EPOCH", true, "the share session epoch is not valid"),
    FencedStateEpoch = (124, "FENCED_STATE_EPOCH", false, "the share group state epoch does not match"),
    InvalidVoterKey = (125, "INVALID_VOTER_KEY", false, "the voter key does not match this replica's key"),
    DuplicateVoter = (126, "DUPLICATE_VOTER", false, "the voter is already in the voter set"),
    VoterNotFound = (127, "VOTER_NOT_FOUND", false, "the voter is not in the voter set"),
    InvalidRegularExpression = (128, "INVALID_REGULAR_EXPRESSION", false, "the regular expression is not valid"),
    RebootstrapRequired = (129, "REBOOTSTRAP_REQUIRED", false, "the client metadata is stale and the client must rebootstrap"),
    StreamsInvalidTopology = (130, "STREAMS_INVALID_TOPOLOGY", false, "the streams topology is not valid"),
    StreamsInvalidTopologyEpoch = (131, "STREAMS_INVALID_TOPOLOGY_EPOCH", false, "the streams topology epoch is not valid"),
    StreamsTopologyFenced = (132, "STREAMS_TOPOLOGY_FENCED", false, "the streams topology epoch is out of date"),
    ShareSessionLimitReached = (133, "SHARE_SESSION_LIMIT_REACHED", true, "the broker has reached its share session limit"),
    GroupDeletionFailed = (134, "GROUP_DELETION_FAILED", false, "the group could not be deleted"),
    StreamsTopologyDescriptionUpdateFailed = (135, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED", false, "the streams topology description could not be stored"),
    ControllerIdNotRegistered = (136, "CONTROLLER_ID_NOT_REGISTERED", false, "the controller id is not registered"),
}

impl ErrorCode {
    /// Whether this is the success code `NONE` (0).
    #[must_use]
    pub const fn is_ok(self) -> bool {
        self.code() == 0
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

impl From<i16> for ErrorCode {
    fn from(code: i16) -> Self {
        ErrorCode::from_code(code)
    }
}

impl From<ErrorCode> for i16 {
    fn from(error: ErrorCode) -> Self {
        error.code()
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;
    use std::collections::HashSet;

    /// Converts a variant name such as `NotLeaderOrFollower` to `NOT_LEADER_OR_FOLLOWER`.
    fn screaming_snake(variant: &str) -> String {
        let mut out = String::new();
        for (i, ch) in variant.chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_uppercase());
        }
        out
    }

    #[test]
    fn every_code_round_trips() {
        for &error in ErrorCode::ALL {
            let code = error.code();
            assert_eq!(ErrorCode::from_code(code), error, "{error}");
            assert_eq!(ErrorCode::from(code), error);
            assert_eq!(i16::from(error), code);
            assert!(!matches!(error, ErrorCode::Unknown(_)));
        }
    }

    #[test]
    fn table_is_complete_and_contiguous() {
        let codes: Vec<i16> = ErrorCode::ALL.iter().map(|e| e.code()).collect();
        let expected: Vec<i16> = (-1..=136).collect();
        assert_eq!(codes, expected);
        assert_eq!(ErrorCode::ALL.len(), 138);
    }

    #[test]
    fn names_are_unique_and_match_variants() {
        let mut seen = HashSet::new();
        for &error in ErrorCode::ALL {
            assert!(seen.insert(error.name()), "duplicate name {}", error.name());
            assert_eq!(screaming_snake(&format!("{error:?}")), error.name());
        }
    }

    #[test]
    fn messages_are_short_lowercase_phrases() {
        for &error in ErrorCode::ALL {
            let message = error.message();
            assert!(!message.is_empty(), "{error}");
            assert!(!message.ends_with('.'), "{error}: {message}");
            assert!(
                !message.starts_with(|c: char| c.is_ascii_uppercase()),
                "{error}: {message}"
            );
        }
    }

    #[test]
    fn known_facts() {
        let cases = [
            (-1, "UNKNOWN_SERVER_ERROR", false),
            (0, "NONE", false),
            (1, "OFFSET_OUT_OF_RANGE", false),
            (2, "CORRUPT_MESSAGE", true),
            (3, "UNKNOWN_TOPIC_OR_PARTITION", true),
            (6, "NOT_LEADER_OR_FOLLOWER", true),
            (7, "REQUEST_TIMED_OUT", true),
            (27, "REBALANCE_IN_PROGRESS", false),
            (35, "UNSUPPORTED_VERSION", false),
            (41, "NOT_CONTROLLER", true),
            (45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false),
            (58, "SASL_AUTHENTICATION_FAILED", false),
            (74, "FENCED_LEADER_EPOCH", true),
            (79, "MEMBER_ID_REQUIRED", false),
            (90, "PRODUCER_FENCED", false),
            (133, "SHARE_SESSION_LIMIT_REACHED", true),
        ];
        for (code, name, retriable) in cases {
            let error = ErrorCode::from_code(code);
            assert_eq!(error.name(), name);
            assert_eq!(error.is_retriable(), retriable, "{error}");
        }
        assert_eq!(ErrorCode::from_code(6), ErrorCode::NotLeaderOrFollower);
        assert_eq!(ErrorCode::from_code(3), ErrorCode::UnknownTopicOrPartition);
        assert_eq!(ErrorCode::from_code(35), ErrorCode::UnsupportedVersion);
        assert_eq!(
            ErrorCode::from_code(58),
            ErrorCode::SaslAuthenticationFailed
        );
        assert_eq!(ErrorCode::from_code(74), ErrorCode::FencedLeaderEpoch);
        assert_eq!(ErrorCode::from_code(79), ErrorCode::MemberIdRequired);
        assert_eq!(
            ErrorCode::from_code(45),
            ErrorCode::OutOfOrderSequenceNumber
        );
    }

    #[test]
    fn unknown_code_is_preserved() {
        let error = ErrorCode::from_code(9999);
        assert_eq!(error, ErrorCode::Unknown(9999));
        assert_eq!(error.code(), 9999);
        assert_eq!(i16::from(error), 9999);
        assert_eq!(error.name(), "UNKNOWN");
        assert!(!error.is_retriable());
        assert!(!error.is_ok());
        assert_eq!(error.to_string(), "UNKNOWN (9999)");
        for code in [i16::MIN, -2, 137, i16::MAX] {
            assert_eq!(ErrorCode::from_code(code), ErrorCode::Unknown(code));
        }
    }

    #[test]
    fn ok_and_display() {
        assert!(ErrorCode::None.is_ok());
        assert!(ErrorCode::from_code(0).is_ok());
        assert!(!ErrorCode::UnknownServerError.is_ok());
        assert_eq!(
            ErrorCode::NotLeaderOrFollower.to_string(),
            "NOT_LEADER_OR_FOLLOWER (6)"
        );
        assert_eq!(
            ErrorCode::UnknownServerError.to_string(),
            "UNKNOWN_SERVER_ERROR (-1)"
        );
    }
}
