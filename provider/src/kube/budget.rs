//! Limits of one operation (a deadline, and cancellation when Terraform sends StopProvider),
//! retries of transient failures with backoff, and polling until a condition holds.

use super::error::KubeError;
use std::future::Future;
use std::time::Duration;
use tfplugin::Context;
use tokio::time::Instant;

/// First pause between retries; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// Longest pause between retries (a `Retry-After` may ask for longer, up to the deadline).
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Pause between two polls of a condition.
pub const POLL: Duration = Duration::from_millis(250);

/// One operation's limits.
#[derive(Clone, Debug)]
pub struct Budget {
    ctx: Context,
    deadline: Instant,
}

impl Budget {
    /// `timeout` from now, cancelled when `ctx` is.
    pub fn new(ctx: &Context, timeout: Duration) -> Self {
        Self { ctx: ctx.clone(), deadline: Instant::now() + timeout }
    }

    /// Time left.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// A budget for part of the operation: at most `limit`, never past this one's deadline.
    pub fn part(&self, limit: Duration) -> Self {
        Self { ctx: self.ctx.clone(), deadline: self.deadline.min(Instant::now() + limit) }
    }

    /// Runs `work` unless the deadline passes or Terraform asks to stop first.
    pub async fn run<T>(
        &self,
        what: &str,
        work: impl Future<Output = Result<T, KubeError>>,
    ) -> Result<T, KubeError> {
        tokio::select! {
            biased;
            () = self.ctx.stopped() => Err(KubeError::Cancelled),
            () = tokio::time::sleep_until(self.deadline) => {
                Err(KubeError::Timeout { what: what.into(), waiting_for: "no answer from the API server".into() })
            }
            out = work => out,
        }
    }

    /// Sleeps `pause` (cut short by the deadline); `Err` when stopped or out of time.
    async fn pause(&self, pause: Duration, what: &str, waiting_for: &str) -> Result<(), KubeError> {
        if self.remaining() <= pause {
            return Err(KubeError::Timeout { what: what.into(), waiting_for: waiting_for.into() });
        }
        tokio::select! {
            biased;
            () = self.ctx.stopped() => Err(KubeError::Cancelled),
            () = tokio::time::sleep(pause) => Ok(()),
        }
    }
}

/// The pause before retry number `attempt` (0-based) of an error: the server's `Retry-After`
/// when it gave one, otherwise exponential backoff.
pub fn backoff(attempt: u32, error: &KubeError) -> Duration {
    if let KubeError::Api { retry_after: Some(secs), .. } = error {
        return Duration::from_secs(*secs);
    }
    FIRST_BACKOFF.saturating_mul(1 << attempt.min(5)).min(MAX_BACKOFF)
}

/// Runs `call` until it succeeds, fails permanently, or the budget runs out. Only transient
/// errors ([`KubeError::is_transient`]) are retried.
pub async fn retry<T, F, Fut>(budget: &Budget, what: &str, mut call: F) -> Result<T, KubeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, KubeError>>,
{
    let mut attempt = 0;
    loop {
        match budget.run(what, call()).await {
            Err(e) if e.is_transient() => {
                let pause = backoff(attempt, &e);
                tracing::debug!(what, error = %e, pause_ms = pause.as_millis() as u64, "transient error, retrying");
                budget.pause(pause, what, &format!("last error: {e}")).await?;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// What a poll found.
#[derive(Debug)]
pub enum Poll<T> {
    /// Done.
    Ready(T),
    /// Not yet, with what is still awaited (logged as progress, reported on timeout).
    NotYet(String),
}

/// Polls `check` until it is ready or the budget runs out; progress is logged when it changes.
pub async fn poll_until<T, F, Fut>(budget: &Budget, what: &str, mut check: F) -> Result<T, KubeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, KubeError>>,
{
    let mut last = String::new();
    loop {
        match retry(budget, what, &mut check).await? {
            Poll::Ready(v) => return Ok(v),
            Poll::NotYet(why) => {
                if why != last {
                    tracing::info!(what, waiting_for = %why, "waiting");
                    last = why;
                }
                budget.pause(POLL, what, &last).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio_util::sync::CancellationToken;

    fn api(code: u16, retry_after: Option<u64>) -> KubeError {
        KubeError::Api { object: None, code, reason: String::new(), message: String::new(), retry_after }
    }

    #[test]
    fn backoff_honours_retry_after_and_grows_to_a_cap() {
        assert_eq!(backoff(0, &api(429, Some(3))), Duration::from_secs(3));
        assert_eq!(backoff(0, &api(500, None)), FIRST_BACKOFF);
        assert_eq!(backoff(1, &api(500, None)), FIRST_BACKOFF * 2);
        assert_eq!(backoff(30, &api(500, None)), MAX_BACKOFF);
    }

    #[tokio::test]
    async fn transient_errors_are_retried_permanent_ones_are_not() {
        let budget = Budget::new(&Context::background(), Duration::from_secs(60));
        let calls = AtomicU32::new(0);
        let out = retry(&budget, "get", || async {
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => Err(api(429, Some(1))),
                1 => Err(KubeError::Connection { message: "reset".into() }),
                _ => Ok(7),
            }
        })
        .await;
        assert_eq!(out.expect("ok"), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = retry(&budget, "get", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(api(422, None))
        })
        .await;
        assert!(matches!(out, Err(KubeError::Api { code: 422, .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn polls_stop_at_the_deadline_and_on_cancellation() {
        let budget = Budget::new(&Context::background(), Duration::from_secs(2));
        let out: Result<(), _> =
            poll_until(&budget, "wait", || async { Ok(Poll::NotYet("replicas 0/1".into())) }).await;
        assert!(
            matches!(out, Err(KubeError::Timeout { ref waiting_for, .. }) if waiting_for == "replicas 0/1"),
            "{out:?}"
        );
        let token = CancellationToken::new();
        let budget = Budget::new(&Context::new(token.clone()), Duration::from_secs(60));
        token.cancel();
        let out: Result<(), _> = poll_until(&budget, "wait", || async { Ok(Poll::NotYet("x".into())) }).await;
        assert!(matches!(out, Err(KubeError::Cancelled)), "{out:?}");
    }
}
