//! An external OS program as a meta process (Erlang's port): its standard output and
//! error arrive as messages (lines, or binary chunks), what the port is sent goes to
//! its standard input, its exit status is the last message. The program is killed
//! when the port's owner dies, or the port is closed.

use std::process::Stdio;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use ergo_runtime::{
    Actor, ActorRef, Context, Down, Handles, Node, Pid, Reason, ReplyTo, SendError, SpawnOptions,
    Step,
};

use crate::meta::{watch, MetaError, Tasks};
use crate::recipient::Recipient;

/// How a program's standard output is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortMode {
    /// One message per line (without its newline).
    Lines,
    /// Chunks of at most this many bytes, as read.
    Binary(usize),
}

/// What to run.
#[derive(Clone, Debug)]
pub struct PortOptions {
    /// The program.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// How standard output is read (standard error is always read by lines).
    pub mode: PortMode,
    /// A tag carried by every message of this port.
    pub tag: String,
}

impl PortOptions {
    /// Runs `program` with `args`, reading lines.
    pub fn new<I, S>(program: &str, args: I) -> PortOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PortOptions {
            program: program.to_string(),
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            mode: PortMode::Lines,
            tag: String::new(),
        }
    }

    /// Reads standard output in binary chunks of at most `chunk` bytes.
    pub fn binary(mut self, chunk: usize) -> Self {
        self.mode = PortMode::Binary(chunk.max(1));
        self
    }

    /// Sets an environment variable of the program.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Tags the port's messages.
    pub fn tag(mut self, tag: &str) -> Self {
        self.tag = tag.to_string();
        self
    }
}

/// What a port's owner receives (handle it with `#[handle_info(local)]`).
#[derive(Debug)]
pub enum PortEvent {
    /// The program started.
    Start {
        /// The port.
        port: Port,
        /// The options' tag.
        tag: String,
        /// The program's OS process id.
        os_pid: Option<u32>,
    },
    /// A line (line mode) or a chunk (binary mode) of standard output.
    Stdout {
        /// The port.
        port: Port,
        /// The bytes, without the newline in line mode.
        data: Bytes,
    },
    /// A line of standard error.
    Stderr {
        /// The port.
        port: Port,
        /// The line.
        line: String,
    },
    /// The program ended, after all its output was delivered: the exit code (`None`
    /// when killed by a signal). The port process ends too.
    Exit {
        /// The port.
        port: Port,
        /// The options' tag.
        tag: String,
        /// The exit code.
        code: Option<i32>,
    },
}

/// A handle to a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port(ActorRef<PortMeta>);

impl Port {
    /// Starts the program; its messages go to `owner`, and it is killed when `owner`
    /// dies.
    pub async fn open(
        node: &Node,
        options: PortOptions,
        owner: impl Into<Recipient<PortEvent>>,
    ) -> Result<Port, MetaError> {
        let mut cmd = Command::new(&options.program);
        cmd.args(&options.args)
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn()?;
        let meta = PortMeta {
            os_pid: child.id(),
            child: Some(child),
            stdin: None,
            owner: owner.into(),
            options,
            tasks: Tasks::default(),
        };
        Ok(Port(
            node.spawn_with(meta, (), SpawnOptions::default()).await?,
        ))
    }

    /// The port process's pid.
    pub fn pid(&self) -> Pid {
        self.0.pid()
    }

    /// The program's OS process id (`None` once it has ended and the port is gone).
    pub async fn os_pid(&self) -> Option<u32> {
        self.0.request(()).await.ok().flatten()
    }

    /// Queues `data` for the program's standard input.
    pub fn write(&self, data: impl Into<Bytes>) -> Result<(), MetaError> {
        send(&self.0, PortMsg::Write(data.into()))
    }

    /// Closes the program's standard input (it sees end of file).
    pub fn close_stdin(&self) -> Result<(), MetaError> {
        send(&self.0, PortMsg::CloseStdin)
    }

    /// Kills the program and ends the port.
    pub fn close(&self) -> Result<(), MetaError> {
        send(&self.0, PortMsg::Close)
    }
}

fn send(to: &ActorRef<PortMeta>, msg: PortMsg) -> Result<(), MetaError> {
    to.send(msg).map_err(|e| match e {
        SendError::MailboxFull(_) => MetaError::Busy,
        _ => MetaError::Closed,
    })
}

#[doc(hidden)]
pub enum PortMsg {
    Write(Bytes),
    CloseStdin,
    Close,
    Exited,
}

/// The port meta process (see [`Port`] for its handle).
pub struct PortMeta {
    child: Option<Child>,
    os_pid: Option<u32>,
    stdin: Option<ChildStdin>,
    owner: Recipient<PortEvent>,
    options: PortOptions,
    tasks: Tasks,
}

impl Handles<PortMsg> for PortMeta {
    fn into_message(msg: PortMsg) -> PortMsg {
        msg
    }
}

async fn read_lines<R: AsyncRead + Unpin>(out: R, mut each: impl FnMut(Bytes)) {
    let mut lines = BufReader::new(out);
    let mut line = Vec::new();
    loop {
        line.clear();
        match lines.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                each(Bytes::copy_from_slice(&line));
            }
        }
    }
}

async fn read_chunks<R: AsyncRead + Unpin>(mut out: R, chunk: usize, mut each: impl FnMut(Bytes)) {
    let mut buf = BytesMut::with_capacity(chunk);
    loop {
        buf.reserve(chunk);
        match (&mut out).take(chunk as u64).read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => each(buf.split().freeze()),
        }
    }
}

impl Actor for PortMeta {
    type Message = PortMsg;
    type Call = ();
    type Reply = Option<u32>;
    type Args = ();

    async fn init(&mut self, ctx: &mut Context<Self>, _: ()) -> Result<(), Reason> {
        watch(ctx, &[self.owner.pid()])?;
        let mut child = self.child.take().ok_or(Reason::error("no program"))?;
        self.stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let port = Port(ctx.myself());
        let owner = self.owner.clone();
        let tag = self.options.tag.clone();
        let mode = self.options.mode;
        let me = ctx.myself();
        let _ = owner.send(PortEvent::Start {
            port: port.clone(),
            tag: tag.clone(),
            os_pid: child.id(),
        });
        // One task owns the child: dropping it (an abort when the port ends) kills it.
        self.tasks.spawn(async move {
            let out = async {
                let Some(stdout) = stdout else { return };
                let each = |data| {
                    let _ = owner.send(PortEvent::Stdout {
                        port: port.clone(),
                        data,
                    });
                };
                match mode {
                    PortMode::Lines => read_lines(stdout, each).await,
                    PortMode::Binary(chunk) => read_chunks(stdout, chunk, each).await,
                }
            };
            let err = async {
                let Some(stderr) = stderr else { return };
                read_lines(stderr, |line| {
                    let line = String::from_utf8_lossy(&line).into_owned();
                    let _ = owner.send(PortEvent::Stderr {
                        port: port.clone(),
                        line,
                    });
                })
                .await
            };
            tokio::join!(out, err);
            let code = match child.wait().await {
                Ok(status) => status.code(),
                Err(_) => None,
            };
            let _ = owner.send(PortEvent::Exit { port, tag, code });
            let _ = me.send(PortMsg::Exited);
        });
        Ok(())
    }

    fn handle_message(&mut self, _: &mut Context<Self>, msg: PortMsg) -> Step<Self> {
        match msg {
            PortMsg::Write(data) => Step::run_async(move |mut this: Self, ctx| async move {
                if let Some(stdin) = this.stdin.as_mut() {
                    if stdin.write_all(&data).await.is_err() {
                        this.stdin = None;
                    }
                }
                (this, ctx)
            }),
            PortMsg::CloseStdin => {
                self.stdin = None;
                Step::Continue
            }
            PortMsg::Close | PortMsg::Exited => Step::Stop(Reason::Normal),
        }
    }

    fn handle_call(
        &mut self,
        _: &mut Context<Self>,
        _: (),
        reply: ReplyTo<Option<u32>>,
    ) -> Step<Self> {
        reply.send(self.os_pid);
        Step::Continue
    }

    fn debug_state(&self) -> Option<String> {
        Some(format!(
            "Port {{ program: {:?}, args: {:?}, tag: {:?}, os_pid: {:?} }}",
            self.options.program, self.options.args, self.options.tag, self.os_pid
        ))
    }

    fn handle_down(&mut self, _: &mut Context<Self>, _: Down) -> Step<Self> {
        Step::Stop(Reason::Normal)
    }
}
