#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    app::lambda::serve(lessonly_sync::FUNCTION, lessonly_sync::handle).await
}
