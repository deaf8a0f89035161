//! Validation of a session request (`POST /sessions` body, demo config) into a `SessionSpec`.
