//! The function a local redrive invokes: one execution environment per shard (the
//! mapping's own are busy with the stream), run from the stack's `bootstrap`.

use super::*;
use crate::redrive::Invoker;

/// The local stack's function, for `crate::redrive`.
#[derive(Debug)]
pub struct LocalFunction<'a> {
    deployed: &'a Deployed,
    bootstrap: PathBuf,
    extra_env: BTreeMap<String, String>,
    logs: PathBuf,
    envs: BTreeMap<String, Environment>,
}

impl<'a> LocalFunction<'a> {
    /// Environments of `deployed`'s function, started on first use, logging under
    /// `state_dir/logs/<shard>-redrive.log`.
    pub fn new(
        deployed: &'a Deployed,
        bootstrap: &Path,
        extra_env: BTreeMap<String, String>,
        state_dir: &Path,
    ) -> Self {
        Self {
            deployed,
            bootstrap: bootstrap.to_owned(),
            extra_env,
            logs: state_dir.join("logs"),
            envs: BTreeMap::new(),
        }
    }

    /// Stops every environment it started.
    pub async fn stop(&mut self) {
        for env in self.envs.values_mut() {
            env.stop().await;
        }
    }
}

impl Invoker for LocalFunction<'_> {
    async fn invoke(&mut self, shard: &str, event: &[u8]) -> Result<Vec<u8>, Error> {
        if !self.envs.contains_key(shard) {
            let env = Environment::start(
                &self.deployed.function,
                &self.bootstrap,
                self.extra_env.clone(),
                self.logs.join(format!("{shard}-redrive.log")),
            )
            .await?;
            self.envs.insert(shard.to_owned(), env);
        }
        let Some(env) = self.envs.get_mut(shard) else {
            return Err(Error::Runtime(format!("no environment for {shard}")));
        };
        env.invoke(event).await?.map_err(Error::Invocation)
    }
}
