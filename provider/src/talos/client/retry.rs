//! Trying again, for transient errors only: [`retry`] repeats a call that failed with a
//! transient [`TalosError`] (a node rebooting, etcd electing a leader) with exponential backoff
//! and jitter, and [`wait_until`] polls a probe until a condition holds. Both stop at the
//! deadline of their [`Options`] (with the last error in the message) and return at once when
//! cancelled; neither ever repeats a permanent error such as `InvalidArgument`.

use std::future::Future;
use std::time::Duration;

use ring::rand::{SecureRandom as _, SystemRandom};

use super::error::{ErrorKind, TalosError};
use super::options::Options;

/// How to space attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Largest delay (the delay doubles up to it).
    pub max: Duration,
    /// Time budget of one attempt: a node that hangs costs this, not the whole deadline.
    pub attempt_timeout: Duration,
}

impl Default for Backoff {
    /// 200 ms doubling to 5 s, 30 s per attempt.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// Polling for a state change (a reboot, an install): 250 ms doubling to 2 s.
    pub const POLL: Self = Self {
        initial: Duration::from_millis(250),
        max: Duration::from_secs(2),
        attempt_timeout: Duration::from_secs(15),
    };

    /// The delay after failed attempt number `attempt` (1-based): exponential, capped, with
    /// "equal jitter" (half fixed, half random) so that parallel node operations spread out.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(16);
        let base = self.initial.saturating_mul(1 << exponent).min(self.max);
        let half = base / 2;
        let mut bytes = [0u8; 4];
        let unit = match SystemRandom::new().fill(&mut bytes) {
            Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
            Err(_) => 0.5,
        };
        half + half.mul_f64(unit)
    }
}

/// The outcome of one probe of [`wait_until`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe<T> {
    /// The condition holds.
    Ready(T),
    /// Not yet; what was observed (shown if the wait times out).
    NotYet(String),
}

/// Calls `call` until it succeeds, fails permanently, the deadline passes or `opts` is
/// cancelled. Each attempt gets [`Options::step`] of `backoff.attempt_timeout`. Retries are
/// logged at debug with the RPC, node and attempt number.
///
/// # Errors
/// The first permanent error; [`ErrorKind::Cancelled`] at once on cancellation;
/// [`ErrorKind::Timeout`] carrying the last transient error when the deadline passes.
pub async fn retry<T, F, Fut>(opts: &Options, backoff: &Backoff, mut call: F) -> Result<T, TalosError>
where
    F: FnMut(Options) -> Fut,
    Fut: Future<Output = Result<T, TalosError>>,
{
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let error = match call(opts.step(backoff.attempt_timeout)).await {
            Ok(value) => return Ok(value),
            Err(e) => e,
        };
        if !error.is_transient() {
            return Err(error);
        }
        let delay = backoff.delay(attempt);
        if opts.is_cancelled() {
            return Err(TalosError::new(error.rpc, error.node, ErrorKind::Cancelled));
        }
        if opts.remaining() <= delay {
            let last = Some(error.kind.to_string());
            return Err(TalosError::new(
                error.rpc,
                error.node,
                ErrorKind::Timeout { after: opts.timeout(), last },
            ));
        }
        tracing::debug!(rpc = error.rpc, node = %error.node, attempt, ?delay, error = %error.kind, "transient Talos API error, retrying");
        if sleep_or_cancel(opts, delay).await.is_err() {
            return Err(TalosError::new(error.rpc, error.node, ErrorKind::Cancelled));
        }
    }
}

/// Polls `probe` until it reports [`Probe::Ready`]. Transient errors count as "not yet"; a
/// permanent error ends the wait. `what` and `node` name the wait in errors and logs.
///
/// # Errors
/// The first permanent error of a probe; [`ErrorKind::Cancelled`] at once on cancellation;
/// [`ErrorKind::Timeout`] with the last observation when the deadline passes.
pub async fn wait_until<T, F, Fut>(
    what: &'static str,
    node: &str,
    opts: &Options,
    backoff: &Backoff,
    mut probe: F,
) -> Result<T, TalosError>
where
    F: FnMut(Options) -> Fut,
    Fut: Future<Output = Result<Probe<T>, TalosError>>,
{
    let mut attempt: u32 = 0;
    let mut last: Option<String> = None;
    loop {
        attempt = attempt.saturating_add(1);
        if opts.is_cancelled() {
            return Err(TalosError::new(what, node, ErrorKind::Cancelled));
        }
        let observed = match probe(opts.step(backoff.attempt_timeout)).await {
            Ok(Probe::Ready(value)) => {
                tracing::debug!(wait = what, node, attempt, "condition reached");
                return Ok(value);
            }
            Ok(Probe::NotYet(observed)) => observed,
            Err(e) if e.is_cancelled() => return Err(TalosError::new(what, node, ErrorKind::Cancelled)),
            Err(e) if e.is_transient() => e.to_string(),
            Err(e) => return Err(e),
        };
        if last.as_deref() != Some(observed.as_str()) {
            tracing::debug!(wait = what, node, attempt, observed = %observed, "still waiting");
        }
        last = Some(observed);
        let delay = backoff.delay(attempt);
        if opts.remaining() <= delay {
            return Err(TalosError::new(what, node, ErrorKind::Timeout { after: opts.timeout(), last }));
        }
        if sleep_or_cancel(opts, delay).await.is_err() {
            return Err(TalosError::new(what, node, ErrorKind::Cancelled));
        }
    }
}

/// Sleeps `delay`, or returns `Err` as soon as the operation is cancelled.
async fn sleep_or_cancel(opts: &Options, delay: Duration) -> Result<(), ()> {
    tokio::select! {
        biased;
        () = opts.cancel().cancelled() => Err(()),
        () = tokio::time::sleep(delay) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use tonic::Code;

    use super::*;

    fn status(code: Code) -> TalosError {
        TalosError::new("Version", "10.0.0.1", ErrorKind::Status { code, message: "x".into() })
    }

    const FAST: Backoff = Backoff {
        initial: Duration::from_millis(1),
        max: Duration::from_millis(4),
        attempt_timeout: Duration::from_secs(1),
    };

    #[test]
    fn delays_grow_with_jitter_up_to_the_cap() {
        let b = Backoff::default();
        for attempt in 1..40 {
            let d = b.delay(attempt);
            let base = b.initial.saturating_mul(1 << (attempt - 1).min(16)).min(b.max);
            assert!(d >= base / 2 && d <= base, "attempt {attempt}: {d:?} for base {base:?}");
        }
        assert!(b.delay(30) <= Duration::from_secs(5));
    }

    #[tokio::test]
    async fn permanent_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let opts = Options::with_timeout(Duration::from_secs(5));
        let e = retry(&opts, &FAST, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(status(Code::InvalidArgument)) }
        })
        .await
        .unwrap_err();
        assert_eq!(e.code(), Some(Code::InvalidArgument));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success_or_deadline() {
        let calls = AtomicU32::new(0);
        let opts = Options::with_timeout(Duration::from_secs(5));
        let v = retry(&opts, &FAST, |_| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 3 { Err(status(Code::Unavailable)) } else { Ok(n) } }
        })
        .await
        .expect("succeeds on the fourth attempt");
        assert_eq!(v, 3);

        let opts = Options::with_timeout(Duration::from_millis(50));
        let e = retry(&opts, &FAST, |_| async { Err::<(), _>(status(Code::Unavailable)) }).await.unwrap_err();
        assert!(e.is_timeout(), "{e}");
        assert!(e.to_string().contains("last: Unavailable"), "{e}");
    }

    #[tokio::test]
    async fn waits_report_the_last_observation() {
        let opts = Options::with_timeout(Duration::from_millis(40));
        let e = wait_until("wait for etcd", "10.0.0.1", &opts, &FAST, |_| async {
            Ok::<Probe<()>, TalosError>(Probe::NotYet("2 of 3 members".into()))
        })
        .await
        .unwrap_err();
        assert_eq!(e.rpc, "wait for etcd");
        assert!(e.to_string().contains("2 of 3 members"), "{e}");
        let e = wait_until("w", "n", &opts, &FAST, |_| async {
            Err::<Probe<()>, _>(status(Code::PermissionDenied))
        })
        .await
        .unwrap_err();
        assert!(e.is_permission_denied());
    }
}
