//! Cold storage: the integrator's S3-compatible bucket.

pub mod s3;
