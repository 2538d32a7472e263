//! A function the operations commands invoke locally (redrive: the processor; `compact`:
//! the compactor): one execution environment per key (for redrive, a shard: the mapping's
//! own are busy with the stream), run from the stack's `bootstrap`.

use super::*;
use crate::redrive::Invoker;

/// A local stack's function, for `crate::redrive` and `crate::compact`.
#[derive(Debug)]
pub struct LocalFunction<'a> {
    spec: &'a FunctionSpec,
    label: &'static str,
    bootstrap: PathBuf,
    extra_env: BTreeMap<String, String>,
    logs: PathBuf,
    envs: BTreeMap<String, Environment>,
}

impl<'a> LocalFunction<'a> {
    /// Environments of the function `spec`, started on first use, logging under
    /// `state_dir/logs/<key>-<label>.log`.
    pub fn new(
        spec: &'a FunctionSpec,
        label: &'static str,
        bootstrap: &Path,
        extra_env: BTreeMap<String, String>,
        state_dir: &Path,
    ) -> Self {
        Self {
            spec,
            label,
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
                self.spec,
                &self.bootstrap,
                self.extra_env.clone(),
                self.logs.join(format!("{shard}-{}.log", self.label)),
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
