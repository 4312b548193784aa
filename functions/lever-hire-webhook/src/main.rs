#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    app::lambda::serve(lever_hire_webhook::FUNCTION, lever_hire_webhook::handle).await
}
