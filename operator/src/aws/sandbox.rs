//! Whether the account's messages reach ordinary recipients here: a new account's SES (and its
//! SNS SMS) is in a sandbox that sends only to verified recipients. Asked once per account and
//! region (a client set), then at most hourly: a pool there is told, not blocked.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{AwsError, Clients, call_error};

/// How long a sandbox answer is trusted: leaving one is a support case, not a second's change.
const RECHECK: Duration = Duration::from_secs(3600);

/// The channels a pool sends through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Email,
    Sms,
}

/// The last answers per channel, with when they were asked (`None`: no answer could be had).
#[derive(Debug, Default)]
pub struct Seen(tokio::sync::Mutex<HashMap<Channel, (Instant, Option<bool>)>>);

/// Whether `channel` is in the sandbox for the clients' account and region. An answer the
/// operator cannot get (a policy without the action, an emulator without it) is `None`: the
/// pool is not told anything it cannot know, and it is not asked again within the hour either
/// (an operator policy from before the sandbox check would otherwise fail one call per pool
/// and resync).
pub async fn in_sandbox(c: &Clients, channel: Channel) -> Option<bool> {
    let mut seen = c.sandboxes.0.lock().await;
    if let Some((at, sandboxed)) = seen.get(&channel) {
        if at.elapsed() < RECHECK {
            return *sandboxed;
        }
    }
    let answer = match channel {
        Channel::Email => ses(c).await,
        Channel::Sms => sms(c).await,
    };
    let sandboxed = answer
        .inspect_err(|e| tracing::debug!(error = %e, ?channel, "sandbox state unknown"))
        .ok();
    seen.insert(channel, (Instant::now(), sandboxed));
    sandboxed
}

async fn ses(c: &Clients) -> Result<bool, AwsError> {
    let out = c
        .ses
        .get_account()
        .send()
        .await
        .map_err(|e| call_error("ses:GetAccount", e))?;
    Ok(!out.production_access_enabled())
}

async fn sms(c: &Clients) -> Result<bool, AwsError> {
    let out = c
        .sns
        .get_sms_sandbox_account_status()
        .send()
        .await
        .map_err(|e| call_error("sns:GetSMSSandboxAccountStatus", e))?;
    Ok(out.is_in_sandbox())
}
