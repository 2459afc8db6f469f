//! The trigger function's environment (the operator's half of the contract) and its role's
//! least-privilege policy.

use std::collections::BTreeMap;

use passwordless_contract::env as vars;
use serde_json::{Value, json};

use super::{Context, LAMBDA_PRINCIPAL, SenderConfig};
use crate::crd::Strategy;
use crate::names::StackNames;
use crate::validate::ValidatedSpec;

/// The trigger's environment: the names are the contract's (`passwordless_contract::env`), the
/// values come from the validated spec, so they lie in the ranges the trigger accepts.
pub(super) fn trigger_environment(
    spec: &ValidatedSpec,
    names: &StackNames,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        env.insert(k.to_owned(), v);
    };
    set(vars::STRATEGY, spec.strategy.as_str().to_owned());
    set(vars::ATTEMPT_LIMIT, spec.attempt_limit.to_string());
    // The secret's name: GetSecretValue takes it as well as the ARN, which AWS suffixes.
    set(vars::SIGNING_KEYS_SECRET, names.keys_secret.clone());
    set(vars::TABLE_NAME, names.table.clone());
    let limits = &spec.limits;
    set(
        vars::MIN_INTERVAL_SECONDS,
        limits.min_interval_seconds.to_string(),
    );
    set(vars::MAX_FAILURES, limits.max_failures.to_string());
    set(vars::LOCKOUT_SECONDS, limits.lockout_seconds.to_string());
    set(vars::SIGN_UP, spec.sign_up.as_str().to_owned());
    set(vars::OTP_LENGTH, spec.otp.length.to_string());
    set(vars::OTP_TTL_SECONDS, spec.otp.ttl_seconds.to_string());
    if let Some(link) = &spec.magic_link {
        set(vars::LINK_TTL_SECONDS, link.ttl_seconds.to_string());
        set(
            vars::REDIRECT_URLS,
            serde_json::to_string(&link.redirect_urls).expect("a list of strings serializes"),
        );
    }
    if let Some(sender) = &spec.sender {
        set(vars::SENDER_ADDRESS, sender.address.clone());
        if let Some(name) = &sender.display_name {
            set(vars::SENDER_NAME, name.clone());
        }
        if let Some(reply) = &sender.reply_to {
            set(vars::REPLY_TO, reply.clone());
        }
    }
    let email = &spec.email;
    for (k, v) in [
        (vars::APP_NAME, &email.app_name),
        (vars::EMAIL_SUBJECT, &email.subject),
        (vars::EMAIL_HTML, &email.html),
        (vars::EMAIL_TEXT, &email.text),
    ] {
        if let Some(v) = v {
            set(k, v.clone());
        }
    }
    env
}

pub(super) fn trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": LAMBDA_PRINCIPAL}, "Action": "sts:AssumeRole"}]
    })
}

/// Least privilege: send from this sender's address only, SMS only for SMS, this table and
/// this keys secret only, this pool only, and the function's own log group.
pub(super) fn trigger_policy(
    spec: &ValidatedSpec,
    names: &StackNames,
    ctx: &Context,
    sender: Option<&SenderConfig>,
) -> Value {
    let log_group = ctx.log_group_arn(names);
    let mut statements = vec![
        // Its own log group only, not every group in the account.
        json!({"Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group.clone()}),
        json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
               "Resource": format!("{log_group}:*")}),
        json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
               "Resource": ctx.keys_secret_arn_pattern(names)}),
        json!({"Effect": "Allow",
               "Action": ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem"],
               "Resource": ctx.table_arn(names)}),
    ];
    if let (Some(sender), Some(from), true) = (
        sender,
        spec.sender.as_ref(),
        spec.strategy != Strategy::SmsOtp,
    ) {
        // A domain identity would let the role send as any address of the domain: the
        // condition pins it to the spec's address.
        statements.push(json!({"Effect": "Allow", "Action": "ses:SendEmail",
            "Resource": ctx.ses_identity_arn(&sender.identity),
            "Condition": {"StringEquals": {"ses:FromAddress": from.address}}}));
    }
    if spec.strategy == Strategy::SmsOtp {
        // SMS to a phone number has no resource ARN; deny publishing to topics instead.
        let topics = ctx.partition.arn("sns", "*", "*", "*");
        statements.push(json!({"Effect": "Allow", "Action": "sns:Publish", "NotResource": topics}));
    }
    // PostAuthentication marks the proven address or phone verified. Until the pool exists
    // its id is unknown: no grant rather than `userpool/*` (the pool's triggers cannot run
    // before the next pass anyway).
    if let Some(pool) = ctx.user_pool_arn() {
        statements.push(json!({"Effect": "Allow", "Action": "cognito-idp:AdminUpdateUserAttributes", "Resource": pool}));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}
