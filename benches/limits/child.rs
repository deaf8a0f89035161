//! The release binary as a child process of the bench: started on a free loopback port with only the
//! environment it is given, killed when its handle drops.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A child process, killed when dropped.
pub struct Killed(pub Child);

impl Killed {
    /// Its pid, as `/proc` names it.
    pub fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts augchatd on 127.0.0.1 and a free port with `env` as its whole environment (plus host and port),
/// its log in `dir/daemon.log`; returns it and the port.
pub fn spawn_daemon<K, V>(dir: &Path, env: impl IntoIterator<Item = (K, V)>) -> (Killed, u16)
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(env!("CARGO_BIN_EXE_augchatd"))
        .env_clear()
        .envs(env)
        .env("AUGCHATD_HOST", "127.0.0.1")
        .env("AUGCHATD_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("daemon.log")).unwrap())
        .spawn()
        .unwrap();
    (Killed(child), port)
}
