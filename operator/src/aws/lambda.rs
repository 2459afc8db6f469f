//! The trigger function and Cognito's permission to invoke it.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, LastUpdateStatus, Runtime, State};
use serde_json::Value;

use super::{
    AwsError, Clients, Found, Paced, Patience, RESOURCE_NOT_FOUND, Tags, call_error, code_of,
    wait_for,
};
use crate::desired::{FunctionConfig, PermissionConfig};
use crate::names::VERIFIED_TAG;
use crate::trigger_code::Package;

/// The function's ARN and configuration, if it exists. GetFunction, not
/// GetFunctionConfiguration: one read that also returns the tags (the verified digest).
pub async fn observe(
    c: &Clients,
    name: &str,
) -> Result<Option<(String, FunctionConfig, Tags)>, AwsError> {
    let Some(out) = c
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .paced(c, "lambda:GetFunction")
        .await
        .found(RESOURCE_NOT_FOUND)?
    else {
        return Ok(None);
    };
    let Some(config) = out.configuration() else {
        return Ok(None);
    };
    // Without lambda:ListTags, GetFunction leaves the tags out and says so here; reading that
    // as "not verified" would probe and re-tag on every pass, never reaching Ready.
    if let Some(e) = out.tags_error() {
        return Err(AwsError::Call {
            operation: "lambda:GetFunction",
            code: e.error_code().to_owned(),
            message: format!(
                "the function's tags could not be read (the operator needs lambda:ListTags): {}",
                e.message()
            ),
            transient: false,
        });
    }
    let environment: BTreeMap<String, String> = config
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let tags: Tags = out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let verified = tags.get(VERIFIED_TAG).cloned();
    Ok(Some((
        config.function_arn().unwrap_or_default().to_owned(),
        FunctionConfig {
            name: name.to_owned(),
            runtime: config
                .runtime()
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            handler: config.handler().unwrap_or_default().to_owned(),
            role_arn: config.role().unwrap_or_default().to_owned(),
            memory_mb: config.memory_size().unwrap_or_default(),
            timeout_seconds: config.timeout().unwrap_or_default(),
            environment,
            code_sha256: config.code_sha256().unwrap_or_default().to_owned(),
            verified,
        },
        tags,
    )))
}

/// Invokes the deployed function with the operator's probe event (no AWS call, nothing sent).
/// `Some(reason)` when the trigger refused: its own message, cut to a readable length. Called
/// right after [`create`] or [`update`], which return once the function is ready.
pub async fn probe(c: &Clients, name: &str) -> Result<Option<String>, AwsError> {
    let event =
        serde_json::json!({ "triggerSource": passwordless_contract::probe::TRIGGER_SOURCE });
    let out = c
        .lambda
        .invoke()
        .function_name(name)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .map_err(|e| call_error("lambda:Invoke", e))?;
    if out.function_error().is_none() {
        return Ok(None);
    }
    let payload: Value = out
        .payload()
        .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
        .unwrap_or(Value::Null);
    let reason = payload["errorMessage"]
        .as_str()
        .unwrap_or("the function failed without a message")
        .chars()
        .take(500)
        .collect();
    Ok(Some(reason))
}

/// Invokes an `Inactive` function with the probe event so that AWS restores it. AWS refuses
/// that invocation (`ResourceNotReadyException`) while restoring: expected, not an error.
async fn wake(c: &Clients, name: &str) -> Result<(), AwsError> {
    match probe(c, name).await {
        Err(AwsError::Call { code, .. }) if code == "ResourceNotReadyException" => Ok(()),
        other => other.map(|_| ()),
    }
}

/// Records on the function that the probe accepted the configuration with this digest.
pub async fn mark_verified(c: &Clients, arn: &str, digest: &str) -> Result<(), AwsError> {
    c.pace().await.wait("lambda:TagResource").await;
    c.lambda
        .tag_resource()
        .resource(arn)
        .tags(VERIFIED_TAG, digest)
        .send()
        .await
        .map_err(|e| call_error("lambda:TagResource", e))?;
    Ok(())
}

fn environment(f: &FunctionConfig) -> Environment {
    let vars: HashMap<String, String> = f
        .environment
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Environment::builder().set_variables(Some(vars)).build()
}

/// Every function setting the operator manages, on a create or an update request alike.
macro_rules! function_settings {
    ($builder:expr, $f:expr) => {
        $builder
            .function_name(&$f.name)
            .runtime(Runtime::from($f.runtime.as_str()))
            .handler(&$f.handler)
            .role(&$f.role_arn)
            .memory_size($f.memory_mb)
            .timeout($f.timeout_seconds)
            .environment(environment($f))
    };
}

/// Waits until the function can be invoked and updated again (Active, last update done). A
/// function idle for about two weeks reads `Inactive` and stays so until something invokes or
/// updates it: it is woken once with the probe event (whose first invocation AWS refuses with
/// `ResourceNotReadyException` while it restores the function), then waited for as usual.
pub async fn wait_ready(c: &Clients, name: &str) -> Result<(), AwsError> {
    let woken = std::sync::atomic::AtomicBool::new(false);
    wait_for(
        "lambda function ready",
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            c.pace().await.wait("lambda:GetFunctionConfiguration").await;
            let out = c
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| call_error("lambda:GetFunctionConfiguration", e))?;
            if out.state() == Some(&State::Failed)
                || out.last_update_status() == Some(&LastUpdateStatus::Failed)
            {
                return Err(AwsError::Unexpected(format!(
                    "lambda function {name} failed to become ready: {}",
                    out.state_reason()
                        .or(out.last_update_status_reason())
                        .unwrap_or("no reason given")
                )));
            }
            if out.state() == Some(&State::Inactive)
                && !woken.swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::info!(function = name, "waking an inactive function");
                wake(c, name).await?;
            }
            let active = out.state().is_none_or(|s| *s == State::Active);
            let settled = out
                .last_update_status()
                .is_none_or(|s| *s == LastUpdateStatus::Successful);
            Ok((active && settled).then_some(()))
        },
    )
    .await
}

/// How long a new function is left Pending before its state is first read.
const NEW_FUNCTION_PENDING: Duration = Duration::from_millis(500);

/// Creates the function from the zip; returns its ARN once it is Active. Creating again after
/// a crash finds the existing function instead.
pub async fn create(
    c: &Clients,
    f: &FunctionConfig,
    code: &Package<'_>,
    tags: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    let mut patience = Patience::new();
    let (arn, pending) = loop {
        let upload = super::upload_slot(c).await?;
        c.pace().await.wait("lambda:CreateFunction").await;
        let out = c.lambda.create_function();
        let out = function_settings!(out, f)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(code.bytes()?))
                    .build(),
            )
            .set_tags(Some(
                tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            ))
            .send()
            .await;
        drop(upload);
        match out {
            Ok(out) => {
                let pending = out.state() == Some(&State::Pending);
                break (out.function_arn().unwrap_or_default().to_owned(), pending);
            }
            Err(e) if code_of(&e) == Some("ResourceConflictException") => {
                let found = observe(c, &f.name).await?.map(|(arn, _, _)| arn);
                break (found.unwrap_or_default(), false);
            }
            Err(e) => {
                let error = call_error("lambda:CreateFunction", e);
                if !role_not_yet_assumable(&error) {
                    return Err(error);
                }
                if !patience.wait("the function's new role").await {
                    return Err(error.settling());
                }
            }
        }
    };
    // A new function is Pending for a while (seconds on AWS, half a second in the emulator):
    // a poll at once only spends the control plane's quota, which the fleet shares.
    if pending {
        tokio::time::sleep(NEW_FUNCTION_PENDING).await;
    }
    wait_ready(c, &f.name).await?;
    Ok(arn)
}

/// IAM is eventually consistent: for seconds after a role is created (or its trust policy
/// written), Lambda refuses a function that names it, with this. Any other invalid parameter
/// is the request's own fault, and waiting cures nothing.
fn role_not_yet_assumable(error: &AwsError) -> bool {
    matches!(error, AwsError::Call { code, message, .. }
        if code == "InvalidParameterValueException"
            && message.contains("cannot be assumed by Lambda"))
}

/// Brings an existing function to `f`: the whole configuration in one call when any of it
/// differs, the code when its sha256 differs.
pub async fn update(
    c: &Clients,
    observed: &FunctionConfig,
    f: &FunctionConfig,
    code: &Package<'_>,
) -> Result<(), AwsError> {
    let mut config_only = observed.clone();
    config_only.code_sha256 = f.code_sha256.clone();
    config_only.verified = f.verified.clone();
    if &config_only != f {
        wait_ready(c, &f.name).await?;
        let mut patience = Patience::new();
        loop {
            c.pace()
                .await
                .wait("lambda:UpdateFunctionConfiguration")
                .await;
            let update = c.lambda.update_function_configuration();
            let out = function_settings!(update, f).send().await;
            let Err(e) = out else { break };
            let error = call_error("lambda:UpdateFunctionConfiguration", e);
            if !role_not_yet_assumable(&error) {
                return Err(error);
            }
            if !patience.wait("the function's new role").await {
                return Err(error.settling());
            }
        }
    }
    if observed.code_sha256 != f.code_sha256 {
        wait_ready(c, &f.name).await?;
        let _upload = super::upload_slot(c).await?;
        c.pace().await.wait("lambda:UpdateFunctionCode").await;
        c.lambda
            .update_function_code()
            .function_name(&f.name)
            .zip_file(Blob::new(code.bytes()?))
            .send()
            .await
            .map_err(|e| call_error("lambda:UpdateFunctionCode", e))?;
    }
    wait_ready(c, &f.name).await
}

pub async fn delete(c: &Clients, name: &str) -> Result<(), AwsError> {
    c.lambda
        .delete_function()
        .function_name(name)
        .send()
        .paced(c, "lambda:DeleteFunction")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}

/// Our statement in the function's resource policy, if present.
pub async fn observe_permission(
    c: &Clients,
    function: &str,
    statement_id: &str,
) -> Result<Option<PermissionConfig>, AwsError> {
    let Some(out) = c
        .lambda
        .get_policy()
        .function_name(function)
        .send()
        .paced(c, "lambda:GetPolicy")
        .await
        .found(RESOURCE_NOT_FOUND)?
    else {
        return Ok(None);
    };
    let policy = out.policy().unwrap_or_default().to_owned();
    let policy: Value = serde_json::from_str(&policy).unwrap_or(Value::Null);
    let statement = policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["Sid"] == statement_id);
    Ok(statement.map(|s| {
        let condition = &s["Condition"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        PermissionConfig {
            statement_id: statement_id.to_owned(),
            principal: text(&s["Principal"]["Service"]),
            source_arn: text(&condition["ArnLike"]["AWS:SourceArn"]),
            source_account: text(&condition["StringEquals"]["AWS:SourceAccount"]),
        }
    }))
}

pub async fn add_permission(
    c: &Clients,
    function: &str,
    p: &PermissionConfig,
) -> Result<(), AwsError> {
    c.pace().await.wait("lambda:AddPermission").await;
    let out = c
        .lambda
        .add_permission()
        .function_name(function)
        .statement_id(&p.statement_id)
        .action("lambda:InvokeFunction")
        .principal(&p.principal)
        .source_arn(&p.source_arn)
        .source_account(&p.source_account)
        .send()
        .await;
    match out {
        Ok(_) => Ok(()),
        Err(e) if code_of(&e) == Some("ResourceConflictException") => Ok(()),
        Err(e) => Err(call_error("lambda:AddPermission", e)),
    }
}

pub async fn remove_permission(
    c: &Clients,
    function: &str,
    statement_id: &str,
) -> Result<(), AwsError> {
    c.lambda
        .remove_permission()
        .function_name(function)
        .statement_id(statement_id)
        .send()
        .paced(c, "lambda:RemovePermission")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}
