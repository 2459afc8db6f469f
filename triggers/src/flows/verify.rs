//! VerifyAuthChallengeResponse: is this answer the link or the code this round asked for?

use aws_lambda_events::event::cognito::CognitoEventUserPoolsVerifyAuthChallenge;

use super::{FlowError, PRIVATE_ROUND, Round};
use crate::config::{Config, Strategy};
use crate::delivery::{Clock, Directory, Entropy, Mailer, Ports, SmsSender, StateStore};
use crate::token::{Audience, code_matches, hash_hex, looks_like_token, verify as verify_link};

pub async fn verify(
    config: &Config,
    ports: &Ports<
        impl Mailer,
        impl SmsSender,
        impl StateStore,
        impl Directory,
        impl Clock,
        impl Entropy,
    >,
    mut event: CognitoEventUserPoolsVerifyAuthChallenge,
) -> Result<CognitoEventUserPoolsVerifyAuthChallenge, FlowError> {
    let header = &event.cognito_event_user_pools_header;
    let username = header
        .user_name
        .as_deref()
        .ok_or(FlowError::Missing("userName"))?;
    let request = &event.request;
    let answer = request
        .challenge_answer
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let round = request
        .private_challenge_parameters
        .get(PRIVATE_ROUND)
        .and_then(|r| Round::decode(r));
    let now = ports.clock.now();

    let correct = if request.user_not_found {
        false
    } else if config.strategy == Strategy::MagicLink && looks_like_token(answer) {
        let pool = header
            .user_pool_id
            .as_deref()
            .ok_or(FlowError::Missing("userPoolId"))?;
        let client = header
            .caller_context
            .client_id
            .as_deref()
            .ok_or(FlowError::Missing("callerContext.clientId"))?;
        let audience = Audience {
            username,
            pool,
            client,
        };
        match verify_link(config, answer, &audience, now) {
            // Last, so only a genuine link spends a state write; the write decides replays.
            Ok(claims) => {
                ports
                    .store
                    .consume_nonce(&hash_hex("nonce", &claims.nonce), claims.exp)
                    .await?
            }
            Err(_) => false,
        }
    } else {
        match round {
            Some(Round::Code { kid, exp, mac, .. }) => match config.key(&kid) {
                Some(key) => now < exp && code_matches(key, username, answer, &mac),
                None => false,
            },
            _ => false,
        }
    };
    event.response.answer_correct = correct;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::flows::testing::{Fake, Outbox, fixture, ports};
    use crate::token::{LinkClaims, code_mac, sign};

    const NOW: u64 = 1_700_000_000;

    fn link(strategy_config: &Config, kid: &str, sub: &str, exp: u64) -> String {
        let claims = LinkClaims {
            kid: kid.to_owned(),
            sub: sub.to_owned(),
            pool: "us-east-1_TestPool".to_owned(),
            client: "testclient".to_owned(),
            iat: NOW - 10,
            exp,
            nonce: "MTIzNDU2Nzg5MDEyMzQ1Ng".to_owned(),
        };
        sign(strategy_config.key(kid).unwrap(), &claims)
    }

    async fn answer(
        strategy: &str,
        fixture_name: &str,
        answer: &str,
        round: Option<Round>,
        outbox: &Outbox,
        now: u64,
    ) -> bool {
        let mut event: CognitoEventUserPoolsVerifyAuthChallenge = fixture(fixture_name);
        event.request.challenge_answer = Some(serde_json::Value::String(answer.to_owned()));
        if let Some(round) = round {
            event
                .request
                .private_challenge_parameters
                .insert(PRIVATE_ROUND.to_owned(), round.encode());
        }
        let fake = Fake {
            outbox,
            now,
            byte: 7,
        };
        verify(&config(strategy), &ports(&fake), event)
            .await
            .expect("verify runs")
            .response
            .answer_correct
    }

    #[tokio::test]
    async fn a_good_link_signs_in_once_and_a_replay_fails() {
        let c = config("magicLink");
        let token = link(&c, "k2", "alice@example.com", NOW + 600);
        let outbox = Outbox::default();
        assert!(
            answer(
                "magicLink",
                "verify_link",
                &token,
                Some(Round::ProvideAuthParameters),
                &outbox,
                NOW
            )
            .await
        );
        assert!(
            !answer(
                "magicLink",
                "verify_link",
                &token,
                Some(Round::ProvideAuthParameters),
                &outbox,
                NOW
            )
            .await
        );
        // Only the nonce's hash was stored.
        let stored = outbox.nonces.lock().unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].contains("MTIzNDU2"));
    }

    #[tokio::test]
    async fn tampered_expired_foreign_and_malformed_links_fail() {
        let c = config("magicLink");
        let outbox = Outbox::default();
        let good = link(&c, "k2", "alice@example.com", NOW + 600);
        let tampered = format!("{}A", good);
        let expired = link(&c, "k2", "alice@example.com", NOW);
        let wrong_user = link(&c, "k2", "bob@example.com", NOW + 600);
        for bad in [
            tampered.as_str(),
            &expired,
            &wrong_user,
            "not-a-link",
            "e30.e30e30e30e30e30e30e30e30e30e30e30e30e30e30e30",
        ] {
            assert!(
                !answer(
                    "magicLink",
                    "verify_link",
                    bad,
                    Some(Round::ProvideAuthParameters),
                    &outbox,
                    NOW
                )
                .await,
                "{bad}"
            );
        }
        assert!(
            outbox.nonces.lock().unwrap().is_empty(),
            "no state is written for a bad link"
        );
    }

    #[tokio::test]
    async fn a_link_signed_with_the_previous_key_still_works() {
        let c = config("magicLink");
        let token = link(&c, "k1", "alice@example.com", NOW + 600);
        assert!(
            answer(
                "magicLink",
                "verify_link",
                &token,
                Some(Round::ProvideAuthParameters),
                &Outbox::default(),
                NOW
            )
            .await
        );
    }

    #[tokio::test]
    async fn codes_match_exactly_until_they_expire() {
        let c = config("emailOtp");
        let round = || {
            Some(Round::Code {
                kid: "k2".into(),
                exp: NOW + 300,
                mac: code_mac(c.current_key(), "alice@example.com", "123456"),
                link: false,
            })
        };
        let outbox = Outbox::default();
        assert!(answer("emailOtp", "verify_link", "123456", round(), &outbox, NOW).await);
        assert!(!answer("emailOtp", "verify_link", "123465", round(), &outbox, NOW).await);
        assert!(
            !answer(
                "emailOtp",
                "verify_link",
                "123456",
                round(),
                &outbox,
                NOW + 300
            )
            .await
        );
        assert!(!answer("emailOtp", "verify_link", "123456", None, &outbox, NOW).await);
    }

    #[tokio::test]
    async fn an_unknown_user_is_never_right() {
        let c = config("magicLink");
        let token = link(&c, "k2", "alice@example.com", NOW + 600);
        assert!(
            !answer(
                "magicLink",
                "verify_user_not_found",
                &token,
                Some(Round::ProvideAuthParameters),
                &Outbox::default(),
                NOW
            )
            .await
        );
    }
}
