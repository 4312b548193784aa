//! A small async token bucket, shared across clones of a client.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Token bucket: `burst` tokens, refilled at `per_second`. Callers reserve a token and sleep until it
/// is theirs, so concurrent callers queue up in arrival order instead of spinning.
#[derive(Debug)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket of `burst` tokens refilled at `per_second` tokens per second.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            per_second: per_second.max(f64::MIN_POSITIVE),
            burst,
            state: Mutex::new(State { tokens: burst, last: Instant::now() }),
        }
    }

    /// How long the caller must wait for its token; the token is reserved immediately.
    pub fn reserve(&self) -> Duration {
        // A poisoned lock only means another caller panicked mid-update; the numbers are still usable.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(state.last).as_secs_f64();
        state.tokens = (state.tokens + elapsed * self.per_second).min(self.burst);
        state.last = now;
        state.tokens -= 1.0;
        if state.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-state.tokens / self.per_second)
        }
    }

    /// Wait until a token is available and take it.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn burst_is_free_then_requests_are_spaced_at_the_rate() {
        let bucket = TokenBucket::new(10.0, 3);
        for _ in 0..3 {
            assert_eq!(bucket.reserve(), Duration::ZERO);
        }
        let wait = bucket.reserve();
        assert!((wait.as_secs_f64() - 0.1).abs() < 0.001, "{wait:?}");
        let wait = bucket.reserve();
        assert!((wait.as_secs_f64() - 0.2).abs() < 0.001, "{wait:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_refill_over_time_up_to_the_burst() {
        let bucket = TokenBucket::new(2.0, 2);
        bucket.acquire().await;
        bucket.acquire().await;
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(bucket.reserve(), Duration::ZERO);
        assert_eq!(bucket.reserve(), Duration::ZERO);
        assert!(bucket.reserve() > Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_for_the_reserved_token() {
        let bucket = TokenBucket::new(1.0, 1);
        let start = Instant::now();
        bucket.acquire().await;
        bucket.acquire().await;
        assert!(start.elapsed() >= Duration::from_millis(999));
    }
}
