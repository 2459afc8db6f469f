//! A real stack on the test bed's ministack, provisioned through the AWS SDK as the operator
//! will: SES identity, DynamoDB table, IAM role, the `bootstrap` Lambda, its invoke permission,
//! a user pool wired to it and an app client. Each stack has unique names, so tests run in
//! parallel without sharing state.

#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::unwrap_used)] // test support: a panic is how a check fails

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, ChallengeNameType, ExplicitAuthFlowsType, LambdaConfigType,
    PreventUserExistenceErrorTypes, UsernameAttributeType,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime, State};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use passwordless_triggers::config::vars;
use serde_json::Value;

pub const NEEDS_TESTBED: &str =
    "needs the test bed's ministack (AWS_ENDPOINT_URL); run by `make test`";
/// The test keys: `current` signs, `previous` still verifies.
pub const CURRENT_KEY: (&str, &[u8; 32]) = ("kid-2", b"0123456789abcdef0123456789abcdef");
pub const PREVIOUS_KEY: (&str, &[u8; 32]) = ("kid-1", b"fedcba9876543210fedcba9876543210");

pub struct Aws {
    pub config: aws_config::SdkConfig,
    pub endpoint: String,
}

pub async fn aws() -> Aws {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(NEEDS_TESTBED);
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "loopback only"
    );
    Aws {
        config: aws_config::load_from_env().await,
        endpoint,
    }
}

/// A unique, short suffix for resource names.
pub fn unique() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", nanos % 0xffff_ffff, std::process::id())
}

pub fn zip_path() -> String {
    std::env::var("PWP_TRIGGER_ZIP").unwrap_or_else(|_| {
        format!(
            "{}/../target/lambda/bootstrap.zip",
            env!("CARGO_MANIFEST_DIR")
        )
    })
}

pub struct Stack {
    pub pool_id: String,
    pub client_id: String,
    pub function_arn: String,
    pub table: String,
    pub sender: String,
    pub cognito: cognito::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub endpoint: String,
}

/// Provisions one pool for `strategy` with extra trigger settings, running `make triggers`' zip.
pub async fn provision(aws: &Aws, strategy: &str, extra_env: &[(&str, &str)]) -> Stack {
    provision_with_code(aws, &zip_path(), strategy, extra_env).await
}

/// Provisions one pool whose triggers run the given Lambda zip.
pub async fn provision_with_code(
    aws: &Aws,
    zip_path: &str,
    strategy: &str,
    extra_env: &[(&str, &str)],
) -> Stack {
    let id = unique();
    let sender = format!("no-reply-{id}@example.com");
    let table = format!("pwp-test-{id}");
    let sms = strategy == "smsOtp";

    let ses = aws_sdk_sesv2::Client::new(&aws.config);
    ses.create_email_identity()
        .email_identity(&sender)
        .send()
        .await
        .expect("SES identity");

    let dynamo = aws_sdk_dynamodb::Client::new(&aws.config);
    dynamo
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("DynamoDB table");
    dynamo
        .update_time_to_live()
        .table_name(&table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expiresAt")
                .enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("table TTL");

    let iam = aws_sdk_iam::Client::new(&aws.config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name(format!("pwp-test-{id}"))
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("IAM role");
    let role_arn = role.role().expect("role").arn().to_owned();

    let keys = format!(
        "{}:{},{}:{}",
        CURRENT_KEY.0,
        STANDARD.encode(CURRENT_KEY.1),
        PREVIOUS_KEY.0,
        STANDARD.encode(PREVIOUS_KEY.1)
    );
    let mut env: HashMap<String, String> = HashMap::from([
        (vars::STRATEGY.to_owned(), strategy.to_owned()),
        (vars::SIGNING_KEYS.to_owned(), keys),
        (vars::TABLE_NAME.to_owned(), table.clone()),
        (vars::APP_NAME.to_owned(), "Test App".to_owned()),
        (vars::SIGN_UP.to_owned(), "AutoConfirm".to_owned()),
        ("RUST_LOG".to_owned(), "warn".to_owned()),
    ]);
    if !sms {
        env.insert(vars::SENDER_ADDRESS.to_owned(), sender.clone());
    }
    if strategy == "magicLink" {
        env.insert(
            vars::REDIRECT_URLS.to_owned(),
            r#"["https://app.example.com/auth/callback","http://localhost:3000/cb"]"#.to_owned(),
        );
    }
    for (k, v) in extra_env {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let zip =
        std::fs::read(zip_path).unwrap_or_else(|e| panic!("{zip_path}: {e} (run `make triggers`)"));
    let lambda = aws_sdk_lambda::Client::new(&aws.config);
    let function = lambda
        .create_function()
        .function_name(format!("pwp-test-{id}"))
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(&role_arn)
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .environment(Environment::builder().set_variables(Some(env)).build())
        .timeout(10)
        .memory_size(128)
        .send()
        .await
        .expect("Lambda function");
    let function_arn = function.function_arn().expect("function ARN").to_owned();
    for _ in 0..100 {
        let state = lambda
            .get_function()
            .function_name(&function_arn)
            .send()
            .await
            .expect("GetFunction");
        if state.configuration().and_then(|c| c.state()) == Some(&State::Active) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let cognito = cognito::Client::new(&aws.config);
    let triggers = LambdaConfigType::builder()
        .define_auth_challenge(&function_arn)
        .create_auth_challenge(&function_arn)
        .verify_auth_challenge_response(&function_arn)
        .pre_sign_up(&function_arn)
        .post_authentication(&function_arn)
        .build();
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("pwp-test-{id}"))
        .username_attributes(if sms {
            UsernameAttributeType::PhoneNumber
        } else {
            UsernameAttributeType::Email
        })
        .lambda_config(triggers)
        .send()
        .await
        .expect("user pool");
    let pool = pool.user_pool().expect("pool");
    let pool_id = pool.id().expect("pool id").to_owned();
    lambda
        .add_permission()
        .function_name(&function_arn)
        .statement_id("cognito")
        .action("lambda:InvokeFunction")
        .principal("cognito-idp.amazonaws.com")
        .source_arn(pool.arn().expect("pool ARN"))
        .send()
        .await
        .expect("invoke permission");
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("app")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowCustomAuth)
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
        .prevent_user_existence_errors(PreventUserExistenceErrorTypes::Enabled)
        .send()
        .await
        .expect("app client");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_owned();
    Stack {
        pool_id,
        client_id,
        function_arn,
        table,
        sender,
        cognito,
        lambda,
        endpoint: aws.endpoint.clone(),
    }
}

/// The answer a sign-in step got: the next challenge, tokens, or an error code.
#[derive(Debug)]
pub enum Step {
    Challenge {
        session: String,
        parameters: HashMap<String, String>,
    },
    Tokens {
        id_token: String,
    },
    Refused(String),
}

impl Step {
    fn of(
        result: Option<&cognito::types::AuthenticationResultType>,
        session: Option<&str>,
        parameters: Option<&HashMap<String, String>>,
    ) -> Self {
        match result {
            Some(r) => Step::Tokens {
                id_token: r.id_token().unwrap_or_default().to_owned(),
            },
            None => Step::Challenge {
                session: session.unwrap_or_default().to_owned(),
                parameters: parameters.cloned().unwrap_or_default(),
            },
        }
    }

    pub fn challenge(self) -> (String, HashMap<String, String>) {
        match self {
            Step::Challenge {
                session,
                parameters,
            } => (session, parameters),
            other => panic!("expected a challenge, got {other:?}"),
        }
    }
    pub fn id_token(self) -> String {
        match self {
            Step::Tokens { id_token } => id_token,
            other => panic!("expected tokens, got {other:?}"),
        }
    }
}

fn error_code<E: cognito::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("unknown").to_owned()
}

impl Stack {
    /// A confirmed user with this username (an email or a phone number).
    pub async fn add_user(&self, username: &str) {
        let attribute = if username.starts_with('+') {
            "phone_number"
        } else {
            "email"
        };
        self.cognito
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .user_attributes(
                cognito::types::AttributeType::builder()
                    .name(attribute)
                    .value(username)
                    .build()
                    .unwrap(),
            )
            .message_action(cognito::types::MessageActionType::Suppress)
            .send()
            .await
            .expect("AdminCreateUser");
        self.cognito
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(format!("Unused-{}-Aa1!", unique()))
            .permanent(true)
            .send()
            .await
            .expect("AdminSetUserPassword");
    }

    /// A user attribute as the pool stores it.
    pub async fn attribute(&self, username: &str, name: &str) -> Option<String> {
        let user = self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .send()
            .await
            .expect("AdminGetUser");
        user.user_attributes()
            .iter()
            .find(|a| a.name() == name)
            .and_then(|a| a.value())
            .map(str::to_owned)
    }

    pub async fn initiate(&self, username: &str) -> Step {
        let out = self
            .cognito
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::CustomAuth)
            .auth_parameters("USERNAME", username)
            .send()
            .await;
        match out {
            Ok(o) => Step::of(
                o.authentication_result(),
                o.session(),
                o.challenge_parameters(),
            ),
            Err(e) => Step::Refused(error_code(&e.into_service_error())),
        }
    }

    pub async fn respond(
        &self,
        username: &str,
        session: &str,
        answer: &str,
        metadata: &[(&str, &str)],
    ) -> Step {
        let mut call = self
            .cognito
            .respond_to_auth_challenge()
            .client_id(&self.client_id)
            .challenge_name(ChallengeNameType::CustomChallenge)
            .session(session)
            .challenge_responses("USERNAME", username)
            .challenge_responses("ANSWER", answer);
        for (k, v) in metadata {
            call = call.client_metadata(*k, *v);
        }
        match call.send().await {
            Ok(o) => Step::of(
                o.authentication_result(),
                o.session(),
                o.challenge_parameters(),
            ),
            Err(e) => Step::Refused(error_code(&e.into_service_error())),
        }
    }

    /// Emails ministack's SES recorded for `to`: (subject, text body).
    pub fn emails_to(&self, to: &str) -> Vec<(String, String)> {
        let all = http_get_json(&self.endpoint, "/_ministack/ses/messages");
        let mut found = Vec::new();
        for messages in all["messages"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for m in messages.as_array().into_iter().flatten() {
                if m["To"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|a| a == to))
                {
                    found.push((
                        m["Subject"].as_str().unwrap_or("").to_owned(),
                        m["BodyText"].as_str().unwrap_or("").to_owned(),
                    ));
                }
            }
        }
        found
    }

    /// SMS texts ministack's SNS recorded for `phone`.
    pub fn sms_to(&self, phone: &str) -> Vec<String> {
        let all = http_get_json(&self.endpoint, "/_ministack/sns/sms-messages");
        all["sms_messages"][phone]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m["Message"].as_str().unwrap_or("").to_owned())
            .collect()
    }

    /// Checks the ID token's RS256 signature against the pool's JWKS and returns its claims.
    pub fn verified_claims(&self, id_token: &str) -> Value {
        let jwks = http_get_json(
            &self.endpoint,
            &format!("/{}/.well-known/jwks.json", self.pool_id),
        );
        let mut parts = id_token.split('.');
        let (header, payload, signature) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
        assert_eq!(header["alg"], "RS256");
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .expect("the token's kid is in the JWKS");
        let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
        let signed = format!("{}.{}", id_token.split('.').next().unwrap(), payload);
        ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .expect("the ID token's signature verifies against the pool's JWKS");
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    /// Invokes the function directly with a Cognito-shaped event.
    pub async fn invoke(&self, event: &Value) -> Value {
        let out = self
            .lambda
            .invoke()
            .function_name(&self.function_arn)
            .payload(Blob::new(serde_json::to_vec(event).unwrap()))
            .send()
            .await
            .expect("Invoke");
        assert!(
            out.function_error().is_none(),
            "the function failed: {:?}",
            out.payload()
        );
        serde_json::from_slice(out.payload().expect("payload").as_ref()).expect("JSON reply")
    }
}

/// The magic link in an email body.
pub fn link_in(text: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with("https://app.example.com/auth/callback#"))
        .expect("a link in the email")
        .to_owned()
}

/// The `n`-digit code in a message.
pub fn code_in(text: &str, n: usize) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == n)
        .expect("a code in the message")
        .to_owned()
}

/// A plain HTTP/1.0 GET on loopback: the emulator's inspection endpoints.
pub fn http_get_json(endpoint: &str, path: &str) -> Value {
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("connect to the emulator");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}
