//! `cargo-ergo`: run as `cargo ergo new <dir> --name MyNode ...` (cargo passes `ergo`
//! as the first argument) or directly as `cargo-ergo new ...`.

use std::process::ExitCode;

use cargo_ergo::cli::{Cargo, Command};
use cargo_ergo::{generate, Input};
use clap::Parser;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Run directly (`cargo-ergo new ..`): act as if cargo had called us.
    if args.get(1).is_none_or(|a| a != "ergo") {
        args.insert(1, "ergo".into());
    }
    let Cargo::Ergo(ergo) = Cargo::parse_from(args);
    match ergo.command {
        Command::New(new) => {
            let input = Input {
                node: new.name,
                apps: new.apps,
                sups: new.sups,
                actors: new.actors,
                webs: new.webs,
                observer: new.observer,
                ergo_path: new.ergo_path,
            };
            match generate(input, &new.dir, new.no_fmt) {
                Ok(done) => {
                    if !done.formatted && !new.no_fmt {
                        eprintln!("note: `cargo fmt` did not run (is rustfmt installed?)");
                    }
                    println!(
                        "generated `{}` in {} ({} files)",
                        done.project.node,
                        new.dir.display(),
                        done.files.len()
                    );
                    println!("  cd {} && cargo run     # run the node", new.dir.display());
                    println!(
                        "  cd {} && cargo test    # run its tests",
                        new.dir.display()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
