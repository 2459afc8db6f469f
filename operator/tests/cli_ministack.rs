//! The CLI against the test bed's emulators: apply from scratch and sign in, zero writes when
//! in sync, field-precise updates, delete and retain, crashes after every step, adoption, and
//! (on moto, which resets omitted fields like AWS) full-configuration updates.
//! Run by `make test`; `cargo test` alone skips these.

#![allow(clippy::unwrap_used)] // test code: a panic is how a check fails

mod common;

use std::path::PathBuf;
use std::process::Command;

use passwordless_operator::names::{DEFAULT_CLUSTER_ID, StackNames};
use passwordless_operator::reconcile::CRASH_AFTER_ENV;

struct Pool {
    dir: PathBuf,
    namespace: String,
    name: String,
    manifest: PathBuf,
    state: PathBuf,
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
    reads: u64,
    writes: u64,
}

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("t{:x}{:x}", nanos % 0xffff_ffff, std::process::id())
}

impl Pool {
    /// The AWS names the CLI gives this pool (the default cluster).
    fn names(&self) -> StackNames {
        StackNames::new(DEFAULT_CLUSTER_ID, &self.namespace, &self.name)
    }

    fn new(spec: &str) -> Self {
        Self::named("test", &unique(), spec)
    }

    fn named(namespace: &str, name: &str, spec: &str) -> Self {
        // `_` is in neither a namespace nor a name: one directory per pool.
        let dir = std::env::temp_dir().join(format!("pwp-cli-{namespace}_{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let pool = Pool {
            manifest: dir.join("pool.yaml"),
            state: dir.join("state.json"),
            dir,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        pool.write(spec);
        pool
    }

    fn write(&self, spec: &str) {
        let manifest = format!(
            "apiVersion: passwordless-operator.dev/v1alpha1\nkind: PasswordlessPool\nmetadata: {{name: {}, namespace: {}}}\nspec:\n{}",
            self.name,
            self.namespace,
            spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
        );
        std::fs::write(&self.manifest, manifest).unwrap();
    }

    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let zip = common::trigger_zip();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_passwordless-operator"));
        cmd.args(args)
            .arg("-f")
            .arg(&self.manifest)
            .arg("--state")
            .arg(&self.state)
            .env("PWP_TRIGGER_ZIP", zip)
            .env("RUST_BACKTRACE", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let (reads, writes) = stderr
            .lines()
            .find_map(|l| {
                let rest = l.strip_prefix("AWS calls: ")?;
                let mut words = rest.split_whitespace();
                let reads = words.next()?.parse().ok()?;
                let writes = words.nth(1)?.parse().ok()?;
                Some((reads, writes))
            })
            .unwrap_or((0, 0));
        Run {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
            reads,
            writes,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }

    fn apply(&self) -> Run {
        let run = self.run(&["apply"]);
        assert!(run.ok, "apply failed:\n{}", run.stderr);
        run
    }

    /// Signs a new user up and in through the CLI (the emulator's mailbox gives the code or
    /// link); the address and the run.
    fn sign_up_new_user(&self) -> (String, Run) {
        let user = format!("{}@example.com", unique());
        let run = self.run(&[
            "signin",
            "--username",
            &user,
            "--sign-up",
            "--from-emulator",
        ]);
        (user, run)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

const MAGIC: &str = "strategy: magicLink
sender: {address: no-reply@example.com}
magicLink: {redirectUrls: ['https://app.example.com/cb']}
signUp: AutoConfirm
";

const NATIVE: &str = "strategy: native
sender: {address: no-reply@example.com}
native: {allowedFirstAuthFactors: [EMAIL_OTP]}
";

fn needs_testbed() {
    assert!(
        std::env::var_os("AWS_ENDPOINT_URL").is_some(),
        "needs the test bed; run by `make test`"
    );
}

#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn apply_from_scratch_signs_in_and_a_second_apply_writes_nothing() {
    needs_testbed();
    let pool = Pool::new(MAGIC);
    let first = pool.apply();
    assert!(
        first.stdout.contains("status: 'True'") && first.stdout.contains("reason: Ready"),
        "{}",
        first.stdout
    );
    for key in [
        "userPoolId:",
        "clientId:",
        "region:",
        "issuerUrl:",
        "jwksUrl:",
        "COGNITO_USER_POOL_ID:",
    ] {
        assert!(first.stdout.contains(key), "secret data lacks {key}");
    }
    eprintln!(
        "first apply: {} reads, {} writes",
        first.reads, first.writes
    );
    assert!(first.writes >= 7);

    let (user, signin) = pool.sign_up_new_user();
    assert!(signin.ok, "{}", signin.stderr);
    assert!(
        signin.stdout.contains(&format!("\"email\": \"{user}\"")),
        "{}",
        signin.stdout
    );

    let again = pool.apply();
    assert_eq!(
        again.writes, 0,
        "an in-sync pool costs zero mutating calls:\n{}",
        again.stderr
    );
    eprintln!(
        "steady-state apply: {} reads, {} writes",
        again.reads, again.writes
    );
    assert!(pool.run(&["plan"]).stdout.contains("No changes"));
    assert!(pool.run(&["delete"]).ok);
}

#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn ttl_template_and_attempt_limit_change_only_the_lambda_configuration() {
    needs_testbed();
    let pool = Pool::new(MAGIC);
    pool.apply();
    pool.write(
        &format!("{MAGIC}attemptLimit: 2\nemail: {{subject: 'Your link to {{{{appName}}}}'}}\n")
            .replace(
                "redirectUrls: ['https://app.example.com/cb']}",
                "redirectUrls: ['https://app.example.com/cb'], ttlSeconds: 300}",
            ),
    );
    let plan = pool.run(&["plan"]).stdout;
    let resources: Vec<&str> = plan
        .lines()
        .filter(|l| l.starts_with(['+', '~', '-']))
        .collect();
    assert_eq!(
        resources,
        vec![format!("~ lambda function {}", pool.names().function)],
        "{plan}"
    );
    for field in [
        "PWP_LINK_TTL_SECONDS: 600 -> 300",
        "PWP_ATTEMPT_LIMIT: 1 -> 2",
        "+ environment.PWP_EMAIL_SUBJECT: Your link to {{appName}}",
    ] {
        assert!(plan.contains(field), "{field} missing from:\n{plan}");
    }
    let applied = pool.apply();
    assert_eq!(
        applied.writes, 3,
        "UpdateFunctionConfiguration, then the probe (Invoke) and its verified tag:\n{}",
        applied.stderr
    );
    let (_, signin) = pool.sign_up_new_user();
    assert!(signin.ok, "{}", signin.stderr);
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let mail = passwordless_operator::signin::emulator_get(&endpoint, "/_ministack/ses/messages")
        .unwrap()
        .to_string();
    assert!(
        mail.contains("Your link to your account"),
        "the next email uses the new subject"
    );
    assert!(pool.run(&["delete"]).ok);
}

#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn delete_removes_everything_and_retain_keeps_it() {
    needs_testbed();
    let pool = Pool::new(MAGIC);
    pool.apply();
    let deleted = pool.run(&["delete"]);
    assert!(
        deleted.ok
            && deleted
                .stdout
                .contains("Plan: 0 to create, 0 to update, 7 to delete."),
        "{}",
        deleted.stdout
    );
    let after = pool.run(&["plan"]).stdout;
    assert!(
        after.contains("Plan: 7 to create"),
        "everything but the shared sender identity is gone:\n{after}"
    );

    let kept = Pool::new(&format!("{MAGIC}deletionPolicy: Retain\n"));
    kept.apply();
    let retained = kept.run(&["delete"]);
    assert!(
        retained.ok && retained.stdout.contains("Retain"),
        "{}",
        retained.stdout
    );
    assert_eq!(retained.writes, 0);
    assert!(
        kept.run(&["plan"]).stdout.contains("No changes"),
        "Retain kept every resource"
    );
    // Switching to Delete later removes it, deletion protection included.
    kept.write(MAGIC);
    let removed = kept.run(&["delete"]);
    assert!(removed.ok, "{}", removed.stderr);
    assert!(kept.run(&["plan"]).stdout.contains("Plan: 7 to create"));
}

#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn a_crash_after_any_step_of_a_first_apply_resumes_without_duplicates() {
    needs_testbed();
    let steps = [
        "iam role",
        "dynamodb table",
        "lambda function",
        "cognito user pool",
        "lambda permission",
        "cognito app client",
    ];
    for step in steps {
        let pool = Pool::new(MAGIC);
        let crashed = pool.run_with(&["apply"], &[(CRASH_AFTER_ENV, step)]);
        assert!(
            !crashed.ok && crashed.stderr.contains("aborting on purpose"),
            "{step}: {}",
            crashed.stderr
        );
        let resumed = pool.apply();
        assert!(
            resumed.stdout.contains("reason: Ready"),
            "{step}: {}",
            resumed.stdout
        );
        let (pools, clients) = common::count_pools_and_clients(&pool.names().user_pool);
        assert_eq!(
            (pools, clients),
            (1, 1),
            "exactly one pool and one client after a crash after {step}"
        );
        assert!(pool.run(&["delete"]).ok);
    }
}

/// The state file names a pool someone deleted by hand: the next apply makes exactly one new
/// pool and client (the id it learns in the first pass feeds the next), not one per pass.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn a_recorded_pool_deleted_by_hand_is_recreated_once() {
    needs_testbed();
    let pool = Pool::new(MAGIC);
    pool.apply();
    let state: serde_json::Value = serde_json::from_str(&common::read(&pool.state)).unwrap();
    common::delete_pool_out_of_band(state["userPoolId"].as_str().unwrap());
    let again = pool.apply();
    assert!(again.stdout.contains("reason: Ready"), "{}", again.stdout);
    assert_eq!(
        common::count_pools_and_clients(&pool.names().user_pool),
        (1, 1)
    );
    assert!(pool.run(&["delete"]).ok);
}

#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn an_existing_pool_is_adopted_not_recreated() {
    needs_testbed();
    let existing = common::create_bare_pool(&format!("legacy-{}", unique()));
    let pool = Pool::new(&format!("{MAGIC}adopt: {{userPoolId: {existing}}}\n"));
    let plan = pool.run(&["plan"]).stdout;
    assert!(
        plan.contains("~ cognito user pool"),
        "adoption updates the pool in place:\n{plan}"
    );
    assert!(!plan.contains("+ cognito user pool"), "{plan}");
    let applied = pool.apply();
    assert!(
        applied.stdout.contains(&format!("userPoolId: {existing}")),
        "{}",
        applied.stdout
    );
    assert_eq!(pool.apply().writes, 0);
}

#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn on_moto_a_spec_change_keeps_every_trigger_on_the_pool() {
    needs_testbed();
    let moto = std::env::var("PWP_MOTO_ENDPOINT_URL").expect("the test bed's moto endpoint");
    let pool = Pool::new(MAGIC);
    let env = [("AWS_ENDPOINT_URL", moto.as_str())];
    // moto cannot run a Lambda function, so the operator's probe of the trigger fails there and
    // the apply ends TriggerUnhealthy; everything else still converges, which is what this checks.
    let moto_cannot_invoke = |run: &Run| {
        assert!(
            run.ok || run.stderr.contains("the trigger function does not start"),
            "{}",
            run.stderr
        );
    };
    moto_cannot_invoke(&pool.run_with(&["apply"], &env));
    // A pool-level change (tags) and a trigger-level one.
    pool.write(&format!(
        "{MAGIC}attemptLimit: 3\ntags: {{team: identity}}\n"
    ));
    moto_cannot_invoke(&pool.run_with(&["apply"], &env));
    let state: serde_json::Value = serde_json::from_str(&common::read(&pool.state)).unwrap();
    let id = state["userPoolId"]
        .as_str()
        .expect("the pool id is recorded")
        .to_owned();
    let triggers = common::lambda_triggers_on(&moto, &id);
    assert_eq!(triggers, 5, "UpdateUserPool carried the whole LambdaConfig");
}

/// A tenancy file for the CLI, as the platform team would write it.
fn tenancy_file(dir: &std::path::Path, yaml: &str) -> String {
    let path = dir.join("tenancy.yaml");
    std::fs::write(&path, yaml).unwrap();
    path.display().to_string()
}

/// An attacker in another namespace names the victim's pool (its id is public: it is in every
/// ID token's `iss`). Refused by the owner tags, and nothing changes; deleting the attacker's
/// object leaves the victim's pool.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn a_foreign_pool_cannot_be_adopted_and_survives_the_attackers_delete() {
    needs_testbed();
    let u = unique();
    let victim = Pool::named(&format!("victim-{u}"), "web", MAGIC);
    let applied = victim.apply();
    let state: serde_json::Value = serde_json::from_str(&common::read(&victim.state)).unwrap();
    let victim_pool = state["userPoolId"].as_str().unwrap().to_owned();
    let before = common::pool_facts(&victim_pool).expect("the victim's pool");
    let attacker = Pool::named(
        &format!("attacker-{u}"),
        "web",
        &format!("{MAGIC}adopt: {{userPoolId: {victim_pool}}}\n"),
    );
    for verb in ["plan", "apply"] {
        let refused = attacker.run(&[verb]);
        assert!(!refused.ok, "{verb}: {}", refused.stdout);
        assert!(
            refused
                .stderr
                .contains(&format!("belongs to default/victim-{u}/web")),
            "{verb}: {}",
            refused.stderr
        );
    }
    assert_eq!(common::pool_facts(&victim_pool), Some(before.clone()));
    assert_eq!(
        common::count_pools_and_clients(&attacker.names().user_pool),
        (0, 0)
    );
    // With the platform team's rules, the attacker's namespace may adopt nothing: refused
    // before any AWS call (the endpoint here answers nothing).
    let rules = tenancy_file(
        &attacker.dir,
        "defaults: {senders: {domains: [example.com]}}\n",
    );
    let offline = attacker.run_with(
        &["apply"],
        &[
            ("PWP_TENANCY_CONFIG", &rules),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
    );
    assert!(!offline.ok);
    assert!(
        offline.stderr.contains(&format!(
            "namespace attacker-{u} may not adopt user pool {victim_pool}"
        )),
        "{}",
        offline.stderr
    );
    let deleted = attacker.run(&["delete"]);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert_eq!(common::pool_facts(&victim_pool), Some(before));
    assert!(applied.stdout.contains("reason: Ready"));
    assert!(victim.run(&["delete"]).ok);
}

/// Adopting a pool made by hand: allowed where the platform team lists it; the pool keeps its
/// tags and deletion protection, and deleting the object never deletes the pool. A pool with a
/// setting an update would reset (Cognito's default password policy) is refused, named.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn an_adopted_pool_is_listed_kept_and_never_deleted() {
    needs_testbed();
    let u = unique();
    let hand_made = common::create_pool_by_hand(&format!("legacy-{u}"), true);
    let pool = Pool::named(
        &format!("team-{u}"),
        "web",
        &format!("{MAGIC}adopt: {{userPoolId: {hand_made}}}\n"),
    );
    let rules = tenancy_file(
        &pool.dir,
        &format!(
            "defaults: {{senders: {{domains: [example.com]}}}}\nnamespaces:\n  team-{u}: {{adoptablePoolIds: [{hand_made}]}}\n"
        ),
    );
    let env = [("PWP_TENANCY_CONFIG", rules.as_str())];
    let applied = pool.run_with(&["apply"], &env);
    assert!(applied.ok, "{}", applied.stderr);
    assert!(
        applied.stdout.contains("the user pool is adopted"),
        "{}",
        applied.stdout
    );
    let (trigger, protection, tags) = common::pool_facts(&hand_made).unwrap();
    assert!(trigger.is_some_and(|t| t.ends_with(&pool.names().function)));
    assert_eq!(protection, "INACTIVE", "the pool's own setting, kept");
    assert_eq!(tags["passwordless-operator.dev/adopted"], "true");
    let deleted = pool.run_with(&["delete"], &env);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert!(deleted.stdout.contains("kept"), "{}", deleted.stdout);
    assert!(
        common::pool_facts(&hand_made).is_some(),
        "an adopted pool is never deleted"
    );

    let defaults = common::create_pool_by_hand(&format!("legacy-default-{u}"), false);
    let refused = Pool::named(
        &format!("team-{u}"),
        "other",
        &format!("{MAGIC}adopt: {{userPoolId: {defaults}}}\n"),
    )
    .run(&["apply"]);
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("an update would reset: Policies.PasswordPolicy"),
        "{}",
        refused.stderr
    );
}

/// (`team`, `a-web`) and (`team-a`, `web`) once shared every AWS name: now each gets its own
/// resources, and applying one leaves the other alone.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn pools_whose_names_used_to_collide_get_distinct_resources() {
    needs_testbed();
    let u = unique();
    let first = Pool::named(&format!("team{u}"), "a-web", MAGIC);
    let second = Pool::named(&format!("team{u}-a"), "web", MAGIC);
    assert_ne!(first.names().function, second.names().function);
    first.apply();
    second.apply();
    let id = |p: &Pool| -> String {
        let state: serde_json::Value = serde_json::from_str(&common::read(&p.state)).unwrap();
        state["userPoolId"].as_str().unwrap().to_owned()
    };
    assert_ne!(id(&first), id(&second));
    assert_eq!(
        common::username_case_sensitive(&id(&first)),
        Some(false),
        "new pools are created case-insensitive"
    );
    assert_eq!(
        first.apply().writes,
        0,
        "the second pool changed nothing of the first"
    );
    assert!(first.run(&["delete"]).ok);
    assert_eq!(
        second.apply().writes,
        0,
        "deleting the first left the second whole"
    );
    assert!(second.run(&["delete"]).ok);
}

/// A sender the platform team did not allow for the namespace is refused, naming the field and
/// the setting, before any AWS call.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn a_disallowed_sender_is_refused_before_any_aws_call() {
    needs_testbed();
    let pool = Pool::named(
        &format!("team-{}", unique()),
        "web",
        &MAGIC.replace("no-reply@example.com", "ceo@bank.example.net"),
    );
    let rules = tenancy_file(&pool.dir, "defaults: {senders: {domains: [example.com]}}\n");
    let refused = pool.run_with(
        &["apply"],
        &[
            ("PWP_TENANCY_CONFIG", &rules),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
        ],
    );
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("spec.sender.address: namespace team-")
            && refused
                .stderr
                .contains("may not send as ceo@bank.example.net"),
        "{}",
        refused.stderr
    );
    assert!(!pool.state.exists(), "nothing written");
}

/// The platform team maps a namespace to another AWS account: its pools land there (the
/// operator assumes the mapped role with its external id); an unmapped namespace stays in the
/// operator's account, and cannot adopt or even see the other account's pool.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn a_mapped_namespace_lives_in_its_own_account_and_cannot_be_reached_from_another() {
    needs_testbed();
    let u = unique();
    let (team_a, team_b) = (format!("team-a-{u}"), format!("team-b-{u}"));
    let a = Pool::named(&team_a, "web", MAGIC);
    // Pools are created before the ids exist, so team-b's adoption list names a pool id below.
    let rules = |adoptable: &str| {
        format!(
            "defaults: {{senders: {{domains: [example.com]}}}}
namespaces:
  {team_a}: {{aws: {{roleArn: 'arn:aws:iam::111111111111:role/passwordless-{team_a}', externalId: shared-{u}}}}}
  {team_b}: {{adoptablePoolIds: [{adoptable}]}}
"
        )
    };
    let file = tenancy_file(&a.dir, &rules("none"));
    let env = [("PWP_TENANCY_CONFIG", file.as_str())];
    // The trigger role's boundary is the one in team-a's account, by the same name.
    let planned = a.run_with(&["plan"], &env);
    assert!(
        planned.stdout.contains(
            "+ permissionsBoundary: arn:aws:iam::111111111111:policy/passwordless-operator-trigger-boundary"
        ),
        "{}{}",
        planned.stdout,
        planned.stderr
    );
    let applied = a.run_with(&["apply"], &env);
    assert!(applied.ok, "{}", applied.stderr);
    assert!(
        applied.stdout.contains("userPoolArn: arn:aws:cognito-idp:")
            && applied.stdout.contains(":111111111111:userpool/"),
        "team-a's pool is in its account:\n{}",
        applied.stdout
    );
    let state: serde_json::Value = serde_json::from_str(&common::read(&a.state)).unwrap();
    let a_pool = state["userPoolId"].as_str().unwrap().to_owned();
    assert_eq!(
        common::pool_facts(&a_pool),
        None,
        "the operator's own account does not hold team-a's pool"
    );

    let b = Pool::named(
        &team_b,
        "web",
        &format!("{MAGIC}adopt: {{userPoolId: {a_pool}}}\n"),
    );
    let file = tenancy_file(&b.dir, &rules(&a_pool));
    let env_b = [("PWP_TENANCY_CONFIG", file.as_str())];
    let refused = b.run_with(&["apply"], &env_b);
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains(&format!(
            "{a_pool} does not exist in this account and region"
        )),
        "{}",
        refused.stderr
    );
    let b = Pool::named(&team_b, "plain", MAGIC);
    let applied = b.run_with(&["apply"], &env_b);
    assert!(applied.ok, "{}", applied.stderr);
    assert!(
        !applied.stdout.contains(":111111111111:"),
        "team-b stays in the operator's account:\n{}",
        applied.stdout
    );
    assert!(b.run_with(&["delete"], &env_b).ok);
    let deleted = a.run_with(&["delete"], &env);
    assert!(deleted.ok, "{}", deleted.stderr);
}

/// `rateLimit` puts a WAF web ACL with a per-IP rate-based rule in front of the pool: created
/// and associated, its limit updated in place, associated again when found detached, and
/// removed with `rateLimit` even when a deletion interrupted after detaching it left it so.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn a_rate_limit_puts_a_web_acl_in_front_of_the_pool() {
    needs_testbed();
    let pool = Pool::new(&format!(
        "{MAGIC}rateLimit: {{requestsPerFiveMinutes: 300}}\n"
    ));
    let applied = pool.apply();
    let arn = applied
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("userPoolArn: "))
        .expect("the status names the pool's ARN")
        .to_owned();
    assert_eq!(
        common::web_acl_for(&arn),
        Some((pool.names().web_acl, vec![300])),
        "associated, with the spec's limit"
    );
    assert_eq!(pool.apply().writes, 0, "in sync: nothing to write");
    pool.write(&format!(
        "{MAGIC}rateLimit: {{requestsPerFiveMinutes: 100}}\n"
    ));
    let plan = pool.run(&["plan"]).stdout;
    assert!(plan.contains("rateLimit: 300 -> 100"), "{plan}");
    pool.apply();
    assert_eq!(
        common::web_acl_for(&arn).map(|(_, limits)| limits),
        Some(vec![100])
    );
    // Detached (a create interrupted before associating): found by the recorded ARN, associated.
    common::detach_web_acl(&arn);
    assert!(pool.apply().ok);
    assert_eq!(
        common::web_acl_for(&arn).map(|(_, limits)| limits),
        Some(vec![100])
    );
    // Detached again (a deletion interrupted before deleting it), then `rateLimit` dropped: the
    // detached ACL is still found, and deleted.
    common::detach_web_acl(&arn);
    pool.write(MAGIC);
    let dropped = pool.apply();
    assert!(
        dropped.stderr.contains("- wafv2 web acl"),
        "{}",
        dropped.stderr
    );
    assert!(!common::web_acl_exists(&pool.names().web_acl), "deleted");
    let deleted = pool.run(&["delete"]);
    assert!(deleted.ok, "{}", deleted.stderr);
}

/// A pool in a China region. ministack takes `cn-north-1` but answers in the standard partition,
/// as every emulator does (its caller identity is `arn:aws:iam::…`): the operator writes its ARNs
/// in the caller identity's partition, so the pool converges there, web ACL association and
/// trigger included. On AWS the same code writes `arn:aws-cn:` (see desired::tests).
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn a_china_region_pool_converges_in_the_caller_identitys_partition() {
    needs_testbed();
    let pool = Pool::new(&format!(
        "{MAGIC}region: cn-north-1\nrateLimit: {{requestsPerFiveMinutes: 100}}\n"
    ));
    let applied = pool.apply();
    assert!(
        applied.stdout.contains("reason: Ready"),
        "{}",
        applied.stdout
    );
    let emulators = "arn:aws:";
    for (key, service) in [("userPoolArn", "cognito-idp"), ("webAclArn", "wafv2")] {
        let arn = output(&applied, key).unwrap_or_default();
        assert!(
            arn.starts_with(&format!("{emulators}{service}:cn-north-1:")),
            "{key}: {arn}"
        );
    }
    let (_, signin) = pool.sign_up_new_user();
    assert!(signin.ok, "{}", signin.stderr);
    // The association and the trigger's invoke permission name the pool as the operator does.
    let again = pool.apply();
    assert_eq!(again.writes, 0, "in sync:\n{}", again.stderr);
    let deleted = pool.run(&["delete"]);
    assert!(deleted.ok, "{}", deleted.stderr);
}

/// Domains carry no tags: only those the operator made (named in its pool tag) are its to
/// change or delete. A domain added by hand to the operator's pool, or an adopted pool's own,
/// is left as it is, and a spec that would need it changed is refused, naming it.
#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn domains_the_operator_did_not_make_are_never_changed_or_deleted() {
    needs_testbed();
    let native = NATIVE;
    let login = |prefix: &str| {
        format!(
            "{native}managedLogin:\n  domainPrefix: {prefix}\n  callbackUrls: ['https://app.example.com/cb']\n"
        )
    };

    // The operator's pool, with a domain added by hand (say, before managed login was in the spec).
    let pool = Pool::new(native);
    let pool_id = output(&pool.apply(), "userPoolId").unwrap().to_owned();
    let by_hand = format!("hand-{}", unique());
    common::add_domain_by_hand(&pool_id, &by_hand);
    assert_eq!(pool.apply().writes, 0, "a hand-made domain is not drift");
    assert_eq!(
        common::domains_of(&pool_id),
        ((Some(by_hand.clone()), None), Some(1))
    );
    // Another prefix would need it gone (one prefix domain per pool): refused, nothing written.
    pool.write(&login(&format!("pwp-{}", unique())));
    let refused = pool.run(&["apply"]);
    assert!(
        !refused.ok
            && refused
                .stderr
                .contains(&format!("already has the domain {by_hand}")),
        "{}",
        refused.stderr
    );
    assert_eq!(
        common::domains_of(&pool_id),
        ((Some(by_hand.clone()), None), Some(1))
    );
    // Named by the spec of the operator's own pool, it is taken over (and then managed).
    pool.write(&login(&by_hand));
    pool.apply();
    assert_eq!(
        common::domains_of(&pool_id),
        ((Some(by_hand.clone()), None), Some(2))
    );
    pool.write(native);
    pool.apply();
    assert_eq!(
        common::domains_of(&pool_id).0,
        (None, None),
        "taken over, so removed with the spec"
    );
    assert!(pool.run(&["delete"]).ok);

    // An adopted pool's own domain: never switched to managed login's version 2, never deleted.
    let existing = common::create_bare_pool(&format!("legacy-{}", unique()));
    let theirs = format!("theirs-{}", unique());
    common::add_domain_by_hand(&existing, &theirs);
    let adopt = format!("adopt: {{userPoolId: {existing}}}\n");
    let adopted = Pool::new(&format!("{}{adopt}", login(&theirs)));
    let refused = adopted.run(&["apply"]);
    assert!(
        !refused.ok
            && refused
                .stderr
                .contains(&format!("domain {theirs} was not made by the operator"))
            && refused.stderr.contains("managedLoginVersion: 1 (spec: 2)"),
        "{}",
        refused.stderr
    );
    adopted.write(&format!("{native}{adopt}"));
    adopted.apply();
    assert_eq!(
        common::domains_of(&existing),
        ((Some(theirs.clone()), None), Some(1))
    );
    // Once adopted, always: the spec dropping `adopt` does not make the domain the operator's.
    adopted.write(native);
    adopted.apply();
    assert_eq!(
        common::domains_of(&existing),
        ((Some(theirs), None), Some(1))
    );
}

fn output<'a>(run: &'a Run, key: &str) -> Option<&'a str> {
    run.stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
}

#[test]
#[ignore = "needs the test bed; run by `make test`"]
fn managed_login_gets_a_domain_a_style_and_the_code_flow_and_loses_them_cleanly() {
    needs_testbed();
    let native = NATIVE;
    // Prefixes are unique per region across accounts: one per run.
    let prefix = format!("pwp-{}", unique());
    let login = |prefix: &str, callback: &str| {
        format!(
            "{native}managedLogin:\n  domainPrefix: {prefix}\n  callbackUrls: ['{callback}', 'https://app.example.com/cb']\n  logoutUrls: ['http://localhost:3000/']\n"
        )
    };
    let pool = Pool::new(&login(&prefix, "http://localhost:3000/auth/managed"));
    let applied = pool.apply();
    let (pool_id, client_id) = (
        output(&applied, "userPoolId").unwrap().to_owned(),
        output(&applied, "clientId").unwrap().to_owned(),
    );
    let seen = common::managed_login_of(&pool_id, &client_id);
    assert_eq!(seen.domains, (Some(prefix.clone()), None));
    assert_eq!(
        seen.domain_version,
        Some(2),
        "managed login, not the classic hosted UI"
    );
    assert_eq!(
        seen.flows,
        vec!["code"],
        "the code flow only: no implicit grant"
    );
    assert!(seen.styled, "a client without a style gets an error page");
    assert_eq!(
        output(&applied, "managedLoginDomain"),
        Some(format!("{prefix}.auth.us-east-1.amazoncognito.com").as_str())
    );
    let sign_in = output(&applied, "signInUrl").unwrap();
    assert!(
        sign_in.contains("/oauth2/authorize?client_id=")
            && sign_in.contains("response_type=code")
            && sign_in.ends_with("redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fauth%2Fmanaged"),
        "{sign_in}"
    );
    assert!(
        output(&applied, "tokenEndpoint")
            .unwrap()
            .ends_with("/oauth2/token")
    );
    let sign_out = output(&applied, "signOutUrl").unwrap();
    assert!(
        sign_out.contains(&format!("/logout?client_id={client_id}&"))
            && sign_out.ends_with("logout_uri=http%3A%2F%2Flocalhost%3A3000%2F"),
        "{sign_out}"
    );
    assert_eq!(output(&applied, "PASSWORDLESS_STRATEGY"), Some("native"));
    assert_eq!(pool.apply().writes, 0, "in sync: nothing to write");

    // A new prefix replaces the domain (a name cannot change); a new callback updates the client.
    let renamed = format!("{prefix}-2");
    pool.write(&login(&renamed, "http://localhost:3001/auth/managed"));
    let plan = pool.run(&["plan"]).stdout;
    assert!(
        plan.contains(&format!("domain: {prefix} -> {renamed}")),
        "{plan}"
    );
    pool.apply();
    let seen = common::managed_login_of(&pool_id, &client_id);
    assert_eq!(seen.domains, (Some(renamed.clone()), None));
    assert!(
        seen.callbacks
            .contains(&"http://localhost:3001/auth/managed".to_owned())
    );
    assert_eq!(pool.apply().writes, 0);

    // Managed login off: domain and style go, the client loses its OAuth settings.
    pool.write(native);
    let off = pool.apply();
    assert_eq!(output(&off, "signInUrl"), None, "{}", off.stdout);
    let seen = common::managed_login_of(&pool_id, &client_id);
    assert_eq!(seen.domains, (None, None));
    assert!(seen.flows.is_empty() && seen.callbacks.is_empty() && !seen.styled);
    assert_eq!(pool.apply().writes, 0);

    // Back on, then deleted: the domain goes before the pool (AWS refuses it otherwise).
    pool.write(&login(&prefix, "http://localhost:3000/auth/managed"));
    pool.apply();
    let deleted = pool.run(&["delete"]);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert!(
        deleted.stdout.contains("- cognito user pool domain")
            && deleted.stdout.contains("- cognito managed login style"),
        "{}",
        deleted.stdout
    );
    assert!(
        common::username_case_sensitive(&pool_id).is_none(),
        "the pool is gone"
    );
}
