//! The Prometheus text exposition format, version 0.0.4: `# HELP` and `# TYPE` lines, then samples.
//! Invariant: every family is written whole (help, type, all its samples) before the next begins,
//! and label values are escaped, so the output always parses.

use std::fmt::Write;

use augchatd_actors::metrics::HistogramSnapshot;

/// The `Content-Type` of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A scrape body being written.
#[derive(Default)]
pub struct Exposition {
    out: String,
}

/// `name="value"` pairs of one sample.
pub type Labels<'a> = &'a [(&'a str, &'a str)];

impl Exposition {
    /// A counter family with one sample.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, help, "counter");
        self.sample(name, &[], value as f64);
    }

    /// A counter family with one sample per label set.
    pub fn counters(&mut self, name: &str, help: &str, samples: &[(Labels<'_>, u64)]) {
        self.family(name, help, "counter");
        for (labels, value) in samples {
            self.sample(name, labels, *value as f64);
        }
    }

    /// A gauge family with one sample.
    pub fn gauge(&mut self, name: &str, help: &str, value: u64) {
        self.gauges(name, help, &[(&[], value)]);
    }

    /// A gauge family with one sample per label set.
    pub fn gauges(&mut self, name: &str, help: &str, samples: &[(Labels<'_>, u64)]) {
        self.family(name, help, "gauge");
        for (labels, value) in samples {
            self.sample(name, labels, *value as f64);
        }
    }

    /// A histogram family with one series per label set.
    pub fn histograms(&mut self, name: &str, help: &str, series: &[(Labels<'_>, HistogramSnapshot)]) {
        self.family(name, help, "histogram");
        let bucket = format!("{name}_bucket");
        for (labels, snapshot) in series {
            for (bound, count) in &snapshot.buckets {
                let le = bound.to_string();
                let mut with_le = labels.to_vec();
                with_le.push(("le", &le));
                self.sample(&bucket, &with_le, *count as f64);
            }
            let mut with_inf = labels.to_vec();
            with_inf.push(("le", "+Inf"));
            self.sample(&bucket, &with_inf, snapshot.count as f64);
            self.sample(&format!("{name}_sum"), labels, snapshot.sum_seconds);
            self.sample(&format!("{name}_count"), labels, snapshot.count as f64);
        }
    }

    /// The finished body.
    pub fn finish(self) -> String {
        self.out
    }

    fn family(&mut self, name: &str, help: &str, kind: &str) {
        let help = help.replace('\\', r"\\").replace('\n', r"\n");
        // Writing to a String cannot fail.
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: Labels<'_>, value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let escaped = value.replace('\\', r"\\").replace('"', "\\\"").replace('\n', r"\n");
                let _ = write!(self.out, "{key}=\"{escaped}\"");
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_is_help_type_then_samples_with_escaped_labels() {
        let mut exposition = Exposition::default();
        exposition.gauges("augchatd_x", "Things.", &[(&[("kind", "a\"b")], 2)]);
        exposition.counter("augchatd_y_total", "More things.", 7);
        assert_eq!(
            exposition.finish(),
            "# HELP augchatd_x Things.\n# TYPE augchatd_x gauge\naugchatd_x{kind=\"a\\\"b\"} 2\n\
             # HELP augchatd_y_total More things.\n# TYPE augchatd_y_total counter\naugchatd_y_total 7\n"
        );
    }

    #[test]
    fn a_histogram_has_cumulative_buckets_inf_sum_and_count() {
        let snapshot = HistogramSnapshot { buckets: vec![(0.5, 1), (1.0, 2)], count: 3, sum_seconds: 4.25 };
        let mut exposition = Exposition::default();
        exposition.histograms("augchatd_h_seconds", "Latency.", &[(&[("provider", "openai")], snapshot)]);
        let body = exposition.finish();
        assert!(body.contains("augchatd_h_seconds_bucket{provider=\"openai\",le=\"0.5\"} 1\n"), "{body}");
        assert!(body.contains("augchatd_h_seconds_bucket{provider=\"openai\",le=\"+Inf\"} 3\n"), "{body}");
        assert!(body.contains("augchatd_h_seconds_sum{provider=\"openai\"} 4.25\n"), "{body}");
        assert!(body.contains("augchatd_h_seconds_count{provider=\"openai\"} 3\n"), "{body}");
    }
}
