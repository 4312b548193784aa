//! Function URL requests and responses through `lambda_http`: the event is read into a
//! `lambda_http::Request` and the handler's `lambda_http::Response` is turned into the answer a
//! Function URL expects (status, headers, body, cookies) by the same adapter `lambda_http::run` uses.
//! This function also takes SQS batches and direct events, so the adapter serves one invocation at a
//! time instead of owning the runtime loop.

use base64::Engine;
use lambda_http::http::header::CONTENT_TYPE;
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Body, Context, LambdaEvent, Request, Response, Service};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::future::Future;

/// True for a Function URL event (payload format 2.0): it carries `requestContext.http`.
pub fn is_function_url(payload: &Value) -> bool {
    payload.pointer("/requestContext/http").is_some_and(Value::is_object)
}

/// A JSON answer with `status`.
pub fn json_response(status: u16, body: &Value) -> Response<Body> {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Serves one Function URL event with `handler` and returns the Function URL response as JSON.
/// An event `lambda_http` cannot read is answered 400, without calling `handler`.
pub async fn serve<F, Fut>(payload: Value, handler: F) -> Value
where
    F: FnOnce(Request) -> Fut + Send,
    Fut: Future<Output = Response<Body>> + Send,
{
    let (event, handler) = match read_event(payload) {
        Ok(event) => (event, Ok(handler)),
        // Answered in the Function URL's own shape: the adapter still builds the response.
        Err(reason) => {
            tracing::warn!(status = 400, reason = %reason, "webhook request refused");
            (LambdaRequest::ApiGatewayV2(Default::default()), Err(reason))
        }
    };
    let mut handler = Some(handler);
    let mut adapter = Adapter::from(lambda_http::service_fn(move |request: Request| {
        let handler = handler.take();
        async move {
            Ok::<_, Infallible>(match handler {
                Some(Ok(handler)) => handler(request).await,
                Some(Err(reason)) => json_response(400, &json!({ "error": reason })),
                // The adapter calls the service once per event.
                None => json_response(500, &json!({"error": "the request was served twice"})),
            })
        }
    }));
    let response = match adapter.call(LambdaEvent::new(event, Context::default())).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    serde_json::to_value(&response).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the Function URL response could not be written as JSON");
        json!({"statusCode": 500, "headers": {}, "cookies": [], "isBase64Encoded": false})
    })
}

/// The event as `lambda_http` reads it, or why it is not a usable Function URL request.
fn read_event(payload: Value) -> Result<LambdaRequest, String> {
    // lambda_http panics on a body flagged base64 that is not; Lambda never sends one, a caller might.
    if payload.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        let body = payload.get("body").and_then(Value::as_str).unwrap_or("");
        if base64::engine::general_purpose::STANDARD.decode(body).is_err() {
            return Err("the body is flagged isBase64Encoded but is not base64".into());
        }
    }
    serde_json::from_value(payload).map_err(|e| format!("not a Function URL request (payload format 2.0): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::Method;

    async fn echo(payload: Value) -> Value {
        serve(payload, |request: Request| async move {
            let body = String::from_utf8_lossy(request.body().as_ref()).into_owned();
            json_response(201, &json!({"method": request.method().as_str(), "body": body}))
        })
        .await
    }

    #[tokio::test]
    async fn a_request_reaches_the_handler_and_the_answer_has_the_function_url_shape() {
        let event = json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "POST"}},
                           "headers": {"content-type": "application/json"}, "isBase64Encoded": false,
                           "body": "{\"a\":1}"});
        let answer = echo(event).await;
        assert_eq!(answer["statusCode"], 201, "{answer}");
        assert_eq!(answer["headers"]["content-type"], "application/json", "{answer}");
        // The member cargo-lambda's emulator (and Lambda's own response type) requires.
        assert_eq!(answer["cookies"], json!([]), "{answer}");
        assert_eq!(answer["isBase64Encoded"], false, "{answer}");
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, json!({"method": Method::POST.as_str(), "body": "{\"a\":1}"}));
    }

    #[tokio::test]
    async fn a_base64_body_arrives_decoded_and_a_broken_one_is_a_400() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("{\"a\":1}");
        let event = json!({"requestContext": {"http": {"method": "POST"}}, "isBase64Encoded": true, "body": encoded});
        let answer = echo(event).await;
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["body"], "{\"a\":1}");

        let broken = json!({"requestContext": {"http": {"method": "POST"}}, "isBase64Encoded": true, "body": "%%%"});
        let answer = echo(broken).await;
        assert_eq!(answer["statusCode"], 400, "{answer}");
        assert!(answer["body"].as_str().unwrap().contains("base64"), "{answer}");
    }

    #[tokio::test]
    async fn an_event_lambda_http_cannot_read_is_a_400_in_the_function_url_shape() {
        let event = json!({"requestContext": {"http": {"method": 7}}, "body": "{}"});
        assert!(is_function_url(&event));
        let answer = echo(event).await;
        assert_eq!(answer["statusCode"], 400, "{answer}");
        assert_eq!(answer["cookies"], json!([]), "{answer}");
        assert!(!is_function_url(&json!({"action": "verify"})));
        assert!(!is_function_url(&json!({"requestContext": {"http": "POST"}})));
    }
}
