//! The AWS SDK configuration, loaded once per container.
//!
//! The SDK reads its usual environment: region, credentials and `AWS_ENDPOINT_URL`, which points
//! every AWS call at another endpoint (moto's server in the tests, LocalStack, a VPC endpoint).

/// Loads the SDK configuration from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await
}

/// An SDK error with its causes: the innermost one ("connection refused") says more than the
/// outer "dispatch failure". When the cause is missing credentials or region, it says how to set them.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    // One line: the SDK lists each credential provider it tried on a line of its own.
    let mut text = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    if text.contains("loading credentials") || text.contains("no credentials") {
        text.push_str(
            "; no AWS credentials were found: run `aws configure` or `aws sso login`, set AWS_PROFILE, \
             or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        );
    } else if text.to_lowercase().contains("region") {
        text.push_str("; set the AWS region: export AWS_REGION (e.g. us-east-1) or configure it in your AWS profile");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("dispatch failure")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("an error occurred while loading credentials: no credentials found in chain. Attempted:\n  Environment: not set\n  Profile: not enabled")]
    struct Inner;

    #[test]
    fn a_chain_reads_outer_to_inner_and_missing_credentials_say_how_to_set_them() {
        let text = error_chain(&Outer(Inner));
        assert!(text.starts_with("dispatch failure: an error occurred while loading credentials"), "{text}");
        assert!(text.contains("AWS_PROFILE"), "{text}");
        assert!(!text.contains('\n') && text.contains("Attempted:; Environment: not set; Profile"), "{text}");
    }
}
