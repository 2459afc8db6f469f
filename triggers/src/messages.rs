//! Sign-in messages in other languages: read once at start from the deployment package's
//! [`FILE`], which the operator adds beside `bootstrap` and names the languages of in
//! [`vars::LOCALES`]; a language picked per message from what the user and the request ask for.

use std::collections::HashMap;

use passwordless_contract::messages::{
    CLIENT_METADATA_KEY, FILE, HTML, MAX_LANGUAGE_TAG, MAX_LANGUAGES, SMS, SUBJECT, TEXT,
    USER_ATTRIBUTE, is_language_tag,
};

/// One language's templates; a field left out is the default language's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Templates {
    pub subject: Option<String>,
    pub html: Option<String>,
    pub text: Option<String>,
    pub sms: Option<String>,
}

/// Every language's templates, by lower-cased tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Localized {
    by_tag: Vec<(String, Templates)>,
}

/// Tags a request may name: a browser's `navigator.languages` rarely holds more.
const MAX_WANTED: usize = 8;

impl Localized {
    /// The package's messages (`file`, its JSON), checked against the languages the
    /// environment names (`languages`, comma-separated). Lambda applies a new environment and a
    /// new package in two steps, so for a moment one may be newer than the other: the file is
    /// used as it is, and a disagreement (or a file that cannot be read) is reported for the log,
    /// never a refusal, so sign-in goes on (in the default language at worst). Reports name the
    /// variable or the file, never a template.
    pub fn load(languages: Option<&str>, file: Option<&str>) -> (Self, Option<&'static str>) {
        let Some(file) = file else {
            return (
                Self::default(),
                languages.map(|_| "PWP_LOCALES names languages but the package holds no messages.json: the default language is used"),
            );
        };
        match Self::parse(file) {
            Err(why) => (Self::default(), Some(why)),
            Ok(loaded) => {
                let mut named: Vec<String> = languages
                    .unwrap_or_default()
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_ascii_lowercase)
                    .collect();
                named.sort_unstable();
                let held: Vec<String> = loaded.by_tag.iter().map(|(t, _)| t.clone()).collect();
                let agrees = named == held;
                (
                    loaded,
                    (!agrees).then_some("PWP_LOCALES and messages.json name different languages: the file's are used"),
                )
            }
        }
    }

    /// The file's languages, each a language tag with known fields.
    fn parse(file: &str) -> Result<Self, &'static str> {
        let parsed: HashMap<String, HashMap<String, String>> = serde_json::from_str(file)
            .map_err(|_| "messages.json is not {\"<tag>\": {\"<field>\": \"<template>\"}}: the default language is used")?;
        if parsed.len() > MAX_LANGUAGES || !parsed.keys().all(|t| is_language_tag(t)) {
            return Err(
                "messages.json holds more languages than allowed, or a malformed tag: the default language is used",
            );
        }
        let mut by_tag = Vec::with_capacity(parsed.len());
        for (tag, mut fields) in parsed {
            let mut take = |name: &str| fields.remove(name);
            let templates = Templates {
                subject: take(SUBJECT),
                html: take(HTML),
                text: take(TEXT),
                sms: take(SMS),
            };
            if !fields.is_empty() {
                return Err(
                    "messages.json holds a field the trigger does not know: the default language is used",
                );
            }
            by_tag.push((tag.to_ascii_lowercase(), templates));
        }
        by_tag.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Self { by_tag })
    }

    pub fn is_empty(&self) -> bool {
        self.by_tag.is_empty()
    }

    /// The templates of the first wanted language held, each wanted tag tried as it is, then
    /// with its last subtag dropped until only the language is left (RFC 4647 lookup:
    /// `de-AT` finds `de`, never `de-DE`). None: the default language.
    pub fn pick(&self, wanted: &[String]) -> Option<&Templates> {
        wanted.iter().find_map(|tag| {
            let mut tag = tag.to_ascii_lowercase();
            loop {
                if let Some((_, t)) = self.by_tag.iter().find(|(held, _)| *held == tag) {
                    return Some(t);
                }
                tag.truncate(tag.rfind('-')?);
            }
        })
    }
}

/// The languages a sign-in asks for, by preference: the user's `locale` attribute, then the
/// request's `clientMetadata.locale` (one tag, or several comma-separated, `;q=` weights
/// ignored, `_` read as `-`). Only well-formed tags, at most [`MAX_WANTED`]: the client is
/// anonymous, and its metadata costs the trigger no more than that.
pub fn wanted(
    attributes: &HashMap<String, String>,
    metadata: &HashMap<String, String>,
) -> Vec<String> {
    let from_user = attributes.get(USER_ATTRIBUTE).map(String::as_str);
    let from_request = metadata.get(CLIENT_METADATA_KEY).map(String::as_str);
    from_user
        .into_iter()
        .chain(from_request)
        .flat_map(|list| list.split(','))
        .take(MAX_WANTED)
        .filter_map(|entry| {
            let tag = entry.split(';').next()?.trim().replace('_', "-");
            (tag.len() <= MAX_LANGUAGE_TAG && is_language_tag(&tag)).then_some(tag)
        })
        .collect()
}

/// Where the package's file is: the task root Lambda unpacked it to (`LAMBDA_TASK_ROOT`), else
/// beside the running binary.
pub fn read_file() -> Option<String> {
    let root = std::env::var_os("LAMBDA_TASK_ROOT")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .ok()?
                .parent()
                .map(ToOwned::to_owned)
        })?;
    std::fs::read_to_string(root.join(FILE)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE_JSON: &str = r#"{"de":{"subject":"Ihr Code"},"pt-BR":{"sms":"{{code}} é seu código"},"zh-Hant":{"text":"代碼 {{code}}"}}"#;

    fn localized() -> Localized {
        let (loaded, report) = Localized::load(Some("de,pt-BR,zh-Hant"), Some(FILE_JSON));
        assert_eq!(report, None);
        loaded
    }

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A new environment and a new package arrive one after the other: whatever the mix, the
    /// trigger starts, with the file's languages, and says so when they disagree.
    #[test]
    fn the_file_wins_and_a_disagreement_is_reported_not_refused() {
        assert_eq!(Localized::load(None, None), (Localized::default(), None));
        let (none, report) = Localized::load(Some("de"), None);
        assert!(none.is_empty() && report.is_some());
        let (held, report) = Localized::load(None, Some(FILE_JSON));
        assert_eq!((held, report.is_some()), (localized(), true));
        let (held, report) = Localized::load(Some("de,fr"), Some(FILE_JSON));
        assert_eq!((held, report.is_some()), (localized(), true));
        for broken in [
            "not json",
            r#"{"de":{"subject":"x","footer":"y"}}"#,
            r#"{"de_DE":{"subject":"x"}}"#,
        ] {
            let (held, report) = Localized::load(Some("de"), Some(broken));
            assert!(held.is_empty() && report.is_some(), "{broken}");
        }
        assert!(!localized().is_empty());
    }

    /// The user's attribute first, then the request's list in order; a region or script falls
    /// back to its language; nothing held: the default.
    #[test]
    fn a_language_is_picked_by_lookup() {
        let l = localized();
        let subject = |attributes: &[(&str, &str)], metadata: &[(&str, &str)]| {
            let wanted = wanted(&map(attributes), &map(metadata));
            l.pick(&wanted).map(|t| {
                t.subject
                    .clone()
                    .or(t.sms.clone())
                    .or(t.text.clone())
                    .unwrap_or_default()
            })
        };
        let de = Some("Ihr Code".to_owned());
        let pt = Some("{{code}} é seu código".to_owned());
        assert_eq!(subject(&[("locale", "de")], &[]), de);
        assert_eq!(subject(&[("locale", "DE-at")], &[]), de);
        assert_eq!(subject(&[("locale", "de_CH")], &[("locale", "pt-BR")]), de);
        assert_eq!(subject(&[("locale", "fr")], &[("locale", "pt-BR")]), pt);
        assert_eq!(
            subject(&[], &[("locale", "fr-FR,pt-BR;q=0.8,de;q=0.5")]),
            pt
        );
        assert_eq!(
            subject(&[], &[("locale", "zh-Hant-TW")]),
            Some("代碼 {{code}}".to_owned())
        );
        // A region never stands for another region of its language.
        assert_eq!(subject(&[], &[("locale", "pt-PT")]), None);
        assert_eq!(subject(&[], &[("locale", "pt")]), None);
        assert_eq!(subject(&[("locale", "fr")], &[]), None);
        assert_eq!(subject(&[], &[]), None);
    }

    /// An anonymous client's metadata is bounded and only well-formed tags count.
    #[test]
    fn hostile_metadata_costs_little_and_matches_nothing_wrongly() {
        let long = format!("{},de", "x-".repeat(10_000));
        assert_eq!(wanted(&map(&[]), &map(&[("locale", &long)])), ["de"]);
        let many = ["fr"; 20].join(",") + ",de";
        assert!(wanted(&map(&[]), &map(&[("locale", &many)])).len() <= MAX_WANTED);
        assert_eq!(
            localized().pick(&wanted(&map(&[]), &map(&[("locale", &many)]))),
            None
        );
        for junk in ["../de", "de\r\nBcc", "*", "de-", "{{code}}"] {
            assert!(
                wanted(&map(&[]), &map(&[("locale", junk)])).is_empty(),
                "{junk:?}"
            );
        }
    }
}
