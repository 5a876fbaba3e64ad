//! A sandbox running in the test process, seen by `powens … --config config.json` as a
//! Powens domain.

use std::path::Path;

use powens_sandbox::{Sandbox, SandboxControl, SandboxHandle, SandboxSize, SeededUser};

/// A running sandbox, its runtime, and a temporary directory holding its `config.json`.
pub struct LiveSandbox {
    handle: SandboxHandle,
    dir: tempfile::TempDir,
    // Dropped last: it serves the sandbox while `powens` runs.
    _runtime: tokio::runtime::Runtime,
}

impl LiveSandbox {
    /// A sandbox with `users` seeded users (one bank connection of 2 accounts of 5
    /// transactions each), and `config.json` pointing at it.
    pub fn start(users: u32) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let handle = runtime
            .block_on(
                Sandbox::builder()
                    .seed(7)
                    .size(SandboxSize {
                        users,
                        connections_per_link: 1,
                        accounts_per_connection: 2,
                        transactions_per_account: 5,
                    })
                    .max_connections_per_link(1)
                    .start(),
            )
            .expect("the sandbox starts");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut payload = handle.install_payload();
        payload["pageSize"] = 100.into();
        payload["pollingPeriod"] = "30m".into();
        std::fs::write(dir.path().join("config.json"), payload.to_string()).expect("config");
        LiveSandbox {
            handle,
            dir,
            _runtime: runtime,
        }
    }

    /// The directory holding `config.json`; `powens` runs there.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The sandbox's control API.
    pub fn control(&self) -> &SandboxControl {
        self.handle.control()
    }

    /// The seeded users.
    pub fn users(&self) -> &[SeededUser] {
        self.handle.users()
    }
}

/// The permission bits of `path` (unix).
#[cfg(unix)]
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}
