//! ApplyConfiguration as upstream serves it, in maintenance mode and on configured nodes, with
//! the mode semantics of the node's Talos version (1.13: AUTO may reboot; 1.14: REBOOT mode is
//! gone and AUTO always applies without a reboot).

use std::time::Duration;

use tonic::Status;

use super::Region;
use super::power::set_config;
use super::state::Phase;
use crate::config::{MachineConfig, describe_diff};
use crate::error::Error;
use crate::timing::now_ms;
use crate::version::TalosVersion;

/// ApplyConfigurationRequest.Mode values (proto enum numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ApplyMode {
    /// REBOOT = 0 (deprecated upstream).
    Reboot,
    /// AUTO = 1.
    Auto,
    /// NO_REBOOT = 2.
    NoReboot,
    /// STAGED = 3.
    Staged,
    /// TRY = 4.
    Try,
}

impl ApplyMode {
    /// From the wire value (unknown values are rejected by the caller).
    pub(crate) fn from_i32(v: i32) -> Option<Self> {
        Some(match v {
            0 => Self::Reboot,
            1 => Self::Auto,
            2 => Self::NoReboot,
            3 => Self::Staged,
            4 => Self::Try,
            _ => return None,
        })
    }

    /// The wire value.
    pub(crate) fn as_i32(self) -> i32 {
        match self {
            Self::Reboot => 0,
            Self::Auto => 1,
            Self::NoReboot => 2,
            Self::Staged => 3,
            Self::Try => 4,
        }
    }

    /// The talosctl spelling (`no-reboot`).
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Self::Reboot => "reboot",
            Self::Auto => "auto",
            Self::NoReboot => "no-reboot",
            Self::Staged => "staged",
            Self::Try => "try",
        }
    }
}

/// What ApplyConfiguration answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApplyOutcome {
    /// The mode actually used (wire value).
    pub mode: i32,
    /// Validation warnings.
    pub warnings: Vec<String>,
    /// Human-readable result (the config diff on dry runs).
    pub details: String,
}

/// The apply request, decoded.
#[derive(Debug, Clone)]
pub(crate) struct ApplyRequest {
    /// The configuration bytes.
    pub data: Vec<u8>,
    /// Requested mode.
    pub mode: ApplyMode,
    /// Only report what would happen.
    pub dry_run: bool,
    /// TRY mode rollback delay, if given.
    pub try_timeout: Option<Duration>,
}

impl Region {
    /// ApplyConfiguration on a machine (maintenance or configured, decided by its phase).
    pub(crate) async fn apply_configuration(
        &self,
        id: &str,
        req: ApplyRequest,
    ) -> Result<ApplyOutcome, Status> {
        let lock = {
            let st = self.lock();
            st.machines.get(id).map(|m| m.rt.apply_lock.clone())
        }
        .ok_or_else(|| Status::not_found("machine not found"))?;
        let _guard = lock
            .try_lock()
            .map_err(|_| Status::failed_precondition("another apply configuration request is in progress"))?;
        tokio::time::sleep(self.latencies().scaled(self.latencies().apply_ms)).await;
        let (maintenance, version) = {
            let st = self.lock();
            let m = st.machines.get(id).ok_or_else(|| Status::not_found("machine not found"))?;
            (m.phase == Phase::Maintenance, TalosVersion::parse(&m.talos_version))
        };
        let v114 = version.as_ref().is_some_and(TalosVersion::has_v114_apply_semantics);
        if maintenance {
            self.apply_in_maintenance(id, &req, v114)
        } else {
            self.apply_configured(id, &req, v114)
        }
    }

    fn apply_in_maintenance(&self, id: &str, req: &ApplyRequest, v114: bool) -> Result<ApplyOutcome, Status> {
        let accepted = match req.mode {
            ApplyMode::Auto | ApplyMode::Reboot | ApplyMode::Try => true,
            // 1.14 maps the old default (REBOOT) onto NO_REBOOT, so NO_REBOOT installs as well.
            ApplyMode::NoReboot => v114,
            ApplyMode::Staged => false,
        };
        if !accepted {
            return Err(Status::unimplemented(format!(
                "apply configuration --mode='{}' is not supported in maintenance mode",
                req.mode.flag()
            )));
        }
        let cfg = match MachineConfig::parse(&req.data) {
            Ok(cfg) => cfg,
            // Upstream wraps the parse error in a plain error: it reaches clients as Unknown.
            Err(e @ Error::ConfigSyntax(_)) => return Err(Status::unknown(e.to_string())),
            Err(e) => return Err(Status::invalid_argument(format!("configuration validation failed: {e}"))),
        };
        let warnings = cfg.warnings.clone();
        if req.dry_run {
            return Ok(ApplyOutcome {
                mode: 0,
                warnings,
                details:
                    "Dry run summary:\nNode is running in maintenance mode and does not have a config yet."
                        .into(),
            });
        }
        self.mutate(|st| Region::start_install(st, id, cfg.raw.clone()));
        Ok(ApplyOutcome { mode: 0, warnings, details: String::new() })
    }

    fn apply_configured(&self, id: &str, req: &ApplyRequest, v114: bool) -> Result<ApplyOutcome, Status> {
        let cfg = MachineConfig::parse(&req.data).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let current = {
            let st = self.lock();
            st.machines.get(id).and_then(|m| m.parsed().cloned())
        }
        .ok_or_else(|| Status::failed_precondition("machine is not configured"))?;
        let diff = current.diff(&cfg);
        let reboot_reason = if v114 {
            None
        } else {
            diff.needs_reboot().map(|path| {
                format!("this config change can't be applied in immediate mode\ndiff: {path} changed")
            })
        };
        let (mode, details) = match req.mode {
            ApplyMode::Reboot if v114 => {
                return Err(Status::unimplemented(
                    "apply configuration --mode='reboot' is not supported, use --mode=auto or --mode=no-reboot and reboot explicitly",
                ));
            }
            ApplyMode::Reboot => (ApplyMode::Reboot, "Applied configuration with a reboot".to_owned()),
            ApplyMode::Try | ApplyMode::NoReboot => {
                if let Some(reason) = &reboot_reason {
                    return Err(Status::invalid_argument(reason.clone()));
                }
                (req.mode, "Applied configuration without a reboot".to_owned())
            }
            ApplyMode::Staged => {
                (ApplyMode::Staged, "Staged configuration to be applied after the next reboot".to_owned())
            }
            ApplyMode::Auto => match &reboot_reason {
                Some(reason) => (ApplyMode::Reboot, format!("Applied configuration with a reboot: {reason}")),
                None => (ApplyMode::NoReboot, "Applied configuration without a reboot".to_owned()),
            },
        };
        if req.dry_run {
            let summary = details.split(':').next().unwrap_or_default().to_owned();
            return Ok(ApplyOutcome {
                mode: mode.as_i32(),
                warnings: Vec::new(),
                details: format!(
                    "Dry run summary:\n{summary} (skipped in dry-run).\n{}",
                    describe_diff(&diff)
                ),
            });
        }
        let raw = cfg.raw.clone();
        let try_timeout = req.try_timeout.unwrap_or_else(|| self.latencies().scaled(60_000));
        self.mutate(|st| {
            let Some(m) = st.machines.get_mut(id) else { return };
            if mode != ApplyMode::Try {
                m.try_rollback = None;
            }
            match mode {
                ApplyMode::Try => {
                    let previous = m.config.clone().unwrap_or_default();
                    set_config(m, Some(raw));
                    m.try_rollback = Some(super::state::TryRollback {
                        deadline_ms: now_ms()
                            .saturating_add(u64::try_from(try_timeout.as_millis()).unwrap_or(u64::MAX)),
                        previous,
                    });
                }
                ApplyMode::NoReboot | ApplyMode::Auto => set_config(m, Some(raw)),
                ApplyMode::Staged => m.staged_config = Some(raw),
                ApplyMode::Reboot => Region::stage_and_reboot(st, id, raw),
            }
        });
        let details = match mode {
            ApplyMode::Try => format!(
                "{details}\nThe config is applied in 'try' mode and will be automatically reverted back in {try_timeout:?}"
            ),
            _ => details,
        };
        Ok(ApplyOutcome { mode: mode.as_i32(), warnings: cfg.warnings, details })
    }
}
