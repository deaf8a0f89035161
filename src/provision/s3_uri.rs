//! The URI form of `storage.s3` and `DEMO_S3_URI` (SPEC §6.3, §12 decision 1), normalised to the
//! same `S3Location` as the object form:
//! `s3://<access_key_id>:<secret_access_key>@<bucket>[/<prefix>][?endpoint=<url-encoded URL>&region=<region>]`.
//!
//! Invariant: the URI holds both keys, so no part of it is ever quoted in an error except a query key
//! name. It is split by hand rather than with `url`, which would re-encode the prefix that SPEC §6.3
//! says is kept as written.

use std::borrow::Cow;

use augchatd_actors::record::S3Location;
use augchatd_actors::secret::Secret;
use percent_encoding::percent_decode_str;

use super::FieldError;
use super::fields::{Query, http_url, invalid, quoted, without_trailing_slash};
use super::storage::{check_bucket, check_region};

/// The region when the URI names none (SPEC §6.3).
const DEFAULT_REGION: &str = "us-east-1";

/// Parses an `s3://KEY:SECRET@bucket/prefix?endpoint=..&region=..` URI, as given in `DEMO_S3_URI`.
/// Errors call it `s3 URI`; inside a body, errors say `storage.s3` instead.
pub fn parse_s3_uri(uri: &str) -> Result<S3Location, FieldError> {
    parse_s3_uri_at(uri, "s3 URI")
}

/// [`parse_s3_uri`], with `field` naming where the URI came from in every error detail.
pub(super) fn parse_s3_uri_at(uri: &str, field: &str) -> Result<S3Location, FieldError> {
    let shape = || {
        invalid(format!(
            "{field} must look like s3://ACCESS_KEY_ID:SECRET_ACCESS_KEY@bucket/prefix \
             (percent-encode '/', '+', ':' and '@' inside the keys)"
        ))
    };
    let rest = match uri.split_at_checked(5) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("s3://") => rest,
        _ => return Err(shape()),
    };
    if uri.chars().any(|c| c.is_whitespace() || c.is_control() || c == '#') {
        return Err(invalid(format!("{field} must not contain whitespace or '#' (percent-encode them)")));
    }
    let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = location.split_once('/').unwrap_or((location, ""));
    // The last '@' ends the credentials: a bucket name never holds one.
    let (userinfo, host) = authority.rsplit_once('@').ok_or_else(shape)?;
    let (raw_key_id, raw_secret) = userinfo.split_once(':').ok_or_else(|| missing_key(field))?;
    let access_key_id = decode_key(raw_key_id, field)?;
    let secret_access_key = decode_key(raw_secret, field)?;
    let bucket = check_bucket(host, &format!("{field} bucket"))?;
    let (endpoint, region) = parse_query(query, field)?;
    let region = match region {
        Some(region) => check_region(&region, &format!("{field} region"))?,
        None => DEFAULT_REGION.to_owned(),
    };
    let endpoint = match endpoint {
        Some(endpoint) => without_trailing_slash(http_url(&endpoint, &format!("{field} endpoint"), Query::Forbidden)?),
        None => format!("https://s3.{region}.amazonaws.com"),
    };
    Ok(S3Location {
        endpoint,
        region,
        bucket,
        prefix: path.to_owned(),
        access_key_id: Secret::new(access_key_id),
        secret_access_key: Secret::new(secret_access_key),
    })
}

/// The seed README's `s3://AKIA...@bucket/` carries no secret; say so without echoing anything.
fn missing_key(field: &str) -> FieldError {
    invalid(format!("{field} must include both the access key id and the secret access key (s3://KEY:SECRET@bucket/)"))
}

/// One percent-decoded, non-empty key.
fn decode_key(raw: &str, field: &str) -> Result<String, FieldError> {
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid(format!("{field} keys must be percent-encoded UTF-8")))?;
    if decoded.is_empty() {
        return Err(missing_key(field));
    }
    Ok(decoded.into_owned())
}

/// The query: `endpoint` and `region` only, each at most once, both percent-decoded.
fn parse_query(query: &str, field: &str) -> Result<(Option<String>, Option<String>), FieldError> {
    let mut endpoint = None;
    let mut region = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "endpoint" => &mut endpoint,
            "region" => &mut region,
            other => {
                return Err(invalid(format!(
                    "{field} has an unknown query key {} (only endpoint and region)",
                    quoted(other)
                )));
            }
        };
        if slot.is_some() {
            return Err(invalid(format!("{field} has the query key {key} twice")));
        }
        let decoded: Cow<'_, str> = percent_decode_str(value)
            .decode_utf8()
            .map_err(|_| invalid(format!("{field} {key} must be percent-encoded UTF-8")))?;
        *slot = Some(decoded.into_owned());
    }
    Ok((endpoint, region))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn detail(uri: &str) -> String {
        parse_s3_uri(uri).unwrap_err().detail
    }

    #[test]
    fn a_full_uri_parses_like_the_object_form() {
        // SPEC §11 #23.
        let location = parse_s3_uri(
            "s3://KEY:SECRET@bucket/pfx/?endpoint=https%3A%2F%2Fminio.example.com%3A9000%2F&region=eu-central-1",
        )
        .unwrap();
        assert_eq!(location.endpoint, "https://minio.example.com:9000");
        assert_eq!(location.region, "eu-central-1");
        assert_eq!(location.bucket, "bucket");
        assert_eq!(location.prefix, "pfx/");
        assert_eq!(location.access_key_id.expose(), "KEY");
        assert_eq!(location.secret_access_key.expose(), "SECRET");
    }

    #[test]
    fn region_and_endpoint_default_to_aws_us_east_1() {
        let location = parse_s3_uri("s3://k:s@cold").unwrap();
        assert_eq!(location.region, "us-east-1");
        assert_eq!(location.endpoint, "https://s3.us-east-1.amazonaws.com");
        assert_eq!(location.prefix, "");
    }

    #[test]
    fn the_default_endpoint_follows_the_region() {
        let location = parse_s3_uri("s3://k:s@cold/?region=eu-west-3").unwrap();
        assert_eq!(location.endpoint, "https://s3.eu-west-3.amazonaws.com");
    }

    #[test]
    fn the_prefix_is_the_path_without_its_leading_slash_kept_as_written() {
        assert_eq!(parse_s3_uri("s3://k:s@cold/").unwrap().prefix, "");
        assert_eq!(parse_s3_uri("s3://k:s@cold").unwrap().prefix, "");
        assert_eq!(parse_s3_uri("s3://k:s@cold/a/b").unwrap().prefix, "a/b");
        assert_eq!(parse_s3_uri("s3://k:s@cold/ai%20chat/").unwrap().prefix, "ai%20chat/");
    }

    #[test]
    fn userinfo_is_percent_decoded() {
        let location = parse_s3_uri("s3://AK%3AID:se%2Fcr%2Bet%40x@cold/").unwrap();
        assert_eq!(location.access_key_id.expose(), "AK:ID");
        assert_eq!(location.secret_access_key.expose(), "se/cr+et@x");
    }

    #[test]
    fn a_uri_without_a_secret_is_rejected() {
        // SPEC §6.3: the seed README's own example has no secret.
        for uri in ["s3://AKIA...@your-bucket/", "s3://AKIA:@bucket/", "s3://:secret@bucket/"] {
            let err = parse_s3_uri(uri).unwrap_err();
            assert_eq!(err.code, "invalid_field");
            assert!(err.detail.contains("both the access key id and the secret access key"), "{uri}");
        }
    }

    #[test]
    fn a_uri_without_credentials_or_scheme_is_rejected() {
        for uri in ["s3://bucket/prefix", "https://k:s@bucket/", "bucket", "", "s3:/k:s@bucket"] {
            assert!(detail(uri).starts_with("s3 URI must look like s3://"), "{uri}");
        }
    }

    #[test]
    fn an_unencoded_slash_in_the_secret_is_caught() {
        assert!(detail("s3://k:se/cret@bucket/").contains("percent-encode '/'"));
    }

    #[test]
    fn unknown_query_keys_are_rejected() {
        assert_eq!(
            detail("s3://k:s@cold/?acl=private"),
            "s3 URI has an unknown query key \"acl\" (only endpoint and region)"
        );
        assert_eq!(detail("s3://k:s@cold/?region=a&region=b"), "s3 URI has the query key region twice");
    }

    #[test]
    fn the_endpoint_must_be_an_http_url() {
        assert_eq!(
            detail("s3://k:s@cold/?endpoint=minio%3A9000"),
            "s3 URI endpoint must be an absolute http:// or https:// URL"
        );
        assert!(parse_s3_uri("s3://k:s@cold/?endpoint=http%3A%2F%2F127.0.0.1%3A9000").is_ok());
    }

    #[test]
    fn the_region_must_be_region_characters() {
        assert!(detail("s3://k:s@cold/?region=").starts_with("s3 URI region may contain only"));
        assert!(detail("s3://k:s@cold/?region=a%2Fb").starts_with("s3 URI region may contain only"));
    }

    #[test]
    fn the_bucket_is_the_host_and_must_be_a_valid_bucket_name() {
        assert_eq!(parse_s3_uri("s3://k:s@my-bucket/x").unwrap().bucket, "my-bucket");
        for uri in ["s3://k:s@Bucket/", "s3://k:s@/", "s3://k:s@b:9000/", "s3://k:s@ab/"] {
            assert!(detail(uri).starts_with("s3 URI bucket must be a valid S3 bucket name"), "{uri}");
        }
    }

    #[test]
    fn whitespace_and_fragments_are_rejected() {
        assert!(detail("s3://k:s@cold/a b").starts_with("s3 URI must not contain whitespace"));
        assert!(detail("s3://k:s#@cold/").starts_with("s3 URI must not contain whitespace or '#'"));
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert!(parse_s3_uri("S3://k:s@cold/").is_ok());
    }

    #[test]
    fn invalid_utf8_in_keys_is_rejected_without_echoing_them() {
        let err = parse_s3_uri("s3://k:s%FF@cold/").unwrap_err();
        assert_eq!(err.detail, "s3 URI keys must be percent-encoded UTF-8");
    }
}
