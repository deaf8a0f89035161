//! The one table of issue #5's and #7's targets against what this run measured.

use serde_json::Value;

/// One measured value against its target: `met` is `None` when the part was not run.
struct Row {
    measure: String,
    value: String,
    target: &'static str,
    met: Option<bool>,
}

fn row(
    measure: impl Into<String>,
    value: Option<f64>,
    unit: &str,
    target: &'static str,
    ok: impl Fn(f64) -> bool,
) -> Row {
    Row {
        measure: measure.into(),
        value: value.map_or_else(|| "–".to_owned(), |v| format!("{v} {unit}")),
        target,
        met: value.map(ok),
    }
}

/// The relay's level row for `streams` concurrent streams, if the sweep reached it.
fn level(relay: &Value, streams: u64) -> Option<&Value> {
    relay["levels"].as_array()?.iter().find(|r| r["streams"].as_u64() == Some(streams))
}

/// Prints the targets table (Markdown) from the two parts' JSON (`Null` for a part not run).
pub fn print(process: &Value, relay: &Value) {
    let summary = &relay["summary"];
    let at_1000 = level(relay, 1_000);
    let held = summary["most_streams_held"].as_f64();
    let rows = [
        row(
            "added TTFT p99, 1 stream",
            summary["added_ttft_us_one_stream"]["p99"].as_f64(),
            "µs",
            "≤ 500 µs",
            |v| v <= 500.0,
        ),
        row(
            "added per-chunk p99, 1 stream",
            summary["added_chunk_us_one_stream"]["p99"].as_f64(),
            "µs",
            "≤ 20 µs",
            |v| v <= 20.0,
        ),
        row(
            "added TTFT p99, 1,000 streams",
            at_1000.and_then(|r| r["added_ttft_us"]["p99"].as_f64()),
            "µs",
            "≤ 500 µs",
            |v| v <= 500.0,
        ),
        row(
            "added per-chunk p99, 1,000 streams",
            at_1000.and_then(|r| r["added_chunk_us"]["p99"].as_f64()),
            "µs",
            "≤ 20 µs",
            |v| v <= 20.0,
        ),
        row("concurrent streams at 50 tokens/s with no stall", held, "", "≥ 2,000 (#5)", |v| v >= 2_000.0),
        row("open streams with no stall", relay["open_streams"]["held"].as_f64(), "", "≥ 10,000", |v| v >= 10_000.0),
        row(
            "RSS growth per idle session (10,000 sessions)",
            process["idle_sessions"]["rss_growth_kb_per_session"].as_f64(),
            "KB",
            "< 10 KB",
            |v| v < 10.0,
        ),
        row(
            "idle RSS of the daemon",
            process["idle_rss_kb"].as_f64().map(|kb| (kb / 102.4).round() / 10.0),
            "MB",
            "< 32 MB",
            |v| v < 32.0,
        ),
        row(
            "POST /sessions per second, HTTP/1.1 (16 connections)",
            process["sessions"]["per_second"].as_f64(),
            "/s",
            "≥ 2,000",
            |v| v >= 2_000.0,
        ),
        row(
            "POST /sessions per second, HTTP/2 (one connection)",
            process["sessions_http2"]["per_second"].as_f64(),
            "/s",
            "≥ 2,000",
            |v| v >= 2_000.0,
        ),
    ];
    println!("\n| measure | this run | target | met |\n|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not run",
        };
        println!("| {} | {} | {} | {met} |", r.measure, r.value.trim(), r.target);
    }
}
