//! CreateAuthChallenge: decide what this round asks, and send the link or code when it is time.

use std::collections::HashMap;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsCreateAuthChallenge;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{
    ACTION_REDEEM, FlowError, META_ACTION, META_REDIRECT_URL, PRIVATE_ROUND, Round,
    mask_destination,
};
use crate::config::{Config, Strategy};
use crate::delivery::{
    Clock, Directory, Entropy, Mailer, Ports, SendPermit, SmsSender, StateStore,
};
use crate::otp::generate_code;
use crate::template::{Values, human_duration, render_email, render_sms};
use crate::token::{LinkClaims, code_mac, hash_hex, sign};

/// Public challenge parameters: what the client may show.
pub const PUBLIC_STEP: &str = "step";
pub const PUBLIC_DESTINATION: &str = "destination";
pub const PUBLIC_RETRY_AFTER: &str = "retryAfterSeconds";

/// Extra time an unknown user's answer waits, uniform in this range, standing in for a send's
/// latency so response times do not reveal who exists.
const UNKNOWN_USER_DELAY_MS: std::ops::Range<u64> = 60..180;

pub async fn create(
    config: &Config,
    ports: &Ports<
        impl Mailer,
        impl SmsSender,
        impl StateStore,
        impl Directory,
        impl Clock,
        impl Entropy,
    >,
    mut event: CognitoEventUserPoolsCreateAuthChallenge,
) -> Result<CognitoEventUserPoolsCreateAuthChallenge, FlowError> {
    let header = &event.cognito_event_user_pools_header;
    let username = header
        .user_name
        .clone()
        .ok_or(FlowError::Missing("userName"))?;
    let request = &event.request;
    let previous = request.session.iter().flatten().last().and_then(Round::of);

    let round = match (config.strategy, previous) {
        // A code already went out in this session: ask for it again, send nothing.
        (_, Some(sent @ Round::Code { .. })) => sent,
        (Strategy::MagicLink, None) => Round::ProvideAuthParameters,
        (Strategy::MagicLink, Some(Round::ProvideAuthParameters | Round::LinkExpected))
            if request.client_metadata.get(META_ACTION).map(String::as_str)
                == Some(ACTION_REDEEM) =>
        {
            Round::LinkExpected
        }
        _ => {
            let pool = header
                .user_pool_id
                .clone()
                .ok_or(FlowError::Missing("userPoolId"))?;
            let client = header
                .caller_context
                .client_id
                .clone()
                .ok_or(FlowError::Missing("callerContext.clientId"))?;
            let destination = destination(config, &username, &request.user_attributes);
            let redirect = redirect_url(config, &request.client_metadata)?;
            send(
                config,
                ports,
                &username,
                &pool,
                &client,
                &destination,
                redirect,
                request.user_not_found,
            )
            .await?
        }
    };

    let destination = destination(config, &username, &event.request.user_attributes);
    let mut public = HashMap::new();
    let step = match &round {
        Round::ProvideAuthParameters => "PROVIDE_AUTH_PARAMETERS",
        Round::LinkExpected => "PROVIDE_LINK",
        Round::Code { link: true, .. } => "LINK_SENT",
        Round::Code { link: false, .. } => "CODE_SENT",
        Round::Cooldown { .. } => "COOLDOWN",
    };
    public.insert(PUBLIC_STEP.to_owned(), step.to_owned());
    match &round {
        Round::Code { .. } => {
            public.insert(
                PUBLIC_DESTINATION.to_owned(),
                mask_destination(&destination),
            );
        }
        Round::Cooldown {
            retry_after_seconds,
        } => {
            public.insert(
                PUBLIC_RETRY_AFTER.to_owned(),
                retry_after_seconds.to_string(),
            );
        }
        Round::ProvideAuthParameters | Round::LinkExpected => {}
    }
    let response = &mut event.response;
    response.public_challenge_parameters = public;
    response.private_challenge_parameters =
        HashMap::from([(PRIVATE_ROUND.to_owned(), round.encode())]);
    response.challenge_metadata = Some(round.encode());
    Ok(event)
}

/// Where the link or code goes: the verified contact attribute, else the username (which is the
/// email or phone number in pools this operator creates; and all an unknown user has).
fn destination(config: &Config, username: &str, attributes: &HashMap<String, String>) -> String {
    let attribute = if config.strategy == Strategy::SmsOtp {
        "phone_number"
    } else {
        "email"
    };
    attributes
        .get(attribute)
        .cloned()
        .unwrap_or_else(|| username.to_owned())
}

/// The redirect the client picked, if it is in the allow-list; else the default (the first).
fn redirect_url<'c>(
    config: &'c Config,
    metadata: &HashMap<String, String>,
) -> Result<Option<&'c str>, FlowError> {
    if config.strategy != Strategy::MagicLink {
        return Ok(None);
    }
    match metadata.get(META_REDIRECT_URL) {
        None => Ok(config.redirect_urls.first().map(String::as_str)),
        Some(wanted) => config
            .redirect_urls
            .iter()
            .find(|u| *u == wanted)
            .map(|u| Some(u.as_str()))
            .ok_or(FlowError::RedirectNotAllowed),
    }
}

#[allow(clippy::too_many_arguments)]
async fn send(
    config: &Config,
    ports: &Ports<
        impl Mailer,
        impl SmsSender,
        impl StateStore,
        impl Directory,
        impl Clock,
        impl Entropy,
    >,
    username: &str,
    pool: &str,
    client: &str,
    destination: &str,
    redirect: Option<&str>,
    user_not_found: bool,
) -> Result<Round, FlowError> {
    let now = ports.clock.now();
    // The cooldown applies to unknown users too: otherwise "cooling down" would tell an
    // attacker that the address exists.
    if config.table_name.is_some() && config.min_interval_seconds > 0 {
        let user_hash = hash_hex("user", &format!("{pool}\0{username}"));
        if let SendPermit::CoolingDown {
            retry_after_seconds,
        } = ports
            .store
            .permit_send(&user_hash, now, config.min_interval_seconds)
            .await?
        {
            return Ok(Round::Cooldown {
                retry_after_seconds,
            });
        }
    }
    let key = config.current_key();
    let code = generate_code(&ports.entropy, config.otp_length);
    let code_exp = now + config.otp_ttl_seconds;
    let link = match redirect {
        Some(base) => {
            let mut nonce = [0u8; 16];
            ports.entropy.fill(&mut nonce);
            let claims = LinkClaims {
                kid: key.id.clone(),
                sub: username.to_owned(),
                pool: pool.to_owned(),
                client: client.to_owned(),
                iat: now,
                exp: now + config.link_ttl_seconds,
                nonce: URL_SAFE_NO_PAD.encode(nonce),
            };
            Some(format!("{base}#{}", sign(key, &claims)))
        }
        None => None,
    };
    let round = Round::Code {
        kid: key.id.clone(),
        exp: code_exp,
        mac: code_mac(key, username, &code),
        link: link.is_some(),
    };

    if user_not_found {
        let mut jitter = [0u8; 2];
        ports.entropy.fill(&mut jitter);
        let span = UNKNOWN_USER_DELAY_MS.end - UNKNOWN_USER_DELAY_MS.start;
        ports
            .clock
            .sleep_ms(UNKNOWN_USER_DELAY_MS.start + u64::from(u16::from_le_bytes(jitter)) % span)
            .await;
        return Ok(round);
    }
    let ttl = human_duration(if link.is_some() {
        config.link_ttl_seconds
    } else {
        config.otp_ttl_seconds
    });
    let values = Values {
        link: link.as_deref(),
        code: &code,
        ttl,
        app_name: &config.app_name,
    };
    if config.strategy == Strategy::SmsOtp {
        ports
            .sms
            .send_sms(destination, &render_sms(&values))
            .await?;
    } else {
        ports
            .mailer
            .send_email(destination, &render_email(config, &values))
            .await?;
    }
    Ok(round)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::flows::testing::{Fake, Outbox, fixture, ports};

    async fn run(
        strategy: &str,
        name: &str,
        outbox: &Outbox,
        now: u64,
    ) -> CognitoEventUserPoolsCreateAuthChallenge {
        let fake = Fake {
            outbox,
            now,
            byte: 7,
        };
        create(&config(strategy), &ports(&fake), fixture(name))
            .await
            .expect("create succeeds")
    }

    fn step(e: &CognitoEventUserPoolsCreateAuthChallenge) -> &str {
        &e.response.public_challenge_parameters[PUBLIC_STEP]
    }

    #[tokio::test]
    async fn a_magic_link_first_asks_what_the_client_holds() {
        let outbox = Outbox::default();
        let out = run("magicLink", "create_first_round", &outbox, 1000).await;
        assert_eq!(step(&out), "PROVIDE_AUTH_PARAMETERS");
        assert!(outbox.emails.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_link_request_sends_one_email_with_link_and_code() {
        let outbox = Outbox::default();
        let out = run("magicLink", "create_after_link_request", &outbox, 1000).await;
        assert_eq!(step(&out), "LINK_SENT");
        assert_eq!(
            out.response.public_challenge_parameters[PUBLIC_DESTINATION],
            "a***@example.com"
        );
        let emails = outbox.emails.lock().unwrap();
        assert_eq!(emails.len(), 1);
        let (to, subject, text) = &emails[0];
        assert_eq!(to, "alice@example.com");
        assert_eq!(subject, "Your sign-in link for Example");
        assert!(text.contains("https://app.example.com/cb#"), "{text}");
        assert!(
            text.contains("777777"),
            "the code (from the fake entropy) is in the email"
        );
        // The code itself is nowhere in what Cognito keeps.
        let kept = format!(
            "{:?}{:?}",
            out.response.private_challenge_parameters, out.response.challenge_metadata
        );
        assert!(!kept.contains("777777"));
    }

    #[tokio::test]
    async fn a_code_strategy_sends_the_code_in_the_first_round() {
        let outbox = Outbox::default();
        let out = run("emailOtp", "create_first_round", &outbox, 1000).await;
        assert_eq!(step(&out), "CODE_SENT");
        assert_eq!(outbox.emails.lock().unwrap().len(), 1);
        let outbox = Outbox::default();
        let out = run("smsOtp", "create_first_round_sms", &outbox, 1000).await;
        assert_eq!(step(&out), "CODE_SENT");
        assert_eq!(
            out.response.public_challenge_parameters[PUBLIC_DESTINATION],
            "+*******4567"
        );
        assert_eq!(outbox.sms.lock().unwrap()[0].0, "+15551234567");
    }

    #[tokio::test]
    async fn a_retry_reuses_the_sent_code_without_sending_again() {
        let outbox = Outbox::default();
        let out = run("emailOtp", "create_after_wrong_code", &outbox, 1000).await;
        assert_eq!(step(&out), "CODE_SENT");
        assert!(outbox.emails.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_second_link_within_the_cooldown_is_refused_without_an_email() {
        let outbox = Outbox::default();
        run("magicLink", "create_after_link_request", &outbox, 1000).await;
        let out = run("magicLink", "create_after_link_request", &outbox, 1030).await;
        assert_eq!(step(&out), "COOLDOWN");
        assert_eq!(
            out.response.public_challenge_parameters[PUBLIC_RETRY_AFTER],
            "30"
        );
        assert_eq!(outbox.emails.lock().unwrap().len(), 1);
        // After the interval, links flow again.
        let out = run("magicLink", "create_after_link_request", &outbox, 1060).await;
        assert_eq!(step(&out), "LINK_SENT");
    }

    #[tokio::test]
    async fn an_unknown_user_gets_the_same_answer_no_email_and_a_delay() {
        let outbox = Outbox::default();
        let known = run("magicLink", "create_after_link_request", &outbox, 1000).await;
        let unknown_outbox = Outbox::default();
        let unknown = run("magicLink", "create_user_not_found", &unknown_outbox, 1000).await;
        assert_eq!(step(&unknown), step(&known));
        assert_eq!(
            unknown
                .response
                .public_challenge_parameters
                .keys()
                .collect::<std::collections::BTreeSet<_>>(),
            known.response.public_challenge_parameters.keys().collect()
        );
        assert!(unknown_outbox.emails.lock().unwrap().is_empty());
        assert!(*unknown_outbox.slept_ms.lock().unwrap() >= UNKNOWN_USER_DELAY_MS.start);
    }

    #[tokio::test]
    async fn a_redirect_outside_the_allow_list_is_refused() {
        let outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let result = create(
            &config("magicLink"),
            &ports(&fake),
            fixture("create_bad_redirect"),
        )
        .await;
        assert!(matches!(result, Err(FlowError::RedirectNotAllowed)));
        assert!(outbox.emails.lock().unwrap().is_empty());
    }
}
