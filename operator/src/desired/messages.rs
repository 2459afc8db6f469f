//! The pool's sign-in messages in other languages. They go into the trigger's deployment
//! package as one JSON file (the function's 4 KB environment cannot hold them); the
//! environment names the languages, so the trigger can log a package that disagrees with it.

use std::collections::BTreeMap;

use passwordless_contract::messages as contract;

use crate::crd::Strategy;
use crate::validate::ValidatedSpec;

/// The languages, and the file's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Messages {
    pub languages: Vec<String>,
    pub file: String,
}

/// The languages a trigger pool sends messages in beside the default, sorted: what the
/// environment names, without building the file (every comparison with AWS asks).
pub fn languages(spec: &ValidatedSpec) -> Vec<String> {
    match spec.strategy {
        Strategy::MagicLink | Strategy::EmailOtp => spec.email.localized.keys().cloned().collect(),
        Strategy::SmsOtp => spec.sms.localized.keys().cloned().collect(),
        Strategy::Native => Vec::new(),
    }
}

/// The messages a trigger pool sends in other languages, if it has any: the email's for the
/// email strategies, the text message's for `smsOtp`. Sorted, so the file (and the package's
/// digest) depends on the spec alone.
pub fn messages(spec: &ValidatedSpec) -> Option<Messages> {
    let by_language: BTreeMap<String, BTreeMap<&str, String>> = match spec.strategy {
        Strategy::MagicLink | Strategy::EmailOtp => spec
            .email
            .localized
            .iter()
            .map(|(tag, m)| {
                let fields = [
                    (contract::SUBJECT, &m.subject),
                    (contract::HTML, &m.html),
                    (contract::TEXT, &m.text),
                ]
                .into_iter()
                .filter_map(|(k, v)| Some((k, v.clone()?)))
                .collect();
                (tag.clone(), fields)
            })
            .collect(),
        Strategy::SmsOtp => spec
            .sms
            .localized
            .iter()
            .map(|(tag, m)| {
                (
                    tag.clone(),
                    BTreeMap::from([(contract::SMS, m.text.clone())]),
                )
            })
            .collect(),
        Strategy::Native => BTreeMap::new(),
    };
    if by_language.is_empty() {
        return None;
    }
    Some(Messages {
        languages: by_language.keys().cloned().collect(),
        file: serde_json::to_string(&by_language).expect("strings serialize"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::validate;

    fn spec(yaml: &str) -> ValidatedSpec {
        validate(&serde_yaml::from_str(yaml).unwrap()).unwrap()
    }

    #[test]
    fn each_strategy_carries_its_own_messages_only() {
        let email = spec(
            "strategy: emailOtp\nsender: {address: a@example.com}\nemail:\n  subject: 'Code {{code}}'\n  localized:\n    pt-BR: {subject: 'Código {{code}}'}\n    de: {text: 'Code: {{code}}', html: '<b>{{code}}</b>', subject: 'Ihr Code'}\n",
        );
        let m = messages(&email).unwrap();
        assert_eq!(m.languages, ["de", "pt-BR"]);
        assert_eq!(languages(&email), m.languages);
        assert_eq!(
            m.file,
            r#"{"de":{"html":"<b>{{code}}</b>","subject":"Ihr Code","text":"Code: {{code}}"},"pt-BR":{"subject":"Código {{code}}"}}"#
        );
        let sms =
            spec("strategy: smsOtp\nsms:\n  localized:\n    es: {text: '{{code}} es tu código'}\n");
        assert_eq!(
            messages(&sms).unwrap().file,
            r#"{"es":{"sms":"{{code}} es tu código"}}"#
        );
        assert_eq!(messages(&spec("strategy: smsOtp\n")), None);
    }
}
