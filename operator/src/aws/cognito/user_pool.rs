//! The user pool. Every UpdateUserPool carries the whole configuration: AWS resets any field an
//! update omits.

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::operation::create_user_pool::builders::CreateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AdminCreateUserConfigType, AuthFactorType, DeletionProtectionType,
    EmailConfigurationType, EmailSendingAccountType, LambdaConfigType, PasswordPolicyType,
    RecoveryOptionNameType, RecoveryOptionType, SignInPolicyType, UserPoolMfaType,
    UserPoolPolicyType, UserPoolTierType, UserPoolType, UsernameAttributeType,
    UsernameConfigurationType, VerifiedAttributeType, WebAuthnConfigurationType,
};

use super::sent_once;
use crate::aws::{AwsError, Clients, Found, Paced, RESOURCE_NOT_FOUND, built};
use crate::desired::UserPoolConfig;
use crate::names::OWNER_TAG;
use crate::observed::PoolDomains;

/// The id of the pool named `name`, if any (the caller checks its owner tag), through the
/// clients' index of pool names (see [`super::pool_index`]).
pub async fn find_pool(c: &Clients, name: &str) -> Result<Option<String>, AwsError> {
    c.pool_names.find(name, || list_pools(c)).await
}

/// Every user pool's `(name, id)`, page by page.
async fn list_pools(c: &Clients) -> Result<Vec<(String, String)>, AwsError> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .cognito
            .list_user_pools()
            .max_results(60)
            .set_next_token(token)
            .send()
            .paced(c, "cognito-idp:ListUserPools")
            .await?;
        all.extend(out.user_pools().iter().map(|pool| {
            (
                pool.name().unwrap_or_default().to_owned(),
                pool.id().unwrap_or_default().to_owned(),
            )
        }));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(all);
        }
    }
}

/// The pool as it is, in the shape of `desired`; fields the service did not return are taken
/// as desired (so an emulator's missing field never causes an endless update). Also the
/// settings it has that the operator does not manage (see [`unmanaged_settings`]).
/// A user pool as DescribeUserPool shows it.
#[derive(Clone)]
pub struct ObservedPool {
    pub arn: String,
    pub config: UserPoolConfig,
    /// Settings the operator does not manage (see [`unmanaged_settings`]).
    pub unmanaged: Vec<String>,
    pub domains: PoolDomains,
}

pub async fn observe_pool(
    c: &Clients,
    id: &str,
    desired: &UserPoolConfig,
) -> Result<Option<ObservedPool>, AwsError> {
    let described = c.cognito.describe_user_pool().user_pool_id(id).send();
    let Some(out) = described
        .paced(c, "cognito-idp:DescribeUserPool")
        .await
        .found(RESOURCE_NOT_FOUND)?
    else {
        return Ok(None);
    };
    let pool = out
        .user_pool
        .ok_or_else(|| AwsError::Unexpected("DescribeUserPool returned no pool".into()))?;
    let arn = pool.arn().unwrap_or_default().to_owned();
    let unmanaged = unmanaged_settings(&pool);
    let mut observed = pool_config(&pool, desired);
    if desired.web_authn_relying_party_id.is_some() {
        let mfa = c
            .cognito
            .get_user_pool_mfa_config()
            .user_pool_id(id)
            .send()
            .paced(c, "cognito-idp:GetUserPoolMfaConfig")
            .await?;
        observed.web_authn_relying_party_id = mfa
            .web_authn_configuration()
            .and_then(|w| w.relying_party_id())
            .map(str::to_owned);
    }
    let domains = PoolDomains {
        prefix: pool.domain().filter(|d| !d.is_empty()).map(str::to_owned),
        custom: pool
            .custom_domain()
            .filter(|d| !d.is_empty())
            .map(str::to_owned),
    };
    Ok(Some(ObservedPool {
        arn,
        config: observed,
        unmanaged,
        domains,
    }))
}

/// Settings a pool has that the operator does not manage, and that an UpdateUserPool (which
/// resets every field it omits) would silently undo: an adopted pool with any of them is
/// refused, naming them, rather than changed behind its owner's back.
pub fn unmanaged_settings(pool: &UserPoolType) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(l) = pool.lambda_config() {
        let others = [
            ("PreAuthentication", l.pre_authentication().is_some()),
            ("CustomMessage", l.custom_message().is_some()),
            ("PostConfirmation", l.post_confirmation().is_some()),
            (
                "PreTokenGeneration",
                l.pre_token_generation().is_some() || l.pre_token_generation_config().is_some(),
            ),
            ("UserMigration", l.user_migration().is_some()),
            ("CustomSMSSender", l.custom_sms_sender().is_some()),
            ("CustomEmailSender", l.custom_email_sender().is_some()),
            ("KMSKeyID", l.kms_key_id().is_some()),
        ];
        for (name, set) in others {
            if set {
                found.push(format!("LambdaConfig.{name}"));
            }
        }
    }
    if pool
        .sms_configuration()
        .is_some_and(|s| !s.sns_caller_arn().is_empty())
    {
        found.push("SmsConfiguration".to_owned());
    }
    if pool
        .mfa_configuration()
        .is_some_and(|m| *m != UserPoolMfaType::Off)
    {
        found.push("MfaConfiguration".to_owned());
    }
    if pool
        .user_pool_add_ons()
        .is_some_and(|a| a.advanced_security_mode().as_str() != "OFF")
    {
        found.push("UserPoolAddOns".to_owned());
    }
    if pool.device_configuration().is_some() {
        found.push("DeviceConfiguration".to_owned());
    }
    if pool
        .user_attribute_update_settings()
        .is_some_and(|u| !u.attributes_require_verification_before_update().is_empty())
    {
        found.push("UserAttributeUpdateSettings".to_owned());
    }
    let ours = password_policy();
    if let Some(theirs) = pool.policies().and_then(|p| p.password_policy()) {
        let same = theirs.minimum_length() == ours.minimum_length()
            && theirs.require_lowercase() == ours.require_lowercase()
            && theirs.require_uppercase() == ours.require_uppercase()
            && theirs.require_numbers() == ours.require_numbers()
            && theirs.require_symbols() == ours.require_symbols();
        if !same {
            found.push("Policies.PasswordPolicy".to_owned());
        }
    }
    found
}

/// Users never type a password; a long random one is set for them where Cognito needs one.
fn password_policy() -> PasswordPolicyType {
    PasswordPolicyType::builder()
        .minimum_length(MIN_PASSWORD_LENGTH)
        .require_lowercase(true)
        .require_uppercase(true)
        .require_numbers(true)
        .require_symbols(true)
        .build()
}

const MIN_PASSWORD_LENGTH: i32 = 16;

/// Who owns a pool, by its owner tag.
pub async fn owner_of(c: &Clients, id: &str) -> Result<Option<String>, AwsError> {
    let out = c
        .cognito
        .describe_user_pool()
        .user_pool_id(id)
        .send()
        .paced(c, "cognito-idp:DescribeUserPool")
        .await?;
    Ok(out
        .user_pool()
        .and_then(|p| p.user_pool_tags())
        .and_then(|t| t.get(OWNER_TAG))
        .cloned())
}

fn pool_config(pool: &UserPoolType, desired: &UserPoolConfig) -> UserPoolConfig {
    let lambda = pool.lambda_config();
    let trigger = |f: fn(&LambdaConfigType) -> Option<&str>| lambda.and_then(f).map(str::to_owned);
    let strings =
        |v: Vec<String>, fallback: &Vec<String>| if v.is_empty() { fallback.clone() } else { v };
    let mut factors: Vec<String> = pool
        .policies()
        .and_then(|p| p.sign_in_policy())
        .map(|s| {
            s.allowed_first_auth_factors()
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect()
        })
        .unwrap_or_default();
    // PASSWORD alone is Cognito's default: no passwordless first factor.
    if factors == ["PASSWORD"] && desired.allowed_first_auth_factors.is_empty() {
        factors.clear();
    }
    let email = pool.email_configuration();
    UserPoolConfig {
        name: pool.name().unwrap_or_default().to_owned(),
        username_attributes: strings(
            pool.username_attributes()
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            &desired.username_attributes,
        ),
        auto_verified_attributes: pool
            .auto_verified_attributes()
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect(),
        define_auth_challenge: trigger(LambdaConfigType::define_auth_challenge),
        create_auth_challenge: trigger(LambdaConfigType::create_auth_challenge),
        verify_auth_challenge_response: trigger(LambdaConfigType::verify_auth_challenge_response),
        pre_sign_up: trigger(LambdaConfigType::pre_sign_up),
        post_authentication: trigger(LambdaConfigType::post_authentication),
        deletion_protection: pool
            .deletion_protection()
            .map(|d| d.as_str().to_owned())
            .unwrap_or_else(|| "INACTIVE".to_owned()),
        allow_admin_create_user_only: pool
            .admin_create_user_config()
            .map(|a| a.allow_admin_create_user_only())
            .unwrap_or(false),
        recovery_mechanism: pool
            .account_recovery_setting()
            .and_then(|r| r.recovery_mechanisms().first())
            .map(|m| m.name().as_str().to_owned())
            .unwrap_or_else(|| desired.recovery_mechanism.clone()),
        mfa: pool
            .mfa_configuration()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_else(|| desired.mfa.clone()),
        tier: pool
            .user_pool_tier()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| desired.tier.clone()),
        allowed_first_auth_factors: factors,
        web_authn_relying_party_id: None,
        email_sending_account: email
            .and_then(|e| e.email_sending_account())
            .map(|a| a.as_str().to_owned())
            .unwrap_or_else(|| desired.email_sending_account.clone()),
        email_source_arn: email.and_then(|e| e.source_arn()).map(str::to_owned),
        email_from: email.and_then(|e| e.from()).map(str::to_owned),
        tags: pool
            .user_pool_tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

/// The settings UpdateUserPool and CreateUserPool share, all of them.
struct PoolSettings {
    lambda: LambdaConfigType,
    recovery: AccountRecoverySettingType,
    admin: AdminCreateUserConfigType,
    policies: UserPoolPolicyType,
    email: EmailConfigurationType,
    tags: HashMap<String, String>,
}

fn settings(p: &UserPoolConfig) -> Result<PoolSettings, AwsError> {
    let lambda = LambdaConfigType::builder()
        .set_define_auth_challenge(p.define_auth_challenge.clone())
        .set_create_auth_challenge(p.create_auth_challenge.clone())
        .set_verify_auth_challenge_response(p.verify_auth_challenge_response.clone())
        .set_pre_sign_up(p.pre_sign_up.clone())
        .set_post_authentication(p.post_authentication.clone())
        .build();
    let recovery = AccountRecoverySettingType::builder()
        .recovery_mechanisms(built(
            RecoveryOptionType::builder()
                .name(RecoveryOptionNameType::from(p.recovery_mechanism.as_str()))
                .priority(1)
                .build(),
        )?)
        .build();
    let admin = AdminCreateUserConfigType::builder()
        .allow_admin_create_user_only(p.allow_admin_create_user_only)
        .build();
    let mut policies = UserPoolPolicyType::builder().password_policy(password_policy());
    if !p.allowed_first_auth_factors.is_empty() {
        let factors: Vec<AuthFactorType> = p
            .allowed_first_auth_factors
            .iter()
            .map(|f| AuthFactorType::from(f.as_str()))
            .collect();
        policies = policies.sign_in_policy(
            SignInPolicyType::builder()
                .set_allowed_first_auth_factors(Some(factors))
                .build(),
        );
    }
    let email = EmailConfigurationType::builder()
        .email_sending_account(EmailSendingAccountType::from(
            p.email_sending_account.as_str(),
        ))
        .set_source_arn(p.email_source_arn.clone())
        .set_from(p.email_from.clone())
        .build();
    Ok(PoolSettings {
        lambda,
        recovery,
        admin,
        policies: policies.build(),
        email,
        tags: p.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

fn verified(p: &UserPoolConfig) -> Vec<VerifiedAttributeType> {
    p.auto_verified_attributes
        .iter()
        .map(|a| VerifiedAttributeType::from(a.as_str()))
        .collect()
}

/// Every pool setting the operator manages except the create-only ones (name, username
/// attributes), on a create or an update request alike.
macro_rules! pool_settings {
    ($builder:expr, $p:expr) => {{
        let s = settings($p)?;
        $builder
            .set_auto_verified_attributes(Some(verified($p)))
            .lambda_config(s.lambda)
            .deletion_protection(DeletionProtectionType::from(
                $p.deletion_protection.as_str(),
            ))
            .admin_create_user_config(s.admin)
            .account_recovery_setting(s.recovery)
            .mfa_configuration(UserPoolMfaType::from($p.mfa.as_str()))
            .user_pool_tier(UserPoolTierType::from($p.tier.as_str()))
            .policies(s.policies)
            .email_configuration(s.email)
            .set_user_pool_tags(Some(s.tags))
    }};
}

/// The full UpdateUserPool request: every field the operator manages, always.
pub fn update_request(
    builder: UpdateUserPoolFluentBuilder,
    id: &str,
    p: &UserPoolConfig,
) -> Result<UpdateUserPoolFluentBuilder, AwsError> {
    Ok(pool_settings!(builder.user_pool_id(id), p))
}

fn create_request(
    builder: CreateUserPoolFluentBuilder,
    p: &UserPoolConfig,
) -> Result<CreateUserPoolFluentBuilder, AwsError> {
    let usernames = p
        .username_attributes
        .iter()
        .map(|a| UsernameAttributeType::from(a.as_str()))
        .collect();
    // Case-insensitive usernames: `Alice@Example.com` is the user `alice@example.com`, not a
    // second account. Create-only in Cognito, so pools made before keep their setting.
    let case = UsernameConfigurationType::builder()
        .case_sensitive(false)
        .build();
    let case = built(case)?;
    Ok(pool_settings!(
        builder
            .pool_name(&p.name)
            .set_username_attributes(Some(usernames))
            .username_configuration(case),
        p
    ))
}

/// Creates the pool; returns (id, arn).
pub async fn create_pool(c: &Clients, p: &UserPoolConfig) -> Result<(String, String), AwsError> {
    let sent = create_request(c.cognito.create_user_pool(), p)?
        .customize()
        .config_override(sent_once())
        .send()
        .paced(c, "cognito-idp:CreateUserPool")
        .await;
    let out = match sent {
        Ok(out) => out,
        Err(e) => {
            // The pool may exist all the same (an answer lost): the next lookup scans again.
            c.pool_names.forget().await;
            return Err(e);
        }
    };
    let pool = out
        .user_pool()
        .ok_or_else(|| AwsError::Unexpected("CreateUserPool returned no pool".into()))?;
    let id = pool.id().unwrap_or_default().to_owned();
    c.pool_names.created(&p.name, &id).await;
    set_web_authn(c, &id, p).await?;
    Ok((id, pool.arn().unwrap_or_default().to_owned()))
}

pub async fn update_pool(c: &Clients, id: &str, p: &UserPoolConfig) -> Result<(), AwsError> {
    update_request(c.cognito.update_user_pool(), id, p)?
        .send()
        .paced(c, "cognito-idp:UpdateUserPool")
        .await?;
    set_web_authn(c, id, p).await
}

async fn set_web_authn(c: &Clients, id: &str, p: &UserPoolConfig) -> Result<(), AwsError> {
    let Some(rp) = &p.web_authn_relying_party_id else {
        return Ok(());
    };
    let web_authn = WebAuthnConfigurationType::builder()
        .relying_party_id(rp)
        .build();
    c.cognito
        .set_user_pool_mfa_config()
        .user_pool_id(id)
        .mfa_configuration(UserPoolMfaType::from(p.mfa.as_str()))
        .web_authn_configuration(web_authn)
        .send()
        .paced(c, "cognito-idp:SetUserPoolMfaConfig")
        .await?;
    Ok(())
}

/// Deletes the pool (deletion protection must be off). Already gone counts as done.
pub async fn delete_pool(c: &Clients, id: &str) -> Result<(), AwsError> {
    let deleted = c.cognito.delete_user_pool().user_pool_id(id).send();
    deleted
        .paced(c, "cognito-idp:DeleteUserPool")
        .await
        .found(RESOURCE_NOT_FOUND)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ministack merges omitted fields on UpdateUserPool; AWS resets them. So the request
    /// itself must carry everything (moto proves the effect in the integration tests).
    #[test]
    fn update_user_pool_always_carries_the_full_configuration() {
        let conf = aws_sdk_cognitoidentityprovider::Config::builder()
            .behavior_version(aws_sdk_cognitoidentityprovider::config::BehaviorVersion::latest())
            .region(aws_sdk_cognitoidentityprovider::config::Region::new(
                "eu-west-1",
            ))
            .build();
        let client = aws_sdk_cognitoidentityprovider::Client::from_conf(conf);
        let arn = "arn:aws:lambda:eu-west-1:1:function:f".to_owned();
        let pool = UserPoolConfig {
            name: "p".into(),
            username_attributes: vec!["email".into()],
            define_auth_challenge: Some(arn.clone()),
            create_auth_challenge: Some(arn.clone()),
            verify_auth_challenge_response: Some(arn.clone()),
            pre_sign_up: Some(arn.clone()),
            post_authentication: Some(arn.clone()),
            deletion_protection: "ACTIVE".into(),
            allow_admin_create_user_only: true,
            recovery_mechanism: "admin_only".into(),
            mfa: "OFF".into(),
            tier: "LITE".into(),
            email_sending_account: "COGNITO_DEFAULT".into(),
            tags: [("k".to_owned(), "v".to_owned())].into(),
            ..Default::default()
        };
        let input = update_request(client.update_user_pool(), "eu-west-1_X", &pool).unwrap();
        let input = input.as_input();
        let lambda = input
            .get_lambda_config()
            .as_ref()
            .expect("LambdaConfig is always sent");
        for trigger in [
            lambda.define_auth_challenge(),
            lambda.create_auth_challenge(),
            lambda.verify_auth_challenge_response(),
            lambda.pre_sign_up(),
            lambda.post_authentication(),
        ] {
            assert_eq!(trigger, Some(arn.as_str()));
        }
        assert_eq!(
            input.get_deletion_protection(),
            &Some(DeletionProtectionType::Active)
        );
        assert!(
            input
                .get_admin_create_user_config()
                .as_ref()
                .is_some_and(|a| a.allow_admin_create_user_only())
        );
        assert!(input.get_account_recovery_setting().is_some());
        assert!(
            input
                .get_policies()
                .as_ref()
                .and_then(|p| p.password_policy())
                .is_some()
        );
        assert!(input.get_email_configuration().is_some());
        assert!(input.get_mfa_configuration().is_some());
        assert!(input.get_user_pool_tier().is_some());
        assert!(input.get_auto_verified_attributes().is_some());
        assert_eq!(
            input.get_user_pool_tags().as_ref().map(|t| t.len()),
            Some(1)
        );
    }
}
