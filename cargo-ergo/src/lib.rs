//! `cargo ergo new`: generates an ergo project from a supervision-tree description, as
//! Go Ergo's `ergo -init` does — a node binary, applications with their supervisors
//! (`supervisor!`) and actors (`#[actor]`), web workers, the Observer, one test per
//! actor written with `ergo::testing`, a README and a `.gitignore`.
//!
//! ```text
//! cargo ergo new my_node --name MyNode --with-app MyApp --with-sup MyApp:MySup \
//!     --with-actor MySup:MyActor --with-web MyWeb --with-observer
//! ```
//!
//! The pieces: [`cli`] (arguments), [`flags`] (one `Parent:Name{k:v}` value),
//! [`names`] (what a name may be), [`tree`] (the checked project), `render` (its
//! files), `write` (onto the disk).

pub mod cli;
pub mod flags;
pub mod names;
mod render;
pub mod tree;
mod write;

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};

pub use tree::{Input, Problems, Project};

/// Why `cargo ergo new` did not generate the project.
#[derive(Debug)]
pub enum Error {
    /// The description is wrong (every problem, one a line).
    Invalid(Problems),
    /// `--ergo-path` does not lead to the `ergo` crate.
    ErgoPath(PathBuf),
    /// The folder could not be written.
    Io(std::io::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Invalid(p) => p.fmt(f),
            Error::ErgoPath(path) => write!(
                f,
                "error: --ergo-path `{}` is neither an ergo checkout (with `ergo/Cargo.toml`) nor the `ergo` crate's folder",
                path.display()
            ),
            Error::Io(e) => write!(f, "error: {e}"),
        }
    }
}

impl std::error::Error for Error {}

/// What was generated.
#[derive(Debug)]
pub struct Generated {
    /// The checked project.
    pub project: Project,
    /// The files written, relative to the project's folder.
    pub files: Vec<PathBuf>,
    /// Whether `cargo fmt` ran on them.
    pub formatted: bool,
}

/// Checks `input`, writes the project into `dir` and formats it (unless `no_fmt`).
/// Nothing is written if the description is wrong or `dir` is not empty.
pub fn generate(mut input: Input, dir: &Path, no_fmt: bool) -> Result<Generated, Error> {
    if let Some(path) = input.ergo_path.take() {
        input.ergo_path = Some(ergo_crate(&path).ok_or(Error::ErgoPath(path))?);
    }
    let project = Project::build(&input).map_err(Error::Invalid)?;
    let files = render::project(&project, &cookie());
    write::files(dir, &files).map_err(Error::Io)?;
    let formatted = !no_fmt && write::format(dir);
    Ok(Generated {
        project,
        files: files.into_iter().map(|f| f.path).collect(),
        formatted,
    })
}

/// The `ergo` crate's folder, absolute, from a checkout's folder or the crate's own.
fn ergo_crate(path: &Path) -> Option<PathBuf> {
    let is_ergo = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "name = \"ergo\""))
    };
    let dir = [path.join("ergo"), path.to_path_buf()]
        .into_iter()
        .find(|d| is_ergo(d))?;
    std::fs::canonicalize(dir).ok()
}

/// A random cookie for the node (32 hex digits from the process's random hash keys).
fn cookie() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let mut out = String::new();
    for salt in [0u64, 1] {
        let mut h = state.build_hasher();
        h.write_u64(salt);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}
