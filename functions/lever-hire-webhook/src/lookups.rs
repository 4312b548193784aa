//! Lever account settings the webhook needs to recognise a hire, cached for the container's life:
//! every archive reason with whether its type is `hired` (a per-account id), and the stages (to
//! match a stage name). Only an id the cache does not know refreshes it, so a reason or stage added
//! in Lever is seen at once and a delivery for a known one (hired or not) costs no Lever call.

use connectors::lever::LeverClient;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Even a known id is re-read after this long, so a renamed stage is picked up.
const MAX_AGE: Duration = Duration::from_secs(15 * 60);

struct Cached {
    at: Instant,
    /// Every archive reason id, with true when its type is `hired`.
    reasons: Vec<(String, bool)>,
    /// Stage `(id, name)` pairs.
    stages: Vec<(String, String)>,
}

/// Keyed by the Lever base URL, so that tests with several sandboxes do not share entries.
static CACHE: Mutex<Option<HashMap<String, Cached>>> = Mutex::new(None);

fn cached<T>(lever: &LeverClient, read: impl FnOnce(&Cached) -> T) -> Option<T> {
    let guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_ref()?.get(lever.base_url()).filter(|c| c.at.elapsed() < MAX_AGE).map(read)
}

async fn refresh(lever: &LeverClient) -> Result<(), connectors::Error> {
    let (reasons, stages) = tokio::join!(lever.list_archive_reasons(), lever.list_stages());
    let reasons = reasons?.into_iter().map(|r| (r.is_hired(), r.id)).map(|(hired, id)| (id, hired)).collect();
    let stages = stages?.into_iter().map(|s| (s.id, s.text.unwrap_or_default())).collect();
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    guard
        .get_or_insert_with(HashMap::new)
        .insert(lever.base_url().to_string(), Cached { at: Instant::now(), reasons, stages });
    Ok(())
}

fn hired_ids(c: &Cached) -> Vec<String> {
    c.reasons.iter().filter(|(_, hired)| *hired).map(|(id, _)| id.clone()).collect()
}

/// The ids of the account's archive reasons of type `hired`.
pub async fn hired_reason_ids(lever: &LeverClient) -> Result<Vec<String>, connectors::Error> {
    if let Some(ids) = cached(lever, hired_ids) {
        return Ok(ids);
    }
    refresh(lever).await?;
    Ok(cached(lever, hired_ids).unwrap_or_default())
}

/// Whether `reason_id` is an archive reason of type `hired`.
pub async fn is_hired_reason(lever: &LeverClient, reason_id: &str) -> Result<bool, connectors::Error> {
    let known = |c: &Cached| c.reasons.iter().find(|(id, _)| id == reason_id).map(|(_, hired)| *hired);
    if let Some(Some(hired)) = cached(lever, known) {
        return Ok(hired);
    }
    refresh(lever).await?;
    Ok(cached(lever, known).flatten().unwrap_or(false))
}

/// Whether `stage_id` is the configured stage, given by id or by name (case-insensitive).
pub async fn is_trigger_stage(lever: &LeverClient, stage_id: &str, wanted: &str) -> Result<bool, connectors::Error> {
    let matches = |c: &Cached| {
        c.stages.iter().find(|(id, _)| id == stage_id).map(|(_, name)| name.trim().eq_ignore_ascii_case(wanted.trim()))
    };
    if let Some(Some(answer)) = cached(lever, matches) {
        return Ok(answer);
    }
    refresh(lever).await?;
    Ok(cached(lever, matches).flatten().unwrap_or(false))
}

/// The id of the configured stage, given by id or by name (case-insensitive); `None` when Lever has
/// no such stage.
pub async fn trigger_stage_id(lever: &LeverClient, wanted: &str) -> Result<Option<String>, connectors::Error> {
    let find = |c: &Cached| {
        c.stages
            .iter()
            .find(|(id, name)| id == wanted.trim() || name.trim().eq_ignore_ascii_case(wanted.trim()))
            .map(|(id, _)| id.clone())
    };
    if let Some(Some(id)) = cached(lever, find) {
        return Ok(Some(id));
    }
    refresh(lever).await?;
    Ok(cached(lever, find).flatten())
}
