//! The command line: `cargo ergo new <dir> --name MyNode --with-app MyApp ...`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Cargo runs `cargo-ergo ergo <args>` for `cargo ergo <args>`.
#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo")]
pub enum Cargo {
    /// Tools for ergo projects.
    Ergo(Ergo),
}

/// `cargo ergo`.
#[derive(Args, Debug)]
#[command(version, about = "Tools for ergo projects", long_about = None)]
pub struct Ergo {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a project: a node, its applications, supervisors, actors, web workers,
    /// the Observer, tests and a README.
    #[command(after_help = EXAMPLE)]
    New(NewArgs),
}

const EXAMPLE: &str = "Example:
  cargo ergo new my_node --name MyNode --with-app MyApp --with-sup MyApp:MySup \\
      --with-actor MySup:MyActor --with-web MyWeb --with-observer

Parameters in braces, as Go Ergo's generator takes them (quote them in the shell):
  --with-app 'MyApp{mode:perm}'              temp | trans (default) | perm
  --with-sup 'MyApp:MySup{type:rfo,strategy:perm}'
                                             type: ofo (default) | sofo | afo | rfo
                                             strategy (children's restart): temp | trans (default) | perm
  --with-web 'MyWeb{host:0.0.0.0,port:8080}'  default 127.0.0.1:9090";

/// `cargo ergo new`.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// The folder to create (must not exist, or be empty).
    pub dir: PathBuf,
    /// The node's name in UpperCamelCase; the crate is its kebab-case form (`MyNode` → `my-node`).
    #[arg(long, value_name = "Node")]
    pub name: String,
    /// An application (repeatable).
    #[arg(long = "with-app", value_name = "App")]
    pub apps: Vec<String>,
    /// A supervisor under an application or a supervisor (repeatable).
    #[arg(long = "with-sup", value_name = "Parent:Sup")]
    pub sups: Vec<String>,
    /// An actor under an application or a supervisor (repeatable).
    #[arg(long = "with-actor", value_name = "Parent:Actor")]
    pub actors: Vec<String>,
    /// A web worker: `#[get]` handlers on a pool of actors behind an HTTP server (repeatable).
    #[arg(long = "with-web", value_name = "Web")]
    pub webs: Vec<String>,
    /// Run the Observer (web UI, metrics) on 127.0.0.1:9911.
    #[arg(long = "with-observer")]
    pub observer: bool,
    /// Depend on a local ergo checkout (its folder, or its `ergo` crate's) instead of
    /// the published crate.
    #[arg(long = "ergo-path", value_name = "PATH")]
    pub ergo_path: Option<PathBuf>,
    /// Leave the generated files as written (do not run `cargo fmt` on them).
    #[arg(long = "no-fmt", hide = true)]
    pub no_fmt: bool,
}
