//! Writing the generated files into the project's folder (which must be new or empty),
//! and formatting them.

use std::io;
use std::path::Path;
use std::process::Command;

use crate::render::File;

/// Writes `files` under `dir`, creating it; refuses a folder that holds anything.
pub fn files(dir: &Path, files: &[File]) -> io::Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("`{}` exists and is not a folder", dir.display()),
            ));
        }
        if std::fs::read_dir(dir)?.next().is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!(
                    "`{}` is not empty: choose a new folder (nothing was written)",
                    dir.display()
                ),
            ));
        }
    }
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, &f.text)?;
    }
    Ok(())
}

/// Runs `cargo fmt` in `dir` (the generated code is written formatted for names of
/// ordinary length; a long name can make a line rustfmt would break). `false` if
/// rustfmt is not installed or failed: the project is still complete.
pub fn format(dir: &Path) -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .arg("fmt")
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
