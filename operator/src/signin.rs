//! `passwordless-operator signin`: drives a real passwordless sign-in against a pool, the way an
//! app would. The link or code comes from the emulator's mailbox (`--from-emulator`) or is
//! pasted on standard input (real AWS). Prints the ID token's claims, never the tokens.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType, ChallengeNameType};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use passwordless_contract::{HARDENED_OTP_LENGTH, OTP_LENGTH};
use serde_json::Value;

use crate::aws::{AwsError, Clients, built, call_error, code_of};

/// Where the emailed link or code is read from.
pub enum Mailbox {
    /// The emulator's SES and SNS logs at this endpoint (`/_ministack/...`).
    Emulator(String),
    /// A person pastes it.
    Stdin,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("sign-in step {step}: {message}")]
    Flow { step: &'static str, message: String },
}

fn flow(step: &'static str, message: impl Into<String>) -> SignInError {
    SignInError::Flow {
        step,
        message: message.into(),
    }
}

/// A challenge Cognito asks next: its session and public parameters.
pub struct Challenge {
    pub session: String,
    pub parameters: HashMap<String, String>,
}

/// Cognito's answer to one sign-in step.
pub enum Answer {
    Next(Challenge),
    IdToken(String),
}

impl Answer {
    fn of(
        id_token: Option<&str>,
        session: Option<&str>,
        parameters: Option<&HashMap<String, String>>,
    ) -> Self {
        match id_token {
            Some(t) => Self::IdToken(t.to_owned()),
            None => Self::Next(Challenge {
                session: session.unwrap_or_default().to_owned(),
                parameters: parameters.cloned().unwrap_or_default(),
            }),
        }
    }
}

/// Starts a custom-auth sign-in (`InitiateAuth`).
pub async fn initiate(c: &Clients, client_id: &str, username: &str) -> Result<Answer, SignInError> {
    initiate_with(c, client_id, username, &[]).await
}

/// [`initiate`], with client metadata (the trigger reads `locale` there, for one).
pub async fn initiate_with(
    c: &Clients,
    client_id: &str,
    username: &str,
    metadata: &[(&str, &str)],
) -> Result<Answer, SignInError> {
    let mut call = c
        .cognito
        .initiate_auth()
        .client_id(client_id)
        .auth_flow(AuthFlowType::CustomAuth)
        .auth_parameters("USERNAME", username);
    for (k, v) in metadata {
        call = call.client_metadata(*k, *v);
    }
    let out = call
        .send()
        .await
        .map_err(|e| call_error("cognito-idp:InitiateAuth", e))?;
    Ok(Answer::of(
        out.authentication_result().and_then(|r| r.id_token()),
        out.session(),
        out.challenge_parameters(),
    ))
}

/// Answers the challenge of `session` (`RespondToAuthChallenge`), with client metadata.
pub async fn respond(
    c: &Clients,
    client_id: &str,
    username: &str,
    session: &str,
    answer: &str,
    metadata: &[(&str, &str)],
) -> Result<Answer, SignInError> {
    let mut call = c
        .cognito
        .respond_to_auth_challenge()
        .client_id(client_id)
        .challenge_name(ChallengeNameType::CustomChallenge)
        .session(session)
        .challenge_responses("USERNAME", username)
        .challenge_responses("ANSWER", answer);
    for (k, v) in metadata {
        call = call.client_metadata(*k, *v);
    }
    let out = call
        .send()
        .await
        .map_err(|e| call_error("cognito-idp:RespondToAuthChallenge", e))?;
    Ok(Answer::of(
        out.authentication_result().and_then(|r| r.id_token()),
        out.session(),
        out.challenge_parameters(),
    ))
}

fn expect_step(answer: Answer, step: &'static str) -> Result<Challenge, SignInError> {
    use passwordless_contract::challenge::{RETRY_AFTER_SECONDS, STEP, step as steps};
    match answer {
        Answer::Next(ch) if ch.parameters.get(STEP).map(String::as_str) == Some(step) => Ok(ch),
        Answer::Next(ch) => {
            let after = ch
                .parameters
                .get(RETRY_AFTER_SECONDS)
                .map_or("?", String::as_str);
            let message = match ch.parameters.get(STEP).map(String::as_str) {
                Some(steps::COOLDOWN) => {
                    format!(
                        "nothing was sent: the last link or code went out moments ago; try again in {after} s"
                    )
                }
                Some(steps::LOCKED_OUT) => {
                    format!("locked out after too many wrong answers; try again in {after} s")
                }
                other => format!("the pool answered {other:?}"),
            };
            Err(flow(step, message))
        }
        Answer::IdToken(_) => Err(flow(step, "tokens came before any challenge")),
    }
}

/// Creates the user through SignUp when the pool allows it (the trigger confirms it); an
/// existing user is fine.
pub async fn ensure_user(c: &Clients, client_id: &str, username: &str) -> Result<(), SignInError> {
    let mut secret = [0u8; 24];
    getrandom::fill(&mut secret).expect("the operating system's random source is available");
    // Never typed by anyone: sign-in is passwordless, but SignUp needs one.
    let password = format!("Aa1!{}", URL_SAFE_NO_PAD.encode(secret));
    let attribute = if username.starts_with('+') {
        "phone_number"
    } else {
        "email"
    };
    let attr = AttributeType::builder()
        .name(attribute)
        .value(username)
        .build();
    let attr = built(attr)?;
    match c
        .cognito
        .sign_up()
        .client_id(client_id)
        .username(username)
        .password(password)
        .user_attributes(attr)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code_of(&e) == Some("UsernameExistsException") => Ok(()),
        Err(e) => Err(call_error("cognito-idp:SignUp", e).into()),
    }
}

/// The claims of an ID token (decoded, not verified: the caller has the JWKS URL for that).
pub fn claims(id_token: &str) -> Result<Value, SignInError> {
    let payload = id_token
        .split('.')
        .nth(1)
        .ok_or_else(|| flow("decode", "the ID token is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| flow("decode", "the ID token payload is not base64url"))?;
    serde_json::from_slice(&bytes).map_err(|_| flow("decode", "the ID token payload is not JSON"))
}

/// A magic-link sign-in: ask for a link, fetch it, open it in a fresh sign-in. `on_link` sees
/// the link (the demo prints it).
pub async fn magic_link(
    c: &Clients,
    client_id: &str,
    username: &str,
    mailbox: &Mailbox,
    on_link: impl Fn(&str),
) -> Result<Value, SignInError> {
    let seen = mailbox_count(mailbox, username)?;
    let first = expect_step(
        initiate(c, client_id, username).await?,
        "PROVIDE_AUTH_PARAMETERS",
    )?;
    let sent = respond(
        c,
        client_id,
        username,
        &first.session,
        "request",
        &[("action", "request")],
    )
    .await?;
    expect_step(sent, "LINK_SENT")?;
    let link = read_secret(mailbox, username, seen, |text| {
        text.split_whitespace()
            .find(|w| w.contains('#') && w.starts_with("http"))
            .map(str::to_owned)
    })?;
    on_link(&link);
    let token = link
        .split_once('#')
        .map(|(_, t)| t)
        .ok_or_else(|| flow("open link", "the link has no #token"))?;
    let fresh = expect_step(
        initiate(c, client_id, username).await?,
        "PROVIDE_AUTH_PARAMETERS",
    )?;
    match respond(
        c,
        client_id,
        username,
        &fresh.session,
        token,
        &[("action", "redeem")],
    )
    .await?
    {
        Answer::IdToken(t) => claims(&t),
        Answer::Next(_) => Err(flow("open link", "the link was not accepted")),
    }
}

/// A code sign-in (email or SMS): the first round sends the code.
pub async fn code(
    c: &Clients,
    client_id: &str,
    username: &str,
    mailbox: &Mailbox,
) -> Result<Value, SignInError> {
    let seen = mailbox_count(mailbox, username)?;
    let sent = expect_step(initiate(c, client_id, username).await?, "CODE_SENT")?;
    let code = read_secret(mailbox, username, seen, |text| {
        text.split(|ch: char| !ch.is_ascii_digit())
            .find(|w| (OTP_LENGTH.min as usize..=HARDENED_OTP_LENGTH as usize).contains(&w.len()))
            .map(str::to_owned)
    })?;
    match respond(c, client_id, username, &sent.session, &code, &[]).await? {
        Answer::IdToken(t) => claims(&t),
        Answer::Next(_) => Err(flow("answer code", "the code was not accepted")),
    }
}

/// Messages to `to` so far, so the wait below picks up only a new one.
fn mailbox_count(mailbox: &Mailbox, to: &str) -> Result<usize, SignInError> {
    match mailbox {
        Mailbox::Emulator(endpoint) => Ok(messages_to(endpoint, to)?.len()),
        Mailbox::Stdin => Ok(0),
    }
}

fn read_secret(
    mailbox: &Mailbox,
    to: &str,
    seen: usize,
    find: impl Fn(&str) -> Option<String>,
) -> Result<String, SignInError> {
    match mailbox {
        Mailbox::Emulator(endpoint) => {
            for _ in 0..50 {
                let messages = messages_to(endpoint, to)?;
                if let Some(found) = messages
                    .get(seen..)
                    .unwrap_or_default()
                    .iter()
                    .rev()
                    .find_map(|m| find(m))
                {
                    return Ok(found);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(flow(
                "read mailbox",
                format!("no new message to {to} in the emulator"),
            ))
        }
        Mailbox::Stdin => {
            eprint!("Paste the link or code sent to {to}: ");
            std::io::stderr().flush().ok();
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| flow("read input", e.to_string()))?;
            find(line.trim()).ok_or_else(|| flow("read input", "that is not a link or code"))
        }
    }
}

/// Email bodies (text) and SMS texts the emulator recorded for `to`, oldest first.
fn messages_to(endpoint: &str, to: &str) -> Result<Vec<String>, SignInError> {
    if to.starts_with('+') {
        return emulator_sms(endpoint, to);
    }
    Ok(emulator_emails(endpoint, to)?
        .into_iter()
        .map(|(_, text)| text)
        .collect())
}

/// The emails the emulator's SES recorded for `to`, oldest first: (subject, text body).
pub fn emulator_emails(endpoint: &str, to: &str) -> Result<Vec<(String, String)>, SignInError> {
    let all = emulator_get(endpoint, "/_ministack/ses/messages")?;
    let mut found = Vec::new();
    for list in all["messages"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values())
    {
        for m in list.as_array().into_iter().flatten() {
            if m["To"]
                .as_array()
                .is_some_and(|t| t.iter().any(|a| a == to))
            {
                let text = |field: &str| m[field].as_str().unwrap_or_default().to_owned();
                found.push((text("Subject"), text("BodyText")));
            }
        }
    }
    Ok(found)
}

/// The SMS texts the emulator's SNS recorded for `phone`, oldest first.
pub fn emulator_sms(endpoint: &str, phone: &str) -> Result<Vec<String>, SignInError> {
    let all = emulator_get(endpoint, "/_ministack/sns/sms-messages")?;
    Ok(all["sms_messages"][phone]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["Message"].as_str().map(str::to_owned))
        .collect())
}

/// A plain HTTP/1.0 GET of one of the emulator's inspection endpoints (plain HTTP on loopback).
pub fn emulator_get(endpoint: &str, path: &str) -> Result<Value, SignInError> {
    let host = endpoint.strip_prefix("http://").ok_or_else(|| {
        flow(
            "read mailbox",
            "--from-emulator needs an http:// AWS_ENDPOINT_URL",
        )
    })?;
    let host = host.trim_end_matches('/');
    let fail = |e: std::io::Error| flow("read mailbox", format!("{host}: {e}"));
    let mut stream = TcpStream::connect(host).map_err(fail)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(fail)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").map_err(fail)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(fail)?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or_default();
    serde_json::from_str(body).map_err(|e| flow("read mailbox", format!("GET {path}: {e}")))
}
