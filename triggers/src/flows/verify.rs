//! VerifyAuthChallengeResponse: is this answer the link or the code this round asked for, sent
//! to the address the user still has, and is it within the user's budget of guesses? Every
//! wrong guess counts against the user across sessions; a right answer clears the count. Known
//! and unknown users make the same key and state lookups, in the same order.

use aws_lambda_events::event::cognito::CognitoEventUserPoolsVerifyAuthChallenge;

use super::limits;
use super::{FlowError, PRIVATE_ROUND, Round, destination};
use crate::config::{Config, Strategy};
use crate::delivery::{Clock, StateStore};
use crate::ports::Ports;
use crate::token::{
    Audience, code_matches, destination_matches, hash_hex, key_id, looks_like_token, user_hash,
    verify as verify_link,
};

pub async fn verify(
    config: &Config,
    ports: &impl Ports,
    mut event: CognitoEventUserPoolsVerifyAuthChallenge,
) -> Result<CognitoEventUserPoolsVerifyAuthChallenge, FlowError> {
    event.response.answer_correct = false;
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
    let is_link = config.strategy == Strategy::MagicLink && looks_like_token(answer);
    let pool = header
        .user_pool_id
        .as_deref()
        .ok_or(FlowError::Missing("userPoolId"))?;
    let now = ports.clock().now();
    // The address the proof must have gone to: the user's, as it is now.
    let current = destination(config, username, &request.user_attributes);
    // Every lookup below (keys, state) is made alike for known and unknown users, in the same
    // order: only the verdict differs, so response times cannot tell who exists.
    let known = !request.user_not_found;
    if is_link {
        // A link cannot be guessed (it carries an HMAC), so a wrong one is not counted: junk
        // links from anyone must not lock a user out. A genuine, unused link is proof of the
        // mailbox, so it signs in even during a lockout (which is about guessing codes).
        let genuine = genuine_link(
            ports,
            header.caller_context.client_id.as_deref(),
            username,
            pool,
            answer,
            &current,
            now,
        )
        .await?;
        if known && genuine {
            let keys = ports.keys().keys(ports.clock()).await?;
            let user = user_hash(keys.current(), pool, username);
            let proof = limits::Answer::Proof { right: true };
            event.response.answer_correct =
                limits::settle(config, ports.store(), ports.clock(), &user, proof).await?;
        }
        return Ok(event);
    }
    // Only an answer to a code counts. Asking for a link is not one, and a round that ended the
    // attempt (cooldown, lockout) asked for nothing.
    let Some(Round::Code {
        kid,
        exp,
        mac,
        dest,
        hardened,
        ..
    }) = round
    else {
        return Ok(event);
    };
    let keys = ports.keys().keys(ports.clock()).await?;
    let user = user_hash(keys.current(), pool, username);
    let matches = match ports.keys().key(&kid, ports.clock()).await? {
        Some(key) => {
            now < exp
                && code_matches(&key, username, answer, &mac)
                && destination_matches(&key, &current, &dest)
        }
        None => false,
    };
    let right = known && matches;
    // A code sent during a lock is beyond guessing: it is not counted and signs in during the
    // lock. Any other is a guess: refused while locked whatever it is, counted when wrong, and
    // settled in one step with every answer racing it.
    let answer = if hardened {
        limits::Answer::Proof { right }
    } else {
        limits::Answer::Guess { right }
    };
    event.response.answer_correct =
        limits::settle(config, ports.store(), ports.clock(), &user, answer).await?;
    Ok(event)
}

/// A link signed by a key the pool holds, for this user, pool and client, sent to the user's
/// current address, unexpired, and not used before (the nonce write, last, decides replays).
async fn genuine_link(
    ports: &impl Ports,
    client: Option<&str>,
    username: &str,
    pool: &str,
    answer: &str,
    current: &str,
    now: u64,
) -> Result<bool, FlowError> {
    let client = client.ok_or(FlowError::Missing("callerContext.clientId"))?;
    let audience = Audience {
        username,
        pool,
        client,
    };
    let key = match key_id(answer) {
        Ok(kid) => ports.keys().key(&kid, ports.clock()).await?,
        Err(_) => None,
    };
    let verified = key.and_then(|key| {
        let claims = verify_link(&key, answer, &audience, now).ok()?;
        destination_matches(&key, current, &claims.dest).then_some(claims)
    });
    Ok(match verified {
        Some(claims) => {
            ports
                .store()
                .consume_nonce(&hash_hex("nonce", &claims.nonce), claims.exp)
                .await?
        }
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::delivery::Failures;
    use crate::flows::META_ACTION;
    use crate::flows::testing::{Fake, KEYS_ROTATED, Outbox, fixture, join_all, keyset, ports};
    use crate::ports::Wired;
    use crate::token::{LinkClaims, code_mac, destination_hash, sign};

    const NOW: u64 = 1_700_000_000;
    const POOL: &str = "us-east-1_TestPool";
    const ALICE: &str = "alice@example.com";

    fn link_to(kid: &str, sub: &str, exp: u64, sent_to: &str) -> String {
        let keys = crate::keys::parse(&format!(
            "{},{}",
            crate::flows::testing::KEYS_CURRENT,
            KEYS_ROTATED.split(',').next().unwrap()
        ))
        .unwrap();
        let key = keys.get(kid).unwrap();
        let claims = LinkClaims {
            kid: kid.to_owned(),
            sub: sub.to_owned(),
            pool: POOL.to_owned(),
            client: "testclient".to_owned(),
            iat: NOW - 10,
            exp,
            nonce: "MTIzNDU2Nzg5MDEyMzQ1Ng".to_owned(),
            dest: destination_hash(key, sent_to),
        };
        sign(key, &claims)
    }

    fn link(kid: &str, sub: &str, exp: u64) -> String {
        link_to(kid, sub, exp, ALICE)
    }

    fn code_round(code: &str, sent_to: &str) -> Option<Round> {
        code_round_until(code, sent_to, NOW + 300)
    }

    fn code_round_until(code: &str, sent_to: &str, exp: u64) -> Option<Round> {
        let keys = keyset();
        Some(Round::Code {
            kid: "k2".into(),
            exp,
            mac: code_mac(keys.current(), ALICE, code),
            link: false,
            dest: destination_hash(keys.current(), sent_to),
            hardened: false,
        })
    }

    /// One answer: the fixture, with the answer, round and (if given) the user's email now.
    struct Answer<'a> {
        strategy: &'a str,
        fixture: &'a str,
        answer: &'a str,
        round: Option<Round>,
        email_now: Option<&'a str>,
    }

    impl Answer<'_> {
        async fn at(&self, outbox: &Outbox, now: u64) -> bool {
            let mut event: CognitoEventUserPoolsVerifyAuthChallenge = fixture(self.fixture);
            event.request.challenge_answer =
                Some(serde_json::Value::String(self.answer.to_owned()));
            if let Some(round) = &self.round {
                event
                    .request
                    .private_challenge_parameters
                    .insert(PRIVATE_ROUND.to_owned(), round.encode());
            }
            if let Some(email) = self.email_now {
                event
                    .request
                    .user_attributes
                    .insert("email".to_owned(), email.to_owned());
            }
            let fake = Fake {
                outbox,
                now,
                byte: 7,
            };
            verify(&config(self.strategy), &ports(&fake), event)
                .await
                .expect("verify runs")
                .response
                .answer_correct
        }
    }

    fn link_answer(token: &str) -> Answer<'_> {
        Answer {
            strategy: "magicLink",
            fixture: "verify_link",
            answer: token,
            round: Some(Round::ProvideAuthParameters),
            email_now: None,
        }
    }

    fn code_answer(code: &str) -> Answer<'_> {
        Answer {
            strategy: "emailOtp",
            fixture: "verify_link",
            answer: code,
            round: code_round("123456", ALICE),
            email_now: None,
        }
    }

    fn failures(outbox: &Outbox) -> u32 {
        let user = user_hash(keyset().current(), POOL, ALICE);
        outbox
            .failures
            .lock()
            .unwrap()
            .get(&user)
            .map(|f| f.count)
            .unwrap_or(0)
    }

    #[tokio::test]
    async fn a_good_link_signs_in_once_and_a_replay_fails() {
        let token = link("k2", ALICE, NOW + 600);
        let outbox = Outbox::default();
        assert!(link_answer(&token).at(&outbox, NOW).await);
        assert!(!link_answer(&token).at(&outbox, NOW).await);
        // Only the nonce's hash was stored.
        let stored = outbox.nonces.lock().unwrap();
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].contains("MTIzNDU2"));
    }

    #[tokio::test]
    async fn tampered_expired_foreign_and_malformed_links_fail() {
        let outbox = Outbox::default();
        let good = link("k2", ALICE, NOW + 600);
        let tampered = format!("{}A", good);
        let expired = link("k2", ALICE, NOW);
        let wrong_user = link("k2", "bob@example.com", NOW + 600);
        for bad in [
            tampered.as_str(),
            &expired,
            &wrong_user,
            "not-a-link",
            "e30.e30e30e30e30e30e30e30e30e30e30e30e30e30e30e30",
        ] {
            assert!(!link_answer(bad).at(&outbox, NOW).await, "{bad}");
        }
        assert!(
            outbox.nonces.lock().unwrap().is_empty(),
            "no nonce is spent by a bad link"
        );
        assert_eq!(
            failures(&outbox),
            0,
            "a link cannot be guessed: junk links from anyone must not lock a user out"
        );
    }

    #[tokio::test]
    async fn a_link_signed_with_the_previous_key_still_works() {
        let token = link("k1", ALICE, NOW + 600);
        assert!(link_answer(&token).at(&Outbox::default(), NOW).await);
    }

    #[tokio::test]
    async fn one_process_reads_the_keys_again_at_most_once_a_minute_for_unknown_ids() {
        use base64::Engine;
        let outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: NOW,
            byte: 7,
        };
        let c = config("magicLink");
        let event = |token: String| {
            let mut e: CognitoEventUserPoolsVerifyAuthChallenge = fixture("verify_link");
            e.request.challenge_answer = Some(serde_json::Value::String(token));
            e
        };
        let p = ports(&fake);
        for kid in ["zz1", "zz2", "zz3", "zz4"] {
            // A made-up key id on an otherwise well-formed token.
            let claims = format!(r#"{{"kid":"{kid}","sub":"alice@example.com"}}"#);
            let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
            let token = format!("{body}.{}", "A".repeat(43));
            let out = verify(&c, &p, event(token)).await.unwrap();
            assert!(!out.response.answer_correct);
        }
        assert_eq!(outbox.secret_reads(), 1, "one read, then none for a minute");
        // The secret rotated; a minute later, a k3 link is found by one read.
        outbox.set_secret(Ok(KEYS_ROTATED));
        let later = Fake {
            outbox: &outbox,
            now: NOW + 61,
            byte: 7,
        };
        let p = Wired { clock: &later, ..p };
        let out = verify(&c, &p, event(link("k3", ALICE, NOW + 600)))
            .await
            .unwrap();
        assert!(out.response.answer_correct);
        assert_eq!(outbox.secret_reads(), 2);
    }

    #[tokio::test]
    async fn codes_match_exactly_until_they_expire() {
        let outbox = Outbox::default();
        assert!(code_answer("123456").at(&outbox, NOW).await);
        assert!(!code_answer("123465").at(&outbox, NOW).await);
        assert!(!code_answer("123456").at(&outbox, NOW + 300).await);
        let no_round = Answer {
            round: None,
            ..code_answer("123456")
        };
        assert!(!no_round.at(&outbox, NOW).await);
    }

    #[tokio::test]
    async fn a_proof_sent_to_another_address_than_the_users_current_one_fails() {
        // (strategy, answer kind, sent to, the user's address at verification, accepted)
        let cases = [
            ("emailOtp", ALICE, ALICE, true),
            ("emailOtp", ALICE, "Alice@Example.com", true),
            ("emailOtp", ALICE, "mallory@example.com", false),
            ("magicLink", ALICE, ALICE, true),
            ("magicLink", ALICE, "mallory@example.com", false),
        ];
        for (strategy, sent_to, now_email, accepted) in cases {
            let outbox = Outbox::default();
            let token = link_to("k2", ALICE, NOW + 600, sent_to);
            let answer = if strategy == "magicLink" {
                Answer {
                    email_now: Some(now_email),
                    ..link_answer(&token)
                }
            } else {
                Answer {
                    email_now: Some(now_email),
                    round: code_round("123456", sent_to),
                    ..code_answer("123456")
                }
            };
            assert_eq!(
                answer.at(&outbox, NOW).await,
                accepted,
                "{strategy}: sent to {sent_to}, now {now_email}"
            );
        }
        // SMS: the phone number.
        let mut event: CognitoEventUserPoolsVerifyAuthChallenge = fixture("verify_link");
        event.request.challenge_answer = Some(serde_json::Value::String("123456".to_owned()));
        event
            .request
            .user_attributes
            .insert("phone_number".to_owned(), "+15550000000".to_owned());
        let keys = keyset();
        let sent_to_old_phone = Round::Code {
            kid: "k2".into(),
            exp: NOW + 300,
            mac: code_mac(keys.current(), ALICE, "123456"),
            link: false,
            dest: destination_hash(keys.current(), "+15551234567"),
            hardened: false,
        };
        event
            .request
            .private_challenge_parameters
            .insert(PRIVATE_ROUND.to_owned(), sent_to_old_phone.encode());
        let outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: NOW,
            byte: 7,
        };
        let out = verify(&config("smsOtp"), &ports(&fake), event.clone())
            .await
            .unwrap();
        assert!(!out.response.answer_correct);
        event
            .request
            .user_attributes
            .insert("phone_number".to_owned(), "+15551234567".to_owned());
        let out = verify(&config("smsOtp"), &ports(&fake), event)
            .await
            .unwrap();
        assert!(out.response.answer_correct);
    }

    #[tokio::test]
    async fn wrong_answers_across_sessions_lock_the_user_and_a_right_one_clears_them() {
        let outbox = Outbox::default();
        // Codes that outlive the lockouts below.
        let code_answer = |code: &'static str| Answer {
            round: code_round_until("123456", ALICE, NOW + 10_000),
            ..code_answer(code)
        };
        // Four wrong codes, each in a session of its own: not locked yet.
        for i in 0..4 {
            assert!(!code_answer("000000").at(&outbox, NOW + i).await);
        }
        assert_eq!(failures(&outbox), 4);
        assert!(code_answer("123456").at(&outbox, NOW + 5).await);
        assert_eq!(failures(&outbox), 0, "a sign-in clears the count");
        // Five wrong: locked for 900 s; the right code is refused meanwhile, and not counted.
        for i in 0..5 {
            assert!(!code_answer("000000").at(&outbox, NOW + 10 + i).await);
        }
        assert!(!code_answer("123456").at(&outbox, NOW + 20).await);
        assert_eq!(failures(&outbox), 5);
        // A genuine link is proof of the mailbox, not a guess: it signs in during the lockout
        // and clears the count.
        let link_token = link("k2", ALICE, NOW + 2000);
        assert!(link_answer(&link_token).at(&outbox, NOW + 20).await);
        assert_eq!(failures(&outbox), 0);
        for i in 0..5 {
            assert!(!code_answer("000000").at(&outbox, NOW + 10 + i).await);
        }
        // Over: the right code signs in; a wrong one would have doubled the lock.
        assert!(code_answer("123456").at(&outbox, NOW + 14 + 900).await);
        for i in 0..6 {
            assert!(!code_answer("000000").at(&outbox, NOW + 1000 + i).await);
        }
        let f = outbox
            .failures
            .lock()
            .unwrap()
            .values()
            .copied()
            .next()
            .unwrap();
        assert_eq!(
            f,
            Failures {
                count: 5,
                last_at: NOW + 1004
            }
        );
        // The 6th guess was refused as locked, uncounted; the lock is the first one (900 s).
        assert!(!code_answer("123456").at(&outbox, NOW + 1004 + 899).await);
        assert!(code_answer("123456").at(&outbox, NOW + 1004 + 900).await);
    }

    #[tokio::test]
    async fn asking_for_a_link_or_answering_a_cooldown_counts_nothing_and_reads_no_key() {
        let outbox = Outbox::default();
        let mut ask: CognitoEventUserPoolsVerifyAuthChallenge = fixture("verify_link");
        ask.request.challenge_answer = Some(serde_json::Value::String("request".to_owned()));
        ask.request
            .client_metadata
            .insert(META_ACTION.to_owned(), "request".to_owned());
        ask.request.private_challenge_parameters.insert(
            PRIVATE_ROUND.to_owned(),
            Round::ProvideAuthParameters.encode(),
        );
        let mut cooldown = ask.clone();
        cooldown.request.private_challenge_parameters.insert(
            PRIVATE_ROUND.to_owned(),
            Round::Cooldown {
                retry_after_seconds: 5,
            }
            .encode(),
        );
        let fake = Fake {
            outbox: &outbox,
            now: NOW,
            byte: 7,
        };
        for event in [ask, cooldown] {
            let out = verify(&config("magicLink"), &ports(&fake), event)
                .await
                .unwrap();
            assert!(!out.response.answer_correct);
        }
        assert_eq!(failures(&outbox), 0);
        assert_eq!(outbox.secret_reads(), 0);
    }

    /// A token that is well-formed but signed by nobody: claims naming `kid`, a made-up MAC.
    fn junk_link(kid: &str) -> String {
        use base64::Engine;
        let claims = format!(r#"{{"kid":"{kid}","sub":"{ALICE}"}}"#);
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims);
        format!("{body}.{}", "A".repeat(43))
    }

    /// Seconds after NOW, the answer, the round it answers.
    type TimedAnswer<'a> = (u64, &'a str, Option<Round>);

    /// The key-source and state-store calls one warm process makes for these answers (seconds
    /// after NOW, answer, round), in order: for the fixture's user, known or not.
    async fn calls_for(
        strategy: &str,
        fixture_name: &str,
        answers: &[TimedAnswer<'_>],
    ) -> Vec<&'static str> {
        let outbox = Outbox::default();
        let clocks: Vec<Fake> = answers
            .iter()
            .map(|(at, ..)| Fake {
                outbox: &outbox,
                now: NOW + at,
                byte: 7,
            })
            .collect();
        let mut p = ports(&clocks[0]);
        for (clock, (_, answer, round)) in clocks.iter().zip(answers) {
            p = Wired { clock, ..p };
            let mut event: CognitoEventUserPoolsVerifyAuthChallenge = fixture(fixture_name);
            event.request.challenge_answer = Some(serde_json::Value::String((*answer).to_owned()));
            if let Some(round) = round {
                event
                    .request
                    .private_challenge_parameters
                    .insert(PRIVATE_ROUND.to_owned(), round.encode());
            }
            let out = verify(&config(strategy), &p, event).await.unwrap();
            assert!(!out.response.answer_correct, "{answer}");
        }
        outbox.calls()
    }

    /// A junk answer must cost the same key reads and state calls, in the same order, whether
    /// the user exists or not: a GetSecretValue round trip for one and not the other would tell
    /// them apart by response time. Cold processes, warm ones, and warm ones past the reload
    /// interval (where a made-up key id reads the secret again).
    #[tokio::test]
    async fn a_junk_answer_reads_the_keys_and_the_store_alike_for_known_and_unknown_users() {
        let made_up = junk_link("zz9");
        let forged = junk_link("k2");
        let malformed = "e30.e30e30e30e30e30e30e30e30e30e30e30e30e30e30e30".to_owned();
        let expired = link("k2", ALICE, NOW - 1);
        let wrong_code = code_round("123456", ALICE);
        let rotated_away = match code_round("123456", ALICE) {
            Some(Round::Code {
                exp,
                mac,
                link,
                dest,
                ..
            }) => Some(Round::Code {
                kid: "k0".into(),
                exp,
                mac,
                link,
                dest,
                hardened: false,
            }),
            _ => unreachable!(),
        };
        let later = crate::keys::RELOAD_MIN_SECONDS + 1;
        let cases: Vec<(&str, Vec<TimedAnswer>)> = vec![
            ("magicLink", vec![(0, &made_up, None)]),
            (
                "magicLink",
                vec![
                    (0, &made_up, None),
                    (1, &made_up, None),
                    (later, &made_up, None),
                ],
            ),
            (
                "magicLink",
                vec![
                    (0, &forged, None),
                    (later, &made_up, None),
                    (later, &forged, None),
                ],
            ),
            (
                "magicLink",
                vec![(0, &malformed, None), (later, &made_up, None)],
            ),
            ("magicLink", vec![(0, &expired, None), (1, &made_up, None)]),
            ("emailOtp", vec![(0, "000000", wrong_code.clone())]),
            (
                "emailOtp",
                vec![
                    (0, "000000", wrong_code.clone()),
                    (later, "000000", rotated_away),
                ],
            ),
        ];
        for (strategy, answers) in &cases {
            let known = calls_for(strategy, "verify_link", answers).await;
            let unknown = calls_for(strategy, "verify_user_not_found", answers).await;
            assert_eq!(known, unknown, "{strategy}: {answers:?}");
        }
        // Not vacuous: a cold process reads the secret for a made-up key id, and again for
        // another one past the reload interval.
        let (_, answers) = &cases[1];
        let reads = calls_for("magicLink", "verify_user_not_found", answers)
            .await
            .into_iter()
            .filter(|c| *c == "keys.GetSecretValue")
            .count();
        assert_eq!(reads, 2);
    }

    /// Wrong answers sent at once, each in its own session, while each waits on the state
    /// store: the budget must hold, so no answer past `maxFailures` is even checked.
    #[tokio::test]
    async fn parallel_wrong_answers_get_no_more_guesses_than_the_budget() {
        let outbox = Outbox::default();
        let fake = Fake {
            outbox: &outbox,
            now: NOW,
            byte: 7,
        };
        let p = ports(&fake);
        let c = config("emailOtp");
        let answers = (0..20)
            .map(|_| {
                let mut event: CognitoEventUserPoolsVerifyAuthChallenge = fixture("verify_link");
                event.request.challenge_answer = Some(serde_json::Value::String("000000".into()));
                event.request.private_challenge_parameters.insert(
                    PRIVATE_ROUND.to_owned(),
                    code_round("123456", ALICE).unwrap().encode(),
                );
                verify(&c, &p, event)
            })
            .collect();
        for out in join_all(answers).await {
            assert!(!out.unwrap().response.answer_correct);
        }
        assert_eq!(failures(&outbox), c.max_failures);
    }

    #[tokio::test]
    async fn an_unknown_user_is_never_right_and_is_counted_and_locked_alike() {
        let known = Outbox::default();
        let unknown = Outbox::default();
        let token = link("k2", ALICE, NOW + 600);
        for i in 0..7 {
            // Even the right code and a genuine link: an unknown user has neither.
            let as_unknown = Answer {
                fixture: "verify_user_not_found",
                ..code_answer("123456")
            };
            assert!(!as_unknown.at(&unknown, NOW + i).await);
            assert!(!code_answer("000000").at(&known, NOW + i).await);
            let link_as_unknown = Answer {
                fixture: "verify_user_not_found",
                ..link_answer(&token)
            };
            assert!(!link_as_unknown.at(&unknown, NOW + i).await);
        }
        assert_eq!(
            failures(&unknown),
            5,
            "counted up to the budget, then locked"
        );
        assert_eq!(
            *known.failures.lock().unwrap(),
            *unknown.failures.lock().unwrap()
        );
    }

    /// During a lock a hardened code (sent during it) signs in and clears the count; wrong
    /// answers to one are not guesses worth counting, and cost no state call at all.
    #[tokio::test]
    async fn a_hardened_code_signs_in_during_a_lock_and_wrong_ones_count_nothing() {
        let long = "1234567890123456";
        let keys = keyset();
        let hardened = Some(Round::Code {
            kid: "k2".into(),
            exp: NOW + 300,
            mac: code_mac(keys.current(), ALICE, long),
            link: false,
            dest: destination_hash(keys.current(), ALICE),
            hardened: true,
        });
        let outbox = Outbox::default();
        let locked = Failures {
            count: 7,
            last_at: NOW - 10,
        };
        let user = user_hash(keys.current(), POOL, ALICE);
        outbox.failures.lock().unwrap().insert(user, locked);
        let answer = |code| Answer {
            round: hardened.clone(),
            ..code_answer(code)
        };
        for wrong in ["000000", "123456", "1234567890123457"] {
            assert!(!answer(wrong).at(&outbox, NOW).await, "{wrong}");
        }
        assert!(outbox.calls().iter().all(|c| c.starts_with("keys.")));
        assert_eq!(failures(&outbox), 7, "not counted");
        // A usual code is refused unchecked, right or not.
        assert!(!code_answer("123456").at(&outbox, NOW).await);
        assert_eq!(failures(&outbox), 7, "not counted either");
        assert!(answer(long).at(&outbox, NOW).await);
        assert_eq!(failures(&outbox), 0, "a sign-in clears the count");
    }
}
