//! `S3Store`: one integrator bucket, reached with rusty-s3 presigned requests over the shared reqwest
//! client (path-style addressing, SigV4 with the session's region).
//! Invariant: errors carry a status and S3's error code, never a URL (a presigned URL holds the access
//! key id) and never a credential.

use std::time::Duration;

use augchatd_actors::ports::{ColdFailure, ColdStore, PortFuture};
use augchatd_actors::record::S3Location;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

/// How long a presigned request stays valid; far longer than any request takes, far shorter than a leak would need.
const PRESIGN_TTL: Duration = Duration::from_secs(300);
/// Per-request deadline; the flusher retries with backoff, so a hung endpoint must fail, not wait.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The write probe's key, after the prefix (SPEC §6.4).
const PROBE_KEY: &str = ".augchatd-probe";

/// What went wrong talking to the bucket.
#[derive(Debug, thiserror::Error)]
pub enum ColdError {
    /// The configured endpoint or bucket cannot address a request.
    #[error("the S3 endpoint or bucket name is not usable")]
    BadLocation,
    /// No HTTP answer: connect failure, TLS failure, timeout.
    #[error("S3 request failed: {0}")]
    Transport(#[source] reqwest::Error),
    /// A listing that is not S3's XML.
    #[error("S3 answered with a listing that could not be read")]
    Malformed,
    /// S3 answered with an error status.
    #[error("S3 answered HTTP {status}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        /// The HTTP status.
        status: u16,
        /// S3's `<Code>` element (`AccessDenied`, `NoSuchBucket`, …), when the body has one.
        code: Option<String>,
    },
}

/// One bucket and prefix with the credentials to use it. Cheap to clone (the client is shared).
#[derive(Clone)]
pub struct S3Store {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    http: reqwest::Client,
}

impl S3Store {
    /// Prepares requests against `location`; no network I/O.
    pub fn new(location: &S3Location, http: reqwest::Client) -> Result<Self, ColdError> {
        let endpoint = location.endpoint.parse().map_err(|_| ColdError::BadLocation)?;
        let bucket = Bucket::new(endpoint, UrlStyle::Path, location.bucket.clone(), location.region.clone())
            .map_err(|_| ColdError::BadLocation)?;
        let credentials = Credentials::new(
            location.access_key_id.expose().to_owned(),
            location.secret_access_key.expose().to_owned(),
        );
        Ok(Self { bucket, credentials, prefix: location.prefix.clone(), http })
    }

    /// The SPEC §6.4 write probe: an empty `PutObject` at `<prefix>.augchatd-probe`, left in place.
    pub async fn probe(&self) -> Result<(), ColdError> {
        self.put(PROBE_KEY, "application/octet-stream", Vec::new()).await
    }

    /// Writes one object at `<prefix><key>`.
    pub async fn put(&self, key: &str, content_type: &str, body: Vec<u8>) -> Result<(), ColdError> {
        let full_key = format!("{}{key}", self.prefix);
        let url = self.bucket.put_object(Some(&self.credentials), &full_key).sign(PRESIGN_TTL);
        let response = self
            .http
            .put(url)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| ColdError::Transport(e.without_url()))?;
        check(response).await.map(drop)
    }
}

impl S3Store {
    /// Reads `<prefix><key>`; `None` for `404 NoSuchKey`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ColdError> {
        let url = self.bucket.get_object(Some(&self.credentials), &format!("{}{key}", self.prefix)).sign(PRESIGN_TTL);
        let response = self.send(self.http.get(url)).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            let body = response.text().await.unwrap_or_default();
            return match error_code(&body).as_deref() {
                Some("NoSuchKey") => Ok(None),
                code => Err(ColdError::Status { status: 404, code: code.map(str::to_owned) }),
            };
        }
        let response = check(response).await?;
        Ok(Some(response.bytes().await.map_err(|e| ColdError::Transport(e.without_url()))?.to_vec()))
    }

    /// Deletes `<prefix><key>`; S3 answers success for a missing key too.
    pub async fn delete(&self, key: &str) -> Result<(), ColdError> {
        let url =
            self.bucket.delete_object(Some(&self.credentials), &format!("{}{key}", self.prefix)).sign(PRESIGN_TTL);
        check(self.send(self.http.delete(url)).await?).await.map(drop)
    }

    /// Lists every key under `<prefix><sub_prefix>`, following continuation tokens; keys come back
    /// without the store's prefix.
    pub async fn list(&self, sub_prefix: &str) -> Result<Vec<String>, ColdError> {
        let full = format!("{}{sub_prefix}", self.prefix);
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
            action.with_prefix(full.as_str());
            if let Some(token) = &token {
                action.with_continuation_token(token.as_str());
            }
            let response = check(self.send(self.http.get(action.sign(PRESIGN_TTL))).await?).await?;
            let xml = response.text().await.map_err(|e| ColdError::Transport(e.without_url()))?;
            let page = rusty_s3::actions::ListObjectsV2::parse_response(&xml).map_err(|_| ColdError::Malformed)?;
            keys.extend(page.contents.into_iter().filter_map(|o| o.key.strip_prefix(&self.prefix).map(str::to_owned)));
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => return Ok(keys),
            }
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ColdError> {
        request.timeout(REQUEST_TIMEOUT).send().await.map_err(|e| ColdError::Transport(e.without_url()))
    }
}

fn failure(err: ColdError) -> ColdFailure {
    ColdFailure(err.to_string())
}

impl ColdStore for S3Store {
    fn put_json(&self, key: String, body: Vec<u8>) -> PortFuture<Result<(), ColdFailure>> {
        let store = self.clone();
        Box::pin(async move { store.put(&key, "application/json", body).await.map_err(failure) })
    }

    fn get(&self, key: String) -> PortFuture<Result<Option<Vec<u8>>, ColdFailure>> {
        let store = self.clone();
        Box::pin(async move { S3Store::get(&store, &key).await.map_err(failure) })
    }

    fn delete(&self, key: String) -> PortFuture<Result<(), ColdFailure>> {
        let store = self.clone();
        Box::pin(async move { S3Store::delete(&store, &key).await.map_err(failure) })
    }

    fn list(&self, prefix: String) -> PortFuture<Result<Vec<String>, ColdFailure>> {
        let store = self.clone();
        Box::pin(async move { S3Store::list(&store, &prefix).await.map_err(failure) })
    }
}

/// Turns an error status into `ColdError::Status` with S3's error code, read from the XML body.
async fn check(response: reqwest::Response) -> Result<reqwest::Response, ColdError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(ColdError::Status { status: status.as_u16(), code: error_code(&body) })
}

/// The `<Code>` of an S3 error document, if it is a plain identifier (so no upstream text leaks).
fn error_code(xml: &str) -> Option<String> {
    let start = xml.find("<Code>")? + "<Code>".len();
    let end = start + xml[start..].find("</Code>")?;
    let code = &xml[start..end];
    (!code.is_empty() && code.len() <= 64 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_only_when_they_are_plain_identifiers() {
        let xml = r#"<?xml version="1.0"?><Error><Code>SignatureDoesNotMatch</Code></Error>"#;
        assert_eq!(error_code(xml).as_deref(), Some("SignatureDoesNotMatch"));
        assert_eq!(error_code("<Code>https://x/y</Code>"), None);
        assert_eq!(error_code("no xml"), None);
    }
}
