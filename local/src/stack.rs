//! Bringing the whole stack up on one machine: emulator, packaged function, every resource
//! of the program, the event source mapping; and the state file other commands read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::build::{self, Build};
use crate::clients::{Clients, LOCAL_KEY};
use crate::deploy::{self, Deployed};
use crate::emulator::{self, Emulator};
use crate::error::Error;
use crate::esm;
use crate::state::{StateFile, state_dir};
use stackgen::settings::Architecture;

/// Options of `up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    pub root: PathBuf,
    pub stack: String,
    pub port: Option<u16>,
    pub build: Build,
    pub progress: bool,
    /// Where state, logs and checkpoints go (default `<root>/.local/state/<stack>`).
    pub state_dir: Option<PathBuf>,
    /// Run the function built for this architecture instead of the stack's
    /// `lambdaArchitecture` (one not the host's runs under qemu-user).
    pub architecture: Option<Architecture>,
}

/// A running local stack.
#[derive(Debug)]
pub struct LocalStack {
    pub emulator: Emulator,
    pub clients: Clients,
    pub deployed: Deployed,
    pub mapping: Option<esm::Running>,
    pub state_dir: PathBuf,
    pub bootstrap: PathBuf,
    /// A test's hold on the function's responses, for the mapping the next
    /// [`LocalStack::start_mapping`] starts (see [`crate::runtime::Hold`]).
    pub hold: Option<crate::runtime::Hold>,
    /// The compaction schedule, running while the stack is up.
    pub schedule: Option<tokio::task::JoinHandle<()>>,
}

/// The stacks this checkout has a `Pulumi.<stack>.yaml` for.
pub fn known_stacks(root: &Path) -> Vec<String> {
    let mut stacks: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(
                name.strip_prefix("Pulumi.")?
                    .strip_suffix(".yaml")?
                    .to_owned(),
            )
        })
        .collect();
    stacks.sort();
    stacks
}

/// `Pulumi.<stack>.yaml`, or an error listing the stacks that exist.
pub fn load_stack_file(root: &Path, stack: &str) -> Result<stackgen::StackFile, Error> {
    let path = root.join(format!("Pulumi.{stack}.yaml"));
    if !path.exists() {
        return Err(Error::UnknownStack {
            stack: stack.to_owned(),
            known: known_stacks(root).join(", "),
        });
    }
    Ok(stackgen::Settings::load_stack_file(&path)?)
}

/// Extracts `bootstrap` from the zip Pulumi would upload.
fn unpack(zip_path: &Path, dir: &Path) -> Result<PathBuf, Error> {
    let file = std::fs::File::open(zip_path).map_err(Error::io(zip_path))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| Error::Build(format!("{}: {e}", zip_path.display())))?;
    let mut entry = zip
        .by_name("bootstrap")
        .map_err(|e| Error::Build(format!("{}: no bootstrap: {e}", zip_path.display())))?;
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let path = dir.join("bootstrap");
    let mut out = std::fs::File::create(&path).map_err(Error::io(&path))?;
    std::io::copy(&mut entry, &mut out).map_err(Error::io(&path))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .map_err(Error::io(&path))?;
    Ok(path)
}

/// What points an SDK or the AWS CLI at the emulator: endpoint, region (`AWS_REGION` for
/// the SDKs and AWS CLI v2, `AWS_DEFAULT_REGION` for AWS CLI v1) and the local credentials.
pub fn endpoint_env(endpoint: &str, region: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("AWS_ENDPOINT_URL".into(), endpoint.to_owned()),
        ("AWS_REGION".into(), region.to_owned()),
        ("AWS_DEFAULT_REGION".into(), region.to_owned()),
        ("AWS_ACCESS_KEY_ID".into(), LOCAL_KEY.0.into()),
        ("AWS_SECRET_ACCESS_KEY".into(), LOCAL_KEY.1.into()),
    ])
}

/// [`endpoint_env`] as `export` lines for a shell.
pub fn exports(endpoint: &str, region: &str) -> String {
    endpoint_env(endpoint, region)
        .iter()
        .map(|(k, v)| format!("export {k}={v}\n"))
        .collect()
}

impl LocalStack {
    /// Installs and starts the emulator, packages the function, creates every resource of
    /// the stack program with `Pulumi.<stack>.yaml`'s settings, starts the mapping.
    pub async fn up(o: &UpOptions) -> Result<Self, Error> {
        // Before anything is created (even the state folder): a valid stack file, and every
        // name this stack derives valid for its region.
        let mut file = load_stack_file(&o.root, &o.stack)?;
        if let Some(arch) = o.architecture {
            file.settings.lambda_architecture = arch;
        }
        let arch = file.settings.lambda_architecture;
        stackgen::names::check_stack(&o.stack, &file.region)?;
        let program = stackgen::stack::program()?;
        let state_dir = o
            .state_dir
            .clone()
            .unwrap_or_else(|| state_dir(&o.root, &o.stack));
        crate::state::claim(&state_dir, &o.stack)?;

        let p = crate::progress::spinner(
            o.progress && !emulator::installed(&o.root),
            "installing MiniStack into .local/venv",
        );
        emulator::install(&o.root).await?;
        p.finish_and_clear();

        let zip = build::function(&o.root, arch, o.build, o.progress).await?;

        let p = crate::progress::spinner(o.progress, "starting MiniStack");
        let log = state_dir.join("ministack.log");
        let emulator = match o.port {
            Some(port) => Emulator::start(&o.root, port, &log).await?,
            None => Emulator::start_on_free_port(&o.root, &log).await?,
        };
        p.finish_and_clear();

        let clients = Clients::local(&emulator.endpoint, &file.region).await;
        let p = crate::progress::spinner(o.progress, "creating the stack's resources");
        let deployed =
            deploy::deploy(&clients, &program, &file.settings, &o.stack, &o.root, &zip).await?;
        p.finish_and_clear();
        let bootstrap = unpack(&deployed.function.archive, &state_dir.join("function"))?;
        let mut stack = Self {
            emulator,
            clients,
            deployed,
            mapping: None,
            state_dir,
            bootstrap,
            hold: None,
            schedule: None,
        };
        stack.start_mapping().await?;
        stack.start_schedule()?;
        StateFile {
            pid: std::process::id(),
            endpoint: stack.emulator.endpoint.clone(),
            deployed: stack.deployed.clone(),
        }
        .save(&stack.state_dir)?;
        Ok(stack)
    }

    /// Environment the function gets on top of the program's: the emulator endpoint.
    pub fn runtime_env(&self) -> BTreeMap<String, String> {
        endpoint_env(&self.emulator.endpoint, &self.deployed.region)
    }

    /// Starts (or restarts) the event source mapping; it resumes after its checkpoints.
    pub async fn start_mapping(&mut self) -> Result<(), Error> {
        if let Some(m) = self.mapping.take() {
            m.stop().await;
        }
        let env = self.runtime_env();
        self.mapping = Some(
            esm::start(
                &self.clients,
                &self.deployed,
                &self.bootstrap,
                env,
                &self.state_dir,
                self.hold.clone(),
            )
            .await?,
        );
        Ok(())
    }

    /// The stack's compactor, run as the program deploys it.
    pub fn compactor(&self) -> Result<crate::compact::LocalCompactor, Error> {
        crate::compact::of(
            self.deployed.compactor.as_ref(),
            &self.bootstrap,
            self.runtime_env(),
            &self.state_dir,
        )
    }

    /// Compacts `hours` (`YYYY-MM-DDTHH`, UTC) now, closed or not.
    pub async fn compact(&self, hours: &[String]) -> Result<function::compact::Report, Error> {
        self.compactor()?
            .invoke(&serde_json::json!({ "hours": hours }))
            .await
    }

    /// Runs the program's enabled schedules targeting the compactor on the wall clock.
    fn start_schedule(&mut self) -> Result<(), Error> {
        let Some(spec) = &self.deployed.compactor else {
            return Ok(());
        };
        for s in &self.deployed.schedules {
            if s.enabled && s.target.as_deref() == Some(spec.arn.as_str()) {
                crate::compact::next_fire(&s.expression, 0)?;
                self.schedule = Some(crate::compact::run_schedule(s.clone(), self.compactor()?));
            }
        }
        Ok(())
    }

    /// Stops the mapping (checkpoints stay).
    pub async fn stop_mapping(&mut self) {
        if let Some(m) = self.mapping.take() {
            m.stop().await;
        }
    }

    /// Redrives the kept batches through this stack's own function.
    pub async fn redrive(&self) -> Result<crate::redrive::Redrive, Error> {
        self.redrive_expired(crate::redrive::Expired::Keep).await
    }

    /// [`Self::redrive`], saying what becomes of batches past their counting deadline.
    pub async fn redrive_expired(
        &self,
        expired: crate::redrive::Expired,
    ) -> Result<crate::redrive::Redrive, Error> {
        let mut f = esm::LocalFunction::new(
            &self.deployed.function,
            "redrive",
            &self.bootstrap,
            self.runtime_env(),
            &self.state_dir,
        );
        let cfg = self.deployed.config()?;
        let stores = crate::redrive::Stores {
            clients: &self.clients,
            failed_bucket: &self.deployed.mapping.failure_bucket,
            cfg: &cfg,
            kept_alarm: self
                .deployed
                .output(stackgen::stack::outputs::KEPT_BATCHES_ALARM_NAME),
        };
        let retries = self.deployed.mapping.maximum_retry_attempts;
        let r = crate::redrive::redrive(&stores, &mut f, retries, expired).await;
        f.stop().await;
        r
    }

    /// The mapping's counters.
    pub fn counters(&self) -> crate::status::Counters {
        self.tally().mapping
    }

    /// The mapping's counters and the function's summaries of the records done, at one
    /// moment.
    pub fn tally(&self) -> crate::status::Tally {
        self.mapping
            .as_ref()
            .map(|m| m.stats.snapshot())
            .unwrap_or_default()
    }

    /// Shell lines that point the AWS CLI at the emulator.
    pub fn exports(&self) -> String {
        exports(&self.emulator.endpoint, &self.deployed.region)
    }

    /// Stops everything.
    pub async fn down(mut self) {
        if let Some(s) = self.schedule.take() {
            s.abort();
        }
        self.stop_mapping().await;
        self.emulator.stop().await;
    }
}
