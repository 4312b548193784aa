//! The figures every scenario reads off the sandbox's request log: calls by kind, throttle
//! answers, and percentiles.

use sandbox::RecordedRequest;
use serde::Serialize;

/// Read and write calls to one vendor.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Calls {
    pub reads: u64,
    pub writes: u64,
}

/// The calls among `requests`: reads are GETs, everything else writes.
pub fn calls(requests: &[RecordedRequest]) -> Calls {
    let reads = requests.iter().filter(|r| r.method == "GET").count() as u64;
    Calls { reads, writes: requests.len() as u64 - reads }
}

/// Each vendor's throttle answers (see `shared/api/`).
pub const LEVER_THROTTLES: &[u16] = &[429];
pub const NAMELY_THROTTLES: &[u16] = &[406, 429];
pub const LESSONLY_THROTTLES: &[u16] = &[403];
pub const LITMOS_THROTTLES: &[u16] = &[503, 429];
pub const THEORG_THROTTLES: &[u16] = &[429];

/// The requests answered with one of `statuses`.
pub fn throttles(requests: &[RecordedRequest], statuses: &[u16]) -> u64 {
    requests.iter().filter(|r| statuses.contains(&r.status)).count() as u64
}

/// Nearest-rank percentile (`q` in 0..=1); 0 for no values.
pub fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = (q * values.len() as f64).ceil() as usize;
    values.get(rank.clamp(1, values.len().max(1)) - 1).copied().unwrap_or(0.0)
}
