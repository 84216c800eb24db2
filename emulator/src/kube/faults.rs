//! Faults injectable into the Kubernetes API at run time (the admin endpoint sets them): added
//! latency, a share of 500s, and a share of 429s with `Retry-After`. Health endpoints are exempt so
//! that liveness reflects the process, not the injected trouble.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::kube::error::ApiError;

/// What goes wrong with every API request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KubeFaults {
    /// Latency added to each request, in milliseconds (not scaled).
    pub latency_ms: u64,
    /// Share of requests answered 500 InternalError, in [0, 1].
    pub error_rate: f64,
    /// Share of requests answered 429 TooManyRequests, in [0, 1].
    pub throttle_rate: f64,
    /// `Retry-After` seconds of the 429s (at least 1).
    pub retry_after_secs: u64,
}

impl KubeFaults {
    /// Whether the rates are probabilities.
    pub fn is_valid(&self) -> bool {
        (0.0..=1.0).contains(&self.error_rate) && (0.0..=1.0).contains(&self.throttle_rate)
    }

    /// Waits the latency, then fails the request if a coin says so.
    ///
    /// # Errors
    /// The injected 500 or 429.
    pub(crate) async fn inject(&self) -> Result<(), ApiError> {
        if self.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.latency_ms)).await;
        }
        let coin = || crate::kube::meta::random_u64() as f64 / u64::MAX as f64;
        if self.throttle_rate > 0.0 && coin() < self.throttle_rate {
            return Err(ApiError::too_many_requests(self.retry_after_secs.max(1)));
        }
        if self.error_rate > 0.0 && coin() < self.error_rate {
            return Err(ApiError::internal("injected fault"));
        }
        Ok(())
    }
}
