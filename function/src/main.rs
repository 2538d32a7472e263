//! The Lambda `bootstrap`: the processor, or with handler `compact` the compactor.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    function::telemetry::init();
    if std::env::var("_HANDLER").as_deref() == Ok(function::compact::HANDLER) {
        let compactor = function::aws::compactor_from_env().await?;
        let handler = |event: LambdaEvent<_>| compactor.handle(event.payload);
        return lambda_runtime::run(service_fn(handler)).await;
    }
    let processor = function::aws::processor_from_env().await?;
    let handler = |event: LambdaEvent<_>| processor.handle(event.payload);
    lambda_runtime::run(service_fn(handler)).await
}
