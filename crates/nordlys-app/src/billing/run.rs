//! The billing lock: one settlement or correction run at a time. A run names its process in the
//! lock; a second run waits for it or fails naming it; a lock whose process is gone (killed on
//! this host) or that stopped beating is taken over.

use std::time::{Duration, Instant};

use nordlys_store::{RunHolder, RunStart, Store};

use super::{BillingError, BillingPolicy};
use crate::Clock;

/// The process that runs billing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOwner {
    pub pid: u32,
    pub host: String,
}

impl RunOwner {
    /// This process on this host.
    pub fn this_process() -> RunOwner {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "unknown-host".to_owned());
        RunOwner {
            pid: std::process::id(),
            host,
        }
    }

    fn holder(&self) -> RunHolder {
        RunHolder {
            pid: self.pid,
            host: self.host.clone(),
        }
    }
}

/// Whether a process of this host is gone. Only Linux's /proc answers; elsewhere a lock is
/// taken over only once it stops beating.
fn process_is_gone(holder: &RunHolder, me: &RunOwner) -> bool {
    holder.host == me.host
        && holder.pid != me.pid
        && std::path::Path::new("/proc/self").exists()
        && !std::path::Path::new(&format!("/proc/{}", holder.pid)).exists()
}

/// Start a run of `kind` for `period` holding the billing lock, waiting as the policy says.
pub(super) async fn start_run(
    store: &Store,
    kind: &str,
    period: &str,
    policy: &BillingPolicy,
    clock: &dyn Clock,
) -> Result<i64, BillingError> {
    let waited = Instant::now();
    let mut abandoned = None;
    loop {
        match store
            .start_run_locked(kind, period, &policy.owner.holder(), abandoned, clock.now())
            .await?
        {
            RunStart::Started(run_id) => {
                if let Some(previous) = abandoned {
                    tracing::warn!(
                        run_id,
                        abandoned_run = previous,
                        "took over the billing lock of an abandoned run"
                    );
                }
                return Ok(run_id);
            }
            RunStart::Held(held) => {
                let silent_us = clock.now().as_microsecond() - held.heartbeat_at.as_microsecond();
                let silent_for = Duration::from_micros(silent_us.max(0).unsigned_abs());
                if process_is_gone(&held.holder, &policy.owner)
                    || silent_for >= policy.abandoned_after
                {
                    abandoned = Some(held.run_id);
                    continue;
                }
                match policy.wait_for_run {
                    Some(limit) if waited.elapsed() < limit => {
                        tracing::info!(
                            run_id = held.run_id,
                            "waiting for the billing run in progress"
                        );
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    _ => return Err(BillingError::RunInProgress(held)),
                }
            }
        }
    }
}
