//! The bounds of every call: a deadline (the resource's timeout, shared by all the calls and
//! waits of one operation) and a cancellation token (StopProvider, Ctrl-C in Terraform).
//!
//! The deadline is fixed when the [`Options`] are made, not per call: a create with a 20 minute
//! timeout that runs ten calls must stop after 20 minutes in total, not 20 minutes per call.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How long an operation may take and how to stop it early. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Options {
    timeout: Duration,
    deadline: Instant,
    cancel: CancellationToken,
}

impl Options {
    /// Bounds an operation by `timeout` from now, cancelled when `cancel` is.
    pub fn new(timeout: Duration, cancel: CancellationToken) -> Self {
        Self { timeout, deadline: Instant::now() + timeout, cancel }
    }

    /// Bounds an operation by `timeout` from now, with a token of its own (tests, one-off calls).
    pub fn with_timeout(timeout: Duration) -> Self {
        Self::new(timeout, CancellationToken::new())
    }

    /// The timeout these options were made with.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// When the operation must be over.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline (zero once it passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Whether the deadline passed.
    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The cancellation token.
    pub fn cancel(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Whether the operation was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Options for one step of this operation: the same token, and a deadline `limit` from now
    /// or this operation's deadline, whichever comes first. Used for one attempt of a retry
    /// loop, so that a node that hangs costs one attempt, not the whole budget.
    pub fn step(&self, limit: Duration) -> Self {
        let deadline = self.deadline.min(Instant::now() + limit);
        Self {
            timeout: deadline.saturating_duration_since(Instant::now()),
            deadline,
            cancel: self.cancel.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn steps_never_outlive_the_operation() {
        let opts = Options::with_timeout(Duration::from_millis(200));
        let step = opts.step(Duration::from_secs(60));
        assert!(step.deadline() <= opts.deadline());
        let short = opts.step(Duration::from_millis(10));
        assert!(short.deadline() < opts.deadline());
        assert!(short.remaining() <= Duration::from_millis(10));
        opts.cancel().cancel();
        assert!(short.is_cancelled(), "a step shares the operation's token");
        assert!(Options::with_timeout(Duration::ZERO).expired());
    }
}
