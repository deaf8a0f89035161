//! The `retrieval error: HTTP <status> <body[0..200]>` text (SPEC §5.6), with upstream URLs scrubbed
//! (SPEC §4.3, §12 decision 22): the model sees it, and the browser sees what the model sees.
//! Invariant: the text never holds a URL, the cluster's host or a connector credential; it is cut on
//! character boundaries.

use augchatd_actors::record::RagAuth;

/// How much of the upstream body is quoted.
const QUOTED_CHARS: usize = 200;
/// What a URL becomes.
const URL_MARK: &str = "<url>";
/// What the cluster's host becomes when it appears without a scheme (`os.internal:9200`).
const HOST_MARK: &str = "<cluster>";
/// What a credential becomes.
const SECRET_MARK: &str = "***";

/// The values one connector's error texts must not contain, besides URLs in general.
pub(super) struct Redactions<'a> {
    /// The cluster's host name, when it parses.
    host: Option<String>,
    /// The raw credential values.
    secrets: Vec<&'a str>,
}

impl<'a> Redactions<'a> {
    /// The host of `cluster` and every credential of `auth`.
    pub(super) fn new(cluster: &str, auth: &'a RagAuth) -> Self {
        let host = url::Url::parse(cluster).ok().and_then(|url| url.host_str().map(str::to_owned));
        let secrets = match auth {
            RagAuth::None => Vec::new(),
            RagAuth::Bearer(token) => vec![token.expose()],
            RagAuth::Basic(basic) => vec![basic.username.expose(), basic.password.expose()],
        };
        Self { host, secrets }
    }
}

/// `retrieval error: HTTP <status> <body>` with the body scrubbed, then cut to 200 characters. Scrubbing
/// first means a URL cut in half by the 200 limit is already gone.
pub(super) fn http_error(status: u16, body: &str, redactions: &Redactions<'_>) -> String {
    let scrubbed = scrub(body, redactions);
    let quoted: String = scrubbed.chars().take(QUOTED_CHARS).collect();
    format!("retrieval error: HTTP {status} {quoted}")
}

/// `text` with every URL, the cluster host and every credential replaced by a mark.
fn scrub(text: &str, redactions: &Redactions<'_>) -> String {
    let mut scrubbed = without_urls(text);
    if let Some(host) = redactions.host.as_deref().filter(|host| !host.is_empty()) {
        scrubbed = scrubbed.replace(host, HOST_MARK);
    }
    for secret in redactions.secrets.iter().filter(|secret| !secret.is_empty()) {
        scrubbed = scrubbed.replace(secret, SECRET_MARK);
    }
    scrubbed
}

/// Replaces each `scheme://…` with `<url>`. The scheme is the run of letters, digits, `+`, `-` and `.`
/// before `://`; the URL ends at whitespace, a quote, a bracket or a backslash (an escape inside JSON).
fn without_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(separator) = rest.find("://") {
        let scheme_start = rest[..separator]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || "+-.".contains(*c))
            .last()
            .map_or(separator, |(position, _)| position);
        let after = &rest[separator + 3..];
        let url_len = after.find(ends_url).unwrap_or(after.len());
        out.push_str(&rest[..scheme_start]);
        out.push_str(URL_MARK);
        rest = &after[url_len..];
    }
    out.push_str(rest);
    out
}

/// Characters that cannot be part of a URL as error bodies quote them.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || "\"'`<>()[]{}\\".contains(c)
}

#[cfg(test)]
mod tests {
    use augchatd_actors::record::BasicAuth;
    use augchatd_actors::secret::Secret;

    use super::*;

    fn none() -> RagAuth {
        RagAuth::None
    }

    #[test]
    fn urls_are_replaced_wherever_they_appear() {
        assert_eq!(without_urls("see https://internal.example/_search now"), "see <url> now");
        assert_eq!(without_urls("{\"reason\":\"at http://10.0.0.7:9200/x?y=1\"}"), "{\"reason\":\"at <url>\"}");
        assert_eq!(without_urls("a (s3://bucket/key) b"), "a (<url>) b");
        assert_eq!(without_urls("://bare"), "<url>");
        assert_eq!(without_urls("no url here"), "no url here");
        assert_eq!(without_urls("x https://a.b https://c.d"), "x <url> <url>");
    }

    #[test]
    fn the_error_text_quotes_the_status_and_200_scrubbed_characters() {
        // SPEC §11 #84.
        let auth = none();
        let redactions = Redactions::new("https://os.internal:9200", &auth);
        let body = format!("boom at https://internal.example/_search {}", "z".repeat(300));
        let text = http_error(500, &body, &redactions);
        assert!(text.starts_with("retrieval error: HTTP 500 boom at <url> zzz"), "{text}");
        assert_eq!(text.chars().count(), "retrieval error: HTTP 500 ".len() + 200);
        assert!(!text.contains("internal.example"));
    }

    #[test]
    fn an_empty_body_still_gives_the_status() {
        let auth = none();
        assert_eq!(http_error(502, "", &Redactions::new("http://os.test", &auth)), "retrieval error: HTTP 502 ");
    }

    #[test]
    fn the_200_character_cut_never_splits_a_multibyte_character() {
        let auth = none();
        let body = "€".repeat(250);
        let text = http_error(500, &body, &Redactions::new("http://os.test", &auth));
        assert_eq!(text, format!("retrieval error: HTTP 500 {}", "€".repeat(200)));
        let mixed = format!("a{}", "😀".repeat(300));
        let text = http_error(503, &mixed, &Redactions::new("http://os.test", &auth));
        assert_eq!(text.chars().count(), "retrieval error: HTTP 503 ".len() + 200);
    }

    #[test]
    fn a_url_at_the_cut_is_scrubbed_before_it_is_cut() {
        let auth = none();
        let body = format!("{} https://internal.example/very/long/path", "x".repeat(194));
        let text = http_error(500, &body, &Redactions::new("http://os.test", &auth));
        assert_eq!(text, format!("retrieval error: HTTP 500 {} <url>", "x".repeat(194)));
    }

    #[test]
    fn the_cluster_host_and_credentials_are_scrubbed_without_a_scheme_too() {
        let auth = RagAuth::Basic(BasicAuth { username: Secret::new("svc-user"), password: Secret::new("pa55word") });
        let redactions = Redactions::new("https://os.internal:9200", &auth);
        let text = http_error(401, "user svc-user with pa55word denied on os.internal:9200", &redactions);
        assert_eq!(text, "retrieval error: HTTP 401 user *** with *** denied on <cluster>:9200");
        let bearer = RagAuth::Bearer(Secret::new("tok-123"));
        let text = http_error(403, "token tok-123 expired", &Redactions::new("http://os.test", &bearer));
        assert_eq!(text, "retrieval error: HTTP 403 token *** expired");
    }
}
