//! The Lambda `bootstrap`: configuration and clients once, then the runtime loop.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    function::telemetry::init();
    let processor = function::aws::processor_from_env().await?;
    let handler = |event: LambdaEvent<_>| processor.handle(event.payload);
    lambda_runtime::run(service_fn(handler)).await
}
