#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    app::lambda::serve(litmos_sync::FUNCTION, litmos_sync::handle).await
}
