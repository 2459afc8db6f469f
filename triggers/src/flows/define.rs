//! DefineAuthChallenge: issue tokens after a correct answer, fail after too many wrong ones or a
//! foreign challenge, otherwise ask another CUSTOM_CHALLENGE. No I/O.

use aws_lambda_events::event::cognito::{
    CognitoEventUserPoolsChallengeResult, CognitoEventUserPoolsDefineAuthChallenge,
    CognitoEventUserPoolsDefineAuthChallengeResponse,
};

use super::{ACTION_REDEEM, CUSTOM_CHALLENGE, MAX_ROUNDS, META_ACTION, Round};
use crate::config::Config;

pub fn define(
    config: &Config,
    mut event: CognitoEventUserPoolsDefineAuthChallenge,
) -> CognitoEventUserPoolsDefineAuthChallenge {
    let request = &event.request;
    let rounds: Vec<_> = request.session.iter().flatten().collect();
    let response = &mut event.response;
    response.issue_tokens = false;
    response.fail_authentication = false;
    response.challenge_name = None;

    let fail = |response: &mut CognitoEventUserPoolsDefineAuthChallengeResponse| {
        response.fail_authentication = true;
    };
    // Only our own challenge may appear: SRP or password rounds mean someone is mixing flows.
    if rounds
        .iter()
        .any(|r| r.challenge_name.as_deref() != Some(CUSTOM_CHALLENGE))
    {
        fail(response);
        return event;
    }
    if let Some(last) = rounds.last() {
        if last.challenge_result && !request.user_not_found {
            response.issue_tokens = true;
            return event;
        }
        if Round::of(last).is_some_and(|r| r.ends_attempt()) {
            fail(response);
            return event;
        }
    }
    let redeeming_now =
        request.client_metadata.get(META_ACTION).map(String::as_str) == Some(ACTION_REDEEM);
    let failures = (0..rounds.len())
        .filter(|i| counts_as_failure(&rounds, *i, redeeming_now))
        .count();
    if failures >= config.attempt_limit || rounds.len() >= MAX_ROUNDS {
        fail(response);
        return event;
    }
    response.challenge_name = Some(CUSTOM_CHALLENGE.to_owned());
    event
}

/// A wrong answer, unless it was the magic link's first round and the client only asked for a
/// link there.
fn counts_as_failure(
    rounds: &[&CognitoEventUserPoolsChallengeResult],
    index: usize,
    redeeming_now: bool,
) -> bool {
    let round = rounds[index];
    if round.challenge_result {
        return false;
    }
    Round::of(round) != Some(Round::ProvideAuthParameters)
        || was_redeem(rounds, index, redeeming_now)
}

/// Whether the first-round answer at `index` was a link (a failed redemption): the round after
/// it says so, or, for the latest round, this call's client metadata.
fn was_redeem(
    rounds: &[&CognitoEventUserPoolsChallengeResult],
    index: usize,
    redeeming_now: bool,
) -> bool {
    match rounds.get(index + 1) {
        Some(next) => Round::of(next) == Some(Round::LinkExpected),
        None => redeeming_now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;
    use crate::flows::testing::fixture;

    fn run(strategy: &str, name: &str) -> (bool, bool, Option<String>) {
        let out = define(&config(strategy), fixture(name));
        (
            out.response.issue_tokens,
            out.response.fail_authentication,
            out.response.challenge_name,
        )
    }

    fn ask() -> (bool, bool, Option<String>) {
        (false, false, Some(CUSTOM_CHALLENGE.to_owned()))
    }

    #[test]
    fn the_first_round_asks_a_custom_challenge() {
        assert_eq!(run("emailOtp", "define_first_round"), ask());
    }

    #[test]
    fn a_correct_answer_issues_tokens() {
        assert_eq!(run("emailOtp", "define_after_correct"), (true, false, None));
    }

    #[test]
    fn wrong_answers_are_counted_against_the_attempt_limit() {
        // One wrong code: with the default limit of 3, try again.
        assert_eq!(run("emailOtp", "define_after_one_wrong"), ask());
        // Two wrong codes: still under 3, but Cognito's cap of 3 rounds is not reached either.
        assert_eq!(run("emailOtp", "define_after_two_wrong"), ask());
        // With attempt limit 1 (links), one wrong answer ends it.
        assert_eq!(
            run("magicLink", "define_after_one_wrong"),
            (false, true, None)
        );
    }

    #[test]
    fn a_foreign_challenge_name_fails() {
        assert_eq!(
            run("emailOtp", "define_wrong_challenge_name"),
            (false, true, None)
        );
    }

    #[test]
    fn an_unknown_user_is_asked_like_a_known_one_and_never_gets_tokens() {
        assert_eq!(run("emailOtp", "define_user_not_found"), ask());
        assert_eq!(run("emailOtp", "define_user_not_found_after_true"), ask());
    }

    #[test]
    fn asking_for_a_link_is_not_a_failure_but_a_bad_link_is() {
        assert_eq!(run("magicLink", "define_after_link_request"), ask());
        assert_eq!(
            run("magicLink", "define_after_bad_link"),
            (false, true, None)
        );
    }

    #[test]
    fn a_cooldown_or_lockout_round_ends_the_attempt() {
        assert_eq!(
            run("magicLink", "define_after_cooldown"),
            (false, true, None)
        );
        for strategy in ["magicLink", "emailOtp", "smsOtp"] {
            let mut event: CognitoEventUserPoolsDefineAuthChallenge =
                fixture("define_after_cooldown");
            for entry in event.request.session.iter_mut().flatten() {
                if Round::of(entry).is_some_and(|r| r.ends_attempt()) {
                    entry.challenge_metadata = Some(
                        Round::LockedOut {
                            retry_after_seconds: 60,
                        }
                        .encode(),
                    );
                }
            }
            let out = define(&config(strategy), event);
            assert!(out.response.fail_authentication, "{strategy}");
            assert!(!out.response.issue_tokens, "{strategy}");
        }
    }
}
