//! `bootstrap` for the `provided.al2023` runtime: the configuration at start-up, the AWS
//! configuration and clients on first use (a cold start pays for none), then every invocation
//! goes through [`dispatch::handle`].

use lambda_runtime::{Error, LambdaEvent, service_fn};
use passwordless_contract::probe;
use passwordless_triggers::config::{Config, ConfigError};
use passwordless_triggers::delivery::aws::{
    CognitoDirectory, DynamoStore, Lazy, Sdk, SecretsManagerKeys, SesMailer, SnsSender,
};
use passwordless_triggers::delivery::system::{OsEntropy, SystemClock};
use passwordless_triggers::dispatch;
use passwordless_triggers::keys::KeyRing;
use passwordless_triggers::latency::SendLatency;
use passwordless_triggers::outcomes::Outcomes;
use passwordless_triggers::ports::Wired;
use passwordless_triggers::template::from_header;
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON lines for CloudWatch; events, codes and tokens are never logged. Warnings (a failed
    // send, a lost marker) unless RUST_LOG says otherwise: an empty filter would keep errors
    // alone, and the platform team would never see a send fail.
    let filter = tracing_subscriber::EnvFilter::builder()
        .with_default_directive(tracing_subscriber::filter::LevelFilter::WARN.into())
        .from_env_lossy();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .without_time()
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(refused) => return serve_refusal(refused).await,
    };
    let aws = Sdk::default();
    let from = config
        .sender_address
        .as_deref()
        .map(|address| from_header(config.sender_name.as_deref(), address))
        .unwrap_or_default();
    let ports = Wired {
        mailer: SesMailer {
            client: Lazy::new(&aws, aws_sdk_sesv2::Client::new),
            from,
            reply_to: config.reply_to.clone(),
        },
        sms: SnsSender {
            client: Lazy::new(&aws, aws_sdk_sns::Client::new),
        },
        store: DynamoStore {
            client: Lazy::new(&aws, aws_sdk_dynamodb::Client::new),
            table: config.table_name.clone(),
        },
        directory: CognitoDirectory {
            client: Lazy::new(&aws, aws_sdk_cognitoidentityprovider::Client::new),
        },
        clock: SystemClock,
        entropy: OsEntropy,
        keys: KeyRing::new(SecretsManagerKeys::new(
            &aws,
            config.signing_keys_secret.clone(),
        )),
        send_latency: SendLatency::default(),
        outcomes: Outcomes::printed(),
    };
    let (config, ports) = (&config, &ports);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        dispatch::handle(config, ports, event.payload)
            .await
            .map_err(|e| -> Error {
                tracing::warn!(error = %e, "trigger refused the event");
                e.into()
            })
    }))
    .await
}

/// A configuration the trigger cannot run with: every invocation is answered with the reason, so
/// the operator's probe (and the function's logs) say why, where exiting would only say that
/// the runtime exited. The reason names the variable, never its value.
async fn serve_refusal(refused: ConfigError) -> Result<(), Error> {
    let message = format!("{}{refused}", probe::REFUSED_PREFIX);
    tracing::error!(%message, "trigger refused its configuration");
    let message = &message;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        Err::<Value, Error>(message.clone().into())
    }))
    .await
}
