//! The controller's test harness: the test bed's apiserver (as admin for setup, as the
//! unprivileged `operator` user for the operator itself), the chart's RBAC, and operator
//! processes started from the built binary.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config, CustomResourceExt};
use passwordless_operator::crd::PasswordlessPool;
use passwordless_operator::status::ready_of;

use super::{read, repo_file, trigger_zip};

/// The operator's own namespace in the tests: the Leases, and no Secret access.
pub const OPERATOR_NAMESPACE: &str = "pwp-system";
/// Where the signing-key Secrets live (`--keys-namespace`), as the chart keeps them apart.
pub const KEYS_NAMESPACE: &str = "pwp-system-keys";
/// The test bed's unprivileged token user the operator runs as.
pub const OPERATOR_USER: &str = "operator";
const MANAGER: &str = "passwordless-operator-tests";

fn needs(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is unset: these tests need the test bed; run them with `make test`")
    })
}

pub async fn admin() -> Client {
    needs("KUBECONFIG");
    Client::try_default()
        .await
        .expect("the admin kubeconfig works")
}

/// A client with the operator's own (RBAC-limited) credentials.
pub async fn as_operator() -> Client {
    let path = needs("PWP_OPERATOR_KUBECONFIG");
    let kubeconfig = kube::config::Kubeconfig::read_from(path).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

/// A fresh namespace name: `<prefix>-<random>`.
pub fn unique(prefix: &str) -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

async fn apply<K>(api: &Api<K>, name: &str, object: &K)
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {name}: {e}"));
}

pub async fn create_namespace(admin: &Client, name: &str) {
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
    }))
    .unwrap();
    apply(&Api::all(admin.clone()), name, &ns).await;
}

fn rbac_file<K: serde::de::DeserializeOwned>(name: &str) -> K {
    serde_yaml::from_str(&read(&repo_file(&format!(
        "charts/passwordless-operator/rbac/{name}"
    ))))
    .unwrap()
}

/// The CRD, the operator and keys namespaces, and the chart's RBAC bound to the operator user
/// as the chart binds it when watching listed namespaces: the ClusterRole cluster-wide, the
/// Lease Role in the operator namespace, the keys Role in the keys namespace, and the
/// output-Secret ClusterRole only in each of `watched` namespaces (created here).
pub async fn prepare(admin: &Client, watched: &[&str]) {
    let crds: Api<CustomResourceDefinition> = Api::all(admin.clone());
    apply(
        &crds,
        PasswordlessPool::crd_name(),
        &PasswordlessPool::crd(),
    )
    .await;
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(
            crds,
            PasswordlessPool::crd_name(),
            conditions::is_crd_established(),
        ),
    )
    .await
    .unwrap()
    .unwrap();
    create_namespace(admin, OPERATOR_NAMESPACE).await;
    create_namespace(admin, KEYS_NAMESPACE).await;
    let cluster_role: ClusterRole = rbac_file("clusterrole.yaml");
    let secrets_role: ClusterRole = rbac_file("clusterrole-output-secrets.yaml");
    let cluster_roles: Api<ClusterRole> = Api::all(admin.clone());
    for r in [&cluster_role, &secrets_role] {
        apply(&cluster_roles, r.metadata.name.as_deref().unwrap(), r).await;
    }
    for (file, namespace) in [
        ("role.yaml", OPERATOR_NAMESPACE),
        ("role-keys.yaml", KEYS_NAMESPACE),
    ] {
        let role: Role = rbac_file(file);
        let roles: Api<Role> = Api::namespaced(admin.clone(), namespace);
        apply(&roles, role.metadata.name.as_deref().unwrap(), &role).await;
    }
    let subject = serde_json::json!([{
        "apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": OPERATOR_USER
    }]);
    let binding: ClusterRoleBinding = serde_json::from_value(serde_json::json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "passwordless-operator"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "passwordless-operator"},
        "subjects": subject,
    }))
    .unwrap();
    apply(&Api::all(admin.clone()), "passwordless-operator", &binding).await;
    let role_binding = |namespace: &str, kind: &str, role: &str| -> RoleBinding {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": role, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
            "subjects": subject,
        }))
        .unwrap()
    };
    for (namespace, role) in [
        (OPERATOR_NAMESPACE, "passwordless-operator"),
        (KEYS_NAMESPACE, "passwordless-operator-keys"),
    ] {
        let b = role_binding(namespace, "Role", role);
        apply(&Api::namespaced(admin.clone(), namespace), role, &b).await;
    }
    for ns in watched {
        create_namespace(admin, ns).await;
        let b = role_binding(ns, "ClusterRole", "passwordless-operator-output-secrets");
        apply(
            &Api::namespaced(admin.clone(), ns),
            "passwordless-operator-output-secrets",
            &b,
        )
        .await;
    }
}

/// A magic-link pool (the demo example) renamed into `namespace`, with extra spec fields.
pub fn magic_link_pool(namespace: &str, name: &str, extra: serde_json::Value) -> PasswordlessPool {
    let mut pool: serde_json::Value =
        serde_yaml::from_str(&read(&repo_file("examples/magic-link.yaml"))).unwrap();
    pool["metadata"] = serde_json::json!({"name": name, "namespace": namespace});
    if let serde_json::Value::Object(fields) = extra {
        for (k, v) in fields {
            pool["spec"][k] = v;
        }
    }
    serde_json::from_value(pool).unwrap()
}

/// Applies a pool as a person with kubectl would (server-side apply, own field manager).
pub async fn apply_pool(admin: &Client, pool: &PasswordlessPool) {
    let api: Api<PasswordlessPool> =
        Api::namespaced(admin.clone(), pool.metadata.namespace.as_deref().unwrap());
    let mut body = serde_json::to_value(pool).unwrap();
    body.as_object_mut().unwrap().remove("status");
    api.patch(
        pool.metadata.name.as_deref().unwrap(),
        &PatchParams::apply("kubectl"),
        &Patch::Apply(body),
    )
    .await
    .unwrap();
}

/// Polls `check` every 250 ms until it returns `Some`, or panics after `limit` saying `what`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> (T, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return (v, started.elapsed());
        }
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub async fn get_pool(admin: &Client, namespace: &str, name: &str) -> Option<PasswordlessPool> {
    Api::<PasswordlessPool>::namespaced(admin.clone(), namespace)
        .get_opt(name)
        .await
        .unwrap()
}

/// The pool once `Ready` is True for its current generation.
pub async fn ready_pool(
    admin: &Client,
    namespace: &str,
    name: &str,
    limit: Duration,
) -> (PasswordlessPool, Duration) {
    eventually(&format!("{namespace}/{name} Ready"), limit, || async {
        let pool = get_pool(admin, namespace, name).await?;
        let status = pool.status.as_ref()?;
        let ready = ready_of(Some(status))?;
        (ready.status == "True" && status.observed_generation == pool.metadata.generation)
            .then_some(pool)
    })
    .await
}

pub async fn get_secret(client: &Client, namespace: &str, name: &str) -> Option<Secret> {
    Api::<Secret>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .unwrap()
}

/// The tenancy rules the controller tests run under: every namespace may send from the test
/// domains; nothing may be adopted.
/// (`dkim.example.com` is one test's own whole-domain identity: its verification is played.)
pub const TEST_TENANCY: &str = "defaults:
  senders:
    domains: [example.com, shop.example.com, portal.example.com, dkim.example.com]
";

/// One operator process, run as the `operator` user; killed when dropped.
pub struct Operator {
    child: Child,
    pub log: PathBuf,
    pub http_port: u16,
    pub identity: String,
}

pub struct OperatorArgs<'a> {
    pub namespaces: &'a [&'a str],
    pub lease: &'a str,
    pub resync_seconds: u64,
    pub env: &'a [(&'a str, &'a str)],
}

/// GET a path of an operator's HTTP endpoint at `port`; `None` while it does not answer.
pub async fn http_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .ok()?;
    let mut response = String::new();
    conn.read_to_string(&mut response).await.ok()?;
    Some(response)
}

impl Operator {
    pub fn start(identity: &str, args: &OperatorArgs<'_>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!("{identity}.log"));
        let file = std::fs::File::create(&log).unwrap();
        // The platform team's rules the tests run under, unless a test brings its own.
        let tenancy = std::env::temp_dir().join(format!("{identity}-tenancy.yaml"));
        std::fs::write(&tenancy, TEST_TENANCY).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_passwordless-operator"));
        cmd.args(["run", "--namespaces", &args.namespaces.join(",")])
            .env("PWP_TENANCY_CONFIG", &tenancy)
            .args(["--operator-namespace", OPERATOR_NAMESPACE])
            .args(["--keys-namespace", KEYS_NAMESPACE])
            .args(["--lease-name", args.lease, "--lease-seconds", "6"])
            .args(["--resync-seconds", &args.resync_seconds.to_string()])
            .args(["--http-addr", &format!("127.0.0.1:{port}")])
            .args(["--identity", identity])
            .env("KUBECONFIG", needs("PWP_OPERATOR_KUBECONFIG"))
            .env("PWP_TRIGGER_ZIP", trigger_zip())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (k, v) in args.env {
            cmd.env(k, v);
        }
        Self {
            child: cmd.spawn().expect("the operator binary starts"),
            log,
            http_port: port,
            identity: identity.to_owned(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET a path of the operator's HTTP endpoint; `None` while it does not answer.
    pub async fn get(&self, path: &str) -> Option<String> {
        http_get(self.http_port, path).await
    }

    /// A sample's value from /metrics (0 when absent).
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self.get("/metrics").await.unwrap_or_default();
        text.lines()
            .filter(|l| l.starts_with(sample) && l[sample.len()..].starts_with(' '))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    pub async fn is_leader(&self) -> bool {
        self.metric("passwordless_operator_leader").await == 1.0
    }

    /// Exit status, if the process ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().unwrap()
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as Kubernetes stops a pod; the exit status once it ended.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        let (status, _) = eventually(
            "the operator exits after SIGTERM",
            Duration::from_secs(20),
            || {
                let status = self.child.try_wait().unwrap();
                async move { status }
            },
        )
        .await;
        status
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A fresh watched namespace (RBAC and CRD in place) and an operator leading in it.
pub async fn with_operator(prefix: &str, resync_seconds: u64) -> (Client, String, Operator) {
    let admin = admin().await;
    let namespace = unique(prefix);
    prepare(&admin, &[&namespace]).await;
    let op = Operator::start(
        &unique(&format!("op-{prefix}")),
        &OperatorArgs {
            namespaces: &[&namespace],
            lease: &unique("lease"),
            resync_seconds,
            env: &[],
        },
    );
    eventually("the operator leads", Duration::from_secs(30), || async {
        op.is_leader().await.then_some(())
    })
    .await;
    (admin, namespace, op)
}

/// Creates a Secret as an application team would (admin credentials).
pub async fn create_secret(admin: &Client, namespace: &str, name: &str, value: &str) {
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "stringData": {"password": value},
    }))
    .unwrap();
    Api::<Secret>::namespaced(admin.clone(), namespace)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

/// The app client's access-token validity, as AWS has it.
pub async fn access_token_validity(
    c: &passwordless_operator::aws::Clients,
    pool: &str,
    client: &str,
) -> i32 {
    c.cognito
        .describe_user_pool_client()
        .user_pool_id(pool)
        .client_id(client)
        .send()
        .await
        .unwrap()
        .user_pool_client()
        .unwrap()
        .access_token_validity()
        .unwrap_or_default()
}

/// Deletes a pool as a person would (the operator's finalizer then runs).
pub async fn delete_pool(admin: &Client, namespace: &str, name: &str) {
    Api::<PasswordlessPool>::namespaced(admin.clone(), namespace)
        .delete(name, &kube::api::DeleteParams::default())
        .await
        .unwrap();
}

/// Waits until the pool is gone (its finalizer released); how long that took.
pub async fn gone(admin: &Client, namespace: &str, name: &str, limit: Duration) -> Duration {
    eventually(&format!("{namespace}/{name} deleted"), limit, || async {
        get_pool(admin, namespace, name)
            .await
            .is_none()
            .then_some(())
    })
    .await
    .1
}

/// Whether AWS still has the user pool.
pub async fn user_pool_exists(c: &passwordless_operator::aws::Clients, id: &str) -> bool {
    match c.cognito.describe_user_pool().user_pool_id(id).send().await {
        Ok(_) => true,
        Err(e) => {
            use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
            assert_eq!(e.code(), Some("ResourceNotFoundException"), "{e:?}");
            false
        }
    }
}
