//! The platform team's rules for each namespace (`--tenancy-config`): which senders its pools
//! may send as, which existing user pools they may adopt, and which AWS account they live in.
//! Pure: parsing and decisions. Every check runs before any AWS call, and a namespace can only
//! get what the platform team wrote here for it.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use serde::Deserialize;

use crate::crd::SenderIdentity;
use crate::desired::TriggerBoundary;
use crate::names::DEFAULT_CLUSTER_ID;
use crate::validate::ValidatedSpec;

/// What the platform team set for the whole operator: the cluster's id (in every AWS name and
/// owner tag), the rules per namespace and the trigger roles' permissions boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub cluster_id: String,
    pub tenancy: Tenancy,
    /// The permissions boundary every trigger role carries (`--trigger-permissions-boundary`).
    pub trigger_boundary: TriggerBoundary,
}

impl Platform {
    /// The CLI without a tenancy file, and the tests.
    pub fn trusting() -> Self {
        Self {
            cluster_id: DEFAULT_CLUSTER_ID.to_owned(),
            tenancy: Tenancy::trusting(),
            trigger_boundary: TriggerBoundary::default(),
        }
    }
}

/// The whole file. Unknown keys are refused, so a misspelt rule is not silently ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenancy {
    /// What happens to pools of namespaces that `namespaces` maps to no account (not listed,
    /// or listed without `aws`).
    #[serde(default)]
    pub unmapped_namespaces: Unmapped,
    /// What every namespace may use.
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub namespaces: BTreeMap<String, NamespaceRules>,
    /// Not from the file: the CLI without a tenancy file trusts its user, who holds the AWS
    /// credentials anyway: any sender, any untagged pool to adopt.
    #[serde(skip)]
    pub trust_all: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Unmapped {
    /// The operator's own credentials.
    #[default]
    OperatorAccount,
    /// Refused: every namespace must be mapped to an account.
    Refuse,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Defaults {
    #[serde(default)]
    pub senders: Senders,
    /// The shortest per-user send interval a pool may set (`spec.limits.minIntervalSeconds`):
    /// every unmapped namespace sends through the operator's account, so one pool's floodgate
    /// would spend everyone's SES reputation and SNS budget.
    #[serde(default)]
    pub min_send_interval_seconds: Option<u32>,
    /// Regions every namespace's pools may name in `spec.region` (data residency, the regions
    /// the platform team monitors). Empty here and for a namespace: any region.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// Sender addresses a namespace may use, exactly, and domains any of whose addresses it may use
/// (and which it may verify as a whole-domain identity).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Senders {
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceRules {
    #[serde(default)]
    pub senders: Senders,
    /// User pools this namespace's pools may name in `spec.adopt.userPoolId`.
    #[serde(default)]
    pub adoptable_pool_ids: Vec<String>,
    /// Host names this namespace's pools may serve managed login at
    /// (`spec.managedLogin.customDomain`): exact, or `*.suffix` for any host under the suffix.
    /// The certificates are the account's, so an unlisted host could take over another team's.
    #[serde(default)]
    pub custom_domains: Vec<String>,
    /// The account this namespace's pools live in.
    #[serde(default)]
    pub aws: Option<AccountRole>,
    /// Regions this namespace's pools may name in `spec.region`, besides `defaults.regions`.
    #[serde(default)]
    pub regions: Vec<String>,
}

/// A role the operator assumes for a namespace's pools, as ACK's cross-account mapping does.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountRole {
    pub role_arn: String,
    /// Sent with AssumeRole; the role's trust policy should require it.
    #[serde(default)]
    pub external_id: Option<String>,
}

/// The external id is a shared secret between the platform team and the role's trust policy.
impl std::fmt::Debug for AccountRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRole")
            .field("role_arn", &self.role_arn)
            .field("external_id", &self.external_id.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// What STS's AssumeRole takes (`RoleArn`, `ExternalId`), as the chart's values.schema.json
/// states it too.
pub mod patterns {
    /// An IAM role ARN in any partition, with an optional path.
    pub const ROLE_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$";
    /// STS's `externalIdType`: 2 to 1,224 of these characters (`\w` is ASCII in STS's Java
    /// pattern, so it is spelt out).
    pub const EXTERNAL_ID: &str = r"^[A-Za-z0-9_+=,.@:/-]*$";
    pub const EXTERNAL_ID_LENGTH: (usize, usize) = (2, 1224);
    /// STS's limit on `RoleArn`.
    pub const ROLE_ARN_MAX: usize = 2048;
}

static ROLE_ARN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(patterns::ROLE_ARN).expect("a valid pattern"));
static EXTERNAL_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(patterns::EXTERNAL_ID).expect("a valid pattern"));

impl AccountRole {
    /// What STS would refuse, named by field; the external id is never shown.
    fn check(&self) -> Result<(), InvalidRole> {
        if self.role_arn.len() > patterns::ROLE_ARN_MAX || !ROLE_ARN.is_match(&self.role_arn) {
            return Err(InvalidRole::NotARoleArn(self.role_arn.clone()));
        }
        // The operator's credential may rewrite, delete and pass to Lambda every role named
        // like its trigger roles (the published policy's `role/pwp-*`).
        let path_and_name = self.role_arn.split_once(":role/").map_or("", |(_, r)| r);
        if path_and_name.starts_with(crate::names::NAME_PREFIX) {
            return Err(InvalidRole::NamedLikeTriggerRoles(self.role_arn.clone()));
        }
        if let Some(id) = &self.external_id {
            let (min, max) = patterns::EXTERNAL_ID_LENGTH;
            let n = id.chars().count();
            if !(min..=max).contains(&n) {
                return Err(InvalidRole::ExternalIdLength(n));
            }
            if !EXTERNAL_ID.is_match(id) {
                return Err(InvalidRole::ExternalIdCharacters);
            }
        }
        Ok(())
    }

    /// The 12-digit account id inside the role ARN.
    pub fn account_id(&self) -> Option<&str> {
        let account = self.role_arn.split(':').nth(4)?;
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
    }
}

/// Where a namespace's pools live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Operator,
    /// The mapped role, assumed under a session name that names the namespace
    /// ([`session_name`]), so the tenant account's CloudTrail says whose pools a call was for.
    Assumed {
        role: AccountRole,
        session: String,
    },
}

/// STS's limit on `RoleSessionName`.
const SESSION_NAME_MAX: usize = 64;

/// `pwp-<namespace>`; a namespace too long for STS's 64 characters is cut and a hash of the
/// whole keeps two such namespaces apart. Namespaces hold only what STS takes (`[a-z0-9-]`).
pub fn session_name(namespace: &str) -> String {
    let whole = format!("pwp-{namespace}");
    if whole.len() <= SESSION_NAME_MAX {
        return whole;
    }
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(namespace.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{hash}", &whole[..SESSION_NAME_MAX - 1 - hash.len()])
}

/// A rule the platform team did not grant. The message names the spec field and the setting
/// that would grant it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct NotAllowed {
    pub field: &'static str,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum TenancyFileError {
    #[error("reading the tenancy config {0}: {1}")]
    Read(String, std::io::Error),
    #[error("the tenancy config {0} is invalid: {1}")]
    Parse(String, InvalidTenancy),
}

/// Why a tenancy file's text is refused.
#[derive(Debug, thiserror::Error)]
pub enum InvalidTenancy {
    #[error("{0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("namespaces.{namespace}.aws.{role}")]
    Role {
        namespace: String,
        role: InvalidRole,
    },
}

/// What STS would refuse of a namespace's role, named by field; the external id is never shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRole {
    #[error(
        "roleArn: {0:?} is not an IAM role ARN (arn:<partition>:iam::<12-digit account>:role/<name>)"
    )]
    NotARoleArn(String),
    #[error(
        "roleArn: {0:?} is named like the operator's own trigger roles ({prefix}*), which its credential may rewrite, delete and pass to Lambda; give the tenant's role another name",
        prefix = crate::names::NAME_PREFIX
    )]
    NamedLikeTriggerRoles(String),
    #[error("externalId: is {0} characters long; STS takes {min} to {max}", min = patterns::EXTERNAL_ID_LENGTH.0, max = patterns::EXTERNAL_ID_LENGTH.1)]
    ExternalIdLength(usize),
    #[error(
        "externalId: holds a character STS refuses; allowed: letters, digits and _ + = , . @ : / -"
    )]
    ExternalIdCharacters,
}

impl Tenancy {
    /// The CLI's rules when it is given no file: its user is trusted.
    pub fn trusting() -> Self {
        Self {
            trust_all: true,
            ..Self::default()
        }
    }

    pub fn load(path: &Path) -> Result<Self, TenancyFileError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| TenancyFileError::Read(shown.clone(), e))?;
        Self::parse(&text).map_err(|e| TenancyFileError::Parse(shown, e))
    }

    pub fn parse(text: &str) -> Result<Self, InvalidTenancy> {
        let tenancy: Self = serde_yaml::from_str(text)?;
        for (namespace, rules) in &tenancy.namespaces {
            if let Some(role) = &rules.aws {
                role.check().map_err(|role| InvalidTenancy::Role {
                    namespace: namespace.clone(),
                    role,
                })?;
            }
        }
        Ok(tenancy)
    }

    /// What the operator's IAM policy must allow beyond its own account's pools.
    pub fn policy_scope(&self) -> crate::iam_policy::Scope {
        crate::iam_policy::Scope {
            assume_roles: self
                .namespaces
                .values()
                .filter_map(|r| r.aws.as_ref().map(|a| a.role_arn.clone()))
                .collect(),
            custom_domains: self.trust_all
                || self
                    .namespaces
                    .values()
                    .any(|r| !r.custom_domains.is_empty()),
            adoptable_pools: self
                .namespaces
                .values()
                .flat_map(|r| r.adoptable_pool_ids.iter().cloned())
                .collect(),
        }
    }

    fn rules(&self, namespace: &str) -> Option<&NamespaceRules> {
        self.namespaces.get(namespace)
    }

    /// May this namespace send as `address`, from an identity that is the address itself or
    /// (`whole_domain`) its domain?
    pub fn check_sender(
        &self,
        namespace: &str,
        address: &str,
        whole_domain: bool,
    ) -> Result<(), NotAllowed> {
        if self.trust_all {
            return Ok(());
        }
        let address = address.trim().to_ascii_lowercase();
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        let lists = [
            Some(&self.defaults.senders),
            self.rules(namespace).map(|r| &r.senders),
        ];
        let lists = lists.into_iter().flatten();
        let same = |a: &String, b: &str| a.trim().eq_ignore_ascii_case(b);
        let allowed = lists.clone().any(|s| {
            s.domains.iter().any(|d| same(d, domain))
                || (!whole_domain && s.addresses.iter().any(|a| same(a, &address)))
        });
        if allowed {
            return Ok(());
        }
        let (field, what) = if whole_domain {
            ("spec.sender.identity", format!("the whole domain {domain}"))
        } else {
            ("spec.sender.address", address.clone())
        };
        Err(NotAllowed {
            field,
            message: format!(
                "namespace {namespace} may not send as {what}; the platform team allows senders per namespace in the operator's tenancy config (namespaces.{namespace}.senders, or defaults.senders)"
            ),
        })
    }

    /// May this namespace adopt the user pool `id`? (The pool's own tags are checked later,
    /// against AWS: never one that another pool owns.)
    pub fn check_adoption(&self, namespace: &str, id: &str) -> Result<(), NotAllowed> {
        if self.trust_all
            || self
                .rules(namespace)
                .is_some_and(|r| r.adoptable_pool_ids.iter().any(|p| p == id))
        {
            return Ok(());
        }
        Err(NotAllowed {
            field: "spec.adopt.userPoolId",
            message: format!(
                "namespace {namespace} may not adopt user pool {id}; the platform team lists adoptable pools in the operator's tenancy config (namespaces.{namespace}.adoptablePoolIds)"
            ),
        })
    }

    /// May this namespace serve managed login at the host `name`?
    pub fn check_custom_domain(&self, namespace: &str, name: &str) -> Result<(), NotAllowed> {
        let name = name.to_ascii_lowercase();
        let listed = |pattern: &String| {
            let pattern = pattern.trim().to_ascii_lowercase();
            match pattern.strip_prefix("*.") {
                Some(suffix) => name
                    .strip_suffix(suffix)
                    .is_some_and(|host| host.len() > 1 && host.ends_with('.')),
                None => pattern == name,
            }
        };
        if self.trust_all
            || self
                .rules(namespace)
                .is_some_and(|r| r.custom_domains.iter().any(listed))
        {
            return Ok(());
        }
        Err(NotAllowed {
            field: "spec.managedLogin.customDomain.domainName",
            message: format!(
                "namespace {namespace} may not serve sign-in pages at {name}; the platform team lists custom domains per namespace in the operator's tenancy config (namespaces.{namespace}.customDomains)"
            ),
        })
    }

    /// May this namespace's pools live in `region` (`spec.region`; without one, the operator's
    /// own region, always allowed)? No list in the file: any region.
    pub fn check_region(&self, namespace: &str, region: &str) -> Result<(), NotAllowed> {
        let own = self
            .rules(namespace)
            .map(|r| r.regions.as_slice())
            .unwrap_or_default();
        let allowed = self.defaults.regions.iter().chain(own);
        if self.trust_all || (self.defaults.regions.is_empty() && own.is_empty()) {
            return Ok(());
        }
        if allowed.clone().any(|r| r == region) {
            return Ok(());
        }
        Err(NotAllowed {
            field: "spec.region",
            message: format!(
                "namespace {namespace} may not use region {region} (allowed: {}); the platform team lists regions in the operator's tenancy config (defaults.regions, namespaces.{namespace}.regions)",
                allowed.map(String::as_str).collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// Every rule a spec must pass in its namespace, before any AWS call.
    pub fn check(&self, namespace: &str, spec: &ValidatedSpec) -> Result<(), NotAllowed> {
        self.account(namespace)?;
        if let Some(region) = &spec.region {
            self.check_region(namespace, region)?;
        }
        if let Some(sender) = &spec.sender {
            let whole_domain = sender.identity == SenderIdentity::Domain;
            self.check_sender(namespace, &sender.address, whole_domain)?;
        }
        if let Some(adopt) = &spec.adopt {
            self.check_adoption(namespace, &adopt.user_pool_id)?;
        }
        let custom = spec
            .managed_login
            .as_ref()
            .and_then(|m| m.custom_domain.as_ref());
        if let Some(custom) = custom {
            self.check_custom_domain(namespace, &custom.domain_name)?;
        }
        let floor = self.defaults.min_send_interval_seconds.unwrap_or(0);
        let interval = spec.limits.min_interval_seconds;
        if spec.strategy != crate::crd::Strategy::Native && interval < floor && !self.trust_all {
            return Err(NotAllowed {
                field: "spec.limits.minIntervalSeconds",
                message: format!(
                    "{interval} is under the platform team's floor of {floor} s between sends to one user (defaults.minSendIntervalSeconds in the operator's tenancy config)"
                ),
            });
        }
        Ok(())
    }

    /// The account a namespace's pools live in.
    pub fn account(&self, namespace: &str) -> Result<Account, NotAllowed> {
        if let Some(role) = self.rules(namespace).and_then(|r| r.aws.clone()) {
            return Ok(Account::Assumed {
                role,
                session: session_name(namespace),
            });
        }
        match self.unmapped_namespaces {
            Unmapped::OperatorAccount => Ok(Account::Operator),
            Unmapped::Refuse if self.trust_all => Ok(Account::Operator),
            Unmapped::Refuse => Err(NotAllowed {
                field: "metadata.namespace",
                message: format!(
                    "namespace {namespace} is not mapped to an AWS account, and the platform team refuses unmapped namespaces (namespaces.{namespace}.aws in the operator's tenancy config)"
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "
unmappedNamespaces: Refuse
defaults:
  senders: {domains: [shared.example.com]}
namespaces:
  team-a:
    senders: {addresses: [no-reply@a.example.com], domains: [team-a.example.com]}
    adoptablePoolIds: [eu-west-1_Legacy]
    customDomains: [auth.a.example.com, '*.team-a.example.com']
    aws: {roleArn: 'arn:aws:iam::111122223333:role/passwordless-tenant-team-a', externalId: s3cret}
  team-b: {}
";

    fn tenancy() -> Tenancy {
        Tenancy::parse(FILE).unwrap()
    }

    #[test]
    fn senders_are_allowed_per_namespace_and_by_default() {
        let t = tenancy();
        let table = [
            ("team-a", "no-reply@a.example.com", false, true),
            ("team-a", "NO-REPLY@A.example.com", false, true),
            ("team-a", "other@a.example.com", false, false),
            ("team-a", "no-reply@a.example.com", true, false),
            ("team-a", "x@team-a.example.com", true, true),
            ("team-b", "no-reply@a.example.com", false, false),
            ("team-b", "x@shared.example.com", false, true),
            ("team-b", "x@sub.shared.example.com", false, false),
            ("unlisted", "x@shared.example.com", false, true),
            ("unlisted", "x@team-a.example.com", false, false),
        ];
        for (ns, address, domain, allowed) in table {
            let got = t.check_sender(ns, address, domain);
            assert_eq!(got.is_ok(), allowed, "{ns} {address} {domain}: {got:?}");
        }
        let refused = t
            .check_sender("team-b", "ceo@a.example.com", false)
            .unwrap_err();
        assert_eq!(refused.field, "spec.sender.address");
        assert!(
            refused.message.contains("namespaces.team-b.senders"),
            "{refused}"
        );
    }

    #[test]
    fn adoption_needs_the_pool_listed_for_the_namespace() {
        let t = tenancy();
        assert!(t.check_adoption("team-a", "eu-west-1_Legacy").is_ok());
        assert!(t.check_adoption("team-b", "eu-west-1_Legacy").is_err());
        assert!(t.check_adoption("team-a", "eu-west-1_Other").is_err());
        assert!(
            Tenancy::default()
                .check_adoption("x", "eu-west-1_Legacy")
                .is_err()
        );
        assert!(
            Tenancy::trusting()
                .check_adoption("x", "eu-west-1_Legacy")
                .is_ok()
        );
    }

    #[test]
    fn custom_login_domains_are_listed_per_namespace() {
        let t = tenancy();
        let table = [
            ("team-a", "auth.a.example.com", true),
            ("team-a", "AUTH.a.example.com", true),
            ("team-a", "login.team-a.example.com", true),
            ("team-a", "x.y.team-a.example.com", true),
            // The wildcard covers hosts under the suffix, not the suffix or look-alikes.
            ("team-a", "team-a.example.com", false),
            ("team-a", "evilteam-a.example.com", false),
            ("team-a", "auth.b.example.com", false),
            ("team-b", "auth.a.example.com", false),
            ("unlisted", "login.team-a.example.com", false),
        ];
        for (ns, host, allowed) in table {
            let got = t.check_custom_domain(ns, host);
            assert_eq!(got.is_ok(), allowed, "{ns} {host}: {got:?}");
        }
        let refused = t
            .check_custom_domain("team-b", "auth.a.example.com")
            .unwrap_err();
        assert_eq!(refused.field, "spec.managedLogin.customDomain.domainName");
        assert!(
            Tenancy::trusting()
                .check_custom_domain("x", "a.b.com")
                .is_ok()
        );
    }

    #[test]
    fn accounts_come_only_from_the_mapping() {
        let t = tenancy();
        let Ok(Account::Assumed { role, session }) = t.account("team-a") else {
            panic!("team-a is mapped");
        };
        assert_eq!(session, "pwp-team-a");
        assert_eq!(role.account_id(), Some("111122223333"));
        assert!(!format!("{role:?}").contains("s3cret"));
        assert!(t.account("team-c").is_err(), "Refuse: unmapped namespaces");
        assert_eq!(t.account("team-b").unwrap_err().field, "metadata.namespace");
        assert_eq!(Tenancy::default().account("any"), Ok(Account::Operator));
    }

    #[test]
    fn regions_are_those_the_platform_team_lists() {
        let t = Tenancy::parse(
            "defaults: {regions: [eu-west-1]}\nnamespaces: {team-a: {regions: [eu-central-1]}}\n",
        )
        .unwrap();
        assert!(t.check_region("team-a", "eu-west-1").is_ok());
        assert!(t.check_region("team-a", "eu-central-1").is_ok());
        assert!(t.check_region("team-b", "eu-west-1").is_ok());
        let refused = t.check_region("team-b", "eu-central-1").unwrap_err();
        assert_eq!(refused.field, "spec.region");
        assert!(refused.message.contains("allowed: eu-west-1"), "{refused}");
        assert!(t.check_region("team-a", "us-east-1").is_err());
        let any = Tenancy::parse("namespaces: {team-a: {}}\n").unwrap();
        assert!(
            any.check_region("team-a", "ap-south-2").is_ok(),
            "no list: any region"
        );
        let spec = crate::validate::validate(
            &serde_yaml::from_str("strategy: smsOtp\nregion: us-east-1\n").unwrap(),
        )
        .unwrap();
        assert_eq!(t.check("team-a", &spec).unwrap_err().field, "spec.region");
    }

    #[test]
    fn session_names_name_the_namespace_within_what_sts_takes() {
        let long = "n".repeat(63);
        let (a, b) = (
            session_name(&long),
            session_name(&format!("{}m", "n".repeat(62))),
        );
        assert_eq!((a.len(), b.len()), (64, 64));
        assert_ne!(a, b);
        assert!(a.starts_with("pwp-nnnn"), "{a}");
        let sts = regex::Regex::new(r"^[A-Za-z0-9_+=,.@-]{2,64}$").unwrap();
        assert!(sts.is_match(&a) && sts.is_match(&session_name("a")));
    }

    #[test]
    fn the_platform_team_sets_a_floor_under_the_send_interval() {
        let t = Tenancy::parse(
            "defaults: {senders: {domains: [example.com]}, minSendIntervalSeconds: 30}\n",
        )
        .unwrap();
        let spec = |limits: &str| {
            crate::validate::validate(
                &serde_yaml::from_str(&format!(
                    "strategy: emailOtp\nsender: {{address: a@example.com}}\n{limits}"
                ))
                .unwrap(),
            )
            .unwrap()
        };
        assert!(t.check("team", &spec("")).is_ok(), "the default 60 s");
        let refused = t
            .check("team", &spec("limits: {minIntervalSeconds: 0}\n"))
            .unwrap_err();
        assert_eq!(refused.field, "spec.limits.minIntervalSeconds");
        assert!(
            t.check("team", &spec("limits: {minIntervalSeconds: 30}\n"))
                .is_ok()
        );
    }

    #[test]
    fn the_shipped_example_parses() {
        let example = include_str!("../../examples/operator/tenancy.yaml");
        let t = Tenancy::parse(example).unwrap();
        assert!(t.check_sender("any", "no-reply@example.com", false).is_ok());
    }

    #[test]
    fn the_default_is_strict_and_bad_files_are_refused() {
        let strict = Tenancy::default();
        assert!(strict.check_sender("x", "a@example.com", false).is_err());
        assert!(
            Tenancy::trusting()
                .check_sender("x", "a@example.com", true)
                .is_ok()
        );
        for bad in [
            "namespaces: {a: {senderz: {}}}",
            "unmappedNamespaces: Maybe",
            "namespaces: {a: {aws: {roleArn: 'arn:aws:iam::1:role/x'}}}",
        ] {
            assert!(Tenancy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns_and_external_ids_are_checked_as_sts_would_with_the_field_named() {
        let file = |arn: &str, id: &str| {
            format!("namespaces: {{team-a: {{aws: {{roleArn: '{arn}', externalId: '{id}'}}}}}}")
        };
        let arn = "arn:aws:iam::111122223333:role/passwordless-tenant-team-a";
        assert!(Tenancy::parse(&file(arn, "s3cret:team-a/x=1")).is_ok());
        assert!(Tenancy::parse(&file("arn:aws-cn:iam::111122223333:role/p/x", "ab")).is_ok());
        let long = "a".repeat(1225);
        for (arn, id, field) in [
            (arn, "a", "externalId: is 1 characters"),
            (arn, long.as_str(), "externalId: is 1225 characters"),
            (arn, "has space", "externalId: holds a character"),
            (arn, "t\u{e9}am", "externalId: holds a character"),
            ("arn:aws:iam::111122223333:user/x", "ab", "roleArn:"),
            ("arn:aws:iam::111122223333:role/a b", "ab", "roleArn:"),
            (
                "arn:aws:iam::111122223333:role/pwp-team-a",
                "ab",
                "roleArn:",
            ),
        ] {
            let err = Tenancy::parse(&file(arn, id)).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("namespaces.team-a.aws.{field}")),
                "{err}"
            );
            assert!(
                id.len() < 4 || !err.contains(id),
                "the external id is not shown: {err}"
            );
        }
    }

    /// The chart refuses what the operator would refuse at start.
    #[test]
    fn the_charts_values_schema_states_the_same_patterns() {
        let schema: serde_json::Value = serde_json::from_str(include_str!(
            "../../charts/passwordless-operator/values.schema.json"
        ))
        .unwrap();
        let aws = &schema["properties"]["tenancy"]["properties"]["namespaces"]["additionalProperties"]
            ["properties"]["aws"]["properties"];
        assert_eq!(aws["roleArn"]["pattern"], patterns::ROLE_ARN, "{aws}");
        assert_eq!(aws["roleArn"]["maxLength"], patterns::ROLE_ARN_MAX);
        assert_eq!(aws["externalId"]["pattern"], patterns::EXTERNAL_ID);
        let (min, max) = patterns::EXTERNAL_ID_LENGTH;
        assert_eq!(aws["externalId"]["minLength"], min);
        assert_eq!(aws["externalId"]["maxLength"], max);
        let tenancy = &schema["properties"]["tenancy"]["properties"];
        for regions in [
            &tenancy["defaults"]["properties"]["regions"],
            &tenancy["namespaces"]["additionalProperties"]["properties"]["regions"],
        ] {
            assert_eq!(regions["items"]["pattern"], crate::crd::patterns::REGION);
        }
    }
}
