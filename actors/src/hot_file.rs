//! Creating a user's hot file at their first session without starting their writer (SPEC §11 #118).
//! A writer is a thread with an open SQLite connection: about 120 KB resident and 2 ms of CPU to start
//! and create the schema, paid for every minted user, most of whom chat later or not at all. So the file
//! is a copy of an empty database that `user_db::open` made once, and the writer starts on first use.
//! Invariant: the file appears whole or not at all (a hard link to a fully written scratch file, which
//! fails if the file exists), so a writer never opens half a copy and an existing file is never touched.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::user_db::{DbError, open};

/// Numbers the scratch files of this process, so concurrent creations never share one.
static SCRATCH: AtomicU64 = AtomicU64::new(0);

/// A scratch file in `dir`: on the same file system as the hot files (a hard link needs that), and named
/// so nothing takes it for a hot file (`<user>.sqlite`).
fn scratch(dir: &Path) -> PathBuf {
    dir.join(format!(".augchatd-new-{}-{}.tmp", std::process::id(), SCRATCH.fetch_add(1, Ordering::Relaxed)))
}

/// The bytes of an empty hot file (schema, WAL mode), made by SQLite on first need and kept.
#[derive(Clone, Default)]
pub struct Template {
    bytes: Arc<Mutex<Option<Arc<[u8]>>>>,
}

impl Template {
    fn bytes(&self, dir: &Path) -> Result<Arc<[u8]>, DbError> {
        // Held while the first copy is made, so it is made once; afterwards only to clone an `Arc`.
        let mut cached = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bytes) = cached.as_ref() {
            return Ok(Arc::clone(bytes));
        }
        let path = scratch(dir);
        // Closing the last connection checkpoints the WAL into the file and removes it.
        let made = open(&path).map(drop).and_then(|()| std::fs::read(&path).map_err(DbError::Open));
        for leftover in [PathBuf::from(&path), path.with_extension("tmp-wal"), path.with_extension("tmp-shm")] {
            let _ = std::fs::remove_file(leftover);
        }
        let bytes: Arc<[u8]> = made?.into();
        *cached = Some(Arc::clone(&bytes));
        Ok(bytes)
    }

    /// Creates `path` as an empty hot file unless a file is there; whether it was created now.
    pub fn create(&self, path: &Path) -> Result<bool, DbError> {
        if path.exists() {
            return Ok(false);
        }
        let dir = path.parent().ok_or_else(|| DbError::Open(ErrorKind::InvalidInput.into()))?;
        std::fs::create_dir_all(dir).map_err(DbError::Open)?;
        let bytes = self.bytes(dir)?;
        let scratch = scratch(dir);
        let linked = std::fs::write(&scratch, &bytes).and_then(|()| std::fs::hard_link(&scratch, path));
        let _ = std::fs::remove_file(&scratch);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(DbError::Open(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_created_file_is_an_empty_hot_database_in_wal_mode_and_nothing_else_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t").join("u.sqlite");
        assert!(Template::default().create(&path).unwrap());
        let conn = open(&path).unwrap();
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let messages: i64 = conn.query_row("SELECT count(*) FROM message", [], |r| r.get(0)).unwrap();
        assert_eq!(messages, 0);
        drop(conn);
        let names: Vec<_> = std::fs::read_dir(dir.path().join("t")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["u.sqlite"], "no scratch file is left behind");
    }

    #[test]
    fn an_existing_file_is_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.sqlite");
        let conn = open(&path).unwrap();
        conn.execute_batch("INSERT INTO augchatd_tombstone VALUES ('kept')").unwrap();
        drop(conn);
        let template = Template::default();
        assert!(!template.create(&path).unwrap());
        let kept: i64 =
            open(&path).unwrap().query_row("SELECT count(*) FROM augchatd_tombstone", [], |r| r.get(0)).unwrap();
        assert_eq!(kept, 1);
        assert!(template.create(&dir.path().join("v.sqlite")).unwrap(), "the next new user still gets a file");
    }
}
