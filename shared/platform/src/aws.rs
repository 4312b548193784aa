//! The AWS SDK configuration, loaded once per container.
//!
//! The SDK reads its usual environment: region, credentials and `AWS_ENDPOINT_URL`, which points
//! every AWS call at another endpoint (moto's server in the tests, LocalStack, a VPC endpoint).

/// Loads the SDK configuration from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

/// An SDK error with its causes: the innermost one ("connection refused") says more than the
/// outer "dispatch failure".
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}
