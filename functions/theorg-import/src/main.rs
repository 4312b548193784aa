#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    app::lambda::serve(theorg_import::FUNCTION, theorg_import::handle).await
}
