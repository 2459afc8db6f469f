//! Pure: what was observed in AWS plus what is desired gives the changes to make, resource by
//! resource and field by field. This is what `plan` prints and what `apply` carries out. The
//! resources and their order are the caller's list (`crate::stack::STACK`), seen only as
//! [`Resource`]s.

use std::fmt;

use crate::desired::DesiredStack;
use crate::observed::{ObservedStack, SenderObserved};
use crate::resource::{self, FieldList, Resource, labels};

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
    /// The resource's label, e.g. `iam role`.
    pub resource: &'static str,
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

    pub fn change(&self, resource: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.resource == resource)
    }
}

/// The fields that differ between what exists and what is wanted.
pub fn field_changes(
    observed: Option<&FieldList>,
    desired: Option<&FieldList>,
) -> Vec<FieldChange> {
    let empty = FieldList::new();
    let before = observed.unwrap_or(&empty);
    let after = desired.unwrap_or(&empty);
    let value = |list: &FieldList, field: &str| {
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
            let (from, to) = (value(before, field), value(after, field));
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

/// The change that takes one resource from `observed` to `desired` fields, if any.
fn change(
    resource: &(impl Resource + ?Sized),
    name: String,
    observed: Option<FieldList>,
    desired: Option<FieldList>,
) -> Option<Change> {
    let action = match (observed.is_some(), desired.is_some()) {
        (false, true) => Action::Create,
        (true, false) => Action::Delete,
        (true, true) => Action::Update,
        (false, false) => return None,
    };
    let fields = field_changes(observed.as_ref(), desired.as_ref());
    if action == Action::Update && fields.is_empty() {
        return None;
    }
    Some(Change {
        resource: resource.label(),
        name,
        action,
        fields,
    })
}

/// The changes that take `observed` to `desired`, in the order of `resources`. A kept resource
/// (the sender identity) is created when missing, never deleted by a change of spec.
pub fn plan<R: Resource + ?Sized>(
    resources: &[&R],
    observed: &ObservedStack,
    desired: &DesiredStack,
) -> Plan {
    changes(resources.iter(), observed, desired, |r| {
        let wanted = r.desired(desired);
        (!(r.kept() && wanted.is_none())).then_some(wanted)
    })
}

/// The changes `delete` makes: everything the pool owns, in reverse order of `resources`; kept
/// resources are left alone.
pub fn deletion_plan<R: Resource + ?Sized>(
    resources: &[&R],
    observed: &ObservedStack,
    desired: &DesiredStack,
) -> Plan {
    changes(resources.iter().rev(), observed, desired, |r| {
        (!r.kept()).then_some(None)
    })
}

/// The change of each resource in `order` that `wanted` plans for (`None`: left out; `Some`
/// of its desired fields, or of `None` to delete it).
fn changes<'r, R: Resource + ?Sized + 'r>(
    order: impl Iterator<Item = &'r &'r R>,
    observed: &ObservedStack,
    desired: &DesiredStack,
    wanted: impl Fn(&R) -> Option<Option<FieldList>>,
) -> Plan {
    let changes = order
        .filter_map(|r| {
            let wanted = wanted(*r)?;
            let name = r.name(&desired.names, desired);
            change(*r, name, r.observed(observed), wanted)
        })
        .collect();
    Plan { changes }
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
            writeln!(f, "{sign} {} {}", change.resource, change.name)?;
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

/// Cognito refuses a user pool that sends its own email (native EMAIL_OTP: `DEVELOPER`, as
/// the SES identity) while that identity is not verified. Until it is, the pool's change and,
/// if the pool does not exist yet, everything that names it wait: the pass ends with the
/// sender's status (`SenderNotVerified`), not with an AWS error.
pub fn hold_for_sender<R: Resource + ?Sized>(
    resources: &[&R],
    pass: &mut Plan,
    observed: &ObservedStack,
    desired: &DesiredStack,
) {
    let sends_as_sender = desired.user_pool.email_sending_account == "DEVELOPER";
    let verified = observed
        .sender
        .as_ref()
        .is_some_and(SenderObserved::verified);
    if !sends_as_sender || verified {
        return;
    }
    let pool_exists = observed.ids.user_pool_id.is_some();
    pass.changes.retain(|change| {
        let resource = resource::by_label(resources, change.resource);
        change.resource != labels::USER_POOL
            && (pool_exists || !resource.is_some_and(|r| r.needs_pool_id()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::STACK;

    // The plan of the operator's own list, as `reconcile` makes it.
    fn plan(o: &ObservedStack, d: &DesiredStack) -> Plan {
        super::plan(&STACK, o, d)
    }
    fn deletion_plan(o: &ObservedStack, d: &DesiredStack) -> Plan {
        super::deletion_plan(&STACK, o, d)
    }
    fn hold_for_sender(pass: &mut Plan, o: &ObservedStack, d: &DesiredStack) {
        super::hold_for_sender(&STACK, pass, o, d)
    }
    use crate::desired::tests::facts;
    use crate::desired::{SenderConfig, desired_stack};
    use crate::names::StackNames;
    use crate::observed::{SenderObserved, WebAclObserved};
    use crate::stack::labels;

    const BASE: &str = "strategy: magicLink
sender: {address: no-reply@example.com}
magicLink: {redirectUrls: ['https://app.example.com/cb']}
";

    fn desired(yaml: &str) -> DesiredStack {
        desired_stack(
            &crate::desired::tests::spec(yaml),
            &StackNames::new("default", "shop", "checkout"),
            &facts(),
        )
        .unwrap()
    }

    /// AWS exactly as `desired` wants it.
    fn in_sync(d: &DesiredStack) -> ObservedStack {
        ObservedStack {
            sender: d
                .sender
                .as_ref()
                .map(|SenderConfig { identity, .. }| SenderObserved {
                    identity: identity.clone(),
                    verification_status: "Success".into(),
                    dkim_tokens: Vec::new(),
                    ..Default::default()
                }),
            role: d.role.clone(),
            table: d.table.clone(),
            keys_secret: d.keys_secret.clone(),
            function: d.function.clone(),
            permission: d.permission.clone(),
            user_pool: Some(d.user_pool.clone()),
            client: Some(d.client.clone()),
            pool_domains: Default::default(),
            domain: d.domain.clone(),
            operator_domains: d.domain.iter().map(|d| d.domain.clone()).collect(),
            login_style: d.login_style.as_ref().map(|_| "style".into()),
            web_acl: d.web_acl.clone().map(|config| WebAclObserved {
                config,
                id: "id".into(),
                arn: "arn".into(),
            }),
            ids: Default::default(),
        }
    }

    /// The changed fields, but the function's verified digest, which follows every function
    /// change (see `a_function_change_asks_for_a_new_probe`).
    fn changed(plan: &Plan) -> Vec<(&'static str, String)> {
        plan.changes
            .iter()
            .flat_map(|c| c.fields.iter().map(move |f| (c.resource, f.field.clone())))
            .filter(|(_, f)| f != "verifiedConfig")
            .collect()
    }

    #[test]
    fn a_function_change_asks_for_a_new_probe() {
        let before = desired(BASE);
        let after = desired(&BASE.replace("cb']}", "cb'], ttlSeconds: 300}"));
        let change = plan(&in_sync(&before), &after);
        let fields: Vec<&str> = change.changes[0]
            .fields
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(
            fields,
            vec!["environment.PWP_LINK_TTL_SECONDS", "verifiedConfig"]
        );
        let mut unverified = in_sync(&before);
        unverified.function.as_mut().unwrap().verified = None;
        let probe_only = plan(&unverified, &before);
        assert_eq!(changed(&probe_only), vec![]);
        assert_eq!(probe_only.changes[0].fields[0].field, "verifiedConfig");
    }

    #[test]
    fn from_nothing_everything_is_created_in_dependency_order() {
        let d = desired(BASE);
        let p = plan(&ObservedStack::default(), &d);
        let order: Vec<&str> = p.changes.iter().map(|c| c.resource).collect();
        assert_eq!(
            order,
            vec![
                labels::SENDER_IDENTITY,
                labels::EXECUTION_ROLE,
                labels::STATE_TABLE,
                labels::KEYS_SECRET,
                labels::TRIGGER_FUNCTION,
                labels::USER_POOL,
                labels::INVOKE_PERMISSION,
                labels::APP_CLIENT
            ]
        );
        assert!(p.changes.iter().all(|c| c.action == Action::Create));
        assert!(
            p.to_string()
                .contains("Plan: 8 to create, 0 to update, 0 to delete.")
        );
    }

    #[test]
    fn an_in_sync_stack_needs_nothing() {
        let d = desired(BASE);
        let p = plan(&in_sync(&d), &d);
        assert!(p.is_empty(), "{p}");
        assert_eq!(p.to_string(), "No changes: AWS matches the manifest.\n");
    }

    /// An expired link due again is the sender identity's one update (SES sends the new link
    /// when it is created again), shown as such in the plan; one not due is no change.
    #[test]
    fn an_expired_sender_link_due_again_is_an_update_of_the_identity() {
        let d = desired(BASE);
        let mut o = in_sync(&d);
        let sender = o.sender.as_mut().unwrap();
        sender.verification_status = "Failed".into();
        assert!(plan(&o, &d).is_empty(), "not due: nothing to do");
        o.sender.as_mut().unwrap().resend_due = true;
        let p = plan(&o, &d);
        assert_eq!(p.changes.len(), 1, "{p}");
        let change = &p.changes[0];
        assert_eq!(
            (change.resource, &change.action, change.name.as_str()),
            (
                labels::SENDER_IDENTITY,
                &Action::Update,
                "no-reply@example.com"
            )
        );
        assert!(p.to_string().contains("expired"), "{p}");
    }

    #[test]
    fn each_spec_field_changes_exactly_its_aws_fields() {
        let before = desired(BASE);
        let observed = in_sync(&before);
        let fun = labels::TRIGGER_FUNCTION;
        let pool = labels::USER_POOL;
        let client = labels::APP_CLIENT;
        let env = |k: &str| format!("environment.{k}");
        use passwordless_contract::env as vars;
        let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
            (
                "magicLink: {redirectUrls: ['https://app.example.com/cb'], ttlSeconds: 300}",
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
    fn switching_to_email_codes_keeps_the_state_table_and_changes_the_function() {
        let before = desired(BASE);
        let after = desired("strategy: emailOtp\nsender: {address: no-reply@example.com}\n");
        let p = plan(&in_sync(&before), &after);
        let actions: Vec<(&str, Action)> =
            p.changes.iter().map(|c| (c.resource, c.action)).collect();
        assert_eq!(actions, vec![(labels::TRIGGER_FUNCTION, Action::Update)]);
    }

    #[test]
    fn switching_to_native_removes_every_trigger_resource() {
        let before = desired(BASE);
        let after = desired(
            "strategy: native\nsender: {address: no-reply@example.com}\nnative: {allowedFirstAuthFactors: [EMAIL_OTP]}\n",
        );
        let p = plan(&in_sync(&before), &after);
        for gone in [
            labels::EXECUTION_ROLE,
            labels::STATE_TABLE,
            labels::KEYS_SECRET,
            labels::TRIGGER_FUNCTION,
            labels::INVOKE_PERMISSION,
        ] {
            assert_eq!(
                p.change(gone).map(|c| c.action),
                Some(Action::Delete),
                "{gone}"
            );
        }
    }

    #[test]
    fn a_new_code_zip_updates_only_the_code() {
        let before = desired(BASE);
        let mut after = before.clone();
        after.function.as_mut().unwrap().code_sha256 = "bmV3".into();
        assert_eq!(
            changed(&plan(&in_sync(&before), &after)),
            vec![(labels::TRIGGER_FUNCTION, "codeSha256".to_owned())]
        );
    }

    #[test]
    fn deletion_removes_everything_but_the_sender_in_reverse_order() {
        let d = desired(BASE);
        let p = deletion_plan(&in_sync(&d), &d);
        let order: Vec<&str> = p.changes.iter().map(|c| c.resource).collect();
        assert_eq!(
            order,
            vec![
                labels::APP_CLIENT,
                labels::INVOKE_PERMISSION,
                labels::USER_POOL,
                labels::TRIGGER_FUNCTION,
                labels::KEYS_SECRET,
                labels::STATE_TABLE,
                labels::EXECUTION_ROLE
            ]
        );
        assert!(p.changes.iter().all(|c| c.action == Action::Delete));
    }

    #[test]
    fn the_printed_plan_never_shows_signing_keys() {
        let p = plan(&ObservedStack::default(), &desired(BASE));
        let shown = p.to_string();
        assert!(!shown.contains("MDEyMzQ1"), "{shown}");
        assert!(shown.contains("+ keysDigest: sha256:"), "{shown}");
        assert!(!shown.contains("PWP_SIGNING_KEYS="), "{shown}");
    }

    /// Native EMAIL_OTP sends as the SES identity: until it is verified, Cognito refuses the
    /// pool, so the pool and what names it wait, and the rest goes on.
    #[test]
    fn a_native_email_pool_waits_for_its_sender() {
        let native = "strategy: native
sender: {address: no-reply@example.com}
native: {allowedFirstAuthFactors: [EMAIL_OTP]}
";
        let d = desired(native);
        let labels_of = |p: &Plan| p.changes.iter().map(|c| c.resource).collect::<Vec<_>>();
        let with_sender = |status: Option<&str>, pool: bool| {
            let mut o = ObservedStack {
                sender: status.map(|s| SenderObserved {
                    identity: "no-reply@example.com".into(),
                    verification_status: s.into(),
                    dkim_tokens: Vec::new(),
                    ..Default::default()
                }),
                ..Default::default()
            };
            if pool {
                o.ids.user_pool_id = Some("us-east-1_x".into());
                o.user_pool = Some(d.user_pool.clone());
                o.user_pool.as_mut().unwrap().name = "renamed".into();
            }
            o
        };
        for (status, pool, held) in [
            (None, false, true),
            (Some("Pending"), false, true),
            (Some("Failed"), true, true),
            (Some("Success"), false, false),
        ] {
            let o = with_sender(status, pool);
            let mut pass = plan(&o, &d);
            let before = labels_of(&pass);
            hold_for_sender(&mut pass, &o, &d);
            let after = labels_of(&pass);
            assert_eq!(
                !after.contains(&labels::USER_POOL),
                held,
                "{status:?}: {after:?}"
            );
            if held && !pool {
                assert!(!after.contains(&labels::APP_CLIENT), "{after:?}");
            }
            if !held {
                assert_eq!(before, after);
            }
            assert_eq!(
                after.contains(&labels::SENDER_IDENTITY),
                before.contains(&labels::SENDER_IDENTITY),
                "the sender itself is never held"
            );
        }
        // A pool sending through Cognito's own email is never held.
        let link = desired(BASE);
        let o = ObservedStack::default();
        let mut pass = plan(&o, &link);
        let before = labels_of(&pass);
        hold_for_sender(&mut pass, &o, &link);
        assert_eq!(before, labels_of(&pass));
    }
}
