//! Pure: what was observed in AWS plus what is desired gives the changes to make, resource by
//! resource and field by field. This is what `plan` prints and what `apply` carries out.

use std::fmt;

use crate::desired::{DesiredStack, Fields};
use crate::observed::ObservedStack;

/// The AWS resources of one pool, in the order they are created (deleted in reverse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    SenderIdentity,
    ExecutionRole,
    StateTable,
    TriggerFunction,
    UserPool,
    InvokePermission,
    AppClient,
}

impl Resource {
    pub fn label(self) -> &'static str {
        match self {
            Self::SenderIdentity => "ses identity",
            Self::ExecutionRole => "iam role",
            Self::StateTable => "dynamodb table",
            Self::TriggerFunction => "lambda function",
            Self::UserPool => "cognito user pool",
            Self::InvokePermission => "lambda permission",
            Self::AppClient => "cognito app client",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: String,
    /// None when the resource does not exist yet.
    pub from: Option<String>,
    /// None when the resource goes away.
    pub to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub resource: Resource,
    pub name: String,
    pub action: Action,
    pub fields: Vec<FieldChange>,
}

/// Every change one apply would make; empty when AWS already matches the spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn change(&self, resource: Resource) -> Option<&Change> {
        self.changes.iter().find(|c| c.resource == resource)
    }
}

/// The fields that differ between what exists and what is wanted.
pub fn field_changes(
    observed: Option<&impl Fields>,
    desired: Option<&impl Fields>,
) -> Vec<FieldChange> {
    let before = observed.map(Fields::fields).unwrap_or_default();
    let after = desired.map(Fields::fields).unwrap_or_default();
    let value = |list: &[(String, String)], field: &str| {
        list.iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.clone())
    };
    let mut names: Vec<&String> = before.iter().chain(after.iter()).map(|(f, _)| f).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter_map(|field| {
            let (from, to) = (value(&before, field), value(&after, field));
            let unchanged = from == to
                || (from.as_deref().unwrap_or("").is_empty()
                    && to.as_deref().unwrap_or("").is_empty());
            (!unchanged).then(|| FieldChange {
                field: field.clone(),
                from: observed.and(from),
                to: desired.and(to),
            })
        })
        .collect()
}

fn push(
    plan: &mut Plan,
    resource: Resource,
    name: &str,
    observed: Option<&impl Fields>,
    desired: Option<&impl Fields>,
) {
    let action = match (observed.is_some(), desired.is_some()) {
        (false, true) => Action::Create,
        (true, false) => Action::Delete,
        (true, true) => Action::Update,
        (false, false) => return,
    };
    let fields = field_changes(observed, desired);
    if action == Action::Update && fields.is_empty() {
        return;
    }
    plan.changes.push(Change {
        resource,
        name: name.to_owned(),
        action,
        fields,
    });
}

/// A resource without managed fields (the SES identity): it exists, or it does not.
struct Exists;
impl Fields for Exists {
    fn fields(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// The changes that take `observed` to `desired`.
pub fn plan(observed: &ObservedStack, desired: &DesiredStack) -> Plan {
    let mut p = Plan::default();
    let identity = desired
        .sender
        .as_ref()
        .map(|s| s.identity.clone())
        .or(observed.sender.as_ref().map(|s| s.identity.clone()));
    if let Some(identity) = identity {
        // A sender identity may serve other pools: it is created when missing, never deleted
        // by a change of spec.
        if observed.sender.is_none() && desired.sender.is_some() {
            push(
                &mut p,
                Resource::SenderIdentity,
                &identity,
                None::<&Exists>,
                Some(&Exists),
            );
        }
    }
    push(
        &mut p,
        Resource::ExecutionRole,
        &desired.names.role,
        observed.role.as_ref(),
        desired.role.as_ref(),
    );
    push(
        &mut p,
        Resource::StateTable,
        &desired.names.table,
        observed.table.as_ref(),
        desired.table.as_ref(),
    );
    push(
        &mut p,
        Resource::TriggerFunction,
        &desired.names.function,
        observed.function.as_ref(),
        desired.function.as_ref(),
    );
    push(
        &mut p,
        Resource::UserPool,
        &desired.names.user_pool,
        observed.user_pool.as_ref(),
        Some(&desired.user_pool),
    );
    push(
        &mut p,
        Resource::InvokePermission,
        &desired.names.function,
        observed.permission.as_ref(),
        desired.permission.as_ref(),
    );
    push(
        &mut p,
        Resource::AppClient,
        &desired.names.client,
        observed.client.as_ref(),
        Some(&desired.client),
    );
    p
}

/// The changes `delete` makes: everything the pool owns, in reverse order of creation. The
/// sender identity is left alone (it may serve other pools and needed a human to verify it).
pub fn deletion_plan(observed: &ObservedStack, desired: &DesiredStack) -> Plan {
    let mut p = Plan::default();
    push(
        &mut p,
        Resource::AppClient,
        &desired.names.client,
        observed.client.as_ref(),
        None::<&Exists>,
    );
    push(
        &mut p,
        Resource::InvokePermission,
        &desired.names.function,
        observed.permission.as_ref(),
        None::<&Exists>,
    );
    push(
        &mut p,
        Resource::UserPool,
        &desired.names.user_pool,
        observed.user_pool.as_ref(),
        None::<&Exists>,
    );
    push(
        &mut p,
        Resource::TriggerFunction,
        &desired.names.function,
        observed.function.as_ref(),
        None::<&Exists>,
    );
    push(
        &mut p,
        Resource::StateTable,
        &desired.names.table,
        observed.table.as_ref(),
        None::<&Exists>,
    );
    push(
        &mut p,
        Resource::ExecutionRole,
        &desired.names.role,
        observed.role.as_ref(),
        None::<&Exists>,
    );
    p
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(f, "No changes: AWS matches the manifest.");
        }
        for change in &self.changes {
            let sign = match change.action {
                Action::Create => "+",
                Action::Update => "~",
                Action::Delete => "-",
            };
            writeln!(f, "{sign} {} {}", change.resource.label(), change.name)?;
            for field in &change.fields {
                match (&field.from, &field.to) {
                    (None, Some(to)) => writeln!(f, "    + {}: {to}", field.field)?,
                    (Some(from), None) => writeln!(f, "    - {}: {from}", field.field)?,
                    (Some(from), Some(to)) => writeln!(f, "    ~ {}: {from} -> {to}", field.field)?,
                    (None, None) => {}
                }
            }
        }
        let count = |a: Action| self.changes.iter().filter(|c| c.action == a).count();
        writeln!(
            f,
            "Plan: {} to create, {} to update, {} to delete.",
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::PasswordlessPoolSpec;
    use crate::desired::tests::ctx;
    use crate::desired::{SenderConfig, desired_stack};
    use crate::names::StackNames;
    use crate::observed::SenderObserved;

    const BASE: &str = "strategy: magicLink
sender: {address: no-reply@example.com}
magicLink: {redirectUrls: ['https://app.example.com/cb']}
";

    fn desired(yaml: &str) -> DesiredStack {
        let spec: PasswordlessPoolSpec = serde_yaml::from_str(yaml).unwrap();
        desired_stack(&spec, &StackNames::new("shop", "checkout"), &ctx()).unwrap()
    }

    /// AWS exactly as `desired` wants it.
    fn in_sync(d: &DesiredStack) -> ObservedStack {
        ObservedStack {
            sender: d
                .sender
                .as_ref()
                .map(|SenderConfig { identity }| SenderObserved {
                    identity: identity.clone(),
                    verification_status: "Success".into(),
                }),
            role: d.role.clone(),
            table: d.table.clone(),
            function: d.function.clone(),
            permission: d.permission.clone(),
            user_pool: Some(d.user_pool.clone()),
            client: Some(d.client.clone()),
            ids: Default::default(),
        }
    }

    fn changed(plan: &Plan) -> Vec<(Resource, String)> {
        plan.changes
            .iter()
            .flat_map(|c| c.fields.iter().map(move |f| (c.resource, f.field.clone())))
            .collect()
    }

    #[test]
    fn from_nothing_everything_is_created_in_dependency_order() {
        let d = desired(BASE);
        let p = plan(&ObservedStack::default(), &d);
        let order: Vec<Resource> = p.changes.iter().map(|c| c.resource).collect();
        assert_eq!(
            order,
            vec![
                Resource::SenderIdentity,
                Resource::ExecutionRole,
                Resource::StateTable,
                Resource::TriggerFunction,
                Resource::UserPool,
                Resource::InvokePermission,
                Resource::AppClient
            ]
        );
        assert!(p.changes.iter().all(|c| c.action == Action::Create));
        assert!(
            p.to_string()
                .contains("Plan: 7 to create, 0 to update, 0 to delete.")
        );
    }

    #[test]
    fn an_in_sync_stack_needs_nothing() {
        let d = desired(BASE);
        let p = plan(&in_sync(&d), &d);
        assert!(p.is_empty(), "{p}");
        assert_eq!(p.to_string(), "No changes: AWS matches the manifest.\n");
    }

    #[test]
    fn each_spec_field_changes_exactly_its_aws_fields() {
        let before = desired(BASE);
        let observed = in_sync(&before);
        let fun = Resource::TriggerFunction;
        let pool = Resource::UserPool;
        let client = Resource::AppClient;
        let env = |k: &str| format!("environment.{k}");
        use passwordless_triggers::config::vars;
        let cases: Vec<(&str, Vec<(Resource, String)>)> = vec![
            (
                "magicLink: {redirectUrls: ['https://app.example.com/cb'], ttlSeconds: 600}",
                vec![(fun, env(vars::LINK_TTL_SECONDS))],
            ),
            (
                "magicLink: {redirectUrls: ['https://app.example.com/cb'], minIntervalSeconds: 5}",
                vec![(fun, env(vars::MIN_INTERVAL_SECONDS))],
            ),
            (
                "magicLink: {redirectUrls: ['https://other.example.com/cb']}",
                vec![(fun, env(vars::REDIRECT_URLS))],
            ),
            ("otp: {length: 8}", vec![(fun, env(vars::OTP_LENGTH))]),
            (
                "otp: {ttlSeconds: 120}",
                vec![(fun, env(vars::OTP_TTL_SECONDS))],
            ),
            ("attemptLimit: 2", vec![(fun, env(vars::ATTEMPT_LIMIT))]),
            (
                "email: {subject: 'Hi {{appName}}'}",
                vec![(fun, env(vars::EMAIL_SUBJECT))],
            ),
            ("email: {appName: Shop}", vec![(fun, env(vars::APP_NAME))]),
            (
                "signUp: AutoConfirm",
                vec![
                    (fun, env(vars::SIGN_UP)),
                    (
                        pool,
                        "adminCreateUserConfig.allowAdminCreateUserOnly".into(),
                    ),
                ],
            ),
            (
                "deletionPolicy: Retain",
                vec![(pool, "deletionProtection".into())],
            ),
            ("tags: {team: identity}", vec![(pool, "tags.team".into())]),
            (
                "client: {accessTokenValidityMinutes: 15}",
                vec![(client, "accessTokenValidity".into())],
            ),
            (
                "client: {idTokenValidityMinutes: 15}",
                vec![(client, "idTokenValidity".into())],
            ),
            (
                "client: {refreshTokenValidityDays: 7}",
                vec![(client, "refreshTokenValidity".into())],
            ),
            (
                "client: {authSessionValidityMinutes: 10}",
                vec![(client, "authSessionValidity".into())],
            ),
        ];
        for (patch, expected) in cases {
            // Later keys replace earlier ones, so a patch rewrites one section of BASE.
            let key = patch.split(':').next().unwrap();
            let base: String = BASE
                .lines()
                .filter(|l| !l.starts_with(&format!("{key}:")))
                .map(|l| format!("{l}\n"))
                .collect();
            let after = desired(&format!("{base}{patch}\n"));
            let got = changed(&plan(&observed, &after));
            assert_eq!(got, expected, "patch {patch}");
        }
    }

    #[test]
    fn switching_to_email_codes_deletes_the_state_table_only() {
        let before = desired(BASE);
        let after = desired("strategy: emailOtp\nsender: {address: no-reply@example.com}\n");
        let p = plan(&in_sync(&before), &after);
        let table = p.change(Resource::StateTable).expect("table change");
        assert_eq!(table.action, Action::Delete);
        let actions: Vec<(Resource, Action)> =
            p.changes.iter().map(|c| (c.resource, c.action)).collect();
        assert_eq!(
            actions,
            vec![
                (Resource::ExecutionRole, Action::Update),
                (Resource::StateTable, Action::Delete),
                (Resource::TriggerFunction, Action::Update)
            ]
        );
    }

    #[test]
    fn a_new_code_zip_updates_only_the_code() {
        let before = desired(BASE);
        let mut after = before.clone();
        after.function.as_mut().unwrap().code_sha256 = "bmV3".into();
        assert_eq!(
            changed(&plan(&in_sync(&before), &after)),
            vec![(Resource::TriggerFunction, "codeSha256".to_owned())]
        );
    }

    #[test]
    fn deletion_removes_everything_but_the_sender_in_reverse_order() {
        let d = desired(BASE);
        let p = deletion_plan(&in_sync(&d), &d);
        let order: Vec<Resource> = p.changes.iter().map(|c| c.resource).collect();
        assert_eq!(
            order,
            vec![
                Resource::AppClient,
                Resource::InvokePermission,
                Resource::UserPool,
                Resource::TriggerFunction,
                Resource::StateTable,
                Resource::ExecutionRole
            ]
        );
        assert!(p.changes.iter().all(|c| c.action == Action::Delete));
    }

    #[test]
    fn the_printed_plan_never_shows_signing_keys() {
        let p = plan(&ObservedStack::default(), &desired(BASE));
        let shown = p.to_string();
        assert!(!shown.contains("MDEyMzQ1"), "{shown}");
        assert!(shown.contains("+ environment.PWP_SIGNING_KEYS: (sensitive, sha256:"));
    }
}
