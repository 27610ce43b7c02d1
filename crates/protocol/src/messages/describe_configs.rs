//! DescribeConfigs (API key 32): v1–v4, flexible from v4.
//!
//! Broker resources go to that broker, topic resources to any broker. v1 adds config
//! sources and synonyms (KIP-226); v3 adds each config's type and documentation (KIP-569).
//! Sensitive values come back null.

kafka_struct! {
    /// A resource whose configs to describe.
    pub struct DescribeConfigsResource {
        /// The resource type (2 topic, 4 broker, 8 broker logger, ...).
        resource_type: i8 [0..],
        /// The resource name (topic name, or broker id as a string).
        resource_name: String [0..],
        /// The config names to describe, or null for all.
        configuration_keys: Option<Vec<String>> [0.., nullable 0..],
    }
}

kafka_message! {
    /// Asks for the configs of topics or brokers.
    pub struct DescribeConfigsRequest: DescribeConfigs, versions 1..=4, flexible 4 {
        /// The resources to describe.
        resources: Vec<DescribeConfigsResource> [0..],
        /// Whether to return each config's synonyms.
        include_synonyms: bool [1.., default false],
        /// Whether to return each config's documentation.
        include_documentation: bool [3.., default false],
    }
}

kafka_struct! {
    /// Another source of a config's value, in precedence order.
    pub struct DescribeConfigsSynonym {
        /// The synonym's config name.
        name: String [1..],
        /// The synonym's value, or null.
        value: Option<String> [1.., nullable 0..],
        /// Where the synonym comes from (a `ConfigSource` code).
        source: i8 [1..],
    }
}

kafka_struct! {
    /// One config of a described resource.
    pub struct DescribeConfigsResourceResult {
        /// The config name.
        name: String [0..],
        /// The config value, or null (e.g. when sensitive).
        value: Option<String> [0.., nullable 0..],
        /// Whether the config is read-only.
        read_only: bool [0..],
        /// Where the value comes from (a `ConfigSource` code), or -1 if unknown.
        config_source: i8 [1.., default -1],
        /// Whether the config is sensitive (its value is then null).
        is_sensitive: bool [0..],
        /// The config's synonyms, if requested.
        synonyms: Vec<DescribeConfigsSynonym> [1..],
        /// The config's data type (1 boolean, 2 string, 3 int, ...), or 0 if unknown.
        config_type: i8 [3.., default 0],
        /// The config's documentation, or null.
        documentation: Option<String> [3.., nullable 0.., default Some(String::new())],
    }
}

kafka_struct! {
    /// The configs of one resource.
    pub struct DescribeConfigsResult {
        /// The error code, or 0.
        error_code: i16 [0..],
        /// The error message, or null.
        error_message: Option<String> [0.., nullable 0..],
        /// The resource type.
        resource_type: i8 [0..],
        /// The resource name.
        resource_name: String [0..],
        /// The resource's configs.
        configs: Vec<DescribeConfigsResourceResult> [0..],
    }
}

kafka_message! {
    /// The configs of the requested resources.
    pub struct DescribeConfigsResponse: DescribeConfigs, versions 1..=4, flexible 4 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// One result per requested resource.
        results: Vec<DescribeConfigsResult> [0..],
    }
}
