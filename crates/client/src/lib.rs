//! Async Kafka client (work in progress).
