//! DeleteTopics (API key 20): v1–v6, flexible from v4.
//!
//! v1–v5 name topics in `topic_names`; v6 names them in `topics`, by name or by topic id
//! (then the name is null). v5 adds per-topic error messages and may answer
//! `THROTTLING_QUOTA_EXCEEDED` (KIP-599).

use uuid::Uuid;

kafka_struct! {
    /// A topic to delete, by name or by id.
    pub struct DeleteTopicState {
        /// The topic name, or null to delete by id.
        name: Option<String> [6.., nullable 6..],
        /// The topic id, or the nil id to delete by name.
        topic_id: Uuid [6..],
    }
}

kafka_message! {
    /// Asks the controller to delete topics.
    pub struct DeleteTopicsRequest: DeleteTopics, versions 1..=6, flexible 4 {
        /// The topics to delete (v6+).
        topics: Vec<DeleteTopicState> [6..],
        /// The names of the topics to delete (before v6).
        topic_names: Vec<String> [0..=5],
        /// How long to wait for the deletions to complete, in ms.
        timeout_ms: i32 [0..],
    }
}

kafka_struct! {
    /// The outcome for one topic.
    pub struct DeletableTopicResult {
        /// The topic name, or null if the topic was named by an unknown id.
        name: Option<String> [0.., nullable 6..],
        /// The topic id.
        topic_id: Uuid [6..],
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [5.., nullable 5..],
    }
}

kafka_message! {
    /// The controller's answer to a DeleteTopics request.
    pub struct DeleteTopicsResponse: DeleteTopics, versions 1..=6, flexible 4 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [1..],
        /// One result per requested topic.
        responses: Vec<DeletableTopicResult> [0..],
    }
}
