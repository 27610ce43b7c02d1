//! IncrementalAlterConfigs (API key 44): v0–v1, flexible from v1.
//!
//! Changes single configs (set, delete, append, subtract) and leaves the others alone,
//! unlike the older AlterConfigs which replaces a resource's whole config (KIP-339).

kafka_struct! {
    /// One config change.
    pub struct AlterableConfig {
        /// The config name.
        name: String [0..],
        /// The operation: 0 set, 1 delete, 2 append, 3 subtract.
        config_operation: i8 [0..],
        /// The value to set, append or subtract, or null for delete.
        value: Option<String> [0.., nullable 0..],
    }
}

kafka_struct! {
    /// The config changes for one resource.
    pub struct AlterConfigsResource {
        /// The resource type (2 topic, 4 broker, 8 broker logger, ...).
        resource_type: i8 [0..],
        /// The resource name (topic name, or broker id as a string).
        resource_name: String [0..],
        /// The changes.
        configs: Vec<AlterableConfig> [0..],
    }
}

kafka_message! {
    /// Asks to change single configs of topics or brokers.
    pub struct IncrementalAlterConfigsRequest: IncrementalAlterConfigs, versions 0..=1, flexible 1 {
        /// The resources to change.
        resources: Vec<AlterConfigsResource> [0..],
        /// If true, only validate the request; change nothing.
        validate_only: bool [0..],
    }
}

kafka_struct! {
    /// The outcome for one resource.
    pub struct AlterConfigsResourceResponse {
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [0.., nullable 0..],
        /// The resource type.
        resource_type: i8 [0..],
        /// The resource name.
        resource_name: String [0..],
    }
}

kafka_message! {
    /// The answer to an IncrementalAlterConfigs request.
    pub struct IncrementalAlterConfigsResponse: IncrementalAlterConfigs, versions 0..=1, flexible 1 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// One result per requested resource.
        responses: Vec<AlterConfigsResourceResponse> [0..],
    }
}
