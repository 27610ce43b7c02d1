//! In-process Kafka-compatible dev cluster (work in progress).
