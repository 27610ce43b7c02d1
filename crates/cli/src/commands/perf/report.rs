//! What a perf run prints: the setup line, rates and latency percentiles, text or JSON.

use super::*;

impl Report {
    pub(super) fn records_per_sec(&self) -> f64 {
        rate(self.records, self.seconds)
    }

    pub(super) fn percentile_ms(&self, q: f64) -> Option<f64> {
        (!self.latency.is_empty()).then(|| self.latency.value_at_quantile(q) as f64 / 1000.0)
    }

    pub(super) fn print(&self, setup: &Setup) {
        let o = &setup.opts;
        println!("setup: {}", describe(setup));
        let mb = |records: u64, secs: f64| rate(records, secs) * payload_bytes(o) / 1e6;
        match setup.mode {
            Mode::Produce => println!(
                "produce: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                self.records,
                self.seconds,
                self.records_per_sec(),
                mb(self.records, self.seconds)
            ),
            Mode::Consume => println!(
                "consume: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                self.records,
                self.seconds,
                self.records_per_sec(),
                mb(self.records, self.seconds)
            ),
            Mode::EndToEnd => {
                println!(
                    "produce: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                    self.produce_records,
                    self.produce_seconds,
                    rate(self.produce_records, self.produce_seconds),
                    mb(self.produce_records, self.produce_seconds)
                );
                println!(
                    "consume: {} records in {:.2} s: {:.0} records/s, {:.1} MB/s",
                    self.records,
                    self.seconds,
                    self.records_per_sec(),
                    mb(self.records, self.seconds)
                );
            }
        }
        let what = match setup.mode {
            Mode::Produce => "latency (send to ack)",
            Mode::Consume => "latency",
            Mode::EndToEnd => "latency (send to consume)",
        };
        match (
            self.percentile_ms(0.5),
            self.percentile_ms(0.99),
            self.percentile_ms(0.999),
        ) {
            (Some(p50), Some(p99), Some(p999)) => println!(
                "{what}: p50 {p50:.2} ms, p99 {p99:.2} ms, p99.9 {p999:.2} ms, max {:.2} ms",
                self.latency.max() as f64 / 1000.0
            ),
            _ => println!("{what}: not measured (perf e2e measures consume latency)"),
        }
        if let Some(at) = self.worst_at_us {
            println!(
                "slowest record: consumed at +{:.3} s",
                self.since_start_s(at)
            );
        }
        if let Some(h) = &self.hiccups {
            println!(
                "hiccups (1 ms sleeps, worst lateness): own thread {:.2} ms at +{:.3} s, \
                 runtime task {:.2} ms at +{:.3} s",
                h.thread.late_us as f64 / 1000.0,
                self.since_start_s(h.thread.at_us),
                h.runtime.late_us as f64 / 1000.0,
                self.since_start_s(h.runtime.at_us),
            );
        }
        if self.errors > 0 {
            println!(
                "errors: {} ({})",
                self.errors,
                self.first_error.as_deref().unwrap_or("unknown")
            );
        }
    }

    pub(super) fn to_json(&self, setup: &Setup) -> serde_json::Value {
        let o = &setup.opts;
        let bytes = payload_bytes(o);
        serde_json::json!({
            "mode": setup.mode.name(),
            "setup": {
                "brokers": if setup.in_process { "in-process devcluster".to_string() } else { setup.brokers.clone() },
                "devcluster_storage": setup.in_process.then(|| if o.data_dir.is_some() { "disk" } else { "memory" }),
                "topic": o.topic,
                "partitions": o.partitions,
                "replication_factor": o.replication_factor,
                "record_size": o.record_size,
                "keys": o.keys,
                "acks": o.acks,
                "compression": o.compression,
                "producers": o.producers,
                "consumers": o.consumers,
                "rate": o.rate,
                "batch_size": setup.producer.batch_size,
                "linger_ms": setup.producer.linger.as_millis(),
                "idempotence": setup.producer.enable_idempotence && setup.producer.acks == Acks::All,
                "transaction_records": o.transaction_records,
            },
            "records": self.records,
            "seconds": self.seconds,
            "records_per_sec": self.records_per_sec(),
            "mb_per_sec": self.records_per_sec() * bytes / 1e6,
            "produce_records_per_sec": (setup.mode == Mode::EndToEnd).then(|| rate(self.produce_records, self.produce_seconds)),
            "p50_ms": self.percentile_ms(0.5),
            "p99_ms": self.percentile_ms(0.99),
            "p999_ms": self.percentile_ms(0.999),
            "max_ms": (!self.latency.is_empty()).then(|| self.latency.max() as f64 / 1000.0),
            "errors": self.errors,
            "first_error": self.first_error,
            "slowest_record_at_s": self.worst_at_us.map(|at| self.since_start_s(at)),
            "hiccups": self.hiccups.map(|h| serde_json::json!({
                "thread_max_ms": h.thread.late_us as f64 / 1000.0,
                "thread_max_at_s": self.since_start_s(h.thread.at_us),
                "runtime_max_ms": h.runtime.late_us as f64 / 1000.0,
                "runtime_max_at_s": self.since_start_s(h.runtime.at_us),
            })),
        })
    }

    /// Seconds from the start of the measurement to `at_us` (µs since the epoch).
    fn since_start_s(&self, at_us: u64) -> f64 {
        at_us.saturating_sub(self.started_us) as f64 / 1e6
    }
}

pub(super) fn rate(records: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        records as f64 / seconds
    } else {
        0.0
    }
}

pub(super) fn payload_bytes(o: &PerfOptions) -> f64 {
    (o.record_size + if o.keys { 8 } else { 0 }) as f64
}

pub(super) fn describe(setup: &Setup) -> String {
    let o = &setup.opts;
    let p = &setup.producer;
    let target = if setup.in_process {
        format!(
            "in-process 3-broker devcluster ({})",
            if o.data_dir.is_some() {
                "on disk"
            } else {
                "in memory"
            }
        )
    } else {
        setup.brokers.clone()
    };
    let idempotent = p.enable_idempotence && p.acks == Acks::All;
    format!(
        "{} {} records x {} B{}, topic {} ({} partitions, RF {}), acks={}, compression={}, \
         producers={}, consumers={}, rate={}, batch.size={}, linger.ms={}, idempotence={}, \
         transactions={}, brokers={}",
        setup.mode.name(),
        o.records,
        o.record_size,
        if o.keys { " + 8 B key" } else { "" },
        o.topic,
        o.partitions,
        o.replication_factor,
        o.acks,
        o.compression,
        o.producers,
        o.consumers,
        o.rate.map_or("unlimited".to_string(), |r| format!("{r}/s")),
        p.batch_size,
        p.linger.as_millis(),
        idempotent,
        o.transaction_records
            .map_or("none".to_string(), |n| format!("{n} records each")),
        target
    )
}
