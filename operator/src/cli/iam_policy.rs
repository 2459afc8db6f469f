//! `iam-policy`: the operator's own IAM policy, (`-f`) the policy and trust policy it writes
//! for a pool's trigger role, or (`--boundary`) the permissions boundary every trigger role
//! carries, from the same code that applies them. No AWS call: with no caller identity at hand,
//! the partition comes from `--partition` or the region.

use anyhow::{Context as _, Result, bail};
use passwordless_operator::desired::{Facts, desired_stack, trigger_boundary_policy};
use passwordless_operator::iam_policy::operator_policy;
use passwordless_operator::names::StackNames;
use passwordless_operator::partition::Partition;
use passwordless_operator::tenancy::Tenancy;
use passwordless_operator::validate::{parse_manifest, validate};
use serde_json::Value;

use super::args::IamPolicyArgs;

pub fn print(args: &IamPolicyArgs) -> Result<()> {
    let document = match &args.pool {
        Some(_) => trigger_role_document(args)?,
        None if args.boundary => trigger_boundary_policy(&partition(args, args.region.as_deref())),
        None => {
            // From the same tenancy file `run` reads (without one, `run` allows neither).
            let tenancy = match &args.tenancy_config {
                Some(path) => Tenancy::load(path)?,
                None => Tenancy::default(),
            };
            operator_policy(
                &tenancy.policy_scope(),
                &args.trigger_boundary.policy,
                &partition(args, args.region.as_deref()),
            )
        }
    };
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}

/// `--partition`, else the region's, else the standard partition.
fn partition(args: &IamPolicyArgs, region: Option<&str>) -> Partition {
    match (&args.partition, region) {
        (Some(p), _) => p.clone(),
        (None, Some(region)) => Partition::of_region(region),
        (None, None) => Partition::standard(),
    }
}

fn trigger_role_document(args: &IamPolicyArgs) -> Result<Value> {
    let Some(file) = &args.pool else {
        bail!("-f names no PasswordlessPool")
    };
    let shown = file.display();
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {shown}"))?;
    let pool = parse_manifest(&text).with_context(|| format!("{shown} is refused"))?;
    let spec = validate(&pool.spec).with_context(|| format!("{shown} is refused"))?;
    let Some(name) = pool.metadata.name.as_deref() else {
        bail!("{shown} has no metadata.name")
    };
    let namespace = pool.metadata.namespace.as_deref().unwrap_or("default");
    let Some(region) = spec.region.clone().or_else(|| args.region.clone()) else {
        bail!("no region: set spec.region in {shown}, --region or AWS_REGION")
    };
    let facts = Facts {
        partition: partition(args, Some(&region)),
        region,
        account_id: Some(args.account_id.clone().unwrap_or_else(|| "*".to_owned())),
        user_pool_id: args.user_pool_id.clone(),
        ..Facts::default()
    };
    let names = StackNames::new(&args.cluster_id, namespace, name);
    let desired = desired_stack(&spec, &names, &facts)?;
    let Some(role) = desired.role else {
        bail!(
            "{shown} is a {} pool: it has no trigger and so no trigger role",
            spec.strategy.as_str()
        )
    };
    Ok(if args.trust {
        role.trust_policy
    } else {
        role.policy
    })
}
