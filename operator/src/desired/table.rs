//! The state table: cooldowns and failure counts for every trigger strategy, and the single use
//! of magic links.

use passwordless_contract::table;

use super::fields::Fields;
use crate::names::StackNames;

#[derive(Debug, Clone, PartialEq)]
pub struct TableConfig {
    pub name: String,
    pub ttl_attribute: String,
}

impl Fields for TableConfig {
    fn fields(&self) -> Vec<(String, String)> {
        vec![(
            "timeToLive.attributeName".into(),
            self.ttl_attribute.clone(),
        )]
    }
}

pub(super) fn desired(names: &StackNames) -> TableConfig {
    TableConfig {
        name: names.table.clone(),
        ttl_attribute: table::TTL_ATTRIBUTE.to_owned(),
    }
}
