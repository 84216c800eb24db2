//! Admission of a call, the way apid and machined do it upstream: maintenance-mode subset,
//! role-based authorization from the client certificate, injected faults, and `node`/`nodes`
//! metadata targeting that proxies the call to another machine of the region.

use std::future::Future;

use tonic::metadata::MetadataMap;
use tonic::{Extensions, Status};

use super::conn::ConnInfo;
use crate::faults::{FaultKind, call_effect, machine_faulted};
use crate::region::Region;
use crate::region::state::Phase;

/// Talos roles (`os:<name>` in the client certificate Organization).
pub(crate) const ADMIN: &str = "os:admin";
pub(crate) const OPERATOR: &str = "os:operator";
pub(crate) const READER: &str = "os:reader";
pub(crate) const ETCD_BACKUP: &str = "os:etcd:backup";

/// How a method behaves on a machine in maintenance mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Maintenance {
    /// Served without any role (ApplyConfiguration).
    Serve,
    /// Implemented but admin-only, which an insecure client never is.
    AdminOnly,
    /// Not implemented by the maintenance server.
    NotImplemented,
    /// The service is not registered in maintenance mode.
    UnknownService,
}

/// One API method: its path, who may call it, and how maintenance mode treats it.
#[derive(Debug)]
pub(crate) struct Method {
    pub path: &'static str,
    pub roles: &'static [&'static str],
    pub maintenance: Maintenance,
}

impl Method {
    fn name(&self) -> &'static str {
        self.path.rsplit('/').next().unwrap_or(self.path)
    }

    fn service(&self) -> &'static str {
        self.path.trim_start_matches('/').split('/').next().unwrap_or(self.path)
    }
}

macro_rules! method {
    ($name:ident, $path:literal, [$($role:expr),*], $maint:ident) => {
        pub(crate) const $name: Method = Method {
            path: $path,
            roles: &[$($role),*],
            maintenance: Maintenance::$maint,
        };
    };
}

// Roles follow internal/app/machined/pkg/system/services/machined.go upstream; methods without a
// rule there (LifecycleService) fall back to admin only.
method!(APPLY_CONFIGURATION, "/machine.MachineService/ApplyConfiguration", [ADMIN], Serve);
method!(BOOTSTRAP, "/machine.MachineService/Bootstrap", [ADMIN], NotImplemented);
method!(
    ETCD_MEMBER_LIST,
    "/machine.MachineService/EtcdMemberList",
    [ADMIN, OPERATOR, READER, ETCD_BACKUP],
    NotImplemented
);
method!(ETCD_REMOVE_MEMBER_BY_ID, "/machine.MachineService/EtcdRemoveMemberByID", [ADMIN], NotImplemented);
method!(ETCD_LEAVE_CLUSTER, "/machine.MachineService/EtcdLeaveCluster", [ADMIN], NotImplemented);
method!(ETCD_FORFEIT_LEADERSHIP, "/machine.MachineService/EtcdForfeitLeadership", [ADMIN], NotImplemented);
method!(KUBECONFIG, "/machine.MachineService/Kubeconfig", [ADMIN], NotImplemented);
method!(REBOOT, "/machine.MachineService/Reboot", [ADMIN, OPERATOR], NotImplemented);
method!(RESET, "/machine.MachineService/Reset", [ADMIN], AdminOnly);
method!(SERVICE_LIST, "/machine.MachineService/ServiceList", [ADMIN, OPERATOR, READER], NotImplemented);
method!(UPGRADE, "/machine.MachineService/Upgrade", [ADMIN], AdminOnly);
method!(VERSION, "/machine.MachineService/Version", [ADMIN, OPERATOR, READER], AdminOnly);
method!(LIFECYCLE_INSTALL, "/machine.LifecycleService/Install", [ADMIN], UnknownService);
method!(LIFECYCLE_UPGRADE, "/machine.LifecycleService/Upgrade", [ADMIN], UnknownService);
method!(HEALTH_CHECK, "/cluster.ClusterService/HealthCheck", [ADMIN, OPERATOR, READER], UnknownService);

/// Where a call goes.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The node as named in the `nodes` metadata (set only in one-to-many mode).
    pub node: Option<String>,
    /// The machine that handles it, or why it cannot be reached.
    pub machine: Result<String, Status>,
}

/// An admitted call.
#[derive(Debug)]
pub(crate) struct Call {
    pub targets: Vec<Target>,
    /// One-to-many mode (`nodes` metadata): replies carry metadata and per-node errors.
    pub aggregate: bool,
}

/// Reply messages that carry `common.Metadata`.
pub(crate) trait WithMetadata: Default {
    fn set_metadata(&mut self, metadata: ct_proto::talos::common::Metadata);
}

impl Call {
    /// The single target of a non-aggregated call.
    pub(crate) fn single(self) -> Result<String, Status> {
        if self.aggregate && self.targets.len() != 1 {
            return Err(Status::unimplemented(
                "one-to-many proxying of streaming methods is not modelled by the emulator",
            ));
        }
        self.targets.into_iter().next().map_or(Err(Status::internal("no target")), |t| t.machine)
    }

    /// Runs `f` on every target; in one-to-many mode errors become per-node metadata.
    pub(crate) async fn each<T, F, Fut>(self, f: F) -> Result<Vec<T>, Status>
    where
        T: WithMetadata,
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let mut out = Vec::with_capacity(self.targets.len());
        for t in self.targets {
            let result = match t.machine {
                Ok(id) => f(id).await,
                Err(e) => Err(e),
            };
            match (self.aggregate, result) {
                (false, r) => out.push(r?),
                (true, Ok(mut msg)) => {
                    msg.set_metadata(metadata(t.node, None));
                    out.push(msg);
                }
                (true, Err(e)) => {
                    let mut msg = T::default();
                    msg.set_metadata(metadata(t.node, Some(e)));
                    out.push(msg);
                }
            }
        }
        Ok(out)
    }
}

fn metadata(node: Option<String>, error: Option<Status>) -> ct_proto::talos::common::Metadata {
    ct_proto::talos::common::Metadata {
        hostname: node.unwrap_or_default(),
        error: error.as_ref().map(|e| e.message().to_owned()).unwrap_or_default(),
        status: error.map(|e| ct_proto::talos::google::rpc::Status {
            code: e.code() as i32,
            message: e.message().to_owned(),
            details: Vec::new(),
        }),
    }
}

/// Admits a call made on `entry`'s API.
pub(crate) async fn admit(
    region: &Region,
    meta: &MetadataMap,
    ext: &Extensions,
    method: &Method,
) -> Result<Call, Status> {
    let info =
        ext.get::<ConnInfo>().ok_or_else(|| Status::internal("connection information missing"))?.clone();
    inject_faults(region, &info.machine_id, method).await?;
    let node: Vec<String> =
        meta.get_all("node").iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect();
    let nodes: Vec<String> = meta
        .get_all("nodes")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .collect();
    if info.maintenance {
        return admit_maintenance(region, &info, method, &node, &nodes);
    }
    if !method.roles.iter().any(|r| info.organizations.iter().any(|o| o == r)) {
        return Err(Status::permission_denied("not authorized"));
    }
    if !node.is_empty() && node.len() != 1 {
        return Err(Status::invalid_argument("node metadata must be single-valued"));
    }
    if !nodes.is_empty() {
        let mut targets = Vec::new();
        for n in &nodes {
            targets.push(Target { node: Some(n.clone()), machine: route(region, &info, n, method).await });
        }
        return Ok(Call { targets, aggregate: true });
    }
    let machine = match node.first() {
        Some(n) => route(region, &info, n, method).await,
        None => Ok(info.machine_id.clone()),
    };
    Ok(Call { targets: vec![Target { node: None, machine }], aggregate: false })
}

fn admit_maintenance(
    region: &Region,
    info: &ConnInfo,
    method: &Method,
    node: &[String],
    nodes: &[String],
) -> Result<Call, Status> {
    match method.maintenance {
        Maintenance::Serve => {}
        Maintenance::AdminOnly => {
            return Err(Status::unimplemented("API is not implemented in maintenance mode"));
        }
        Maintenance::NotImplemented => {
            return Err(Status::unimplemented(format!("method {} not implemented", method.name())));
        }
        Maintenance::UnknownService => {
            return Err(Status::unimplemented(format!("unknown service {}", method.service())));
        }
    }
    let is_self = |n: &String| region.lock().machines.get(&info.machine_id).is_some_and(|m| m.matches(n));
    if node.iter().chain(nodes).any(|n| !is_self(n)) {
        return Err(Status::permission_denied("no request forwarding"));
    }
    Ok(Call { targets: vec![Target { node: None, machine: Ok(info.machine_id.clone()) }], aggregate: false })
}

async fn inject_faults(region: &Region, id: &str, method: &Method) -> Result<(), Status> {
    let effect = {
        let st = region.lock();
        st.machines.get(id).map(|m| call_effect(&st.faults, m, method.path)).unwrap_or_default()
    };
    if effect.delay_ms > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(effect.delay_ms)).await;
    }
    if effect.fail {
        return Err(Status::unavailable(format!("injected fault on {id}: {} failed", method.path)));
    }
    Ok(())
}

/// Resolves a proxied target the way apid's remote backend would reach it.
async fn route(region: &Region, info: &ConnInfo, target: &str, method: &Method) -> Result<String, Status> {
    let host = target
        .rsplit_once(':')
        .filter(|(h, p)| !h.contains(':') && p.parse::<u16>().is_ok())
        .map_or(target, |(h, _)| h);
    let dial = format!("dial tcp {host}:50000");
    let unreachable = |why: &str| {
        Status::unavailable(format!(
            "connection error: desc = \"transport: Error while dialing: {dial}: {why}\""
        ))
    };
    let resolved = {
        let st = region.lock();
        let entry_ca =
            st.machines.get(&info.machine_id).and_then(|m| m.parsed().map(|c| c.os_ca.crt.clone()));
        match st.resolve(target) {
            None => Err(unreachable("connect: no route to host")),
            Some(m) if m.id == info.machine_id => Ok(m.id.clone()),
            Some(m) => {
                let down = machine_faulted(&st.faults, m, |k| *k == FaultKind::Down) || !m.phase.serving();
                let partitioned = machine_faulted(&st.faults, m, |k| *k == FaultKind::Partitioned);
                let ca = m.parsed().map(|c| c.os_ca.crt.clone());
                if down {
                    Err(unreachable("connect: connection refused"))
                } else if partitioned {
                    Err(unreachable("i/o timeout"))
                } else if m.phase == Phase::Maintenance || ca.is_none() || ca != entry_ca {
                    Err(Status::unavailable(
                        "connection error: desc = \"transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority\"",
                    ))
                } else {
                    Ok(m.id.clone())
                }
            }
        }
    };
    let id = resolved?;
    if id != info.machine_id {
        inject_faults(region, &id, method).await?;
    }
    Ok(id)
}
