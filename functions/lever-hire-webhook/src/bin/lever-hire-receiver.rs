//! The receiving half of Lever → Namely, deployed as a function of its own behind the Function URL
//! (see `template.yaml`): a flood of requests on the public URL is capped by this function's reserved
//! concurrency and cannot take the workers' or the account's capacity.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    app::lambda::serve(lever_hire_webhook::RECEIVER, lever_hire_webhook::handle_receiver).await
}
