//! The stack a command acts on: its name, its local state folder, or the deployed stack
//! `--aws` / `--outputs` name; benchmarks' own stacks.

use std::path::PathBuf;

use super::Cli;
use crate::build::Build;
use crate::clients::Clients;
use crate::error::Error;
use crate::repo_root;
use crate::stack::{LocalStack, UpOptions};
use crate::state::StateFile;
use crate::target::{Operated, OutputsSource};

/// The stack the command acts on: its name, where its local state lives, and whether it
/// is the deployed one.
#[derive(Debug, Clone)]
pub struct Target {
    pub stack: String,
    pub dir: PathBuf,
    /// `--state`, when given.
    state_root: Option<PathBuf>,
    /// `--aws` or `--outputs`: the deployed stack.
    pub deployed: Option<OutputsSource>,
}

impl Target {
    pub(super) fn of(cli: &Cli) -> Self {
        let dir = match &cli.state {
            Some(root) => root.join(&cli.stack),
            None => crate::state::state_dir(&repo_root(), &cli.stack),
        };
        let deployed = match (&cli.outputs, cli.aws) {
            (Some(file), _) => Some(OutputsSource::File(file.clone())),
            (None, true) => Some(OutputsSource::Pulumi {
                stack: cli.stack.clone(),
            }),
            (None, false) => None,
        };
        Self {
            stack: cli.stack.clone(),
            dir,
            state_root: cli.state.clone(),
            deployed,
        }
    }

    /// The stack to operate: the deployed one, or the running local one.
    pub async fn operated(&self) -> Result<Operated, Error> {
        match &self.deployed {
            Some(source) => Operated::deployed(source).await,
            None => Operated::local(&self.dir, &self.stack).await,
        }
    }

    /// Refuses a command that only the local stack has.
    pub(super) fn local_only(&self, what: &str) -> Result<(), Error> {
        match self.deployed {
            Some(_) => Err(Error::Usage(format!(
                "`{what}` runs the local stack; it does not take --aws or --outputs"
            ))),
            None => Ok(()),
        }
    }

    /// Where a benchmark's own stack keeps its state: `<--state>/<stack>-<name>`, or
    /// `target/<name>` (never the stack `up` runs).
    pub(super) fn bench_dir(&self, name: &str) -> PathBuf {
        match &self.state_root {
            Some(root) => root.join(format!("{}-{name}", self.stack)),
            None => repo_root().join("target").join(name),
        }
    }

    /// Brings up a benchmark's own stack of this stack's settings, on the release
    /// `bootstrap` (`skip_build`: the packaged zip as it is).
    pub(super) async fn bench_stack(
        &self,
        name: &str,
        skip_build: bool,
    ) -> Result<LocalStack, Error> {
        LocalStack::up(&UpOptions {
            root: repo_root(),
            stack: self.stack.clone(),
            port: None,
            build: if skip_build {
                Build::PACKAGED
            } else {
                Build::RELEASE
            },
            progress: true,
            state_dir: Some(self.bench_dir(name)),
            architecture: None,
        })
        .await
    }

    /// The running stack's state and clients; an error naming the stack if it is not up.
    pub(super) async fn connect(&self) -> Result<(Clients, StateFile), Error> {
        let state = StateFile::load(&self.dir, &self.stack)?;
        let clients = Clients::local(&state.endpoint, &state.deployed.region).await;
        Ok((clients, state))
    }
}
