//! `GET /metrics` (issue 7 item 4): Prometheus text format 0.0.4, counters that move with what the
//! daemon does, and the optional bearer token.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::server::TestServer;

/// One scrape, parsed: `name{label="value",…}` (labels sorted, `le` included) → value.
pub struct Scrape(HashMap<String, f64>);

impl Scrape {
    /// Parses the text exposition format strictly enough to catch a malformed body: every sample
    /// belongs to a family whose `# TYPE` came before it, labels are `key="escaped value"`, values are
    /// floats, and a histogram's buckets are cumulative and end in `+Inf` = `_count`.
    pub fn parse(body: &str) -> Self {
        let mut types: HashMap<String, String> = HashMap::new();
        let mut samples = HashMap::new();
        for line in body.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').unwrap();
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                assert!(types.insert(name.to_owned(), kind.to_owned()).is_none(), "family declared twice: {line}");
                continue;
            }
            if line.starts_with("# HELP ") || line.is_empty() {
                continue;
            }
            assert!(!line.starts_with('#'), "unknown comment: {line}");
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("not a float: {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series, Vec::new()),
                Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').unwrap())),
            };
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| {
                    name.strip_suffix(suffix).filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            assert!(types.contains_key(family), "sample before its # TYPE: {line}");
            let mut labels = labels;
            labels.sort();
            let key = format!(
                "{name}{{{}}}",
                labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect::<Vec<_>>().join(",")
            );
            assert!(samples.insert(key, value).is_none(), "duplicate sample: {line}");
        }
        let scrape = Self(samples);
        scrape.check_histograms(&types);
        scrape
    }

    fn check_histograms(&self, types: &HashMap<String, String>) {
        for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
            let prefix = format!("{family}_bucket{{");
            let mut buckets: Vec<(String, f64, f64)> = self
                .0
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| {
                    let le = k.split("le=\"").nth(1).unwrap().split('"').next().unwrap();
                    let other = k.replace(&format!("le=\"{le}\""), "");
                    let le = if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap() };
                    (other, le, *v)
                })
                .collect();
            assert!(!buckets.is_empty(), "{family} has no buckets");
            buckets.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
            for pair in buckets.windows(2).filter(|w| w[0].0 == w[1].0) {
                assert!(pair[0].2 <= pair[1].2, "{family} buckets are not cumulative: {pair:?}");
            }
        }
    }

    /// The value of `series` (written as in the body, labels in sorted order), if present.
    pub fn get(&self, series: &str) -> Option<f64> {
        self.0.get(series).copied()
    }

    /// The value of `series`, which must be present.
    pub fn value(&self, series: &str) -> f64 {
        self.get(series).unwrap_or_else(|| panic!("no sample {series}; have {:?}", self.0.keys()))
    }
}

fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap();
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "bad label name {key}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().unwrap() {
                (_, '\\') => match chars.next().unwrap().1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.push((key.to_owned(), value));
        rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
    }
    labels
}

async fn scrape(srv: &TestServer, token: Option<&str>) -> (u16, String, String) {
    let mut request = srv.browser.get(srv.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, res.text().await.unwrap())
}

async fn scraped(srv: &TestServer) -> Scrape {
    let (status, content_type, body) = scrape(srv, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    Scrape::parse(&body)
}

/// Scrapes until `done` holds (the flusher and the turn's bookkeeping finish after the response).
async fn scraped_until(srv: &TestServer, done: impl Fn(&Scrape) -> bool) -> Scrape {
    for _ in 0..100 {
        let scrape = scraped(srv).await;
        if done(&scrape) {
            return scrape;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    scraped(srv).await
}

#[actix_web::test]
async fn metrics_parse_and_move_when_a_session_is_minted_a_chat_runs_and_a_flush_happens() {
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "200".into());
    })
    .await;
    let before = scraped(&srv).await;
    assert_eq!(before.value("augchatd_sessions{}"), 0.0);
    assert_eq!(before.value("augchatd_sessions_minted_total{}"), 0.0);
    assert_eq!(before.value("augchatd_chat_streams_started_total{}"), 0.0);
    assert_eq!(before.value("augchatd_flush_attempts_total{}"), 0.0);
    assert_eq!(before.value("augchatd_upstream_response_seconds_count{provider=\"anthropic\"}"), 0.0);
    assert_eq!(before.value("augchatd_read_only_users{}"), 0.0);

    let (_, jwt) = srv.mint("u").await;
    let minted = scraped(&srv).await;
    assert_eq!(minted.value("augchatd_sessions{}"), 1.0);
    assert_eq!(minted.value("augchatd_sessions_minted_total{}"), 1.0);
    assert_eq!(minted.value("augchatd_actors{kind=\"session\",state=\"running\"}"), 1.0);
    assert_eq!(
        minted.value("augchatd_actors{kind=\"user_db\",state=\"running\"}"),
        0.0,
        "a writer starts on first use"
    );

    let turn =
        json!({"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]});
    let (status, _, _) = srv.chat(&jwt, &turn).await;
    assert_eq!(status, 200);
    let after = scraped_until(&srv, |s| {
        s.value("augchatd_flush_attempts_total{}") >= 1.0 && s.value("augchatd_chat_streams_open{}") == 0.0
    })
    .await;
    assert_eq!(after.value("augchatd_chat_streams_started_total{}"), 1.0);
    assert_eq!(after.value("augchatd_actors{kind=\"user_db\",state=\"running\"}"), 1.0);
    assert_eq!(after.value("augchatd_chat_streams_open{}"), 0.0, "the stream is closed");
    assert_eq!(after.value("augchatd_upstream_response_seconds_count{provider=\"anthropic\"}"), 1.0);
    assert_eq!(after.value("augchatd_upstream_response_seconds_bucket{le=\"+Inf\",provider=\"anthropic\"}"), 1.0);
    assert!(after.value("augchatd_flush_attempts_total{}") >= 1.0);
    assert_eq!(after.value("augchatd_flush_failures_total{}"), 0.0);
    assert!(after.value("augchatd_flush_duration_seconds_count{}") >= 1.0);
    assert!(srv.s3.object("chats/acme/u/c1.json").is_some(), "the flush the counters saw reached the bucket");
    let flushers: f64 = ["idle", "flushing", "backing_off"]
        .iter()
        .map(|state| after.value(&format!("augchatd_actors{{kind=\"flusher\",state=\"{state}\"}}")))
        .sum();
    assert_eq!(flushers, 1.0, "one conversation, one flusher");
    assert_eq!(after.value("augchatd_actor_restarts_total{kind=\"flusher\"}"), 0.0);
}

#[actix_web::test]
async fn failed_flushes_are_counted_and_the_flusher_backs_off() {
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_FLUSH_IDLE_MS".into(), "100".into());
        env.insert("AUGCHATD_FLUSH_STALLED_MS".into(), "300".into());
    })
    .await;
    let (_, jwt) = srv.mint("u").await;
    // Created while the bucket works (creating reads the bucket first), then written while it fails.
    assert_eq!(srv.post_with_jwt("/conversations", &jwt, &json!({"conversation_id": "c1"})).await.0, 201);
    scraped_until(&srv, |s| s.value("augchatd_flush_attempts_total{}") >= 1.0).await;
    srv.s3.set_failing(true);
    let turn =
        json!({"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]});
    assert_eq!(srv.chat(&jwt, &turn).await.0, 200);
    let failing = scraped_until(&srv, |s| {
        s.value("augchatd_flush_failures_total{}") >= 2.0 && s.value("augchatd_read_only_users{}") == 1.0
    })
    .await;
    assert!(failing.value("augchatd_flush_failures_total{}") >= 2.0);
    assert_eq!(failing.value("augchatd_read_only_users{}"), 1.0, "past AUGCHATD_FLUSH_STALLED_MS");
    srv.s3.set_failing(false);
    let recovered = scraped_until(&srv, |s| s.value("augchatd_read_only_users{}") == 0.0).await;
    assert_eq!(recovered.value("augchatd_read_only_users{}"), 0.0);
    assert_eq!(recovered.value("augchatd_actors{kind=\"flusher\",state=\"backing_off\"}"), 0.0);
}

#[actix_web::test]
async fn the_metrics_token_is_enforced_and_never_echoed() {
    const TOKEN: &str = "metrics-token-7f3a9c";
    let srv = TestServer::start(|env, _| {
        env.insert("AUGCHATD_METRICS_TOKEN".into(), TOKEN.into());
    })
    .await;
    for presented in [None, Some("wrong-token"), Some("metrics-token-7f3a9")] {
        let (status, content_type, body) = scrape(&srv, presented).await;
        assert_eq!(status, 401, "{presented:?}");
        assert!(content_type.starts_with("application/json"), "{content_type}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), json!({"error": "metrics_unauthorized"}));
        assert!(!body.contains(TOKEN));
    }
    let res = srv.browser.get(srv.url("/metrics")).header("authorization", format!("Basic {TOKEN}")).send().await;
    assert_eq!(res.unwrap().status(), 401, "only the bearer scheme");
    let (status, _, body) = scrape(&srv, Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(!body.contains(TOKEN));
    Scrape::parse(&body);
}

#[actix_web::test]
async fn metrics_are_served_in_demo_mode_too() {
    let srv = TestServer::offline_demo().await;
    let jwt = srv.demo_jwt().await;
    let turn =
        json!({"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}]});
    assert_eq!(srv.chat(&jwt, &turn).await.0, 200);
    let scrape = scraped(&srv).await;
    assert_eq!(scrape.value("augchatd_sessions_minted_total{}"), 1.0);
    assert_eq!(scrape.value("augchatd_chat_streams_started_total{}"), 1.0);
    // The offline model has no upstream to time.
    assert_eq!(scrape.value("augchatd_upstream_response_seconds_count{provider=\"anthropic\"}"), 0.0);
}
