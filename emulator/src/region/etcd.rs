//! etcd as the emulator models it: clusters formed by configured machines, bootstrap on one
//! control plane, automatic joins of the others, membership changes under etcd's own quorum
//! rules (strict reconfiguration check), and the reconcile step that keeps it all consistent.

use tonic::Status;

use super::Region;
use super::state::{ClusterRecord, EtcdMemberRecord, MachineRecord, Phase, RegionState};

/// What etcd clients see when the cluster has no leader (no quorum).
const NO_LEADER: &str = "etcdserver: no leader";
const NOT_ENOUGH_STARTED: &str = "etcdserver: re-configuration failed due to not enough started members";

/// Keeps derived state consistent after any change: clusters exist for configured machines,
/// running control planes of bootstrapped clusters join etcd, API certificates are issued.
pub(super) fn reconcile(st: &mut RegionState) {
    let configured: Vec<(String, String, String, String)> = st
        .machines
        .values()
        .filter(|m| m.phase.serving() && m.phase != Phase::Maintenance)
        .filter_map(|m| {
            m.parsed().map(|c| (m.id.clone(), c.cluster_key(), c.cluster_name.clone(), c.endpoint.clone()))
        })
        .collect();
    for (_, key, name, endpoint) in &configured {
        st.clusters.entry(key.clone()).or_insert_with(|| ClusterRecord {
            key: key.clone(),
            name: name.clone(),
            endpoint: endpoint.clone(),
            bootstrapped: false,
            members: Vec::new(),
            leader: None,
        });
    }
    // An etcd whose every member lost its data (all its machines wiped) no longer exists: the
    // same key configured again (same endpoint, no cluster id) is a new cluster that needs its
    // own bootstrap, as on real machines.
    let dead: Vec<String> = st
        .clusters
        .values()
        .filter(|c| c.bootstrapped && !c.members.is_empty())
        .filter(|c| {
            c.members.iter().all(|mem| {
                st.machines
                    .get(&mem.machine_id)
                    .is_none_or(|m| !m.etcd_data || m.cluster_key().as_deref() != Some(c.key.as_str()))
            })
        })
        .map(|c| c.key.clone())
        .collect();
    for key in dead {
        if let Some(c) = st.clusters.get_mut(&key) {
            c.bootstrapped = false;
            c.members.clear();
            c.leader = None;
        }
    }
    // Forget clusters nobody is configured for and that hold no members.
    let alive: Vec<String> = st.machines.values().filter_map(MachineRecord::cluster_key).collect();
    st.clusters.retain(|k, c| alive.contains(k) || !c.members.is_empty());
    issue_missing_certs(st);
    join_running(st);
    elect(st);
}

fn issue_missing_certs(st: &mut RegionState) {
    let keys: Vec<(String, String)> = st
        .machines
        .values()
        .filter(|m| m.phase.serving() && m.phase != Phase::Maintenance && m.server_cert.is_none())
        .filter_map(|m| os_ca_key_for(st, m).map(|k| (m.id.clone(), k)))
        .collect();
    for (id, key) in keys {
        if let Some(m) = st.machines.get_mut(&id) {
            match super::power::issue_server_cert(m, &key) {
                Ok(cert) => m.server_cert = Some(cert),
                Err(e) => m.event(format!("cannot issue API certificate: {e}")),
            }
        }
    }
}

/// The OS CA key for a machine: its own, or (workers, which upstream get their certificate from
/// trustd) the key of a configured machine sharing the same OS CA certificate.
fn os_ca_key_for(st: &RegionState, m: &MachineRecord) -> Option<String> {
    let cfg = m.parsed()?;
    if let Some(k) = &cfg.os_ca.key {
        return Some(k.clone());
    }
    st.machines
        .values()
        .filter_map(|o| o.parsed())
        .find(|c| c.os_ca.crt == cfg.os_ca.crt && c.os_ca.key.is_some())
        .and_then(|c| c.os_ca.key.clone())
}

fn join_running(st: &mut RegionState) {
    let joiners: Vec<(String, String)> = st
        .machines
        .values()
        .filter(|m| m.phase == Phase::Running && m.is_controlplane() && !m.etcd_data)
        .filter_map(|m| m.cluster_key().map(|k| (m.id.clone(), k)))
        .filter(|(_, k)| st.clusters.get(k).is_some_and(|c| c.bootstrapped && st.has_quorum(c)))
        .collect();
    for (id, key) in joiners {
        let Some(m) = st.machines.get_mut(&id) else { continue };
        m.etcd_data = true;
        m.event("joined etcd");
        let member = member_for(m);
        if let Some(c) = st.clusters.get_mut(&key) {
            c.members.retain(|x| x.machine_id != id);
            c.members.push(member);
        }
    }
}

/// Keeps a healthy leader while quorum holds.
fn elect(st: &mut RegionState) {
    let keys: Vec<String> = st.clusters.keys().cloned().collect();
    for key in keys {
        let Some(c) = st.clusters.get(&key) else { continue };
        let leader = if st.has_quorum(c) {
            let current =
                c.leader.and_then(|l| c.members.iter().find(|m| m.id == l)).filter(|m| st.member_healthy(m));
            current.or_else(|| c.members.iter().find(|m| st.member_healthy(m))).map(|m| m.id)
        } else {
            None
        };
        if let Some(c) = st.clusters.get_mut(&key) {
            c.leader = leader;
        }
    }
}

fn member_for(m: &MachineRecord) -> EtcdMemberRecord {
    let ip = m.addr.ip();
    let host = if ip.is_ipv6() { format!("[{ip}]") } else { ip.to_string() };
    EtcdMemberRecord {
        id: crate::ids::member_id(),
        machine_id: m.id.clone(),
        hostname: m.hostname(),
        peer_url: format!("https://{host}:2380"),
        client_url: format!("https://{host}:2379"),
    }
}

/// The cluster of a control plane that runs etcd, or the upstream Unimplemented error.
fn etcd_cluster<'a>(st: &'a RegionState, id: &str, api: &str) -> Result<&'a ClusterRecord, Status> {
    let m = st.machines.get(id).ok_or_else(|| Status::not_found("machine not found"))?;
    if !m.is_controlplane() {
        return Err(Status::unimplemented(format!("{api} is only available on control plane nodes")));
    }
    let cluster = m.cluster_key().and_then(|k| st.clusters.get(&k));
    match cluster {
        Some(c) if c.bootstrapped && m.etcd_data => {
            if st.has_quorum(c) {
                Ok(c)
            } else {
                Err(Status::unavailable(NO_LEADER))
            }
        }
        // etcd is registered but not running yet: clients time out dialing it.
        _ => Err(Status::unavailable("etcd is not running on this node: context deadline exceeded")),
    }
}

/// Whether etcd's strict reconfiguration check lets `victim` be removed.
fn may_remove(st: &RegionState, c: &ClusterRecord, victim: &EtcdMemberRecord) -> Result<(), Status> {
    if c.members.len() <= 1 {
        return Err(Status::unknown(NOT_ENOUGH_STARTED));
    }
    if !st.member_healthy(victim) {
        // A member that is down is not part of the active quorum: always safe to remove.
        return Ok(());
    }
    let (healthy, total) = st.etcd_health(c);
    if healthy.saturating_sub(1) < 1 + (total - 1) / 2 {
        return Err(Status::unknown(NOT_ENOUGH_STARTED));
    }
    Ok(())
}

/// Removes the machine's own member (EtcdLeaveCluster, graceful reset).
pub(super) fn leave(st: &mut RegionState, id: &str) -> Result<(), Status> {
    let c = etcd_cluster(st, id, "etcd leave")?;
    let key = c.key.clone();
    let me = c
        .members
        .iter()
        .find(|m| m.machine_id == id)
        .cloned()
        .ok_or_else(|| Status::unknown("failed to leave cluster: etcdserver: member not found"))?;
    may_remove(st, c, &me)
        .map_err(|e| Status::unknown(format!("failed to leave cluster: {}", e.message())))?;
    if let Some(c) = st.clusters.get_mut(&key) {
        c.members.retain(|m| m.id != me.id);
    }
    if let Some(m) = st.machines.get_mut(id) {
        // The data directory stays: etcd on this node now fails as a removed member and does not
        // rejoin until the node is reset (EPHEMERAL wiped), as upstream.
        m.event("left etcd");
    }
    Ok(())
}

impl Region {
    /// Bootstrap: a single-member etcd on this control plane.
    pub(crate) fn bootstrap(&self, id: &str) -> Result<(), Status> {
        self.mutate(|st| {
            let m = st.machines.get(id).ok_or_else(|| Status::not_found("machine not found"))?;
            if m.phase != Phase::Running {
                return Err(Status::failed_precondition("bootstrap is not available yet"));
            }
            if !m.is_controlplane() {
                return Err(Status::failed_precondition(
                    "bootstrap can only be performed on a control plane node",
                ));
            }
            if m.etcd_data {
                return Err(Status::already_exists("etcd data directory is not empty"));
            }
            let key = m
                .cluster_key()
                .ok_or_else(|| Status::failed_precondition("bootstrap is not available yet"))?;
            if st.clusters.get(&key).is_some_and(|c| c.bootstrapped && !c.members.is_empty()) {
                // The node is about to join the existing etcd; upstream it would still be
                // waiting for its join to finish.
                return Err(Status::failed_precondition("bootstrap is not available yet"));
            }
            let member = member_for(m);
            let c = st
                .clusters
                .get_mut(&key)
                .ok_or_else(|| Status::failed_precondition("bootstrap is not available yet"))?;
            c.bootstrapped = true;
            c.leader = Some(member.id);
            c.members = vec![member];
            if let Some(m) = st.machines.get_mut(id) {
                m.etcd_data = true;
                m.event("etcd bootstrapped");
            }
            Ok(())
        })
    }

    /// The etcd members as the node's etcd client sees them.
    pub(crate) fn etcd_members(&self, id: &str) -> Result<Vec<EtcdMemberRecord>, Status> {
        let st = self.lock();
        etcd_cluster(&st, id, "member list").map(|c| c.members.clone())
    }

    /// EtcdRemoveMemberByID.
    pub(crate) fn etcd_remove_member(&self, id: &str, member_id: u64) -> Result<(), Status> {
        self.mutate(|st| {
            let c = etcd_cluster(st, id, "etcd remove member")?;
            let key = c.key.clone();
            let victim = c
                .members
                .iter()
                .find(|m| m.id == member_id)
                .cloned()
                .ok_or_else(|| Status::not_found("etcdserver: member not found"))?;
            may_remove(st, c, &victim)
                .map_err(|e| Status::unknown(format!("failed to remove member: {}", e.message())))?;
            if let Some(c) = st.clusters.get_mut(&key) {
                c.members.retain(|m| m.id != member_id);
            }
            if let Some(m) = st.machines.get_mut(&victim.machine_id) {
                m.event(format!("etcd member {member_id:x} removed from the cluster"));
            }
            Ok(())
        })
    }

    /// EtcdLeaveCluster.
    pub(crate) fn etcd_leave(&self, id: &str) -> Result<(), Status> {
        self.mutate(|st| leave(st, id))
    }

    /// EtcdForfeitLeadership: moves leadership away from this node; returns the leader's id.
    pub(crate) fn etcd_forfeit(&self, id: &str) -> Result<String, Status> {
        self.mutate(|st| {
            let c = etcd_cluster(st, id, "etcd forfeit leadership")?;
            let key = c.key.clone();
            let me = c.members.iter().find(|m| m.machine_id == id).map(|m| m.id);
            let next = match c.leader {
                Some(l) if Some(l) == me => {
                    c.members.iter().find(|m| Some(m.id) != me && st.member_healthy(m)).map_or(l, |m| m.id)
                }
                Some(l) => l,
                None => return Err(Status::unavailable(NO_LEADER)),
            };
            if let Some(c) = st.clusters.get_mut(&key) {
                c.leader = Some(next);
            }
            Ok(format!("{next:016x}"))
        })
    }
}
