//! One pool's AWS stack on the test bed's ministack, built the way the CLI builds it: a
//! PasswordlessPool manifest, signing keys from a [`State`], and `reconcile::apply`; removed by
//! `reconcile::delete`. Beside it, a client that signs in the way an app would and reads what
//! the emulator delivered. Every stack lives in its own namespace, so tests run in parallel.

use passwordless_operator::tenancy::Platform;
use std::collections::HashMap;
use std::path::Path;

use aws_sdk_cognitoidentityprovider as cognito;
use aws_sdk_lambda::primitives::Blob;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use passwordless_operator::aws::{AwsError, Clients};
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::diff::{Action, Plan};
use passwordless_operator::key_rotation::{self, Rotation};
use passwordless_operator::reconcile::{self, Deleted, Outputs, Purpose, RecordError};
use passwordless_operator::recorded::{self, RecordStore, RecordingSink};
use passwordless_operator::signin::{self, emulator_emails, emulator_get, emulator_sms};
use passwordless_operator::state::{State, unix_now};
use passwordless_triggers::keys::SigningKey;
use serde_json::Value;

use super::cluster::unique;
use super::trigger_zip;
use passwordless_operator::trigger_code::TriggerCode;

pub const NEEDS_TESTBED: &str =
    "needs the test bed's ministack (AWS_ENDPOINT_URL); run by `make test`";

/// The CLI writes its record to the state file; here the sink's record is the memory.
struct InMemory;

impl RecordStore<State> for InMemory {
    async fn write(&mut self, _: &State) -> Result<(), RecordError> {
        Ok(())
    }
}

pub struct Stack {
    pub clients: Clients,
    pub pool: PasswordlessPool,
    /// The signing keys, kept and rotated as the CLI keeps them in its state file.
    pub keys: State,
    code: TriggerCode,
    /// The IDs AWS assigned, recorded as the CLI records them.
    recorded: RecordingSink<State, InMemory>,
    /// What the last apply reported (the status and output Secret's facts).
    pub outputs: Outputs,
    pub pool_id: String,
    pub client_id: String,
    pub function_arn: String,
    pub endpoint: String,
    /// The CLI's rules without a tenancy file.
    platform: Platform,
}

/// The manifest a user would write: `spec` is the YAML under `spec:`.
fn manifest(namespace: &str, name: &str, spec: &str) -> PasswordlessPool {
    let text = format!(
        "apiVersion: passwordless-operator.dev/v1alpha1\nkind: PasswordlessPool\nmetadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{}",
        spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
    );
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("not a PasswordlessPool: {e}\n{text}"))
}

impl Stack {
    /// Applies a pool with this spec, running `make triggers`' zip.
    pub async fn apply(spec: &str) -> Self {
        Self::apply_with_zip(spec, &trigger_zip()).await
    }

    /// Applies a pool with this spec whose trigger function runs the given zip.
    pub async fn apply_with_zip(spec: &str, zip: &Path) -> Self {
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect(NEEDS_TESTBED);
        assert!(
            endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
            "loopback only"
        );
        let zip = std::fs::read(zip)
            .unwrap_or_else(|e| panic!("{}: {e} (run `make triggers`)", zip.display()));
        let pool = manifest(&unique("e2e"), "pool", spec);
        let mut keys = State::default();
        key_rotation::advance(
            &mut keys,
            Rotation::Keep,
            unix_now(),
            pool.spec.retired_key_seconds(),
        );
        let mut stack = Self {
            clients: Clients::from_env(pool.spec.region.as_deref())
                .await
                .expect("AWS clients"),
            pool,
            keys,
            code: TriggerCode::from_bytes(zip),
            recorded: RecordingSink {
                record: State::default(),
                store: InMemory,
            },
            outputs: Outputs::default(),
            pool_id: String::new(),
            client_id: String::new(),
            function_arn: String::new(),
            endpoint,
            platform: Platform::trusting(),
        };
        stack.converge().await;
        stack
    }

    /// The reconcile request for the pool as it stands, with the IDs recorded so far.
    fn request(&self) -> reconcile::Request<'_> {
        recorded::request(
            Purpose::Apply,
            &self.pool,
            &self.platform,
            &self.code,
            &self.keys,
            &self.recorded.record,
        )
        .expect("a request for the pool")
    }

    /// `reconcile::apply` until AWS matches the spec; returns the changes it made.
    pub async fn converge(&mut self) -> Vec<Plan> {
        // As the CLI's apply: retired keys whose links have all expired go first.
        self.advance_keys(Rotation::Keep);
        // A sink of its own while `self.request()` borrows the stack.
        let mut sink = RecordingSink {
            record: self.recorded.record.clone(),
            store: InMemory,
        };
        let applied = reconcile::apply(&self.clients, &self.request(), &mut sink)
            .await
            .unwrap_or_else(|e| panic!("apply: {e}"));
        self.recorded = sink;
        assert!(applied.outputs.ready(), "{:?}", applied.outputs);
        let ids = &applied.outputs.ids;
        self.pool_id = ids.user_pool_id.clone().expect("a user pool");
        self.client_id = ids.client_id.clone().expect("an app client");
        self.function_arn = ids.function_arn.clone().unwrap_or_default();
        self.outputs = applied.outputs;
        applied.changes
    }

    /// Changes the spec (YAML under `spec:`) and applies it.
    pub async fn update(&mut self, spec: &str) -> Vec<Plan> {
        let metadata = &self.pool.metadata;
        self.pool = manifest(
            metadata.namespace.as_deref().expect("a namespace"),
            metadata.name.as_deref().expect("a name"),
            spec,
        );
        self.converge().await
    }

    /// A new build of the trigger (the same binary, a different zip), applied.
    pub async fn deploy_new_build(&mut self) -> Vec<Plan> {
        self.code = TriggerCode::from_bytes(rebuilt_zip(&self.code.bytes().unwrap()));
        self.converge().await
    }

    /// A new current signing key, the previous one still accepted, applied.
    pub async fn rotate_signing_key(&mut self) -> Vec<Plan> {
        self.advance_keys(Rotation::Now);
        self.converge().await
    }

    /// The key lifecycle the CLI runs before each apply.
    fn advance_keys(&mut self, rotation: Rotation<'_>) {
        let lifetime = self.pool.spec.retired_key_seconds();
        key_rotation::advance(&mut self.keys, rotation, unix_now(), lifetime);
    }

    /// A signing key the trigger was given (0: the current one).
    pub fn signing_key(&self, index: usize) -> SigningKey {
        let stored = &self.keys.signing_keys[index];
        SigningKey {
            id: stored.kid.clone(),
            secret: STANDARD.decode(&stored.secret).expect("base64 key"),
        }
    }

    /// `reconcile::delete`, then proves nothing but the shared sender identity is left: a plan
    /// from scratch creates again every resource the deletion removed.
    /// The AWS names of the pool's resources.
    pub fn names(&self) -> passwordless_operator::names::StackNames {
        passwordless_operator::names::StackNames::new(
            &self.platform.cluster_id,
            self.pool.metadata.namespace.as_deref().unwrap_or("default"),
            self.pool.metadata.name.as_deref().unwrap_or_default(),
        )
    }

    /// Forgets the recorded web ACL, as a crash between creating it and recording it would.
    pub fn forget_web_acl(&mut self) {
        self.recorded.record.web_acl_arn = None;
    }

    pub async fn delete(self) {
        let req = self.request();
        let removed = match reconcile::delete(&self.clients, &req).await {
            Ok(Deleted::Removed(plan)) => plan,
            Ok(Deleted::Retained) => panic!("deletionPolicy Delete retained the stack"),
            Err(e) => panic!("delete: {e}"),
        };
        assert!(
            !removed.is_empty() && removed.changes.iter().all(|c| c.action == Action::Delete),
            "{removed}"
        );
        let fresh = recorded::request(
            Purpose::Apply,
            &self.pool,
            &self.platform,
            &self.code,
            &self.keys,
            &State::default(),
        )
        .expect("a request for the pool");
        let after = reconcile::plan_changes(&self.clients, &fresh)
            .await
            .unwrap_or_else(|e| panic!("plan after delete: {e}"));
        let created: Vec<_> = after
            .changes
            .iter()
            .filter(|c| c.action == Action::Create)
            .map(|c| c.resource)
            .collect();
        let deleted: Vec<_> = removed.changes.iter().map(|c| c.resource).collect();
        assert_eq!(
            (created.len(), after.changes.len()),
            (deleted.len(), deleted.len()),
            "everything deleted is gone, nothing else changed:\n{after}"
        );
        for resource in deleted {
            assert!(
                created.contains(&resource),
                "{resource:?} survived:\n{after}"
            );
        }
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

impl From<Result<signin::Answer, signin::SignInError>> for Step {
    /// The sign-in step as the tests look at it; a refusal by its AWS error code.
    fn from(answer: Result<signin::Answer, signin::SignInError>) -> Self {
        match answer {
            Ok(signin::Answer::IdToken(id_token)) => Step::Tokens { id_token },
            Ok(signin::Answer::Next(challenge)) => Step::Challenge {
                session: challenge.session,
                parameters: challenge.parameters,
            },
            Err(signin::SignInError::Aws(AwsError::Call { code, .. })) => Step::Refused(code),
            Err(other) => panic!("the sign-in step failed: {other}"),
        }
    }
}

impl Step {
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

impl Stack {
    fn cognito(&self) -> &cognito::Client {
        &self.clients.cognito
    }

    /// A confirmed user with this username (an email or a phone number).
    pub async fn add_user(&self, username: &str) {
        let attribute = if username.starts_with('+') {
            "phone_number"
        } else {
            "email"
        };
        // Never used to sign in, but Cognito checks it against the pool's password policy.
        let password = format!("Unused-{}-Aa1!", unique("pw"));
        self.cognito()
            .admin_create_user()
            .user_pool_id(&self.pool_id)
            .username(username)
            .temporary_password(&password)
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
        self.cognito()
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(password)
            .permanent(true)
            .send()
            .await
            .expect("AdminSetUserPassword");
    }

    /// A user attribute as the pool stores it.
    pub async fn attribute(&self, username: &str, name: &str) -> Option<String> {
        let user = self
            .cognito()
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
        self.initiate_with(username, &[]).await
    }

    /// [`Stack::initiate`], with client metadata.
    pub async fn initiate_with(&self, username: &str, metadata: &[(&str, &str)]) -> Step {
        Step::from(signin::initiate_with(&self.clients, &self.client_id, username, metadata).await)
    }

    /// Sets a user's attribute as an administrator would.
    pub async fn set_attribute(&self, username: &str, name: &str, value: &str) {
        let attribute = aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .expect("an attribute");
        self.clients
            .cognito
            .admin_update_user_attributes()
            .user_pool_id(&self.pool_id)
            .username(username)
            .user_attributes(attribute)
            .send()
            .await
            .expect("AdminUpdateUserAttributes");
    }

    pub async fn respond(
        &self,
        username: &str,
        session: &str,
        answer: &str,
        metadata: &[(&str, &str)],
    ) -> Step {
        let answered = signin::respond(
            &self.clients,
            &self.client_id,
            username,
            session,
            answer,
            metadata,
        );
        Step::from(answered.await)
    }

    fn emulator(&self, path: &str) -> Value {
        emulator_get(&self.endpoint, path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Emails ministack's SES recorded for `to`: (subject, text body).
    pub fn emails_to(&self, to: &str) -> Vec<(String, String)> {
        emulator_emails(&self.endpoint, to).unwrap_or_else(|e| panic!("emails to {to}: {e}"))
    }

    /// SMS texts ministack's SNS recorded for `phone`.
    pub fn sms_to(&self, phone: &str) -> Vec<String> {
        emulator_sms(&self.endpoint, phone).unwrap_or_else(|e| panic!("SMS to {phone}: {e}"))
    }

    /// Checks the ID token's RS256 signature against the JWKS at the URL the operator reported,
    /// and its issuer against the reported issuer; returns its claims.
    pub fn verified_claims(&self, id_token: &str) -> Value {
        let jwks_url = self.outputs.jwks_url.as_deref().expect("a JWKS URL");
        let path = jwks_url
            .strip_prefix(self.endpoint.trim_end_matches('/'))
            .expect("the emulator serves the JWKS");
        let jwks = self.emulator(path);
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
        let signed = &id_token[..id_token.rfind('.').unwrap()];
        ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &URL_SAFE_NO_PAD.decode(signature).unwrap(),
            )
            .expect("the ID token's signature verifies against the pool's JWKS");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(
            claims["iss"].as_str(),
            self.outputs.issuer_url.as_deref(),
            "the issuer the operator reported"
        );
        claims
    }

    /// Invokes the trigger function directly with a Cognito-shaped event; returns its answer.
    pub async fn invoke(&self, event: &Value) -> Value {
        let out = self
            .clients
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
/// The same archive with a different SHA-256: its end-of-central-directory record gets a
/// comment (a zip without one ends in that 22-byte record).
fn rebuilt_zip(zip: &[u8]) -> Vec<u8> {
    let eocd = zip.len() - 22;
    assert_eq!(
        &zip[eocd..eocd + 4],
        b"PK\x05\x06",
        "a zip without a comment"
    );
    let comment = format!("rebuilt {}", unix_now());
    let mut out = zip.to_vec();
    out[eocd + 20..eocd + 22].copy_from_slice(&(comment.len() as u16).to_le_bytes());
    out.extend_from_slice(comment.as_bytes());
    out
}

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
