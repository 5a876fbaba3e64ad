//! Private files: the files that hold tokens or state are readable by their owner only.
//!
//! On unix a directory these functions create is mode `0700` and a file they write is mode
//! `0600` (both further narrowed by the umask, never widened). Elsewhere the platform's
//! defaults apply. A write is atomic and durable: the bytes go to a temporary file in the
//! same directory, which is fsynced, renamed over the target, and the directory is fsynced,
//! so a `kill -9` or a power loss leaves the old content or the new one, never a torn file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files of this process get distinct names.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates `dir` and its missing parents, each created one with mode `0700` on unix. A
/// directory that already exists is left as it is (see [`shared_dir_mode`]).
///
/// # Errors
///
/// The I/O error of the creation.
///
/// # Example
///
/// ```
/// let base = tempfile::tempdir()?;
/// let dir = base.path().join("a/b");
/// connector_core::state::create_private_dir(&dir)?;
/// assert!(dir.is_dir());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// The permission bits of `dir` when other users have any access to it (group or world
/// bits set), else `None`. Always `None` off unix.
///
/// # Errors
///
/// The I/O error of reading the directory's metadata.
///
/// # Example
///
/// ```
/// let dir = tempfile::tempdir()?;
/// connector_core::state::create_private_dir(&dir.path().join("private"))?;
/// assert_eq!(connector_core::state::shared_dir_mode(&dir.path().join("private"))?, None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn shared_dir_mode(dir: &Path) -> io::Result<Option<u32>> {
    let metadata = fs::metadata(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode() & 0o777;
        Ok((mode & 0o077 != 0).then_some(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        Ok(None)
    }
}

/// Opens `path` for writing, creating it with mode `0600` on unix; `create_new` refuses an
/// existing file.
pub(crate) fn open_private(path: &Path, create_new: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(false);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Replaces the content of `path` with `bytes`, atomically and durably, as a file of mode
/// `0600` on unix (whatever the mode of the file it replaces). The temporary file is
/// `.<name>.<pid>.<n>.tmp` next to `path`; it is removed when the write fails.
///
/// # Errors
///
/// The I/O error of the write, the fsyncs or the rename; `path` then keeps its old content.
///
/// # Example
///
/// ```
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("psus.json");
/// connector_core::state::write_private_file(&path, b"[]\n")?;
/// assert_eq!(std::fs::read(&path)?, b"[]\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    replace_private_file(path, bytes)?;
    sync_dir(parent_dir(path))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// [`write_private_file`] but the last step, the fsync of the directory: the new content is
/// on disk, the rename that makes it `path`'s is not yet (the caller syncs the directory,
/// possibly once for several files).
pub(crate) fn replace_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut file = open_private(&temp, true)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    Ok(())
}

/// Makes the directory's entries (a rename, a removal) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}
