//! Where the functions' binaries are, built on first use, and the bench's scratch directories.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The four functions, by binary name.
pub const FUNCTIONS: [&str; 4] = ["lever-hire-webhook", "lessonly-sync", "litmos-sync", "theorg-import"];

/// The directory holding the four binaries: `dir` when given (they must be there), else the
/// directory of this bench binary, where `cargo` first builds them with the bench's own profile
/// (a no-op when they are up to date).
pub fn locate(dir: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(dir) = dir {
        return match missing(dir).first() {
            None => Ok(dir.to_path_buf()),
            Some(name) => {
                Err(format!("{} has no {name} binary; build the functions or leave out --bin-dir", dir.display()))
            }
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
    let dir = exe.parent().ok_or("the bench binary has no directory")?.to_path_buf();
    let profile = if dir.file_name().is_some_and(|n| n == "release") { "release" } else { "dev" };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    command.args(["build", "--quiet", "--profile", profile]);
    for function in FUNCTIONS {
        command.args(["-p", function]);
    }
    eprintln!("bench: building the functions' {profile} binaries…");
    let status = command.status().map_err(|e| format!("could not run {cargo}: {e}"))?;
    if !status.success() {
        return Err(format!("building the functions failed ({status}); or pass --bin-dir"));
    }
    match missing(&dir).first() {
        None => Ok(dir),
        Some(name) => Err(format!("{name} was built but is not in {}; pass --bin-dir", dir.display())),
    }
}

fn missing(dir: &Path) -> Vec<&'static str> {
    FUNCTIONS.into_iter().filter(|f| !dir.join(f).is_file()).collect()
}

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Result<TempDir, String> {
        TempDir::new_in(&std::env::temp_dir(), label)
    }

    /// A scratch directory under `parent`.
    pub fn new_in(parent: &Path, label: &str) -> Result<TempDir, String> {
        let path = parent.join(format!("bench-{label}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
