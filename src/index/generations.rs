//! Generations on disk: making a new one, publishing it with an atomic rename of `CURRENT`,
//! removing stale ones, and the lock that lets one process at a time build or serve.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// File naming the generation to serve.
pub const CURRENT: &str = "CURRENT";

pub(super) const LOCK: &str = ".muster.lock";

pub(super) const GENERATION_PREFIX: &str = "gen-";

/// The generation named by `CURRENT`, if there is one.
pub fn current_generation(index_dir: &Path) -> Result<Option<PathBuf>> {
    let pointer = index_dir.join(CURRENT);
    let name = match fs::read_to_string(&pointer) {
        Ok(name) => name.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(Error::Read {
                path: pointer,
                source,
            });
        }
    };
    if !name.starts_with(GENERATION_PREFIX) || name.contains('/') {
        return Err(Error::Index {
            path: pointer,
            reason: format!("names `{name}`, which is not a generation"),
        });
    }
    let generation = index_dir.join(name);
    if !generation.join("meta.json").exists() {
        return Err(Error::Index {
            path: generation,
            reason: "the current generation has no meta.json (damaged index; rebuild it)".into(),
        });
    }
    Ok(Some(generation))
}

pub(super) fn new_generation_dir(index_dir: &Path) -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    for attempt in 0..100u32 {
        let dir = index_dir.join(format!("{GENERATION_PREFIX}{stamp}-{attempt}"));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Error::Index {
                    path: dir,
                    reason: format!("cannot create: {e}"),
                });
            }
        }
    }
    Err(Error::Index {
        path: index_dir.to_path_buf(),
        reason: "cannot pick a new generation name".into(),
    })
}

/// Points `CURRENT` at `generation` with an atomic rename, syncing so it survives a crash.
pub(super) fn publish(index_dir: &Path, generation: &Path) -> Result<()> {
    let name = generation
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = index_dir.join(format!("{CURRENT}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(name.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        fs::rename(&tmp, index_dir.join(CURRENT))?;
        sync_dir(index_dir).map_err(std::io::Error::other)
    };
    write().map_err(|e| Error::Index {
        path: index_dir.to_path_buf(),
        reason: format!("cannot publish the new generation: {e}"),
    })
}

pub(super) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Read {
            path: dir.to_path_buf(),
            source,
        })
}

/// Removes generations other than the current one (old ones and leftovers of killed builds).
pub(super) fn remove_stale_generations(index_dir: &Path) {
    let current = current_generation(index_dir).ok().flatten();
    let Ok(entries) = fs::read_dir(index_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_generation = entry
            .file_name()
            .to_string_lossy()
            .starts_with(GENERATION_PREFIX);
        if is_generation
            && Some(&path) != current.as_ref()
            && let Err(e) = fs::remove_dir_all(&path)
        {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove an old index generation");
        }
    }
}

/// Exclusive use of an index directory: held by a build, or by `serve` for its whole life, so a
/// second build or server on the same directory fails fast instead of corrupting it. The lock is
/// the operating system's, so it is released when the process dies, even by `kill -9`.
pub struct IndexLock {
    pub(super) dir: PathBuf,
    pub(super) _file: File,
}

impl IndexLock {
    /// Takes the lock of `index_dir` (creating the directory), or says who holds it.
    pub fn acquire(index_dir: &Path) -> Result<IndexLock> {
        let index_error = |reason: String| Error::Index {
            path: index_dir.to_path_buf(),
            reason,
        };
        fs::create_dir_all(index_dir)
            .map_err(|e| index_error(format!("cannot create the directory: {e}")))?;
        let path = index_dir.join(LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                index_error(format!("cannot open the lock file {}: {e}", path.display()))
            })?;
        match file.try_lock() {
            Ok(()) => Ok(IndexLock {
                dir: index_dir.to_path_buf(),
                _file: file,
            }),
            Err(_) => Err(index_error(
                "another muster process (a build or a server) is using this index directory".into(),
            )),
        }
    }

    /// The locked directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
