//! The per-call context handed to providers: cancellation and what Terraform told us.
//!
//! Terraform's `StopProvider` means "abort what is in flight" (Ctrl-C in `terraform apply`), not
//! "exit": the server keeps answering afterwards. Each call therefore gets the token that was
//! current when it started; `StopProvider` cancels that token and installs a fresh one.

use tokio_util::sync::CancellationToken;

/// Context of one provider call.
#[derive(Clone, Debug)]
pub struct Context {
    stop: CancellationToken,
}

impl Context {
    /// A context cancelled by `stop`.
    pub fn new(stop: CancellationToken) -> Self {
        Self { stop }
    }

    /// A context that is never cancelled (tests, tools).
    pub fn background() -> Self {
        Self::new(CancellationToken::new())
    }

    /// Whether Terraform asked to stop.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_cancelled()
    }

    /// Resolves when Terraform asks to stop; race long operations against it.
    pub async fn stopped(&self) {
        self.stop.cancelled().await;
    }

    /// The underlying token, for handing to spawned tasks.
    pub fn token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Runs `work` unless Terraform asks to stop first; `None` means it was stopped.
    pub async fn run_until_stopped<F: std::future::Future>(&self, work: F) -> Option<F::Output> {
        tokio::select! {
            biased;
            () = self.stop.cancelled() => None,
            out = work => Some(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stop_interrupts_work_in_flight() {
        let token = CancellationToken::new();
        let ctx = Context::new(token.clone());
        let work = ctx.run_until_stopped(async {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            1
        });
        token.cancel();
        assert_eq!(work.await, None);
        assert!(ctx.is_stopped());
        assert_eq!(Context::background().run_until_stopped(async { 2 }).await, Some(2));
    }
}
