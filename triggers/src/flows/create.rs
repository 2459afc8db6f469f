//! CreateAuthChallenge: decide what this round asks, and send the link or code when it is time.

use std::collections::HashMap;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsCreateAuthChallenge;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passwordless_contract::HARDENED_OTP_LENGTH;
use passwordless_contract::challenge::{self, step};

use super::{
    ACTION_REDEEM, FlowError, META_ACTION, META_REDIRECT_URL, PRIVATE_ROUND, Round, destination,
    limits, mask_destination,
};
use crate::config::{Config, Strategy};
use crate::delivery::{
    Clock, Entropy, Mailer, SendPermit, SendRecord, SmsSender, StateStore, answers_in_time,
};
use crate::messages::{self, Templates};
use crate::otp::generate_code;
use crate::outcomes::Outcome;
use crate::ports::Ports;
use crate::template::{Values, human_duration, render_email, render_sms, whole_minutes};
use crate::token::{LinkClaims, code_mac, destination_hash, request_hash, sign, user_hash};

pub async fn create(
    config: &Config,
    ports: &impl Ports,
    mut event: CognitoEventUserPoolsCreateAuthChallenge,
) -> Result<CognitoEventUserPoolsCreateAuthChallenge, FlowError> {
    let started = Started {
        at_ms: ports.clock().monotonic_ms(),
        locked: None,
    };
    let header = &event.cognito_event_user_pools_header;
    let username = header
        .user_name
        .clone()
        .ok_or(FlowError::Missing("userName"))?;
    let pool = header.user_pool_id.clone();
    let request = &event.request;
    let previous = request.session.iter().flatten().last().and_then(Round::of);
    let pool_id = || pool.clone().ok_or(FlowError::Missing("userPoolId"));

    let round = match (config.strategy, previous) {
        // A code already went out in this session: ask for it again and send nothing. A
        // hardened one stands through a lock; one of the usual length is refused once wrong
        // answers (here or in other sessions) locked the user, so a hardened one is sent in its
        // place (cooldown permitting).
        (_, Some(sent @ Round::Code { hardened: true, .. })) => sent,
        (_, Some(sent @ Round::Code { .. })) => {
            let keys = ports.keys().keys(ports.clock()).await?;
            let user = user_hash(keys.current(), &pool_id()?, &username);
            match limits::lockout(config, ports.store(), ports.clock(), &user).await? {
                Some(_) => {
                    let started = Started {
                        locked: Some(true),
                        ..started
                    };
                    send_for(config, ports, &event, started).await?
                }
                None => sent,
            }
        }
        (Strategy::MagicLink, None) => Round::ProvideAuthParameters,
        (Strategy::MagicLink, Some(Round::ProvideAuthParameters | Round::LinkExpected))
            if request.client_metadata.get(META_ACTION).map(String::as_str)
                == Some(ACTION_REDEEM) =>
        {
            Round::LinkExpected
        }
        _ => send_for(config, ports, &event, started).await?,
    };

    let destination = destination(config, &username, &event.request.user_attributes);
    let mut public = HashMap::new();
    let step = match &round {
        Round::ProvideAuthParameters => step::PROVIDE_AUTH_PARAMETERS,
        Round::LinkExpected => step::PROVIDE_LINK,
        Round::Code { link: true, .. } => step::LINK_SENT,
        Round::Code { link: false, .. } => step::CODE_SENT,
        Round::Cooldown { .. } => step::COOLDOWN,
        Round::LockedOut { .. } => step::LOCKED_OUT,
    };
    public.insert(challenge::STEP.to_owned(), step.to_owned());
    match &round {
        Round::Code { .. } => {
            public.insert(
                challenge::DESTINATION.to_owned(),
                mask_destination(&destination),
            );
        }
        Round::Cooldown {
            retry_after_seconds,
        }
        | Round::LockedOut {
            retry_after_seconds,
        } => {
            public.insert(
                challenge::RETRY_AFTER_SECONDS.to_owned(),
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

/// Sends a link or code to the event's user (or, for an unknown user, stands in for it).
async fn send_for(
    config: &Config,
    ports: &impl Ports,
    event: &CognitoEventUserPoolsCreateAuthChallenge,
    started: Started,
) -> Result<Round, FlowError> {
    let header = &event.cognito_event_user_pools_header;
    let request = &event.request;
    let username = header
        .user_name
        .as_deref()
        .ok_or(FlowError::Missing("userName"))?;
    let pool = header
        .user_pool_id
        .as_deref()
        .ok_or(FlowError::Missing("userPoolId"))?;
    let client = header
        .caller_context
        .client_id
        .as_deref()
        .ok_or(FlowError::Missing("callerContext.clientId"))?;
    let destination = destination(config, username, &request.user_attributes);
    let redirect = redirect_url(config, &request.client_metadata)?;
    // What Cognito sends again, unchanged, when it retries this invocation.
    let session = serde_json::to_string(&request.session).unwrap_or_default();
    let metadata: std::collections::BTreeMap<_, _> = request.client_metadata.iter().collect();
    let metadata = serde_json::to_string(&metadata).unwrap_or_default();
    let to = Recipient {
        username,
        pool,
        client,
        destination: &destination,
        known: !request.user_not_found,
        request: [session.as_str(), metadata.as_str()],
        language: config.messages.pick(&messages::wanted(
            &request.user_attributes,
            &request.client_metadata,
        )),
    };
    send(config, ports, &to, redirect, started).await
}

/// Where the invocation stands when it comes to send: when its work began (monotonic ms: its
/// share of Cognito's budget is spent from there), and the lockout if already read.
#[derive(Clone, Copy)]
struct Started {
    at_ms: u64,
    locked: Option<bool>,
}

/// Who a send is for.
struct Recipient<'a> {
    username: &'a str,
    pool: &'a str,
    client: &'a str,
    destination: &'a str,
    /// False for Cognito's `userNotFound`: everything happens alike but the send itself.
    known: bool,
    /// The request's session and client metadata, as Cognito sent them.
    request: [&'a str; 2],
    /// The user's language, when the pool has messages in it (else the default's).
    language: Option<&'a Templates>,
}

async fn send(
    config: &Config,
    ports: &impl Ports,
    to: &Recipient<'_>,
    redirect: Option<&str>,
    started: Started,
) -> Result<Round, FlowError> {
    let now = ports.clock().now();
    let since = |at_ms: u64| ports.clock().monotonic_ms().saturating_sub(at_ms);
    let keys = ports.keys().keys(ports.clock()).await?;
    let key = keys.current();
    // The limits apply to unknown users too: otherwise "cooling down" or a long code would tell
    // an attacker that the address exists.
    let user = user_hash(key, to.pool, to.username);
    // Locked: the code is long enough that guessing is hopeless, so the user still signs in.
    // Read once per invocation (four calls in a row at most, see the contract).
    let hardened = match started.locked {
        Some(locked) => locked,
        None => limits::lockout(config, ports.store(), ports.clock(), &user)
            .await?
            .is_some(),
    };
    let length = if hardened {
        HARDENED_OTP_LENGTH as usize
    } else {
        config.otp_length
    };
    let code = generate_code(ports.entropy(), length);
    let dest = destination_hash(key, to.destination);
    let link = match redirect {
        Some(base) => {
            let mut nonce = [0u8; 16];
            ports.entropy().fill(&mut nonce);
            let claims = LinkClaims {
                kid: key.id.clone(),
                sub: to.username.to_owned(),
                pool: to.pool.to_owned(),
                client: to.client.to_owned(),
                iat: now,
                exp: now + config.link_ttl_seconds,
                nonce: URL_SAFE_NO_PAD.encode(nonce),
                dest: dest.clone(),
            };
            Some(format!("{base}#{}", sign(key, &claims)))
        }
        None => None,
    };
    let round = Round::Code {
        kid: key.id.clone(),
        exp: now + config.otp_ttl_seconds,
        mac: code_mac(key, to.username, &code),
        link: link.is_some(),
        dest,
        hardened,
    };
    // The cooldown, and Cognito's retry of this very request (answered with the round it got,
    // nothing sent twice): one conditional write, for unknown users too.
    let [session, metadata] = to.request;
    let request = request_hash(key, &[to.pool, to.username, to.client, session, metadata]);
    let record = SendRecord {
        request: &request,
        round: &round.encode(),
    };
    match ports
        .store()
        .permit_send(&user, now, config.min_interval_seconds, &record)
        .await?
    {
        SendPermit::Granted => {}
        SendPermit::CoolingDown {
            retry_after_seconds,
        } => {
            ports
                .outcomes()
                .record(to.pool, &Outcome::Cooldown, now * 1000);
            return Ok(Round::Cooldown {
                retry_after_seconds,
            });
        }
        SendPermit::Repeat { round } => {
            ports
                .outcomes()
                .record(to.pool, &Outcome::Retried, now * 1000);
            answered(ports.store(), since(started.at_ms), &user, &request).await;
            return Round::decode(&round).ok_or(FlowError::Missing("the retried request's round"));
        }
    }

    if !to.known {
        ports
            .outcomes()
            .record(to.pool, &Outcome::StandIn, now * 1000);
        let mut random = [0u8; 2];
        ports.entropy().fill(&mut random);
        let delay = ports
            .send_latency()
            .stand_in_delay_ms(u16::from_le_bytes(random));
        // Like a send: the marker beside the delay, so both paths take as long.
        tokio::join!(
            ports.clock().sleep_ms(delay),
            answered(ports.store(), since(started.at_ms), &user, &request)
        );
        return Ok(round);
    }
    let lifetime = if link.is_some() {
        config.link_ttl_seconds
    } else {
        config.otp_ttl_seconds
    };
    let values = Values {
        link: link.as_deref(),
        code: &code,
        ttl: human_duration(lifetime),
        ttl_minutes: whole_minutes(lifetime),
        app_name: &config.app_name,
    };
    let send_started = ports.clock().monotonic_ms();
    let send = async {
        let sent = if config.strategy == Strategy::SmsOtp {
            ports
                .sms()
                .send_sms(to.destination, &render_sms(config, to.language, &values))
                .await
        } else {
            ports
                .mailer()
                .send_email(to.destination, &render_email(config, to.language, &values))
                .await
        };
        ports
            .send_latency()
            .observe(ports.clock().monotonic_ms().saturating_sub(send_started));
        sent
    };
    // The marker goes beside the send, not after it: the invocation answers as soon as both
    // are done, each within its call timeout, so "answered" stays true and the round trip pays
    // for one call's time, not two in a row.
    let (sent, ()) = tokio::join!(
        send,
        answered(ports.store(), since(started.at_ms), &user, &request)
    );
    // An unknown user cannot meet a send failure, so a known one must not either: the same
    // answer as a success. The error kind and the pool are logged and counted, never the
    // address, the message or the code.
    let outcome = match sent {
        Ok(()) if hardened => Outcome::SentDuringLock,
        Ok(()) => Outcome::Sent,
        Err(e) => {
            let total = ports.send_latency().count_failure();
            tracing::warn!(
                pool = to.pool,
                channel = e.label(),
                reason = e.reason(),
                send_failures = total,
                "send failed; answered as sent"
            );
            Outcome::Failed(e.reason().to_owned())
        }
    };
    ports.outcomes().record(to.pool, &outcome, now * 1000);
    Ok(round)
}

/// Records that this invocation answers in time, so the same request again is a new start; but
/// only when it surely will: `elapsed_ms` (its work so far, before the last call) leaves room
/// for one more call and Lambda's own overhead ([`answers_in_time`]). A late invocation leaves no marker, so Cognito's retry
/// of it gets its round again instead of a cooldown. A failed write only means a later
/// identical start within the retry window is taken for a retry.
async fn answered(store: &impl StateStore, elapsed_ms: u64, user: &str, request: &str) {
    if !answers_in_time(elapsed_ms) {
        tracing::warn!(
            elapsed_ms,
            "late in Cognito's budget: the send is left unmarked, so a retry gets the same round"
        );
        return;
    }
    if let Err(e) = store.mark_answered(user, request).await {
        tracing::warn!(error = %e, "marking the send answered failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::delivery::Failures;
    use crate::flows::testing::{Fake, FakePorts, Outbox, fixture, keyset, ports};
    use crate::token::destination_hash;

    const POOL: &str = "us-east-1_TestPool";

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
        &e.response.public_challenge_parameters[challenge::STEP]
    }

    fn public<'e>(e: &'e CognitoEventUserPoolsCreateAuthChallenge, name: &str) -> &'e str {
        &e.response.public_challenge_parameters[name]
    }

    fn round(e: &CognitoEventUserPoolsCreateAuthChallenge) -> Round {
        Round::decode(&e.response.private_challenge_parameters[PRIVATE_ROUND]).unwrap()
    }

    /// The fixture each strategy starts a send with.
    const SEND_FIXTURE: [(&str, &str); 3] = [
        ("magicLink", "create_after_link_request"),
        ("emailOtp", "create_first_round"),
        ("smsOtp", "create_first_round_sms"),
    ];

    #[tokio::test]
    async fn a_magic_link_first_asks_what_the_client_holds_without_reading_the_keys() {
        let outbox = Outbox::default();
        let out = run("magicLink", "create_first_round", &outbox, 1000).await;
        assert_eq!(step(&out), step::PROVIDE_AUTH_PARAMETERS);
        assert!(outbox.emails.lock().unwrap().is_empty());
        assert_eq!(outbox.secret_reads(), 0);
    }

    #[tokio::test]
    async fn a_link_request_sends_one_email_with_link_and_code() {
        let outbox = Outbox::default();
        let out = run("magicLink", "create_after_link_request", &outbox, 1000).await;
        assert_eq!(step(&out), step::LINK_SENT);
        assert_eq!(public(&out, challenge::DESTINATION), "a***@example.com");
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
        assert_eq!(outbox.secret_reads(), 1);
    }

    #[tokio::test]
    async fn codes_and_links_carry_the_keyed_hash_of_their_destination() {
        let keys = keyset();
        for (strategy, fixture_name, sent_to) in [
            (
                "magicLink",
                "create_after_link_request",
                "alice@example.com",
            ),
            ("emailOtp", "create_first_round", "alice@example.com"),
            ("smsOtp", "create_first_round_sms", "+15551234567"),
        ] {
            let outbox = Outbox::default();
            let out = run(strategy, fixture_name, &outbox, 1000).await;
            let want = destination_hash(keys.current(), sent_to);
            let Round::Code { dest, .. } = round(&out) else {
                panic!("{strategy}: a code round");
            };
            assert_eq!(dest, want, "{strategy}");
            if strategy == "magicLink" {
                let text = outbox.emails.lock().unwrap()[0].2.clone();
                let token = text
                    .split("https://app.example.com/cb#")
                    .nth(1)
                    .and_then(|t| t.split_whitespace().next())
                    .unwrap()
                    .to_owned();
                let claims = crate::token::verify(
                    keys.current(),
                    &token,
                    &crate::token::Audience {
                        username: "alice@example.com",
                        pool: POOL,
                        client: "testclient",
                    },
                    1000,
                )
                .unwrap();
                assert_eq!(claims.dest, want);
            }
        }
    }

    #[tokio::test]
    async fn a_code_strategy_sends_the_code_in_the_first_round() {
        let outbox = Outbox::default();
        let out = run("emailOtp", "create_first_round", &outbox, 1000).await;
        assert_eq!(step(&out), step::CODE_SENT);
        assert_eq!(outbox.emails.lock().unwrap().len(), 1);
        let outbox = Outbox::default();
        let out = run("smsOtp", "create_first_round_sms", &outbox, 1000).await;
        assert_eq!(step(&out), step::CODE_SENT);
        assert_eq!(public(&out, challenge::DESTINATION), "+*******4567");
        assert_eq!(outbox.sms.lock().unwrap()[0].0, "+15551234567");
    }

    /// The user's `locale` picks the language, else the request's; a language's missing field
    /// is the default's; the default when nothing matches.
    #[tokio::test]
    async fn the_message_speaks_the_users_language() {
        let send = |strategy: &'static str,
                    fixture_name: &'static str,
                    attribute: Option<&'static str>,
                    metadata: Option<&'static str>| async move {
            let outbox = Outbox::default();
            let fake = Fake {
                outbox: &outbox,
                now: 1000,
                byte: 7,
            };
            let mut c = config(strategy);
            c.messages = crate::messages::Localized::load(
                Some("de,es"),
                Some(r#"{"de":{"subject":"Ihr Code für {{appName}}","sms":"{{code}} ist Ihr Code"},"es":{"text":"Código: {{code}}"}}"#),
            )
            .0;
            c.sms_text = Some("Code {{code}}".into());
            let mut event: CognitoEventUserPoolsCreateAuthChallenge = fixture(fixture_name);
            if let Some(a) = attribute {
                event
                    .request
                    .user_attributes
                    .insert("locale".into(), a.into());
            }
            if let Some(m) = metadata {
                event
                    .request
                    .client_metadata
                    .insert("locale".into(), m.into());
            }
            create(&c, &ports(&fake), event).await.unwrap();
            let email = outbox.emails.lock().unwrap().first().cloned();
            let sms = outbox.sms.lock().unwrap().first().cloned();
            (email, sms)
        };
        let (email, _) = send("emailOtp", "create_first_round", Some("de-AT"), Some("es")).await;
        let (_, subject, _) = email.unwrap();
        assert!(subject.starts_with("Ihr Code für"), "{subject}");
        let (email, _) = send("emailOtp", "create_first_round", None, Some("fr,es;q=0.5")).await;
        let (_, subject, text) = email.unwrap();
        assert!(subject.starts_with("Your sign-in code for"), "{subject}");
        assert!(
            text.starts_with("Código: "),
            "the language's text, the default subject: {text}"
        );
        let (email, _) = send("emailOtp", "create_first_round", Some("fr"), None).await;
        assert!(!email.unwrap().1.starts_with("Ihr"));
        let (_, sms) = send("smsOtp", "create_first_round_sms", Some("de"), None).await;
        assert!(sms.unwrap().1.ends_with(" ist Ihr Code"));
        let (_, sms) = send("smsOtp", "create_first_round_sms", None, None).await;
        assert!(
            sms.unwrap().1.starts_with("Code "),
            "the configured default"
        );
    }

    #[tokio::test]
    async fn a_retry_reuses_the_sent_code_without_sending_again() {
        let outbox = Outbox::default();
        let out = run("emailOtp", "create_after_wrong_code", &outbox, 1000).await;
        assert_eq!(step(&out), step::CODE_SENT);
        assert!(outbox.emails.lock().unwrap().is_empty());
    }

    /// Starts by one client: each a new request (its metadata differs), not Cognito's retry.
    async fn start(
        strategy: &str,
        name: &str,
        outbox: &Outbox,
        now: u64,
        attempt: u64,
    ) -> CognitoEventUserPoolsCreateAuthChallenge {
        let fake = Fake {
            outbox,
            now,
            byte: 7,
        };
        let mut event: CognitoEventUserPoolsCreateAuthChallenge = fixture(name);
        let metadata = &mut event.request.client_metadata;
        metadata.insert("attempt".to_owned(), attempt.to_string());
        create(&config(strategy), &ports(&fake), event)
            .await
            .expect("create succeeds")
    }

    #[tokio::test]
    async fn a_burst_of_starts_sends_once_per_interval_for_every_strategy() {
        for (strategy, fixture_name) in SEND_FIXTURE {
            let outbox = Outbox::default();
            let mut steps = Vec::new();
            for i in 0..10 {
                let out = start(strategy, fixture_name, &outbox, 1000 + i, i).await;
                steps.push(step(&out).to_owned());
                if i > 0 {
                    assert_eq!(step(&out), step::COOLDOWN, "{strategy} #{i}");
                    assert_eq!(
                        public(&out, challenge::RETRY_AFTER_SECONDS),
                        (60 - i).to_string(),
                        "{strategy} #{i}"
                    );
                    assert!(
                        !out.response
                            .public_challenge_parameters
                            .contains_key(challenge::DESTINATION)
                    );
                }
            }
            assert_eq!(outbox.sent(), 1, "{strategy}: {steps:?}");
            // After the interval, sends flow again.
            let out = start(strategy, fixture_name, &outbox, 1060, 99).await;
            assert_ne!(step(&out), step::COOLDOWN, "{strategy}");
            assert_eq!(outbox.sent(), 2, "{strategy}");
        }
    }

    /// Cognito waits 5 s for the trigger, then sends the same request again: the retry gets the
    /// round the first got (its code, its link), nothing is sent twice, and no COOLDOWN is
    /// answered for a message on its way. Cognito retries only an invocation that did not
    /// answer in time; once one has, the same request again is a person starting again, and the
    /// cooldown answers it.
    #[tokio::test]
    async fn cognitos_retry_of_a_request_is_answered_alike_and_sends_nothing() {
        for (strategy, fixture_name) in SEND_FIXTURE {
            let outbox = Outbox::default();
            let first = run(strategy, fixture_name, &outbox, 1000).await;
            // The first invocation outlived Cognito's 5 s: it never answered.
            for sent in outbox.last_send.lock().unwrap().values_mut() {
                sent.3 = false;
            }
            let retried = run(strategy, fixture_name, &outbox, 1006).await;
            assert_ne!(step(&first), step::COOLDOWN, "{strategy}");
            assert_eq!(step(&retried), step(&first), "{strategy}");
            assert_eq!(
                retried.response.private_challenge_parameters,
                first.response.private_challenge_parameters,
                "{strategy}: the same code"
            );
            assert_eq!(outbox.sent(), 1, "{strategy}");
            // The retry answered: the same request again is a person starting again.
            let again = run(strategy, fixture_name, &outbox, 1008).await;
            assert_eq!(step(&again), step::COOLDOWN, "{strategy}");
            assert_eq!(outbox.sent(), 1, "{strategy}");
        }
    }

    /// An invocation already late in Cognito's budget when it sends (here its permit took
    /// 3.4 s) leaves the send unmarked: Cognito will retry it, and the retry gets the same round
    /// with nothing sent twice. One with time to spare (3.3 s) marks it, so the same request
    /// after it is a person starting again (the cooldown).
    #[tokio::test]
    async fn a_late_invocation_leaves_its_send_unmarked_so_the_retry_gets_the_same_round() {
        for (permit_ms, marked) in [(3_400, false), (3_300, true)] {
            let outbox = Outbox::default();
            *outbox.permit_ms.lock().unwrap() = permit_ms;
            let first = run("emailOtp", "create_first_round", &outbox, 1000).await;
            assert_eq!(
                outbox.calls().contains(&"store.mark_answered"),
                marked,
                "{permit_ms} ms: {:?}",
                outbox.calls()
            );
            *outbox.permit_ms.lock().unwrap() = 0;
            let retried = run("emailOtp", "create_first_round", &outbox, 1006).await;
            assert_eq!(outbox.sent(), 1, "{permit_ms} ms");
            if marked {
                assert_eq!(step(&retried), step::COOLDOWN, "{permit_ms} ms");
            } else {
                assert_eq!(
                    retried.response.private_challenge_parameters,
                    first.response.private_challenge_parameters,
                    "{permit_ms} ms: the same round"
                );
            }
        }
    }

    /// During a lock every send is hardened, for known and unknown users alike (the same
    /// answer, the same calls), and so is a retry whose usual code the lock now refuses: it gets
    /// a hardened code in its place, cooldown permitting. A hardened round is asked again as is.
    #[tokio::test]
    async fn a_lock_hardens_every_code_sent_known_or_unknown_and_in_a_retry() {
        let keys = keyset();
        let alice = user_hash(keys.current(), POOL, "alice@example.com");
        let lock = |outbox: &Outbox| {
            outbox.failures.lock().unwrap().insert(
                alice.clone(),
                Failures {
                    count: 5,
                    last_at: 900,
                },
            );
        };
        let mut answers = Vec::new();
        for fixture_name in [
            "create_first_round",
            "create_user_not_found",
            "create_after_wrong_code",
        ] {
            let outbox = Outbox::default();
            lock(&outbox);
            let out = run("emailOtp", fixture_name, &outbox, 1000).await;
            assert_eq!(step(&out), step::CODE_SENT, "{fixture_name}");
            assert!(
                matches!(round(&out), Round::Code { hardened: true, .. }),
                "{fixture_name}"
            );
            let known = fixture_name != "create_user_not_found";
            assert_eq!(outbox.sent(), usize::from(known), "{fixture_name}");
            if known {
                assert_eq!(last_code(&outbox).len(), 16, "{fixture_name}");
            }
            answers.push((
                out.response.public_challenge_parameters.clone(),
                outbox.calls(),
            ));
            // Once the lock is over, codes have the usual length again.
            let after = run("emailOtp", "create_first_round", &outbox, 1900).await;
            assert!(matches!(
                round(&after),
                Round::Code {
                    hardened: false,
                    ..
                }
            ));
        }
        assert_eq!(answers[0], answers[1], "known and unknown users alike");

        // A retry inside the cooldown: nothing sent, the attempt ends.
        let outbox = Outbox::default();
        lock(&outbox);
        let earlier = (990, "another request".to_owned(), String::new(), true);
        outbox
            .last_send
            .lock()
            .unwrap()
            .insert(alice.clone(), earlier);
        let out = run("emailOtp", "create_after_wrong_code", &outbox, 1000).await;
        assert_eq!(step(&out), step::COOLDOWN);
        assert_eq!(outbox.sent(), 0);

        // A hardened round is asked again, with no lookup at all.
        let outbox = Outbox::default();
        lock(&outbox);
        let mut retry: CognitoEventUserPoolsCreateAuthChallenge =
            fixture("create_after_wrong_code");
        let hardened = Round::Code {
            kid: "k2".into(),
            exp: 1300,
            mac: "m".into(),
            link: false,
            dest: "d".into(),
            hardened: true,
        };
        for entry in retry.request.session.iter_mut().flatten() {
            entry.challenge_metadata = Some(hardened.encode());
        }
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let out = create(&config("emailOtp"), &ports(&fake), retry)
            .await
            .unwrap();
        assert_eq!(round(&out), hardened);
        assert_eq!(outbox.sent(), 0);
        assert!(outbox.calls().is_empty(), "{:?}", outbox.calls());
    }

    /// Verify's answer to `answer` in the round `created` asked, for Alice, at `now`.
    async fn answer(
        strategy: &str,
        outbox: &Outbox,
        created: &CognitoEventUserPoolsCreateAuthChallenge,
        answer: &str,
        now: u64,
    ) -> bool {
        let mut event: aws_lambda_events::event::cognito::CognitoEventUserPoolsVerifyAuthChallenge =
            fixture("verify_link");
        event.request.challenge_answer = Some(serde_json::Value::String(answer.to_owned()));
        // The same user, as Cognito describes them to every trigger of the sign-in.
        event.cognito_event_user_pools_header.user_name =
            created.cognito_event_user_pools_header.user_name.clone();
        event.request.user_attributes = created.request.user_attributes.clone();
        event.request.private_challenge_parameters =
            created.response.private_challenge_parameters.clone();
        let fake = Fake {
            outbox,
            now,
            byte: 7,
        };
        crate::flows::verify::verify(&config(strategy), &ports(&fake), event)
            .await
            .expect("verify runs")
            .response
            .answer_correct
    }

    /// The last code emailed or texted: the longest run of digits in the message.
    fn last_code(outbox: &Outbox) -> String {
        let text = match outbox.emails.lock().unwrap().last() {
            Some((_, _, text)) => text.clone(),
            None => outbox.sms.lock().unwrap().last().unwrap().1.clone(),
        };
        text.split(|c: char| !c.is_ascii_digit())
            .max_by_key(|run| run.len())
            .unwrap()
            .to_owned()
    }

    /// Wrong answers from anyone lock the user, but the lock only hardens what is sent: a new
    /// sign-in still gets a code (a long one, which guessing cannot reach), and it signs in.
    /// So nobody who merely knows the address can keep the user out. A short code sent before
    /// the lock is refused, right or not.
    #[tokio::test]
    async fn a_locked_user_still_gets_a_code_a_long_one_and_it_signs_in() {
        let keys = keyset();
        for (strategy, fixture_name) in SEND_FIXTURE {
            let outbox = Outbox::default();
            // A short code, sent before the lock.
            let before = run(strategy, fixture_name, &outbox, 100).await;
            let short = last_code(&outbox);
            assert_eq!(short.len(), 6, "{strategy}");
            let username = before.cognito_event_user_pools_header.user_name.clone();
            outbox.failures.lock().unwrap().insert(
                user_hash(keys.current(), POOL, &username.unwrap()),
                Failures {
                    count: 5,
                    last_at: 900,
                },
            );
            let locked = run(strategy, fixture_name, &outbox, 1000).await;
            let sent = if strategy == "magicLink" {
                step::LINK_SENT
            } else {
                step::CODE_SENT
            };
            assert_eq!(step(&locked), sent, "{strategy}");
            assert_eq!(outbox.sent(), 2, "{strategy}: sent while locked");
            let long = last_code(&outbox);
            assert_eq!(long.len(), 16, "{strategy}");
            assert!(
                !answer(strategy, &outbox, &before, &short, 1001).await,
                "{strategy}: a short code is refused while locked"
            );
            assert!(
                answer(strategy, &outbox, &locked, &long, 1001).await,
                "{strategy}: the long code signs in while locked"
            );
            assert!(
                outbox.failures.lock().unwrap().is_empty(),
                "{strategy}: a sign-in clears the count"
            );
        }
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
        assert!(*unknown_outbox.slept_ms.lock().unwrap() > 0);
        // The cooldown is spent alike (a new start, not Cognito's retry of this one).
        let again = start(
            "magicLink",
            "create_user_not_found",
            &unknown_outbox,
            1010,
            2,
        )
        .await;
        assert_eq!(step(&again), step::COOLDOWN);
    }

    #[tokio::test]
    async fn the_mask_is_the_same_for_a_known_and_an_unknown_user_typing_the_same_address() {
        let outbox = Outbox::default();
        // Known: Cognito gives the stored attribute. Unknown: only what was typed.
        let mut known: CognitoEventUserPoolsCreateAuthChallenge =
            fixture("create_after_link_request");
        known
            .request
            .user_attributes
            .insert("email".to_owned(), "alice@example.com".to_owned());
        let mut unknown: CognitoEventUserPoolsCreateAuthChallenge =
            fixture("create_user_not_found");
        unknown.cognito_event_user_pools_header.user_name = Some("Alice@Example.com".to_owned());
        let other_outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let other = Fake {
            outbox: &other_outbox,
            ..fake
        };
        let c = config("magicLink");
        let known = create(&c, &ports(&fake), known).await.unwrap();
        let unknown = create(&c, &ports(&other), unknown).await.unwrap();
        assert_eq!(
            public(&known, challenge::DESTINATION),
            public(&unknown, challenge::DESTINATION)
        );
    }

    /// `create` with the send failing with the AWS error `kind`: the answer, the outcome lines,
    /// the process's failure count.
    async fn create_failing(
        strategy: &str,
        name: &str,
        kind: &str,
    ) -> (CognitoEventUserPoolsCreateAuthChallenge, Vec<String>, u64) {
        let outbox = Outbox::default();
        *outbox.send_error.lock().unwrap() = Some(kind.to_owned());
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let p = ports(&fake);
        let answer = create(&config(strategy), &p, fixture(name))
            .await
            .expect("a send failure is not the client's business");
        (answer, p.outcomes.lines(), p.send_latency.failures())
    }

    #[tokio::test]
    async fn a_failed_send_is_answered_like_a_sent_one_and_counted() {
        for (strategy, fixture_name) in SEND_FIXTURE {
            let ok_outbox = Outbox::default();
            let ok = run(strategy, fixture_name, &ok_outbox, 1000).await;
            let (failed, _, failures) =
                create_failing(strategy, fixture_name, "ThrottlingException").await;
            assert_eq!(
                failed.response.public_challenge_parameters,
                ok.response.public_challenge_parameters,
                "{strategy}"
            );
            assert_eq!(failures, 1);
        }
    }

    /// The SES sandbox refusing an unverified recipient (`MessageRejected`): the client's
    /// answer is a sent one's, and the platform team gets a log line and a metric naming the
    /// pool and the reason, never the address or the code.
    #[tokio::test]
    async fn a_sandbox_refused_send_is_logged_and_counted_for_the_platform_team_only() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Captured(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Captured {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = Captured::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let ok = run(
            "magicLink",
            "create_after_link_request",
            &Outbox::default(),
            1000,
        )
        .await;
        let (refused, lines, _) =
            create_failing("magicLink", "create_after_link_request", "MessageRejected").await;
        assert_eq!(
            refused.response.public_challenge_parameters,
            ok.response.public_challenge_parameters
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        let metric: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            (&metric["Outcome"], &metric["Reason"], &metric["UserPoolId"]),
            (
                &serde_json::json!("failed"),
                &serde_json::json!("MessageRejected"),
                &serde_json::json!(POOL)
            )
        );
        let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(
            logged.contains("send failed") && logged.contains("MessageRejected"),
            "{logged}"
        );
        assert!(logged.contains(POOL), "{logged}");
        // Nor the round (the code's keyed digest), nor the link's signed token.
        let round = refused.response.private_challenge_parameters[PRIVATE_ROUND].clone();
        for secret in ["alice@example.com", "@example.com", round.as_str(), "#ey"] {
            assert!(
                !logged.contains(secret) && !lines[0].contains(secret),
                "{secret}"
            );
        }
    }

    #[tokio::test]
    async fn an_unknown_user_waits_about_as_long_as_the_sends_this_process_has_seen() {
        async fn unknown_delay(p: &FakePorts<'_>, outbox: &Outbox) -> u64 {
            let mut nobody: CognitoEventUserPoolsCreateAuthChallenge =
                fixture("create_user_not_found");
            nobody.cognito_event_user_pools_header.user_name =
                Some(format!("nobody{}@example.com", outbox.sent()));
            let before = *outbox.slept_ms.lock().unwrap();
            create(&config("magicLink"), p, nobody).await.unwrap();
            *outbox.slept_ms.lock().unwrap() - before
        }
        let outbox = Outbox::default();
        *outbox.send_ms.lock().unwrap() = 400;
        let fake = Fake {
            outbox: &outbox,
            now: 1000,
            byte: 7,
        };
        let p = ports(&fake);
        // No send seen yet: the default estimate, with the fake's jitter (factor ~0.76).
        assert_eq!(unknown_delay(&p, &outbox).await, 92);
        // Real sends of 400 ms move it there.
        for i in 0..30 {
            let mut known: CognitoEventUserPoolsCreateAuthChallenge =
                fixture("create_after_link_request");
            known
                .request
                .user_attributes
                .insert("email".to_owned(), format!("user{i}@example.com"));
            known.cognito_event_user_pools_header.user_name = Some(format!("user{i}@example.com"));
            create(&config("magicLink"), &p, known).await.unwrap();
        }
        let delay = unknown_delay(&p, &outbox).await;
        assert!((300..=310).contains(&delay), "{delay}");
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

    #[tokio::test]
    async fn unreadable_keys_fail_the_send_alike_for_known_and_unknown_users() {
        for fixture_name in ["create_after_link_request", "create_user_not_found"] {
            let outbox = Outbox::default();
            outbox.set_secret(Err("AccessDeniedException"));
            let fake = Fake {
                outbox: &outbox,
                now: 1000,
                byte: 7,
            };
            let err = create(&config("magicLink"), &ports(&fake), fixture(fixture_name))
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                "signing keys (PWP_SIGNING_KEYS_SECRET): GetSecretValue failed: AccessDeniedException"
            );
            assert_eq!(outbox.sent(), 0);
        }
    }
}
