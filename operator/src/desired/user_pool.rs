//! The user pool: its whole configuration, as UpdateUserPool must always be sent it.

use std::collections::BTreeMap;

use super::fields::{Fields, list, opt};
use super::{Facts, SenderConfig};
use crate::crd::{AuthFactor, DeletionPolicy, SignUpPolicy, Strategy};
use crate::names::{ADOPTED_TAG, DOMAINS_TAG, RELYING_PARTY_TAG, StackNames};
use crate::validate::ValidatedSpec;

/// The whole user pool configuration: UpdateUserPool is always sent all of it, because AWS
/// resets every field an update omits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPoolConfig {
    pub name: String,
    /// Fixed at creation: `email` or `phone_number`.
    pub username_attributes: Vec<String>,
    pub auto_verified_attributes: Vec<String>,
    pub define_auth_challenge: Option<String>,
    pub create_auth_challenge: Option<String>,
    pub verify_auth_challenge_response: Option<String>,
    pub pre_sign_up: Option<String>,
    pub post_authentication: Option<String>,
    /// ACTIVE or INACTIVE.
    pub deletion_protection: String,
    pub allow_admin_create_user_only: bool,
    /// Account recovery off: only an administrator can recover an account.
    pub recovery_mechanism: String,
    pub mfa: String,
    /// LITE or ESSENTIALS (native passwordless needs ESSENTIALS).
    pub tier: String,
    pub allowed_first_auth_factors: Vec<String>,
    pub web_authn_relying_party_id: Option<String>,
    /// COGNITO_DEFAULT, or DEVELOPER (SES) for native EMAIL_OTP.
    pub email_sending_account: String,
    pub email_source_arn: Option<String>,
    pub email_from: Option<String>,
    pub tags: BTreeMap<String, String>,
}

impl Fields for UserPoolConfig {
    fn fields(&self) -> Vec<(String, String)> {
        let mut f = vec![
            (
                "accountRecoverySetting".to_owned(),
                self.recovery_mechanism.clone(),
            ),
            (
                "adminCreateUserConfig.allowAdminCreateUserOnly".to_owned(),
                self.allow_admin_create_user_only.to_string(),
            ),
            (
                "autoVerifiedAttributes".to_owned(),
                list(&self.auto_verified_attributes),
            ),
            (
                "deletionProtection".to_owned(),
                self.deletion_protection.clone(),
            ),
            (
                "emailConfiguration.emailSendingAccount".to_owned(),
                self.email_sending_account.clone(),
            ),
            ("emailConfiguration.from".to_owned(), opt(&self.email_from)),
            (
                "emailConfiguration.sourceArn".to_owned(),
                opt(&self.email_source_arn),
            ),
            (
                "lambdaConfig.createAuthChallenge".to_owned(),
                opt(&self.create_auth_challenge),
            ),
            (
                "lambdaConfig.defineAuthChallenge".to_owned(),
                opt(&self.define_auth_challenge),
            ),
            (
                "lambdaConfig.postAuthentication".to_owned(),
                opt(&self.post_authentication),
            ),
            ("lambdaConfig.preSignUp".to_owned(), opt(&self.pre_sign_up)),
            (
                "lambdaConfig.verifyAuthChallengeResponse".to_owned(),
                opt(&self.verify_auth_challenge_response),
            ),
            ("mfaConfiguration".to_owned(), self.mfa.clone()),
            (
                "policies.signInPolicy.allowedFirstAuthFactors".to_owned(),
                list(&self.allowed_first_auth_factors),
            ),
            (USER_POOL_TIER_FIELD.to_owned(), self.tier.clone()),
            (
                "webAuthnRelyingPartyId".to_owned(),
                opt(&self.web_authn_relying_party_id),
            ),
        ];
        for (k, v) in &self.tags {
            f.push((format!("tags.{k}"), v.clone()));
        }
        f.sort();
        f
    }
}

/// The pool `spec` asks for: the trigger strategies' pools call the function.
pub(super) fn desired(
    spec: &ValidatedSpec,
    names: &StackNames,
    facts: &Facts,
    sender: Option<&SenderConfig>,
    tags: &BTreeMap<String, String>,
) -> UserPoolConfig {
    let trigger = (spec.strategy != Strategy::Native).then(|| facts.function_arn(names));
    let native = spec.native.as_ref();
    let native_email =
        native.is_some_and(|n| n.allowed_first_auth_factors.contains(&AuthFactor::EmailOtp));
    let relying_party = native.and_then(|n| n.web_authn_relying_party_id.clone());
    let username_attribute = if spec.strategy == Strategy::SmsOtp {
        "phone_number"
    } else {
        "email"
    };
    UserPoolConfig {
        name: names.user_pool.clone(),
        username_attributes: vec![username_attribute.to_owned()],
        auto_verified_attributes: if native.is_some() {
            vec!["email".to_owned()]
        } else {
            Vec::new()
        },
        define_auth_challenge: trigger.clone(),
        create_auth_challenge: trigger.clone(),
        verify_auth_challenge_response: trigger.clone(),
        pre_sign_up: trigger.clone(),
        post_authentication: trigger,
        deletion_protection: match spec.deletion_policy {
            DeletionPolicy::Retain => "ACTIVE",
            DeletionPolicy::Delete => "INACTIVE",
        }
        .to_owned(),
        allow_admin_create_user_only: spec.sign_up == SignUpPolicy::Disabled,
        recovery_mechanism: "admin_only".to_owned(),
        mfa: "OFF".to_owned(),
        tier: tier(spec).plan.to_owned(),
        allowed_first_auth_factors: native
            .map(|n| first_factors(&n.allowed_first_auth_factors))
            .unwrap_or_default(),
        web_authn_relying_party_id: relying_party.clone(),
        email_sending_account: if native_email {
            "DEVELOPER"
        } else {
            "COGNITO_DEFAULT"
        }
        .to_owned(),
        email_source_arn: sender.filter(|_| native_email).map(|s| s.arn.clone()),
        email_from: spec
            .sender
            .as_ref()
            .filter(|_| native_email)
            .map(|s| s.address.clone()),
        tags: {
            let mut tags = tags.clone();
            if let Some(id) = relying_party {
                tags.insert(RELYING_PARTY_TAG.to_owned(), id);
            }
            tags
        },
    }
}

/// Cognito's feature plan a spec needs, which sets its price per monthly active user, and the
/// spec field that needs more than Lite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    pub plan: &'static str,
    pub required_by: Option<&'static str>,
}

/// Lite: what a pool without native passwordless needs.
impl Default for Tier {
    fn default() -> Self {
        Self {
            plan: LITE,
            required_by: None,
        }
    }
}

/// The field a change of plan shows under in a plan.
pub const USER_POOL_TIER_FIELD: &str = "userPoolTier";

pub const LITE: &str = "LITE";
pub const ESSENTIALS: &str = "ESSENTIALS";
/// Cognito's feature plans, cheapest first.
pub const PLANS: [&str; 3] = [LITE, ESSENTIALS, "PLUS"];

/// Native passwordless (choice-based sign-in: USER_AUTH with one-time codes or passkeys) is an
/// Essentials feature, and managed login comes only with it; the custom-auth triggers of the
/// other strategies run on Lite.
pub fn tier(spec: &ValidatedSpec) -> Tier {
    match spec.native {
        Some(_) => Tier {
            plan: ESSENTIALS,
            required_by: Some("spec.native"),
        },
        None => Tier::default(),
    }
}

/// An adopted pool keeps what the spec does not own: its own tags (ours are added, with the
/// adoption mark) and its deletion protection, which the operator never switches off.
pub fn keep_adopted_settings(desired: &mut UserPoolConfig, observed: &UserPoolConfig) {
    let mut tags = observed.tags.clone();
    tags.extend(desired.tags.clone());
    tags.insert(ADOPTED_TAG.to_owned(), "true".to_owned());
    desired.tags = tags;
    desired.deletion_protection = observed.deletion_protection.clone();
}

/// The pool's [`DOMAINS_TAG`] names the domains the operator made or is about to make, so it
/// is written (with the pool) before a domain is created and dropped only once it is gone.
pub fn mark_operator_domains(desired: &mut UserPoolConfig, domains: &[String]) {
    let mut sorted = domains.to_vec();
    sorted.sort();
    sorted.dedup();
    desired.tags.remove(DOMAINS_TAG);
    if !sorted.is_empty() {
        desired
            .tags
            .insert(DOMAINS_TAG.to_owned(), sorted.join(" "));
    }
}

/// The first factors a native pool sends. Cognito keeps PASSWORD among them whatever else is
/// allowed (it stays unused: the pool's users have no passwords), so it is asked for too, and
/// an observed pool matches.
fn first_factors(allowed: &[AuthFactor]) -> Vec<String> {
    let mut factors: Vec<String> = allowed.iter().map(|f| f.as_str().to_owned()).collect();
    let password = AuthFactor::Password.as_str();
    if !factors.iter().any(|f| f == password) {
        factors.push(password.to_owned());
    }
    factors
}
