//! Waiting for a node to reach a state, each built on [`wait_until`]:
//! - [`wait_for_maintenance`]: after a reset, the node answers without a client certificate
//!   and says it runs in maintenance mode;
//! - [`wait_for_configured`]: after the first apply (install + reboot) or an upgrade, the node
//!   answers mTLS with the cluster's OS CA and reports its version;
//! - [`wait_for_etcd_healthy`]: etcd has the expected number of voting members.
//!
//! While a node changes state it refuses connections, resets them, or still presents the
//! certificate of its previous mode; all of that is "not yet" here (and shown if the wait
//! times out), while a refusal that cannot change by waiting (a missing role) ends the wait.

use std::net::IpAddr;

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
