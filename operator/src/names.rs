//! Deterministic AWS names and owner tags for one PasswordlessPool: the same cluster, namespace
//! and name always give the same names, so every resource can be found again after a crash, and
//! two different pools never share one.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// Tag naming the PasswordlessPool (`<namespace>/<name>`, see [`owner_tag_value`]) that owns
/// a resource.
pub const OWNER_TAG: &str = "passwordless-operator.dev/owner";
/// Tag naming the PasswordlessPool object (its `metadata.uid`) that created a resource: a new
/// object under a recycled namespace/name is another owner.
pub const UID_TAG: &str = "passwordless-operator.dev/owner-uid";
/// Tag on a user pool naming the earlier object (its uid) whose retained stack this pool took
/// over by adopting that user pool: the rest of that stack is this pool's too.
pub const INHERITED_TAG: &str = "passwordless-operator.dev/inherited-uid";
/// Tag naming the cluster (`--cluster-id`) whose operator owns a resource.
pub const CLUSTER_TAG: &str = "passwordless-operator.dev/cluster";
/// Tag on a user pool the operator adopted (`spec.adopt`) rather than created: never deleted,
/// its deletion protection never switched off, even if the spec stops saying `adopt`.
pub const ADOPTED_TAG: &str = "passwordless-operator.dev/adopted";
/// Tag on a user pool naming, space-separated, the managed login domains the operator made on
/// it (domains take no tags): the only ones it ever changes or deletes.
pub const DOMAINS_TAG: &str = "passwordless-operator.dev/domains";
/// Tag on a user pool naming the WebAuthn relying-party id the operator last set: a spec that
/// moves away from it orphans passkeys and waits for an acknowledgement, while AWS drifting
/// from it is put back like any drift.
pub const RELYING_PARTY_TAG: &str = "passwordless-operator.dev/relying-party-id";
/// Tag marking a resource as created by this operator.
pub const MANAGED_BY_TAG: &str = "passwordless-operator.dev/managed-by";
/// On a sender identity: when the operator last had SES send its verification link (Unix
/// seconds), so an expired one is sent again at most once a day.
pub const VERIFICATION_SENT_TAG: &str = "passwordless-operator.dev/verification-sent-at";
/// On a sender identity: how many new verification links the operator has had SES send.
pub const VERIFICATION_RESENDS_TAG: &str = "passwordless-operator.dev/verification-resends";
pub const MANAGED_BY: &str = "passwordless-operator";
/// Tag on the trigger function: the digest of the configuration the operator's probe proved
/// the deployed trigger accepts.
pub const VERIFIED_TAG: &str = "passwordless-operator.dev/verified-config";
/// The cluster id when none is set; also what a resource tagged before cluster ids existed
/// belongs to.
pub const DEFAULT_CLUSTER_ID: &str = "default";

/// What a cluster id may be (the chart's `clusterId` states the same): it is hashed into every
/// AWS name and written as the cluster tag's value.
pub const CLUSTER_ID_PATTERN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
pub const CLUSTER_ID_MAX: usize = 32;

/// A cluster id outside [`CLUSTER_ID_PATTERN`] and [`CLUSTER_ID_MAX`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a cluster id: 1 to {CLUSTER_ID_MAX} lower-case letters, digits and inner dashes"
)]
pub struct NotAClusterId(pub String);

/// Refuses a cluster id outside [`CLUSTER_ID_PATTERN`] and [`CLUSTER_ID_MAX`].
pub fn check_cluster_id(id: &str) -> Result<(), NotAClusterId> {
    let shaped = id.len() <= CLUSTER_ID_MAX
        && !id.starts_with('-')
        && !id.ends_with('-')
        && !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if shaped {
        Ok(())
    } else {
        Err(NotAClusterId(id.to_owned()))
    }
}

/// What every AWS name of a pool starts with; the published policy scopes IAM, Lambda and
/// DynamoDB to it.
pub const NAME_PREFIX: &str = "pwp-";

/// Hex digits of the name hash: 48 bits, so finding a second (cluster, namespace, name) with
/// the same readable prefix and hash takes ~2^48 tries. The owner tags are the real check.
const HASH_HEX: usize = 12;
/// The longest base name: leaves room for the longest suffix (`-trigger`) within the
/// 64-character limits of Lambda function and IAM role names.
const MAX_BASE: usize = 56;

/// AWS's limit on a tag value, in every service.
const TAG_VALUE_MAX: usize = crate::crd::MAX_TAG_VALUE as usize;
/// Hex digits of the whole SHA-256 in a cut owner tag: the tag stays an exact check.
const OWNER_HASH_HEX: usize = 64;

/// The owner tag's value: `<namespace>/<name>` when it fits AWS's 256 characters (every
/// resource tagged before this rule keeps its tag), else its first 191 characters, `:` and the
/// SHA-256 of the whole. Kubernetes names hold no `:`, so a cut value never equals a whole one.
pub fn owner_tag_value(namespace: &str, name: &str) -> String {
    let whole = format!("{namespace}/{name}");
    if whole.len() <= TAG_VALUE_MAX {
        return whole;
    }
    let hash: String = Sha256::digest(whole.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    // Namespaces and names are ASCII: any byte index is a character boundary.
    format!("{}:{hash}", &whole[..TAG_VALUE_MAX - 1 - OWNER_HASH_HEX])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackNames {
    /// The owner tag's value ([`owner_tag_value`]).
    pub owner: String,
    pub cluster: String,
    pub user_pool: String,
    pub client: String,
    pub function: String,
    pub role: String,
    pub role_policy: String,
    pub table: String,
    pub keys_secret: String,
    pub web_acl: String,
    /// The PasswordlessPool object's uid; None where there is no object (the CLI), and then
    /// uids are neither written nor checked.
    pub uid: Option<String>,
    /// An earlier object's uid whose retained stack this pool took over (see [`INHERITED_TAG`]).
    pub inherited: Option<String>,
    /// Whether a resource tagged before uids existed is this pool's: only once the user pool
    /// read under this name is (see [`Self::settle`]); always without a uid (the CLI).
    pub legacy_is_ours: bool,
}

/// Whose a tagged resource is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ownership {
    Ours,
    /// Tagged for another pool (or another cluster's): `<cluster>/<namespace>/<name>`.
    Foreign(String),
    /// Tagged for this namespace/name but by an earlier object (its uid; None for an untagged
    /// companion of such a stack): a stack kept by `deletionPolicy: Retain`.
    Predecessor(Option<String>),
    /// No owner tag: made by hand or by another tool.
    Untagged,
}

impl StackNames {
    /// `pwp-<namespace>-<name>` (cut to fit) and a hash of all three parts: readable in the
    /// console, and distinct for (`team`, `a-web`) and (`team-a`, `web`), and across clusters.
    pub fn new(cluster: &str, namespace: &str, name: &str) -> Self {
        let digest = Sha256::digest(format!("{cluster}\0{namespace}\0{name}").as_bytes());
        let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let hash = &hash[..HASH_HEX];
        // Kubernetes names hold only [a-z0-9.-]; AWS names take those but not always dots.
        let readable = format!("{NAME_PREFIX}{namespace}-{name}").replace('.', "-");
        let room = MAX_BASE - HASH_HEX - 1;
        let readable = readable[..readable.len().min(room)].trim_end_matches('-');
        let base = format!("{readable}-{hash}");
        Self {
            owner: owner_tag_value(namespace, name),
            cluster: cluster.to_owned(),
            user_pool: base.clone(),
            client: format!("{base}-app"),
            function: format!("{base}-trigger"),
            role: format!("{base}-trigger"),
            role_policy: "passwordless-trigger".to_owned(),
            table: format!("{base}-state"),
            keys_secret: format!("passwordless-operator/{base}/signing-keys"),
            web_acl: format!("{base}-rate"),
            uid: None,
            inherited: None,
            legacy_is_ours: true,
        }
    }

    /// The same names, owned by the object with this uid. Until [`Self::settle`] reads this
    /// object's user pool, a resource tagged before uids existed is not taken for its own: a
    /// recorded pool id that is missing or forged must not hand it an earlier object's stack.
    pub fn with_uid(mut self, uid: Option<&str>) -> Self {
        self.uid = uid.map(str::to_owned);
        self.legacy_is_ours = self.uid.is_none();
        self
    }

    /// Learns from the user pool read for this object (its tags) whose the rest of the stack
    /// is: a pool that is this object's (or from before uids) makes the untagged companions
    /// its own too, and one it took over names the object it inherited from; an earlier
    /// object's pool leaves them that object's, unless this pool adopts it (`spec.adopt`,
    /// checked against the tenancy's list before).
    pub fn settle<'t>(
        &mut self,
        pool_tags: impl IntoIterator<Item = (&'t str, &'t str)> + Clone,
        adopting: bool,
    ) {
        // The pool itself may be from before uids: then it, and its companions, are ours.
        let lenient = Self {
            legacy_is_ours: true,
            ..self.clone()
        };
        match lenient.ownership(pool_tags.clone()) {
            Ownership::Ours => {
                let inherited = pool_tags.into_iter().find(|(k, _)| *k == INHERITED_TAG);
                self.inherited = inherited.map(|(_, v)| v.to_owned());
                self.legacy_is_ours = true;
            }
            Ownership::Predecessor(Some(theirs)) if adopting => {
                self.inherited = Some(theirs);
                self.legacy_is_ours = true;
            }
            Ownership::Predecessor(_) | Ownership::Foreign(_) | Ownership::Untagged => {}
        }
    }

    /// The owner tags every resource carries, plus the spec's own tags.
    pub fn tags(&self, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut tags = extra.clone();
        tags.insert(OWNER_TAG.to_owned(), self.owner.clone());
        tags.insert(CLUSTER_TAG.to_owned(), self.cluster.clone());
        tags.insert(MANAGED_BY_TAG.to_owned(), MANAGED_BY.to_owned());
        for (key, value) in [(UID_TAG, &self.uid), (INHERITED_TAG, &self.inherited)] {
            if let Some(v) = value {
                tags.insert(key.to_owned(), v.clone());
            }
        }
        tags
    }

    /// Whose a resource with these tags is. A resource tagged before cluster ids existed counts
    /// as the default cluster's; one tagged before uids existed, as its namespace/name's (see
    /// [`Self::legacy_is_ours`]).
    pub fn ownership<'t>(&self, tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> Ownership {
        let (mut owner, mut cluster, mut uid) = (None, None, None);
        for (k, v) in tags {
            match k {
                OWNER_TAG => owner = Some(v),
                CLUSTER_TAG => cluster = Some(v),
                UID_TAG => uid = Some(v),
                _ => {}
            }
        }
        let Some(owner) = owner else {
            return Ownership::Untagged;
        };
        let cluster = cluster.unwrap_or(DEFAULT_CLUSTER_ID);
        if owner != self.owner || cluster != self.cluster {
            return Ownership::Foreign(format!("{cluster}/{owner}"));
        }
        match (self.uid.as_deref(), uid) {
            (None, _) => Ownership::Ours,
            (Some(_), None) if self.legacy_is_ours => Ownership::Ours,
            (Some(_), None) => Ownership::Predecessor(None),
            (Some(ours), Some(theirs))
                if theirs == ours || self.inherited.as_deref() == Some(theirs) =>
            {
                Ownership::Ours
            }
            (Some(_), Some(theirs)) => Ownership::Predecessor(Some(theirs.to_owned())),
        }
    }

    /// Refuses to touch a resource that is not this pool's. `what` names it for the message.
    pub fn check_owned<'t>(
        &self,
        what: &str,
        tags: impl IntoIterator<Item = (&'t str, &'t str)>,
    ) -> Result<(), NotOurs> {
        let what = what.to_owned();
        let (owner, cluster) = (self.owner.clone(), self.cluster.clone());
        match self.ownership(tags) {
            Ownership::Ours => Ok(()),
            Ownership::Foreign(other) => Err(NotOurs::Foreign {
                what,
                other,
                cluster,
                owner,
            }),
            Ownership::Predecessor(theirs) => Err(NotOurs::Predecessor {
                what,
                owner,
                theirs: theirs.map_or_else(
                    || "made before uids were tagged".to_owned(),
                    |u| format!("uid {u}"),
                ),
                uid: self.uid.clone().unwrap_or_default(),
            }),
            Ownership::Untagged => Err(NotOurs::Untagged {
                what,
                owner,
                cluster,
            }),
        }
    }
}

/// A resource found under a pool's name that is not the pool's own: the operator leaves it alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotOurs {
    #[error("{what} belongs to {other}, not {cluster}/{owner}; the operator leaves it alone")]
    Foreign {
        what: String,
        other: String,
        cluster: String,
        owner: String,
    },
    #[error(
        "{what} belongs to an earlier PasswordlessPool {owner} ({theirs}) whose resources were kept (deletionPolicy: Retain), not to this one (uid {uid}); the operator leaves it alone: delete those resources, or take the stack over by adopting its user pool (the tenancy's adoptablePoolIds and spec.adopt.userPoolId)"
    )]
    Predecessor {
        what: String,
        owner: String,
        theirs: String,
        uid: String,
    },
    #[error(
        "{what} exists without this operator's owner tag; the operator leaves it alone (delete or rename it, or tag it {OWNER_TAG}={owner} and {CLUSTER_TAG}={cluster})"
    )]
    Untagged {
        what: String,
        owner: String,
        cluster: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(ns: &str, name: &str) -> StackNames {
        StackNames::new(DEFAULT_CLUSTER_ID, ns, name)
    }

    #[test]
    fn names_are_deterministic_readable_and_hashed() {
        let n = names("shop", "checkout");
        assert!(n.user_pool.starts_with("pwp-shop-checkout-"), "{n:?}");
        assert_eq!(n.user_pool.len(), "pwp-shop-checkout-".len() + HASH_HEX);
        assert_eq!(n.function, format!("{}-trigger", n.user_pool));
        assert_eq!(n.table, format!("{}-state", n.user_pool));
        assert_eq!(n, names("shop", "checkout"));
    }

    #[test]
    fn pools_that_used_to_collide_get_distinct_names() {
        let pairs = [
            (("team", "a-web"), ("team-a", "web")),
            (("a.b", "c"), ("a-b", "c")),
        ];
        for ((ns1, n1), (ns2, n2)) in pairs {
            let (a, b) = (names(ns1, n1), names(ns2, n2));
            for (x, y) in [
                (&a.user_pool, &b.user_pool),
                (&a.function, &b.function),
                (&a.role, &b.role),
                (&a.table, &b.table),
                (&a.keys_secret, &b.keys_secret),
            ] {
                assert_ne!(x, y);
            }
        }
        let other_cluster = StackNames::new("eu-2", "team", "a-web");
        assert_ne!(other_cluster.function, names("team", "a-web").function);
    }

    #[test]
    fn long_names_fit_every_limit_and_stay_distinct() {
        let long = "a".repeat(63);
        let a = names(&long, &"x".repeat(253));
        let b = names(&long, &"y".repeat(253));
        assert_ne!(a.function, b.function);
        for n in [&a, &b] {
            assert!(n.function.len() <= 64 && n.role.len() <= 64, "{n:?}");
            assert!(n.user_pool.len() <= 128 && n.table.len() <= 255);
        }
    }

    #[test]
    fn owner_tags_fit_aws_and_stay_exact() {
        // Unchanged where it fits, so resources tagged by earlier versions stay owned.
        assert_eq!(owner_tag_value("shop", "checkout"), "shop/checkout");
        let fits = "x".repeat(256 - 4);
        assert_eq!(owner_tag_value("abc", &fits), format!("abc/{fits}"));
        let ns = "n".repeat(63);
        let (a, b) = (
            owner_tag_value(&ns, &"x".repeat(253)),
            owner_tag_value(&ns, &format!("{}y", "x".repeat(252))),
        );
        assert_ne!(a, b, "names that differ past the cut still differ");
        for v in [&a, &b] {
            assert_eq!(v.len(), 256);
            assert!(
                v.starts_with(&format!("{ns}/xxx")) && v.contains(':'),
                "{v}"
            );
        }
        assert_eq!(a, owner_tag_value(&ns, &"x".repeat(253)));
        let long = StackNames::new(DEFAULT_CLUSTER_ID, &ns, &"x".repeat(253));
        assert_eq!(
            long.ownership(
                long.tags(&BTreeMap::new())
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
            ),
            Ownership::Ours
        );
    }

    #[test]
    fn cluster_ids_are_checked_as_the_chart_states() {
        let pattern = regex::Regex::new(CLUSTER_ID_PATTERN).unwrap();
        for (id, ok) in [
            ("default", true),
            ("eu-1", true),
            (&"a".repeat(32), true),
            (&"a".repeat(33), false),
            ("", false),
            ("-eu", false),
            ("eu-", false),
            ("Prod_EU", false),
            ("a b", false),
        ] {
            assert_eq!(check_cluster_id(id).is_ok(), ok, "{id}");
            assert!(!ok || pattern.is_match(id), "{id}");
        }
        let schema: serde_json::Value = serde_json::from_str(include_str!(
            "../../charts/passwordless-operator/values.schema.json"
        ))
        .unwrap();
        let chart = &schema["properties"]["clusterId"];
        assert_eq!(chart["pattern"], CLUSTER_ID_PATTERN);
        assert_eq!(chart["maxLength"], CLUSTER_ID_MAX);
    }

    #[test]
    fn owner_tags_are_added_and_win_over_the_spec() {
        let n = StackNames::new("eu-1", "shop", "checkout");
        let spec = BTreeMap::from([
            ("team".to_owned(), "id".to_owned()),
            (OWNER_TAG.to_owned(), "evil/pool".to_owned()),
        ]);
        let tags = n.tags(&spec);
        assert_eq!(tags[OWNER_TAG], "shop/checkout");
        assert_eq!(tags[CLUSTER_TAG], "eu-1");
        assert_eq!(tags["team"], "id");
    }

    #[test]
    fn ownership_reads_both_tags() {
        let n = names("shop", "checkout");
        let own = n.tags(&BTreeMap::new());
        let kv = |t: &BTreeMap<String, String>| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        let check =
            |t: Vec<(String, String)>| n.ownership(t.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(check(kv(&own)), Ownership::Ours);
        // Tagged before cluster ids existed: the default cluster's.
        assert_eq!(
            check(vec![(OWNER_TAG.into(), "shop/checkout".into())]),
            Ownership::Ours
        );
        assert_eq!(
            check(vec![(OWNER_TAG.into(), "other/pool".into())]),
            Ownership::Foreign("default/other/pool".into())
        );
        let elsewhere = StackNames::new("eu-2", "shop", "checkout").tags(&BTreeMap::new());
        assert_eq!(
            check(kv(&elsewhere)),
            Ownership::Foreign("eu-2/shop/checkout".into())
        );
        assert_eq!(check(vec![]), Ownership::Untagged);
        assert!(
            n.check_owned("iam role r", [])
                .unwrap_err()
                .to_string()
                .contains("without")
        );
    }

    /// Tags as an earlier version, or another object of the same name, wrote them.
    fn tagged(uid: Option<&str>, inherited: Option<&str>) -> Vec<(String, String)> {
        let mut n = names("shop", "checkout").with_uid(uid);
        n.inherited = inherited.map(str::to_owned);
        n.tags(&BTreeMap::new()).into_iter().collect()
    }

    fn pairs(t: &[(String, String)]) -> impl Iterator<Item = (&str, &str)> + Clone {
        t.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    #[test]
    fn a_recycled_name_does_not_own_its_predecessors_stack() {
        let me = names("shop", "checkout").with_uid(Some("new"));
        let ours = |n: &StackNames, t: &[(String, String)]| n.ownership(pairs(t));
        for (tags, expected) in [
            (tagged(Some("new"), None), Ownership::Ours),
            // Tagged before uids existed: not taken for this object's until its pool is read
            // (a forged or vanished recorded pool id must not hand it an earlier stack).
            (tagged(None, None), Ownership::Predecessor(None)),
            (
                tagged(Some("old"), None),
                Ownership::Predecessor(Some("old".into())),
            ),
        ] {
            assert_eq!(ours(&me, &tags), expected, "{tags:?}");
        }
        // A pool from before uids read for it: it and its untagged companions are its own
        // (upgrades keep working).
        let mut upgraded = me.clone();
        upgraded.settle(pairs(&tagged(None, None)), false);
        assert_eq!(ours(&upgraded, &tagged(None, None)), Ownership::Ours);
        // So is a pool of its own uid.
        let mut own = me.clone();
        own.settle(pairs(&tagged(Some("new"), None)), false);
        assert_eq!(ours(&own, &tagged(None, None)), Ownership::Ours);
        // Without an object (the CLI) uids are neither written nor checked.
        let cli = names("shop", "checkout");
        assert_eq!(ours(&cli, &tagged(Some("old"), None)), Ownership::Ours);
        assert!(!cli.tags(&BTreeMap::new()).contains_key(UID_TAG));

        // The user pool under the name is the predecessor's: so are its untagged companions,
        // and nothing of it is this object's, deleting included.
        let mut newcomer = me.clone();
        newcomer.settle(pairs(&tagged(Some("old"), None)), false);
        assert_eq!(
            ours(&newcomer, &tagged(None, None)),
            Ownership::Predecessor(None)
        );
        let refused = newcomer
            .check_owned("user pool p", pairs(&tagged(Some("old"), None)))
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("earlier PasswordlessPool shop/checkout (uid old)")
                && refused.contains("spec.adopt.userPoolId"),
            "{refused}"
        );

        // Adopting that pool (the tenancy allowed it) takes the whole stack over, and the pool
        // then says so, so the next pass agrees.
        let mut heir = me.clone();
        heir.settle(pairs(&tagged(Some("old"), None)), true);
        assert_eq!(ours(&heir, &tagged(Some("old"), None)), Ownership::Ours);
        assert_eq!(heir.tags(&BTreeMap::new())[INHERITED_TAG], "old");
        let mut next_pass = me.clone();
        next_pass.settle(pairs(&tagged(Some("new"), Some("old"))), false);
        assert_eq!(next_pass, heir);
        // Another uid is still another's.
        assert_eq!(
            ours(&heir, &tagged(Some("third"), None)),
            Ownership::Predecessor(Some("third".into()))
        );
        // Another pool's pool settles nothing.
        let mut bystander = me.clone();
        let other = names("shop", "other")
            .with_uid(Some("old"))
            .tags(&BTreeMap::new());
        let other: Vec<_> = other.into_iter().collect();
        bystander.settle(pairs(&other), true);
        assert_eq!(bystander, me);
    }
}
