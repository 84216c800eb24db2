//! Waiting for a node to reach a state, each built on [`wait_until`]:
//! - [`wait_for_maintenance`]: after a reset, the node answers without a client certificate
//!   and says it runs in maintenance mode;
//! - [`wait_for_configured`]: after the first apply (install + reboot) or an upgrade, the node
//!   answers mTLS with the cluster's OS CA and reports its version;
//! - [`wait_for_etcd_healthy`]: etcd has the expected number of voting members;
//! - [`wait_for_etcd_quorum`]: the same, and the etcd service of every control plane runs
//!   healthy: what a rolling operation waits for between two control planes, so that taking
//!   the next one down never costs quorum;
//! - [`wait_for_version`]: after an upgrade, the node is back running the target release;
//! - [`wait_for_reboot_start`]: after a reboot was requested, the node went down (or is seen
//!   booting again), so the next wait does not end on the node as it was before.
//!
//! While a node changes state it refuses connections, resets them, or still presents the
//! certificate of its previous mode; all of that is "not yet" here (and shown if the wait
//! times out), while a refusal that cannot change by waiting (a missing role) ends the wait.

use std::net::IpAddr;
use std::time::Duration;

use super::connect::TalosClient;
use super::error::{ErrorKind, TalosError};
use super::etcd::EtcdMember;
use super::machine::VersionInfo;
use super::options::Options;
use super::retry::{Backoff, Probe, wait_until};
use super::tls::TalosCredentials;

/// Waits until the node at `addr:port` answers in maintenance mode, and returns a maintenance
/// client whose [`TalosClient::server_fingerprint`] is the certificate it now presents.
///
/// # Errors
/// [`ErrorKind::Timeout`] (with what the node last answered) or [`ErrorKind::Cancelled`].
pub async fn wait_for_maintenance(
    addr: IpAddr,
    port: u16,
    opts: &Options,
) -> Result<TalosClient, TalosError> {
    let node = addr.to_string();
    wait_until("wait for maintenance mode", &node, opts, &Backoff::POLL, |step| async move {
        // A fresh client per probe: the maintenance certificate is new after every wipe.
        let client = TalosClient::maintenance(addr, port)?;
        match client.version(&step).await {
            Err(e) if e.is_maintenance_mode() => Ok(Probe::Ready(client)),
            Err(e) if e.is_cancelled() => Err(e),
            Err(e) => Ok(Probe::NotYet(e.to_string())),
            Ok(v) => Ok(Probe::NotYet(format!("the node answers as configured Talos {}", v.tag))),
        }
    })
    .await
}

/// Waits until the configured node at `addr:port` answers mTLS calls, and returns the client
/// and the version it runs. A node that still presents its maintenance certificate or rejects
/// the client certificate of another cluster keeps the wait going until the deadline (the
/// timeout error then says so); a role the certificate lacks ends it.
///
/// # Errors
/// [`ErrorKind::Credentials`] for unusable credentials, `PermissionDenied`,
/// [`ErrorKind::Timeout`] or [`ErrorKind::Cancelled`].
pub async fn wait_for_configured(
    addr: IpAddr,
    port: u16,
    credentials: &TalosCredentials,
    opts: &Options,
) -> Result<(TalosClient, VersionInfo), TalosError> {
    let client = TalosClient::connect(addr, port, credentials)?;
    let node = addr.to_string();
    wait_until("wait for configured node", &node, opts, &Backoff::POLL, |step| {
        let client = client.clone();
        async move {
            match client.version(&step).await {
                Ok(version) => Ok(Probe::Ready((client, version))),
                Err(e) if matches!(e.kind, ErrorKind::Tls(_)) => Ok(Probe::NotYet(e.to_string())),
                Err(e) => Err(e),
            }
        }
    })
    .await
}

/// Waits until etcd, as the control plane behind `client` sees it, has `members` members and
/// none of them is a learner; returns them.
///
/// # Errors
/// `Unimplemented` when the node is a worker, [`ErrorKind::Timeout`] or
/// [`ErrorKind::Cancelled`].
pub async fn wait_for_etcd_healthy(
    client: &TalosClient,
    members: usize,
    opts: &Options,
) -> Result<Vec<EtcdMember>, TalosError> {
    let node = client.target();
    wait_until("wait for etcd members", &node, opts, &Backoff::POLL, |step| async move {
        let list = client.etcd_member_list(&step).await?;
        let learners = list.iter().filter(|m| m.is_learner).count();
        if list.len() == members && learners == 0 {
            Ok(Probe::Ready(list))
        } else {
            Ok(Probe::NotYet(format!("{} of {members} etcd members, {learners} learner(s)", list.len())))
        }
    })
    .await
}

/// Waits until etcd, as every control plane in `control_planes` sees it, has `members` voting
/// members and each node's etcd service runs healthy.
///
/// # Errors
/// [`ErrorKind::Timeout`] (with the last unhealthy observation) or [`ErrorKind::Cancelled`].
pub async fn wait_for_etcd_quorum(
    control_planes: &[TalosClient],
    members: usize,
    opts: &Options,
) -> Result<(), TalosError> {
    let node = control_planes.first().map(TalosClient::target).unwrap_or_default();
    wait_until("wait for a healthy etcd", &node, opts, &Backoff::POLL, |step| async move {
        for client in control_planes {
            let services = match client.service_list(&step).await {
                Ok(s) => s,
                Err(e) if e.is_cancelled() => return Err(e),
                Err(e) => return Ok(Probe::NotYet(format!("{}: {e}", client.target()))),
            };
            match services.iter().find(|s| s.id == "etcd") {
                Some(s) if s.state == "Running" && s.healthy == Some(true) => {}
                Some(s) => {
                    return Ok(Probe::NotYet(format!(
                        "{}: etcd {} {}",
                        client.target(),
                        s.state,
                        s.last_message
                    )));
                }
                None => return Ok(Probe::NotYet(format!("{}: no etcd service", client.target()))),
            }
            let list = match client.etcd_member_list(&step).await {
                Ok(l) => l,
                Err(e) if e.is_cancelled() => return Err(e),
                Err(e) => return Ok(Probe::NotYet(format!("{}: {e}", client.target()))),
            };
            let learners = list.iter().filter(|m| m.is_learner).count();
            if list.len() != members || learners > 0 {
                return Ok(Probe::NotYet(format!(
                    "{}: {} of {members} etcd members, {learners} learner(s)",
                    client.target(),
                    list.len()
                )));
            }
        }
        Ok(Probe::Ready(()))
    })
    .await
}

/// Waits until the configured node at `addr:port` answers running Talos `version` (`1.14.1`).
///
/// # Errors
/// As [`wait_for_configured`].
pub async fn wait_for_version(
    addr: IpAddr,
    port: u16,
    credentials: &TalosCredentials,
    version: &str,
    opts: &Options,
) -> Result<(TalosClient, VersionInfo), TalosError> {
    let client = TalosClient::connect(addr, port, credentials)?;
    let node = addr.to_string();
    wait_until("wait for the upgraded node", &node, opts, &Backoff::POLL, |step| {
        let client = client.clone();
        async move {
            match client.version(&step).await {
                Ok(v) if v.tag.trim_start_matches('v') == version => Ok(Probe::Ready((client, v))),
                Ok(v) => Ok(Probe::NotYet(format!("the node runs Talos {}", v.tag))),
                Err(e) if matches!(e.kind, ErrorKind::Tls(_)) => Ok(Probe::NotYet(e.to_string())),
                Err(e) => Err(e),
            }
        }
    })
    .await
}

/// Waits, at most `limit`, until the node goes down for a reboot it was asked for (or is seen
/// booting again). Talos starts rebooting right after answering, so a reboot can also be over
/// between two probes: not seeing it is no failure, and the caller's wait for the node back
/// (configured, its kubelet running) is what proves the node is up again.
///
/// # Errors
/// [`ErrorKind::Cancelled`] only.
pub async fn wait_for_reboot_start(
    client: &TalosClient,
    limit: Duration,
    opts: &Options,
) -> Result<(), TalosError> {
    // Probed often: a reboot of a fast machine is a short window, and each probe is one call on
    // an open connection. Seeing it saves the caller its `limit` of waiting.
    let start =
        Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(50), ..Backoff::POLL };
    let outcome = wait_until("wait for the reboot", &client.target(), &opts.step(limit), &start, |step| {
        let client = client.clone();
        async move {
            Ok(match client.service_list(&step).await {
                Err(e) if e.is_cancelled() => return Err(e),
                // Refused or reset connections: the node is down.
                Err(_) => Probe::Ready(()),
                Ok(services) => match services.iter().find(|s| s.id == "kubelet") {
                    Some(s) if s.state == "Running" => Probe::NotYet("the node has not gone down yet".into()),
                    // Services restarting: the reboot has happened.
                    _ => Probe::Ready(()),
                },
            })
        }
    })
    .await;
    match outcome {
        Err(e) if e.is_timeout() => {
            tracing::debug!(node = %client.target(), "no downtime observed; checking the node is back");
            Ok(())
        }
        other => other,
    }
}
