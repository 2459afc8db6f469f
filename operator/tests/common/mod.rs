//! Helpers shared by the integration tests.

#![allow(dead_code)] // each test binary uses its own subset
#![allow(clippy::unwrap_used)] // test support: a panic is how a check fails

use std::path::{Path, PathBuf};

/// A path relative to the repository root.
pub fn repo_file(relative: &str) -> PathBuf {
    // Read when the test runs: a test binary reused from a checkout at another path (one cargo
    // target directory serves every clone) must not read that checkout's files.
    let dir = std::env::var("CARGO_MANIFEST_DIR")
        .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    Path::new(&dir).join("..").join(relative)
}

/// The release trigger zip (`make triggers`), or the one `PWP_TRIGGER_ZIP` names.
pub fn trigger_zip() -> PathBuf {
    std::env::var_os("PWP_TRIGGER_ZIP")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_file("target/lambda/bootstrap.zip"))
}

/// The `.yaml` files directly in a repository folder, sorted.
pub fn yaml_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_file(dir))
        .expect("the folder exists")
        .map(|entry| entry.expect("the folder is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// A repository file's text.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn cognito(endpoint: Option<&str>) -> aws_sdk_cognitoidentityprovider::Client {
    runtime().block_on(async {
        let mut loader = aws_config::from_env();
        if let Some(e) = endpoint {
            loader = loader.endpoint_url(e);
        }
        aws_sdk_cognitoidentityprovider::Client::new(&loader.load().await)
    })
}

/// How many user pools carry this name, and how many app clients they hold.
pub fn count_pools_and_clients(name: &str) -> (usize, usize) {
    let c = cognito(None);
    runtime().block_on(async {
        let pools = c.list_user_pools().max_results(60).send().await.unwrap();
        let ids: Vec<String> = pools
            .user_pools()
            .iter()
            .filter(|p| p.name() == Some(name))
            .filter_map(|p| p.id().map(str::to_owned))
            .collect();
        let mut clients = 0;
        for id in &ids {
            clients += c
                .list_user_pool_clients()
                .user_pool_id(id)
                .max_results(60)
                .send()
                .await
                .unwrap()
                .user_pool_clients()
                .len();
        }
        (ids.len(), clients)
    })
}

/// Deletes a user pool behind the operator's back, as a person in the console would.
pub fn delete_pool_out_of_band(id: &str) {
    let c = cognito(None);
    runtime().block_on(async {
        c.delete_user_pool().user_pool_id(id).send().await.unwrap();
    });
}

/// A pool made by hand, outside the operator; its id.
pub fn create_bare_pool(name: &str) -> String {
    create_pool_by_hand(name, true)
}

/// A pool made by hand (untagged); with the operator's password policy, or Cognito's default
/// (a setting the operator would reset, so it refuses to adopt such a pool).
pub fn create_pool_by_hand(name: &str, operators_password_policy: bool) -> String {
    use aws_sdk_cognitoidentityprovider::types::{PasswordPolicyType, UserPoolPolicyType};
    let c = cognito(None);
    runtime().block_on(async {
        let mut create = c.create_user_pool().pool_name(name).username_attributes(
            aws_sdk_cognitoidentityprovider::types::UsernameAttributeType::Email,
        );
        if operators_password_policy {
            let policy = PasswordPolicyType::builder()
                .minimum_length(16)
                .require_lowercase(true)
                .require_uppercase(true)
                .require_numbers(true)
                .require_symbols(true)
                .build();
            create = create.policies(
                UserPoolPolicyType::builder()
                    .password_policy(policy)
                    .build(),
            );
        }
        let out = create.send().await.unwrap();
        out.user_pool().unwrap().id().unwrap().to_owned()
    })
}

/// The WAF web ACL associated with a resource (a user pool's ARN): its name and its rules'
/// rate limits, as AWS reports them.
pub fn web_acl_for(resource_arn: &str) -> Option<(String, Vec<i64>)> {
    runtime().block_on(waf::associated_with(resource_arn))
}

/// Detaches whatever web ACL is on the resource, by hand.
pub fn detach_web_acl(resource_arn: &str) {
    runtime().block_on(waf::detach(resource_arn));
}

/// Whether a regional web ACL of this name exists, attached or not.
pub fn web_acl_exists(name: &str) -> bool {
    runtime().block_on(waf::exists(name))
}

/// Whether a pool tells `Alice@x` from `alice@x` (None: the service did not say).
pub fn username_case_sensitive(pool_id: &str) -> Option<bool> {
    let pool = describe_pool(pool_id)?;
    Some(pool.username_configuration()?.case_sensitive())
}

/// DescribeUserPool; None once the pool is gone.
fn describe_pool(pool_id: &str) -> Option<aws_sdk_cognitoidentityprovider::types::UserPoolType> {
    let c = cognito(None);
    runtime().block_on(async {
        let out = c
            .describe_user_pool()
            .user_pool_id(pool_id)
            .send()
            .await
            .ok()?;
        out.user_pool().cloned()
    })
}

/// A pool's DefineAuthChallenge trigger, deletion protection and tags; None once it is gone.
pub fn pool_facts(
    pool_id: &str,
) -> Option<(
    Option<String>,
    String,
    std::collections::HashMap<String, String>,
)> {
    describe_pool(pool_id).map(|pool| {
        (
            pool.lambda_config()
                .and_then(|l| l.define_auth_challenge())
                .map(str::to_owned),
            pool.deletion_protection()
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            pool.user_pool_tags().cloned().unwrap_or_default(),
        )
    })
}

/// How many Lambda triggers a pool has wired.
pub fn lambda_triggers_on(endpoint: &str, pool_id: &str) -> usize {
    let c = cognito(Some(endpoint));
    runtime().block_on(async {
        let pool = c
            .describe_user_pool()
            .user_pool_id(pool_id)
            .send()
            .await
            .unwrap();
        let l = pool
            .user_pool()
            .unwrap()
            .lambda_config()
            .cloned()
            .unwrap_or_else(|| {
                aws_sdk_cognitoidentityprovider::types::LambdaConfigType::builder().build()
            });
        [
            l.define_auth_challenge(),
            l.create_auth_challenge(),
            l.verify_auth_challenge_response(),
            l.pre_sign_up(),
            l.post_authentication(),
        ]
        .iter()
        .filter(|t| t.is_some())
        .count()
    })
}

/// Sets a tag on the SES identity `address` (in the test bed's region) by hand.
pub async fn tag_sender(address: &str, key: &str, value: &str) {
    let by_hand = passwordless_operator::aws::Clients::from_env(None)
        .await
        .unwrap();
    let account = by_hand.sts.get_caller_identity().send().await.unwrap();
    let arn = format!(
        "arn:aws:ses:{}:{}:identity/{address}",
        by_hand.ses.config().region().unwrap(),
        account.account().unwrap()
    );
    let tag = aws_sdk_sesv2::types::Tag::builder()
        .key(key)
        .value(value)
        .build()
        .unwrap();
    by_hand
        .ses
        .tag_resource()
        .resource_arn(arn)
        .tags(tag)
        .send()
        .await
        .unwrap();
}

pub mod behaviours;
pub mod cluster;
pub mod logs;
pub mod stack;
pub mod waf;

/// The `# Expect: <text>` lines of an invalid example's header comment (the comment lines
/// before the first line of YAML): what its refusal must say.
pub fn expected_refusals(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .take_while(|line| line.is_empty() || line.starts_with('#'))
        .filter_map(|line| line.trim_start_matches('#').trim().strip_prefix("Expect:"))
        .map(|expect| expect.trim().to_owned())
        .collect()
}

/// Server-side dry-run create of one manifest file, as `kubectl create --dry-run=server` does,
/// in the manifest's namespace (`default` when it names none).
pub async fn dry_run_create(
    client: &kube::Client,
    resource: &kube::core::ApiResource,
    path: &Path,
) -> Result<(), kube::Error> {
    let object: kube::api::DynamicObject = serde_yaml::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{}: not a Kubernetes object: {e}", path.display()));
    let namespace = object
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let api = kube::Api::<kube::api::DynamicObject>::namespaced_with(
        client.clone(),
        &namespace,
        resource,
    );
    let params = kube::api::PostParams {
        dry_run: true,
        field_manager: Some("passwordless-operator-tests".to_owned()),
    };
    api.create(&params, &object).await.map(drop)
}

/// Managed login as AWS reports it for a pool: its domains (prefix, custom), and for `client`
/// the OAuth flows, callback URLs and whether a style is assigned.
pub struct ManagedLoginSeen {
    pub domains: (Option<String>, Option<String>),
    pub domain_version: Option<i32>,
    pub flows: Vec<String>,
    pub callbacks: Vec<String>,
    pub styled: bool,
}

pub fn managed_login_of(pool_id: &str, client_id: &str) -> ManagedLoginSeen {
    let pool = describe_pool(pool_id).expect("the pool exists");
    let c = cognito(None);
    runtime().block_on(async {
        let domain_version = match pool.domain() {
            Some(d) => c
                .describe_user_pool_domain()
                .domain(d)
                .send()
                .await
                .unwrap()
                .domain_description()
                .and_then(|d| d.managed_login_version()),
            None => None,
        };
        let client = c
            .describe_user_pool_client()
            .user_pool_id(pool_id)
            .client_id(client_id)
            .send()
            .await
            .unwrap();
        let client = client.user_pool_client().unwrap();
        let styled = c
            .describe_managed_login_branding_by_client()
            .user_pool_id(pool_id)
            .client_id(client_id)
            .send()
            .await
            .is_ok();
        ManagedLoginSeen {
            domains: (
                pool.domain().map(str::to_owned),
                pool.custom_domain().map(str::to_owned),
            ),
            domain_version,
            flows: client
                .allowed_o_auth_flows()
                .iter()
                .map(|f| f.as_str().to_owned())
                .collect(),
            callbacks: client.callback_urls().to_vec(),
            styled,
        }
    })
}

/// Adds a prefix domain to a pool by hand, as someone in the console would (managed login
/// version 1: the classic hosted UI, Cognito's default).
pub fn add_domain_by_hand(pool_id: &str, prefix: &str) {
    let c = cognito(None);
    runtime().block_on(async {
        c.create_user_pool_domain()
            .user_pool_id(pool_id)
            .domain(prefix)
            .managed_login_version(1)
            .send()
            .await
            .unwrap();
    });
}

/// A pool's domains (prefix, custom) and its prefix domain's managed login version.
pub fn domains_of(pool_id: &str) -> ((Option<String>, Option<String>), Option<i32>) {
    let pool = describe_pool(pool_id).expect("the pool exists");
    let c = cognito(None);
    let version = runtime().block_on(async {
        let d = pool.domain()?;
        c.describe_user_pool_domain()
            .domain(d)
            .send()
            .await
            .unwrap()
            .domain_description()?
            .managed_login_version()
    });
    let names = (
        pool.domain().map(str::to_owned),
        pool.custom_domain().map(str::to_owned),
    );
    (names, version)
}
