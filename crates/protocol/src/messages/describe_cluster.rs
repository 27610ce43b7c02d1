//! DescribeCluster (API key 60): v0–v1, flexible from v0.
//!
//! The admin view of the cluster that replaced Metadata's cluster-authorized-operations
//! (KIP-700). v1 added `endpoint_type` (KIP-919): 1 asks for brokers, 2 for controllers.

kafka_struct! {
    /// A broker in the cluster.
    pub struct DescribeClusterBroker {
        /// The broker's node id.
        broker_id: i32 [0..],
        /// The broker's host name.
        host: String [0..],
        /// The broker's port.
        port: i32 [0..],
        /// The broker's rack, or null when it has none.
        rack: Option<String> [0.., nullable 0.., default None],
    }
}

kafka_message! {
    /// Asks for the cluster id, the controller and the brokers.
    pub struct DescribeClusterRequest: DescribeCluster, versions 0..=1, flexible 0 {
        /// Whether to return the operations the caller may perform on the cluster.
        include_cluster_authorized_operations: bool [0..],
        /// Which endpoints to describe: 1 for brokers, 2 for controllers.
        endpoint_type: i8 [1.., default 1],
    }
}

kafka_message! {
    /// The cluster id, the controller and the brokers.
    pub struct DescribeClusterResponse: DescribeCluster, versions 0..=1, flexible 0 {
        /// How long the client should back off because of a quota, in ms.
        throttle_time_ms: i32 [0..],
        /// The top-level error code, or 0.
        error_code: i16 [0..],
        /// The top-level error message, or null.
        error_message: Option<String> [0.., nullable 0.., default None],
        /// The endpoint type that was described: 1 for brokers, 2 for controllers.
        endpoint_type: i8 [1.., default 1],
        /// The cluster id.
        cluster_id: String [0..],
        /// The controller's node id, or -1 when unknown.
        controller_id: i32 [0.., default -1],
        /// Each broker (or controller) in the cluster.
        brokers: Vec<DescribeClusterBroker> [0..],
        /// A bit field of the operations the caller may perform on the cluster.
        cluster_authorized_operations: i32 [0.., default i32::MIN],
    }
}
