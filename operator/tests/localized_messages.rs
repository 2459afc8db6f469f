//! Sign-in messages in two languages and the default, on stacks the operator builds (as the
//! CLI does), with ministack's Cognito invoking our `bootstrap`: the messages reach the
//! trigger in its deployment package, the user's `locale` attribute picks the language, then
//! the request's `clientMetadata.locale`, then the default; a changed message is deployed.
//! Run by `make test` (the test bed up, `make triggers` built); `cargo test` alone skips them.

#![allow(clippy::unwrap_used)]

mod common;

use common::cluster::unique;
use common::stack::{Stack, code_in};
use passwordless_contract::env as vars;

fn email_pool(german_subject: &str) -> String {
    format!(
        "strategy: emailOtp
sender: {{address: no-reply@example.com}}
limits: {{minIntervalSeconds: 0}}
email:
  appName: Test App
  subject: 'Your code for {{{{appName}}}}'
  localized:
    de:
      subject: '{german_subject}'
      text: 'Hallo, Ihr Code lautet {{{{code}}}}. Er gilt {{{{ttlMinutes}}}} Minuten.'
      html: '<p>Hallo, Ihr Code lautet <b>{{{{code}}}}</b>.</p>'
    es-419: {{subject: 'Tu código de {{{{appName}}}}'}}
"
    )
}

/// Signs `user` in with the code from the newest email; returns that email (subject, text).
async fn sign_in(stack: &Stack, user: &str, metadata: &[(&str, &str)]) -> (String, String) {
    let seen = stack.emails_to(user).len();
    let (session, shown) = stack.initiate_with(user, metadata).await.challenge();
    assert_eq!(shown["step"], "CODE_SENT");
    let emails = stack.emails_to(user);
    assert_eq!(emails.len(), seen + 1, "one email per sign-in");
    let (subject, text) = emails.last().cloned().unwrap();
    let code = code_in(&text, 6);
    stack.respond(user, &session, &code, &[]).await.id_token();
    (subject, text)
}

async fn function_config(
    stack: &Stack,
) -> aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput {
    stack
        .clients
        .lambda
        .get_function_configuration()
        .function_name(stack.names().function)
        .send()
        .await
        .unwrap()
}

async fn function_env(stack: &Stack) -> std::collections::HashMap<String, String> {
    let config = function_config(stack).await;
    config
        .environment()
        .and_then(|e| e.variables())
        .cloned()
        .unwrap_or_default()
}

async fn code_sha256(stack: &Stack) -> String {
    function_config(stack)
        .await
        .code_sha256()
        .unwrap()
        .to_owned()
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn each_user_is_mailed_in_their_language_and_a_change_is_deployed() {
    let mut stack = Stack::apply(&email_pool("Ihr Anmeldecode für {{appName}}")).await;
    let env = function_env(&stack).await;
    assert_eq!(env[vars::LOCALES], "de,es-419");
    assert!(
        !env.keys()
            .any(|k| k.contains("LOCALIZED") || env[k].contains("Hallo")),
        "the messages are in the package, not the environment"
    );
    let shared =
        passwordless_operator::trigger_code::TriggerCode::from_file(&common::trigger_zip())
            .unwrap();
    let first = code_sha256(&stack).await;
    assert_ne!(first, shared.sha256(), "the pool's own package");

    // The user's locale attribute wins over the request's.
    let german = format!("{}@example.com", unique("de"));
    stack.add_user(&german).await;
    stack.set_attribute(&german, "locale", "de-AT").await;
    let (subject, text) = sign_in(&stack, &german, &[("locale", "es-419")]).await;
    assert_eq!(subject, "Ihr Anmeldecode für Test App");
    assert!(text.starts_with("Hallo, Ihr Code lautet "), "{text}");
    assert!(text.ends_with("Er gilt 5 Minuten."), "{text}");

    // No attribute: the request's list, in order; a field the language leaves out is the
    // default's.
    let spanish = format!("{}@example.com", unique("es"));
    stack.add_user(&spanish).await;
    let (subject, text) = sign_in(&stack, &spanish, &[("locale", "fr-FR,es-419;q=0.8")]).await;
    assert_eq!(subject, "Tu código de Test App");
    assert!(text.starts_with("Hello,"), "the default text: {text}");

    // Nothing held asked for: the default.
    let other = format!("{}@example.com", unique("fr"));
    stack.add_user(&other).await;
    let (subject, _) = sign_in(&stack, &other, &[("locale", "fr")]).await;
    assert_eq!(subject, "Your code for Test App");
    let (subject, _) = sign_in(&stack, &other, &[]).await;
    assert_eq!(subject, "Your code for Test App");

    // A changed message: a new package is deployed, and the next sign-in uses it.
    let changes = stack
        .update(&email_pool("Neuer Code für {{appName}}"))
        .await;
    assert!(!changes.is_empty());
    let second = code_sha256(&stack).await;
    assert!(second != first && second != shared.sha256());
    let (subject, _) = sign_in(&stack, &german, &[]).await;
    assert_eq!(subject, "Neuer Code für Test App");

    // Languages removed: back to the shared package.
    stack
        .update(
            "strategy: emailOtp\nsender: {address: no-reply@example.com}\nlimits: {minIntervalSeconds: 0}\nemail: {appName: Test App}\n",
        )
        .await;
    assert_eq!(code_sha256(&stack).await, shared.sha256());
    assert!(!function_env(&stack).await.contains_key(vars::LOCALES));
    let (subject, _) = sign_in(&stack, &german, &[]).await;
    assert_eq!(subject, "Your sign-in code for Test App");
    stack.delete().await;
}

#[tokio::test]
#[ignore = "needs the test bed; run by `make test`"]
async fn a_text_message_speaks_the_users_language() {
    let stack = Stack::apply(
        "strategy: smsOtp
email: {appName: Test App}
sms:
  text: '{{code}}: your {{appName}} code'
  localized:
    de: {text: '{{code}} ist Ihr Code für {{appName}}'}
",
    )
    .await;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).unwrap();
    let phone = |n: u64| format!("+1555{:07}", (u64::from_le_bytes(random) + n) % 10_000_000);
    let (german, default) = (phone(0), phone(1));
    for (who, locale, ends) in [
        (&german, Some("de"), " ist Ihr Code für Test App"),
        (&default, None, ": your Test App code"),
    ] {
        stack.add_user(who).await;
        if let Some(locale) = locale {
            stack.set_attribute(who, "locale", locale).await;
        }
        let (session, _) = stack.initiate(who).await.challenge();
        let texts = stack.sms_to(who);
        let text = texts.last().unwrap();
        assert!(text.ends_with(ends), "{text}");
        let code = code_in(text, 6);
        stack.respond(who, &session, &code, &[]).await.id_token();
    }
    stack.delete().await;
}
