//! AWS partitions (`aws`, `aws-cn`, `aws-us-gov`, ...): which one a region or an ARN belongs
//! to, and the ARNs built in it. Every ARN the operator writes goes through [`Partition::arn`],
//! so a China or GovCloud pool never names a resource of the standard partition. Pure.

use std::fmt;
use std::str::FromStr;

/// The standard partition: every region not listed in [`REGION_PREFIXES`].
pub const STANDARD: &str = "aws";

/// Region prefixes outside the standard partition, as the AWS SDKs' partition table
/// (`partitions.json`) lists them. The dashes keep `us-iso-` from matching `us-isob-` regions.
const REGION_PREFIXES: &[(&str, &str)] = &[
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-iso-", "aws-iso"),
    ("us-isob-", "aws-iso-b"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-isof-", "aws-iso-f"),
    ("eusc-", "aws-eusc"),
];

/// Each partition's DNS suffix (service endpoints, the user pool issuer), as the SDKs'
/// partition table lists them; the standard one for any other.
const DNS_SUFFIXES: &[(&str, &str)] = &[
    ("aws-cn", "amazonaws.com.cn"),
    ("aws-iso", "c2s.ic.gov"),
    ("aws-iso-b", "sc2s.sgov.gov"),
    ("aws-iso-e", "cloud.adc-e.uk"),
    ("aws-iso-f", "csp.hci.ic.gov"),
    ("aws-eusc", "amazonaws.eu"),
];

/// An AWS partition, the second field of every ARN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Partition(String);

/// A partition name that cannot be one (`--partition`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an AWS partition (aws, aws-cn, aws-us-gov, ...)")]
pub struct NotAPartition(pub String);

impl Partition {
    pub fn standard() -> Self {
        Self(STANDARD.to_owned())
    }

    /// Where no caller identity is at hand (the published policy, the CLI's documents): the
    /// partition the region lies in.
    pub fn of_region(region: &str) -> Self {
        let found = REGION_PREFIXES
            .iter()
            .find(|(prefix, _)| region.starts_with(prefix))
            .map_or(STANDARD, |(_, partition)| partition);
        Self((*found).to_owned())
    }

    /// The partition an ARN names (`arn:aws-cn:iam::…` → `aws-cn`), e.g. the caller identity's.
    pub fn of_arn(arn: &str) -> Option<Self> {
        let mut fields = arn.split(':');
        (fields.next() == Some("arn"))
            .then(|| fields.next())
            .flatten()
            .and_then(|p| p.parse().ok())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The domain its service endpoints live under: `amazonaws.com`, `amazonaws.com.cn`, ...
    pub fn dns_suffix(&self) -> &'static str {
        DNS_SUFFIXES
            .iter()
            .find(|(p, _)| *p == self.0)
            .map_or("amazonaws.com", |(_, suffix)| suffix)
    }

    /// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. Global services (IAM) take an empty
    /// region; policies take `*` for any region or account.
    pub fn arn(&self, service: &str, region: &str, account: &str, resource: &str) -> String {
        format!("arn:{}:{service}:{region}:{account}:{resource}", self.0)
    }
}

impl Default for Partition {
    fn default() -> Self {
        Self::standard()
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `aws`, or `aws-` and lowercase words joined by dashes.
impl FromStr for Partition {
    type Err = NotAPartition;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let words_ok = s
            .strip_prefix(STANDARD)
            .filter(|rest| rest.is_empty() || rest.starts_with('-'))
            .is_some_and(|rest| {
                rest.split('-')
                    .skip(1)
                    .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
            });
        if words_ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(NotAPartition(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_region_lies_in_its_partition() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("eu-west-1", "aws"),
            ("ap-southeast-4", "aws"),
            ("il-central-1", "aws"),
            ("cn-north-1", "aws-cn"),
            ("cn-northwest-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-gov-east-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
            // Not a region the CRD accepts, and no partition of its own.
            ("", "aws"),
        ] {
            assert_eq!(Partition::of_region(region).as_str(), partition, "{region}");
        }
    }

    #[test]
    fn each_partition_has_its_dns_suffix() {
        for (region, suffix) in [
            ("eu-west-1", "amazonaws.com"),
            ("us-gov-west-1", "amazonaws.com"),
            ("cn-north-1", "amazonaws.com.cn"),
            ("cn-northwest-1", "amazonaws.com.cn"),
            ("us-isob-east-1", "sc2s.sgov.gov"),
        ] {
            assert_eq!(
                Partition::of_region(region).dns_suffix(),
                suffix,
                "{region}"
            );
        }
    }

    #[test]
    fn the_partition_is_read_from_an_arn() {
        for (arn, partition) in [
            ("arn:aws:iam::123456789012:user/ci", Some("aws")),
            (
                "arn:aws-cn:sts::123456789012:assumed-role/pwp/op",
                Some("aws-cn"),
            ),
            ("arn:aws-us-gov:iam::123456789012:root", Some("aws-us-gov")),
            ("arn:aws-iso-b:iam::123456789012:root", Some("aws-iso-b")),
            ("arn::iam::1:root", None),
            ("arn:gcp:iam::1:root", None),
            ("urn:aws:iam::1:root", None),
            ("arn", None),
            ("", None),
        ] {
            assert_eq!(
                Partition::of_arn(arn).as_ref().map(Partition::as_str),
                partition,
                "{arn}"
            );
        }
    }

    #[test]
    fn only_partition_shaped_names_parse() {
        for good in ["aws", "aws-cn", "aws-us-gov", "aws-iso-b"] {
            assert_eq!(good.parse::<Partition>().unwrap().as_str(), good);
        }
        for bad in [
            "", "aw", "awsx", "aws-", "aws--cn", "aws-CN", "aws-cn-", "gcp",
        ] {
            assert_eq!(
                bad.parse::<Partition>(),
                Err(NotAPartition(bad.to_owned())),
                "{bad}"
            );
        }
    }

    /// Every ARN outside tests goes through [`Partition::arn`]: no source file (up to its test
    /// module) holds a string that starts one in the standard partition.
    #[test]
    fn no_code_writes_an_arn_of_the_standard_partition() {
        fn sources(dir: &std::path::Path, into: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, into);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path.file_name().is_some_and(|n| n != "tests.rs")
                {
                    into.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        sources(&root.join("src"), &mut files);
        sources(&root.join("../triggers/src"), &mut files);
        assert!(files.len() > 20, "{files:?}");
        let literal = ["\"arn:", "aws:"].concat();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            assert!(!code.contains(&literal), "{}", file.display());
        }
    }

    #[test]
    fn arns_carry_the_partition() {
        let cn = Partition::of_region("cn-north-1");
        assert_eq!(
            cn.arn("lambda", "cn-north-1", "123456789012", "function:f"),
            "arn:aws-cn:lambda:cn-north-1:123456789012:function:f"
        );
        assert_eq!(
            Partition::standard().arn("iam", "", "*", "role/pwp-*"),
            "arn:aws:iam::*:role/pwp-*"
        );
        assert_eq!(Partition::default(), Partition::standard());
        assert_eq!(cn.to_string(), "aws-cn");
    }
}
