//! `storage` and the object form of `storage.s3` (SPEC §6.3); the URI form is delegated to `s3_uri`.
//! Invariant: a returned `S3Location` has an http(s) endpoint without a trailing `/`, a region and a
//! bucket that are safe inside a URL, and both keys as `Secret`. Only the API requires it; the demo
//! treats a missing `storage` or `storage.s3` as hot-only.

use augchatd_actors::record::S3Location;
use augchatd_actors::secret::Secret;
use serde_json::Value;

use super::FieldError;
use super::fields::{Object, Query, http_url, invalid, present, required_string, without_trailing_slash};
use super::s3_uri::parse_s3_uri_at;

/// Validates `storage`. `required` is the API rule: `storage.s3` must be there.
pub(super) fn parse_storage(value: Option<&Value>, required: bool) -> Result<Option<S3Location>, FieldError> {
    let storage = match value.filter(|value| !value.is_null()) {
        None if required => return Err(invalid("storage must be an object with an \"s3\" key")),
        None => return Ok(None),
        Some(value) => value.as_object().ok_or_else(|| invalid("storage must be an object"))?,
    };
    match present(storage, "s3") {
        None if required => Err(invalid("storage.s3 is required")),
        None => Ok(None),
        Some(Value::String(uri)) => parse_s3_uri_at(uri, "storage.s3").map(Some),
        Some(Value::Object(s3)) => parse_s3_object(s3).map(Some),
        Some(_) => Err(invalid("storage.s3 must be an object or an s3:// URI string")),
    }
}

/// The `storage` of a data-subject request (`POST /users/:user_id/export` and `…/erase`): the same
/// object as `POST /sessions` takes, under the same rules, and required.
pub fn parse_required_storage(body: &serde_json::Map<String, Value>) -> Result<S3Location, FieldError> {
    parse_storage(body.get("storage"), true)?.ok_or_else(|| invalid("storage.s3 is required"))
}

/// The canonical object form: `endpoint`, `region`, `bucket`, `access_key_id`, `secret_access_key`
/// (non-empty strings) and `prefix` (a string, default `""`, kept literally).
fn parse_s3_object(s3: &Object) -> Result<S3Location, FieldError> {
    const AT: &str = "storage.s3";
    let endpoint = required_string(s3, "endpoint", AT)?;
    let endpoint = without_trailing_slash(http_url(endpoint, "storage.s3.endpoint", Query::Forbidden)?);
    let region = check_region(required_string(s3, "region", AT)?, "storage.s3.region")?;
    let bucket = check_bucket(required_string(s3, "bucket", AT)?, "storage.s3.bucket")?;
    let prefix = match present(s3, "prefix") {
        None => String::new(),
        Some(value) => value.as_str().ok_or_else(|| invalid("storage.s3.prefix must be a string"))?.to_owned(),
    };
    let access_key_id = Secret::new(required_string(s3, "access_key_id", AT)?);
    let secret_access_key = Secret::new(required_string(s3, "secret_access_key", AT)?);
    Ok(S3Location { endpoint, region, bucket, prefix, access_key_id, secret_access_key })
}

/// A region is signed into every request and, in the URI form, placed in the default endpoint's host
/// name, so it is limited to the characters regions use (`us-east-1`, `fra1`, `auto`).
pub(super) fn check_region(region: &str, field: &str) -> Result<String, FieldError> {
    if region.is_empty() || !region.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(invalid(format!("{field} may contain only letters, digits, '-', '_' and '.'")));
    }
    Ok(region.to_owned())
}

/// A bucket name as S3 defines it: 3 to 63 characters of `[a-z0-9.-]`, starting and ending with a
/// letter or digit. It is a path segment of every request (path-style addressing), so nothing else passes.
pub(super) fn check_bucket(bucket: &str, field: &str) -> Result<String, FieldError> {
    let alphabet = bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    let edges = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(3..=63).contains(&bucket.len()) || !alphabet || !edges {
        return Err(invalid(format!(
            "{field} must be a valid S3 bucket name (3-63 characters of a-z, 0-9, '.' and '-', \
             starting and ending with a letter or digit)"
        )));
    }
    Ok(bucket.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn object_form() -> Value {
        json!({
            "endpoint": "https://fra1.digitaloceanspaces.com/", "region": "fra1", "bucket": "my-bucket",
            "prefix": "ai-chat-storage/", "access_key_id": "AKIA", "secret_access_key": "shh"
        })
    }

    fn storage(s3: Value) -> Result<Option<S3Location>, FieldError> {
        parse_storage(Some(&json!({"s3": s3})), true)
    }

    fn detail(s3: Value) -> String {
        storage(s3).unwrap_err().detail
    }

    fn set(key: &str, value: Value) -> Value {
        let mut s3 = object_form();
        s3[key] = value;
        s3
    }

    fn unset(key: &str) -> Value {
        let mut s3 = object_form();
        s3.as_object_mut().unwrap().remove(key);
        s3
    }

    #[test]
    fn the_object_form_parses_with_the_endpoint_slash_stripped() {
        let location = storage(object_form()).unwrap().unwrap();
        assert_eq!(location.endpoint, "https://fra1.digitaloceanspaces.com");
        assert_eq!(location.region, "fra1");
        assert_eq!(location.bucket, "my-bucket");
        assert_eq!(location.prefix, "ai-chat-storage/");
        assert_eq!(location.access_key_id.expose(), "AKIA");
        assert_eq!(location.secret_access_key.expose(), "shh");
    }

    #[test]
    fn prefix_defaults_to_empty_and_must_be_a_string() {
        assert_eq!(storage(unset("prefix")).unwrap().unwrap().prefix, "");
        assert_eq!(storage(set("prefix", json!(null))).unwrap().unwrap().prefix, "");
        assert_eq!(storage(set("prefix", json!(""))).unwrap().unwrap().prefix, "");
        assert_eq!(detail(set("prefix", json!(1))), "storage.s3.prefix must be a string");
    }

    #[test]
    fn the_five_required_fields_must_be_non_empty_strings() {
        for key in ["endpoint", "region", "bucket", "access_key_id", "secret_access_key"] {
            assert_eq!(detail(unset(key)), format!("storage.s3.{key} must be a non-empty string"));
            assert_eq!(detail(set(key, json!(""))), format!("storage.s3.{key} must be a non-empty string"));
            assert_eq!(detail(set(key, json!(5))), format!("storage.s3.{key} must be a non-empty string"));
        }
    }

    #[test]
    fn the_endpoint_must_be_an_http_url() {
        assert!(storage(set("endpoint", json!("http://127.0.0.1:9000"))).is_ok());
        assert_eq!(
            detail(set("endpoint", json!("s3.amazonaws.com"))),
            "storage.s3.endpoint must be an absolute http:// or https:// URL"
        );
    }

    #[test]
    fn the_region_is_limited_to_region_characters() {
        assert!(detail(set("region", json!("us east"))).starts_with("storage.s3.region may contain only"));
        assert!(detail(set("region", json!("x/../y"))).starts_with("storage.s3.region may contain only"));
    }

    #[test]
    fn the_bucket_must_be_a_valid_s3_bucket_name() {
        for good in ["cold", "my-bucket", "a.b.c", "abc", &"a".repeat(63)] {
            assert!(storage(set("bucket", json!(good))).is_ok(), "{good}");
        }
        for bad in ["ab", "My-Bucket", "a_b", "-ab", "ab-", "a/b", &"a".repeat(64)] {
            assert!(detail(set("bucket", json!(bad))).starts_with("storage.s3.bucket must be a valid S3 bucket name"));
        }
    }

    #[test]
    fn the_api_requires_storage_s3() {
        // SPEC §11 #12.
        assert_eq!(parse_storage(None, true).unwrap_err().detail, "storage must be an object with an \"s3\" key");
        assert_eq!(parse_storage(Some(&json!({})), true).unwrap_err().detail, "storage.s3 is required");
        assert_eq!(parse_storage(Some(&json!({"s3": null})), true).unwrap_err().detail, "storage.s3 is required");
    }

    #[test]
    fn the_demo_treats_missing_storage_or_s3_as_hot_only() {
        // SPEC §7.3, §11 #144.
        assert!(parse_storage(None, false).unwrap().is_none());
        assert!(parse_storage(Some(&json!(null)), false).unwrap().is_none());
        assert!(parse_storage(Some(&json!({})), false).unwrap().is_none());
        assert!(parse_storage(Some(&json!({"s3": object_form()})), false).unwrap().is_some());
    }

    #[test]
    fn a_data_subject_request_requires_storage_s3() {
        let body = |value: Value| value.as_object().unwrap().clone();
        assert!(parse_required_storage(&body(json!({"storage": {"s3": object_form()}}))).is_ok());
        for bad in [json!({}), json!({"storage": {}}), json!({"storage": {"s3": "nope"}})] {
            assert_eq!(parse_required_storage(&body(bad)).unwrap_err().code, "invalid_field");
        }
    }

    #[test]
    fn storage_must_be_an_object() {
        assert_eq!(parse_storage(Some(&json!("s3://k:s@b/")), false).unwrap_err().detail, "storage must be an object");
    }

    #[test]
    fn storage_s3_must_be_an_object_or_a_uri_string() {
        assert_eq!(detail(json!(["x"])), "storage.s3 must be an object or an s3:// URI string");
    }

    #[test]
    fn the_uri_form_behaves_like_the_object_form() {
        // SPEC §11 #23, §12 decision 1.
        let uri = "s3://AKIA:shh@my-bucket/ai-chat-storage/?endpoint=https%3A%2F%2Ffra1.digitaloceanspaces.com%2F&region=fra1";
        let from_uri = storage(json!(uri)).unwrap().unwrap();
        let from_object = storage(object_form()).unwrap().unwrap();
        assert_eq!(format!("{from_uri:?}"), format!("{from_object:?}"));
        assert_eq!(from_uri.access_key_id, from_object.access_key_id);
        assert_eq!(from_uri.secret_access_key, from_object.secret_access_key);
    }

    #[test]
    fn uri_form_errors_name_storage_s3() {
        assert!(detail(json!("s3://AKIA@bucket/")).starts_with("storage.s3"));
    }
}
