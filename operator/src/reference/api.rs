//! The API reference, from the CRD schema the Rust types generate (`crdgen`): every field of
//! spec and status, with its type, bounds, default and description (the doc comments on
//! `crd.rs`, which `kubectl explain` shows too).

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray,
};

use super::generated_from;
use super::markdown::{code, finish};
use crate::crdgen::custom_resource_definition;

/// Type, bounds and default, as one line.
fn shape(p: &JSONSchemaProps) -> String {
    let mut parts = Vec::new();
    let kind = match (p.type_.as_deref(), p.format.as_deref()) {
        (Some("array"), _) => {
            let item = match &p.items {
                Some(JSONSchemaPropsOrArray::Schema(s)) => s.type_.clone().unwrap_or_default(),
                _ => String::new(),
            };
            format!("array of {item}")
        }
        (Some(t), Some(f)) => format!("{t} ({f})"),
        (Some(t), None) => t.to_owned(),
        (None, _) if p.x_kubernetes_int_or_string == Some(true) => "integer or string".to_owned(),
        (None, _) => "any".to_owned(),
    };
    parts.push(kind);
    if let Some(values) = &p.enum_ {
        let values: Vec<String> = values
            .iter()
            .map(|v| code(&v.0.to_string().replace('"', "")))
            .collect();
        parts.push(format!("one of {}", values.join(", ")));
    }
    match (p.minimum, p.maximum) {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max}")),
        (Some(min), None) => parts.push(format!("at least {min}")),
        (None, Some(max)) => parts.push(format!("at most {max}")),
        (None, None) => {}
    }
    match (p.min_length, p.max_length) {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max} characters")),
        (Some(min), None) => parts.push(format!("at least {min} characters")),
        (None, Some(max)) => parts.push(format!("at most {max} characters")),
        (None, None) => {}
    }
    match (p.min_items, p.max_items) {
        (Some(min), Some(max)) => parts.push(format!("{min} to {max} items")),
        (Some(min), None) => parts.push(format!("at least {min} items")),
        (None, Some(max)) => parts.push(format!("at most {max} items")),
        (None, None) => {}
    }
    if let Some(pattern) = &p.pattern {
        parts.push(format!("matching {}", code(pattern)));
    }
    if let Some(default) = &p.default {
        parts.push(format!("default {}", code(&default.0.to_string())));
    }
    parts.join("; ")
}

/// Each field below `path`, depth first, in the schema's (alphabetical) order.
fn fields(path: &str, p: &JSONSchemaProps, required: bool, out: &mut String) {
    let mut line = format!("### {}\n\n{}", code(path), shape(p));
    if required {
        line.push_str("; **required**");
    }
    out.push_str(&line);
    out.push_str("\n\n");
    if let Some(description) = &p.description {
        out.push_str(description.trim());
        out.push_str("\n\n");
    }
    for rule in p.x_kubernetes_validations.iter().flatten() {
        let message = rule.message.as_deref().unwrap_or(&rule.rule);
        out.push_str(&format!("- Rule: {message}\n"));
    }
    if p.x_kubernetes_validations.is_some() {
        out.push('\n');
    }
    let children = match &p.items {
        Some(JSONSchemaPropsOrArray::Schema(item)) => Some((format!("{path}[]"), item.as_ref())),
        _ => None,
    };
    let (base, holder) = match &children {
        Some((base, item)) => (base.as_str(), *item),
        None => (path, p),
    };
    let needed = holder.required.clone().unwrap_or_default();
    for (name, child) in holder.properties.iter().flatten() {
        fields(&format!("{base}.{name}"), child, needed.contains(name), out);
    }
}

pub fn page() -> String {
    let crd = custom_resource_definition();
    let version = &crd.spec.versions[0];
    let mut out = generated_from("the Rust types in `operator/src/crd.rs` (the CRD's schema)");
    out.push_str(&format!(
        "# API: {}\n\n`{}/{}`, namespaced (short name `{}`). This page lists every field of \
         its schema, as `kubectl explain` shows them; the rules that tie fields together are \
         on `spec`, checked by the apiserver (CEL) and again by the operator.\n\n",
        crd.spec.names.kind,
        crd.spec.group,
        version.name,
        crd.spec
            .names
            .short_names
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("`, `"),
    ));
    let root = version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("the CRD has a schema");
    for part in ["spec", "status"] {
        if let Some(p) = root.properties.as_ref().and_then(|props| props.get(part)) {
            out.push_str(&format!("## {part}\n\n"));
            let needed = root.required.clone().unwrap_or_default();
            fields(part, p, needed.iter().any(|n| n == part), &mut out);
        }
    }
    finish(out)
}
