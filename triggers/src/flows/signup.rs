//! PreSignUp and PostAuthentication.

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsPostAuthentication, CognitoEventUserPoolsPreSignup,
    CognitoEventUserPoolsPreSignupTriggerSource,
};

use super::FlowError;
use crate::config::{Config, SignUp, Strategy};
use crate::delivery::{Directory, Verified};

/// Confirms self sign-ups when the pool allows sign-up; refuses them when it does not.
/// Admin-created users pass through untouched. Nothing is marked verified here: a sign-up
/// proves no address (that would invite SMS pumping, spam through the pool's sender and
/// address squatting); the first sign-in does, and PostAuthentication records it.
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
    let response = &mut event.response;
    response.auto_confirm_user = true;
    response.auto_verify_email = false;
    response.auto_verify_phone = false;
    Ok(event)
}

/// The attribute a completed sign-in proved and that is not yet marked verified: the strategy's
/// channel (email for links and email codes, the phone for SMS codes), if the user has one.
pub fn to_mark_verified(
    config: &Config,
    event: &CognitoEventUserPoolsPostAuthentication,
) -> Option<Verified> {
    let channel = if config.strategy == Strategy::SmsOtp {
        Verified::Phone
    } else {
        Verified::Email
    };
    let attributes = &event.request.user_attributes;
    (attributes.contains_key(channel.contact())
        && attributes.get(channel.flag()).map(String::as_str) != Some("true"))
    .then_some(channel)
}

/// Marks the strategy's channel verified after a sign-in: PostAuthentication runs only after
/// VerifyAuthChallengeResponse accepted a link or code bound to the user's current address, so
/// receiving it proved that address.
pub async fn post_authentication<D: Directory>(
    config: &Config,
    directory: &D,
    event: CognitoEventUserPoolsPostAuthentication,
) -> Result<CognitoEventUserPoolsPostAuthentication, FlowError> {
    if let Some(channel) = to_mark_verified(config, &event) {
        let header = &event.cognito_event_user_pools_header;
        let pool = header
            .user_pool_id
            .as_deref()
            .ok_or(FlowError::Missing("userPoolId"))?;
        let username = header
            .user_name
            .as_deref()
            .ok_or(FlowError::Missing("userName"))?;
        directory.mark_verified(pool, username, channel).await?;
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
    fn sign_up_is_confirmed_when_allowed_and_verifies_nothing() {
        for strategy in ["magicLink", "emailOtp", "smsOtp"] {
            let mut e = env(strategy);
            e.insert(vars::SIGN_UP, "AutoConfirm".to_owned());
            let mut event: CognitoEventUserPoolsPreSignup = fixture("pre_sign_up");
            event
                .request
                .user_attributes
                .insert("phone_number".to_owned(), "+15551234567".to_owned());
            let out = pre_sign_up(&config_from(&e).unwrap(), event).unwrap();
            assert!(out.response.auto_confirm_user, "{strategy}");
            assert!(!out.response.auto_verify_email, "{strategy}");
            assert!(!out.response.auto_verify_phone, "{strategy}");
            assert!(matches!(
                pre_sign_up(&config(strategy), fixture("pre_sign_up")),
                Err(FlowError::SignUpDisabled)
            ));
        }
    }

    #[tokio::test]
    async fn a_sign_in_marks_the_strategys_channel_verified_once() {
        // (strategy, the user's attributes, what gets marked)
        type Attributes = &'static [(&'static str, &'static str)];
        let cases: [(&str, Attributes, Option<&str>); 7] = [
            (
                "magicLink",
                &[("email", "a@x.io"), ("email_verified", "false")],
                Some("email_verified"),
            ),
            ("emailOtp", &[("email", "a@x.io")], Some("email_verified")),
            (
                "emailOtp",
                &[("email", "a@x.io"), ("email_verified", "true")],
                None,
            ),
            (
                "smsOtp",
                &[("phone_number", "+15551234567")],
                Some("phone_number_verified"),
            ),
            (
                "smsOtp",
                &[
                    ("phone_number", "+15551234567"),
                    ("phone_number_verified", "true"),
                ],
                None,
            ),
            // The other channel was not proved by this sign-in.
            (
                "smsOtp",
                &[
                    ("email", "a@x.io"),
                    ("phone_number", "+15551234567"),
                    ("phone_number_verified", "true"),
                ],
                None,
            ),
            ("magicLink", &[("phone_number", "+15551234567")], None),
        ];
        for (strategy, attributes, marked) in cases {
            let outbox = Outbox::default();
            let fake = Fake {
                outbox: &outbox,
                now: 0,
                byte: 0,
            };
            let mut event: CognitoEventUserPoolsPostAuthentication =
                fixture("post_authentication_unverified");
            event.request.user_attributes = attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            post_authentication(&config(strategy), &&fake, event)
                .await
                .unwrap();
            let want: Vec<(String, &str)> = marked
                .map(|flag| ("alice@example.com".to_owned(), flag))
                .into_iter()
                .collect();
            assert_eq!(
                *outbox.verified.lock().unwrap(),
                want,
                "{strategy} {attributes:?}"
            );
            assert_eq!(outbox.secret_reads(), 0, "no key is read");
        }
    }
}
