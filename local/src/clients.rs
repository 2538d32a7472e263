//! One SDK configuration and every client, built once (against the emulator or real AWS).

use aws_config::{BehaviorVersion, Region};

/// The AWS clients the local stack uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub endpoint: Option<String>,
    /// Where the Kinesis client sends, when not to AWS: its own endpoint setting
    /// (`AWS_ENDPOINT_URL_KINESIS`, a profile's `kinesis` section) or the general one, as
    /// the SDK resolves them.
    pub kinesis_endpoint: Option<String>,
    pub region: String,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sns: aws_sdk_sns::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub kms: aws_sdk_kms::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub glue: aws_sdk_glue::Client,
    pub athena: aws_sdk_athena::Client,
}

/// Credentials the emulator accepts (it does not check them).
pub const LOCAL_KEY: (&str, &str) = ("test", "test");

impl Clients {
    /// Clients for the emulator at `endpoint`.
    pub async fn local(endpoint: &str, region: &str) -> Self {
        let creds = aws_sdk_kinesis::config::Credentials::new(
            LOCAL_KEY.0,
            LOCAL_KEY.1,
            None,
            None,
            "local-stack",
        );
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(endpoint)
            .credentials_provider(creds)
            // A request the emulator never answers fails (and is retried) instead of
            // stalling a shard reader forever.
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(std::time::Duration::from_secs(20))
                    .build(),
            )
            .load()
            .await;
        Self::from_sdk(&sdk, Some(endpoint.to_owned()), region)
    }

    /// Clients for real AWS, resolved as the AWS CLI does: credentials, profile and region
    /// from the environment and `~/.aws` (`AWS_ENDPOINT_URL`, when set, is honoured, with
    /// path-style S3 addressing: how CI points a deployed-target command at the emulator).
    pub async fn from_env() -> Self {
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let region = sdk
            .region()
            .map(ToString::to_string)
            .unwrap_or_else(|| "us-east-1".into());
        Self::from_sdk(&sdk, sdk.endpoint_url().map(str::to_owned), &region)
    }

    /// The endpoint the SDK resolves for the Kinesis client of `sdk` (the lookup each
    /// service's `Config::from(&SdkConfig)` makes).
    fn kinesis_endpoint(sdk: &aws_config::SdkConfig) -> Option<String> {
        if sdk.get_origin("endpoint_url").is_client_config() {
            return sdk.endpoint_url().map(str::to_owned);
        }
        let key = aws_types::service_config::ServiceConfigKey::builder()
            .service_id("Kinesis")
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()?;
        sdk.service_config()
            .and_then(|c| c.load_config(key))
            .or_else(|| sdk.endpoint_url().map(str::to_owned))
    }

    fn from_sdk(sdk: &aws_config::SdkConfig, endpoint: Option<String>, region: &str) -> Self {
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(endpoint.is_some())
            .build();
        Self {
            kinesis_endpoint: Self::kinesis_endpoint(sdk),
            endpoint,
            region: region.to_owned(),
            kinesis: aws_sdk_kinesis::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(s3),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            cloudwatch: aws_sdk_cloudwatch::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            iam: aws_sdk_iam::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            glue: aws_sdk_glue::Client::new(sdk),
            athena: aws_sdk_athena::Client::new(sdk),
        }
    }
}
