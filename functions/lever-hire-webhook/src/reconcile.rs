//! Reconciliation: hires Lever never delivered. A delivery that never got a 2xx (refused after the
//! signature token was rotated in Lever but not in the secret, a 503 while AWS was down, a bad deploy)
//! is retried five times by Lever and then dropped. The sweep therefore also asks Lever for the
//! opportunities that became hires since its last look (with an overlap), and queues every one the
//! run log does not know and Lever does not tag as transferred or skipped.
//!
//! Cost per sweep: one page request per hired archive reason (stage mode: one), at most
//! [`MAX_PAGES`] pages each, and one run-log read per opportunity listed. No Namely call for a hire
//! already known.

use crate::lookups;
use crate::settings::{HireSettings, TriggerMode};
use crate::transfer::{Attempt, ENTRY_KIND, QUEUED, TAG_SKIP, TAG_SUCCESS};
use app::Deps;
use chrono::{DateTime, Duration, Utc};
use connectors::lever::{LeverClient, Opportunity, OpportunityFilter};
use platform::runlog::Entry;
use serde_json::json;

/// The run-log checkpoint: the time (epoch ms) up to which Lever has been looked at.
pub const CHECKPOINT: &str = "lever-hire-webhook.reconcile";
/// Each look starts this long before the last one ended: Lever's lists may lag its changes.
pub const OVERLAP_MINUTES: i64 = 60;
/// Pages of 100 read per hired archive reason per sweep, at most.
pub const MAX_PAGES: usize = 5;

/// What a reconciliation pass found, for the sweep's run.
#[derive(Debug, Default)]
pub struct Found {
    /// Hires to transfer now: received by no delivery.
    pub attempts: Vec<Attempt>,
    /// A sentence for the run's message.
    pub summary: String,
}

/// Looks for hires since the checkpoint and records each one not yet known as received (an open
/// entry), so that it is transferred now and, if this run cannot, by a later sweep.
pub async fn find_missed_hires(deps: &Deps, settings: &HireSettings, lever: &LeverClient) -> Result<Found, app::Error> {
    let now = platform::runlog::now_ms();
    let since = match deps.runlog.checkpoint(CHECKPOINT).await? {
        Some(ms) => ms.parse::<i64>().ok().and_then(DateTime::<Utc>::from_timestamp_millis),
        None => None,
    };
    let Some(since) = since else {
        // The first sweep after set-up: hires from before it are not this deployment's to transfer.
        deps.runlog.save_checkpoint(CHECKPOINT, &now.timestamp_millis().to_string()).await?;
        return Ok(Found {
            attempts: Vec::new(),
            summary: format!("reconciliation starts now ({now}); hires made before are not looked for"),
        });
    };
    let start = (since - Duration::minutes(OVERLAP_MINUTES)).timestamp_millis();
    let filters: Vec<OpportunityFilter> = match &settings.trigger {
        TriggerMode::OnHire => lookups::hired_reason_ids(lever)
            .await?
            .into_iter()
            .map(|reason| OpportunityFilter {
                archive_reason_id: Some(reason),
                archived_at_start: Some(start),
                include_confidential: true,
                ..Default::default()
            })
            .collect(),
        TriggerMode::OnStage(wanted) => match lookups::trigger_stage_id(lever, wanted).await? {
            Some(stage) => vec![OpportunityFilter {
                stage_id: Some(stage),
                updated_at_start: Some(start),
                include_confidential: true,
                ..Default::default()
            }],
            None => Vec::new(),
        },
    };
    let mut listed: Vec<Opportunity> = Vec::new();
    let mut complete = true;
    for filter in &filters {
        let mut offset: Option<String> = None;
        for page_number in 1..=MAX_PAGES {
            let page = lever.list_opportunities_page(filter, offset.as_deref()).await?;
            listed.extend(page.data);
            match (page.has_next, page.next) {
                (true, Some(next)) if page_number < MAX_PAGES => offset = Some(next),
                (true, Some(_)) => complete = false,
                _ => break,
            }
        }
    }
    let mut attempts: Vec<Attempt> = Vec::new();
    for opportunity in &listed {
        let id = opportunity.id.as_str();
        let tagged = opportunity.tags.iter().any(|t| t == TAG_SUCCESS || t == TAG_SKIP);
        if tagged || !crate::delivery::is_opportunity_id(id) || attempts.iter().any(|a| a.opportunity_id == id) {
            continue;
        }
        if deps.runlog.entry(ENTRY_KIND, id).await?.is_some() {
            continue;
        }
        let body = json!({"event": "reconciliation", "received_at": now.to_rfc3339()});
        if deps.runlog.insert_entry(&Entry::new(ENTRY_KIND, id, QUEUED, true, body)).await?.is_none() {
            tracing::warn!(opportunity_id = id, "a hire Lever never delivered was found; transferring it");
            attempts.push(Attempt { opportunity_id: id.to_string(), attempt_number: 1, forced: false });
        }
    }
    // Advanced only over a complete look, so nothing between the two is skipped.
    if complete {
        deps.runlog.save_checkpoint(CHECKPOINT, &now.timestamp_millis().to_string()).await?;
    }
    let mut summary = format!(
        "reconciliation looked at {} hire(s) in Lever since {}: {} never delivered",
        listed.len(),
        since - Duration::minutes(OVERLAP_MINUTES),
        attempts.len()
    );
    if !complete {
        summary.push_str(&format!(
            "; more than {MAX_PAGES} pages matched and the ones beyond were not checked (the checkpoint stays, so \
             the next sweep looks at the same span again)"
        ));
    }
    Ok(Found { attempts, summary })
}
