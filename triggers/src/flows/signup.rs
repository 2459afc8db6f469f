//! PreSignUp and PostAuthentication.

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostAuthentication, CognitoEventUserPoolsPreSignup,
    CognitoEventUserPoolsPreSignupTriggerSource,
};

use super::FlowError;
use crate::config::{Config, SignUp, Strategy};
use crate::delivery::Directory;

/// Confirms self sign-ups and marks their contact verified when the pool allows sign-up;
/// refuses them when it does not. Admin-created users pass through untouched.
pub fn pre_sign_up(
    config: &Config,
    mut event: CognitoEventUserPoolsPreSignup,
) -> Result<CognitoEventUserPoolsPreSignup, FlowError> {
    let source = event.cognito_event_user_pools_header.trigger_source.clone();
    if source != Some(CognitoEventUserPoolsPreSignupTriggerSource::SignUp) {
        return Ok(event);
    }
    if config.sign_up == SignUp::Disabled {
        return Err(FlowError::SignUpDisabled);
    }
    let attributes = &event.request.user_attributes;
    let response = &mut event.response;
    response.auto_confirm_user = true;
    // Signing in proves the contact: the link or code can only be used by its owner.
    response.auto_verify_email =
        config.strategy != Strategy::SmsOtp && attributes.contains_key("email");
    response.auto_verify_phone =
        config.strategy == Strategy::SmsOtp && attributes.contains_key("phone_number");
    Ok(event)
}

/// Whether a completed sign-in should mark the email verified.
pub fn should_mark_email_verified(
    config: &Config,
    event: &CognitoEventUserPoolsPostAuthentication,
) -> bool {
    let attributes = &event.request.user_attributes;
    config.strategy != Strategy::SmsOtp
        && attributes.contains_key("email")
        && attributes.get("email_verified").map(String::as_str) != Some("true")
}

/// Marks the email verified after the first email sign-in: receiving the link or code proved it.
pub async fn post_authentication<D: Directory>(
    config: &Config,
    directory: &D,
    event: CognitoEventUserPoolsPostAuthentication,
) -> Result<CognitoEventUserPoolsPostAuthentication, FlowError> {
    if should_mark_email_verified(config, &event) {
        let header = &event.cognito_event_user_pools_header;
        let pool = header
            .user_pool_id
            .as_deref()
            .ok_or(FlowError::Missing("userPoolId"))?;
        let username = header
            .user_name
            .as_deref()
            .ok_or(FlowError::Missing("userName"))?;
        directory.mark_email_verified(pool, username).await?;
    }
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{config, config_from, env};
    use crate::config::vars;
    use crate::flows::testing::{Fake, Outbox, fixture};

    #[test]
    fn sign_up_is_confirmed_and_verified_only_when_allowed() {
        let mut e = env("magicLink");
        e.insert(vars::SIGN_UP, "AutoConfirm".to_owned());
        let out = pre_sign_up(&config_from(&e).unwrap(), fixture("pre_sign_up")).unwrap();
        assert!(
            out.response.auto_confirm_user
                && out.response.auto_verify_email
                && !out.response.auto_verify_phone
        );
        assert!(matches!(
            pre_sign_up(&config("magicLink"), fixture("pre_sign_up")),
            Err(FlowError::SignUpDisabled)
        ));
    }

    #[tokio::test]
    async fn the_first_email_sign_in_marks_the_email_verified_once() {
        let outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: 0,
            byte: 0,
        };
        let c = config("magicLink");
        post_authentication(&c, &&fake, fixture("post_authentication_unverified"))
            .await
            .unwrap();
        post_authentication(&c, &&fake, fixture("post_authentication_verified"))
            .await
            .unwrap();
        assert_eq!(
            *outbox.verified.lock().unwrap(),
            vec!["alice@example.com".to_owned()]
        );
    }
}
