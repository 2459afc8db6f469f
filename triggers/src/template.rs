//! The sign-in email: named `{{placeholder}}`s, HTML-escaped in the HTML body.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use passwordless_contract::placeholder;

use crate::config::Config;
use crate::messages::Templates;

/// What a message may mention.
pub struct Values<'a> {
    pub link: Option<&'a str>,
    pub code: &'a str,
    pub ttl: String,
    pub ttl_minutes: String,
    pub app_name: &'a str,
}

pub struct Email {
    pub subject: String,
    pub html: String,
    pub text: String,
}

const LINK_SUBJECT: &str = "Your sign-in link for {{appName}}";
const CODE_SUBJECT: &str = "Your sign-in code for {{appName}}";
const LINK_TEXT: &str = "Hello,\n\nUse this link to sign in to {{appName}}:\n\n{{link}}\n\nIf the link does not open, enter this code instead: {{code}}\n\nThe link and code expire in {{ttl}} and work once. If you did not ask to sign in, you can ignore this email: nobody can sign in without it.\n";
const CODE_TEXT: &str = "Hello,\n\nYour code to sign in to {{appName}} is:\n\n{{code}}\n\nIt expires in {{ttl}}. If you did not ask to sign in, you can ignore this email: nobody can sign in without it.\n";
const SMS_TEXT: &str = "{{code}} is your {{appName}} sign-in code. It expires in {{ttl}}.";
const FRAME_START: &str = r#"<!doctype html><html><body style="margin:0;padding:0;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2933"><table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:32px 16px"><table role="presentation" width="100%" style="max-width:480px;background:#ffffff;border-radius:8px;padding:32px" cellpadding="0" cellspacing="0"><tr><td>"#;
const FRAME_END: &str = r#"<p style="margin:24px 0 0;font-size:13px;color:#616e7c">If you did not ask to sign in, you can ignore this email: nobody can sign in without it.</p></td></tr></table></td></tr></table></body></html>"#;
const LINK_HTML: &str = r#"<h1 style="margin:0 0 16px;font-size:20px">Sign in to {{appName}}</h1><p style="margin:0 0 24px;font-size:15px;line-height:1.5">Click the button to sign in. The link expires in {{ttl}} and works once.</p><p style="margin:0 0 24px"><a href="{{link}}" style="display:inline-block;background:#1f6feb;color:#ffffff;text-decoration:none;font-weight:600;padding:12px 24px;border-radius:6px">Sign in</a></p><p style="margin:0;font-size:14px;line-height:1.5">Or enter this code: <strong style="font-size:18px;letter-spacing:3px">{{code}}</strong></p>"#;
const CODE_HTML: &str = r#"<h1 style="margin:0 0 16px;font-size:20px">Your {{appName}} sign-in code</h1><p style="margin:0 0 24px;font-size:32px;font-weight:700;letter-spacing:6px">{{code}}</p><p style="margin:0;font-size:15px;line-height:1.5">It expires in {{ttl}}.</p>"#;

/// Renders the user's language's templates (`language`, when one was picked), else the
/// configured default's, else the built-in ones, field by field.
pub fn render_email(config: &Config, language: Option<&Templates>, values: &Values<'_>) -> Email {
    let with_link = values.link.is_some();
    let pick = |own, default| chosen(language, own, default);
    let subject = pick(|l| &l.subject, &config.email_subject).unwrap_or(if with_link {
        LINK_SUBJECT
    } else {
        CODE_SUBJECT
    });
    let text = pick(|l| &l.text, &config.email_text).unwrap_or(if with_link {
        LINK_TEXT
    } else {
        CODE_TEXT
    });
    let html = match pick(|l| &l.html, &config.email_html) {
        Some(custom) => fill(custom, values, html_escape),
        None => {
            let body = if with_link { LINK_HTML } else { CODE_HTML };
            format!(
                "{FRAME_START}{}{FRAME_END}",
                fill(body, values, html_escape)
            )
        }
    };
    Email {
        subject: one_line(&fill(subject, values, one_line)),
        html,
        text: fill(text, values, |s| s.to_owned()),
    }
}

/// A language's own template of a field, else the default's.
fn chosen<'a>(
    language: Option<&'a Templates>,
    own: fn(&Templates) -> &Option<String>,
    default: &'a Option<String>,
) -> Option<&'a str> {
    language
        .and_then(|l| own(l).as_deref())
        .or(default.as_deref())
}

/// The SMS text: the user's language's, else the configured default, else the built-in one.
pub fn render_sms(config: &Config, language: Option<&Templates>, values: &Values<'_>) -> String {
    let template = chosen(language, |l| &l.sms, &config.sms_text).unwrap_or(SMS_TEXT);
    fill(template, values, |s| s.to_owned())
}

/// Whole minutes, rounded up: `{{ttlMinutes}}`.
pub fn whole_minutes(seconds: u64) -> String {
    seconds.div_ceil(60).to_string()
}

/// "15 minutes", "1 hour", "90 seconds".
pub fn human_duration(seconds: u64) -> String {
    let (n, unit) = match seconds {
        s if s % 3600 == 0 => (s / 3600, "hour"),
        s if s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

fn fill(template: &str, values: &Values<'_>, escape: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut copied = 0;
    for (span, name) in placeholder::scan(template) {
        out.push_str(&template[copied..span.start]);
        let value = match name {
            placeholder::LINK => values.link.unwrap_or(""),
            placeholder::CODE => values.code,
            placeholder::TTL => values.ttl.as_str(),
            placeholder::TTL_MINUTES => values.ttl_minutes.as_str(),
            placeholder::APP_NAME => values.app_name,
            // Unknown names are refused by the operator's validation; drop them, never echo.
            _ => "",
        };
        out.push_str(&escape(value));
        copied = span.end;
    }
    out.push_str(&template[copied..]);
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Header values must stay on one line.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// The longest RFC 2047 encoded-word (RFC 2047 section 2).
const MAX_ENCODED_WORD: usize = 75;

/// A well-formed RFC 5322 `From:` value: `"Display Name" <address>`, or the bare address when
/// there is no name. An ASCII name is a quoted-string (`"` and `\` escaped); a name with any
/// other character is RFC 2047 encoded-words (UTF-8, base64), split on character boundaries
/// so no word exceeds 75 characters. Control characters (CR and LF above all: header
/// injection) are dropped from both parts.
pub fn from_header(name: Option<&str>, address: &str) -> String {
    let address: String = address.chars().filter(|c| !c.is_control()).collect();
    let address = address.trim();
    let name: String = name
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let name = name.trim();
    if name.is_empty() {
        return address.to_owned();
    }
    if name.is_ascii() {
        let mut quoted = String::with_capacity(name.len() + 2);
        quoted.push('"');
        for c in name.chars() {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        return format!("{quoted} <{address}>");
    }
    const PREFIX: &str = "=?UTF-8?B?";
    const SUFFIX: &str = "?=";
    // Each word is encoded on its own; 45 bytes make at most 60 base64 characters.
    let max_bytes = (MAX_ENCODED_WORD - PREFIX.len() - SUFFIX.len()) / 4 * 3;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in name.chars() {
        if chunk.len() + c.len_utf8() > max_bytes {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    let encoded: Vec<String> = words
        .iter()
        .map(|w| format!("{PREFIX}{}{SUFFIX}", STANDARD.encode(w)))
        .collect();
    format!("{} <{address}>", encoded.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::config;

    fn values(link: Option<&'static str>) -> Values<'static> {
        Values {
            link,
            code: "123456",
            ttl: human_duration(900),
            ttl_minutes: "15".into(),
            app_name: "A&B <Shop>",
        }
    }

    #[test]
    fn the_default_link_email_carries_link_code_and_ttl_escaped() {
        let e = render_email(
            &config("magicLink"),
            None,
            &values(Some("https://app.example.com/cb#tok\"en")),
        );
        assert_eq!(e.subject, "Your sign-in link for A&B <Shop>");
        assert!(
            e.html
                .contains(r#"href="https://app.example.com/cb#tok&quot;en""#)
        );
        assert!(e.html.contains("A&amp;B &lt;Shop&gt;"));
        assert!(e.html.contains("123456") && e.html.contains("15 minutes"));
        assert!(e.text.contains("https://app.example.com/cb#tok\"en") && e.text.contains("123456"));
    }

    #[test]
    fn custom_templates_fill_known_placeholders_only() {
        let mut c = config("emailOtp");
        c.email_subject = Some("Code {{code}}\r\nBcc: x@evil".to_owned());
        c.email_html = Some("<b>{{code}}</b>{{nope}}".to_owned());
        let e = render_email(&c, None, &values(None));
        assert_eq!(e.subject, "Code 123456  Bcc: x@evil");
        assert_eq!(e.html, "<b>123456</b>");
    }

    #[test]
    fn whole_minutes_round_up() {
        assert_eq!(whole_minutes(900), "15");
        assert_eq!(whole_minutes(90), "2");
        assert_eq!(whole_minutes(60), "1");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(3600), "1 hour");
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(90), "90 seconds");
        assert_eq!(human_duration(60), "1 minute");
    }

    #[test]
    fn the_from_header_is_well_formed_for_any_display_name() {
        let a = "no-reply@example.com";
        let cases: [(Option<&str>, &str); 10] = [
            (None, "no-reply@example.com"),
            (Some(""), "no-reply@example.com"),
            (Some("  "), "no-reply@example.com"),
            (Some("Example"), "\"Example\" <no-reply@example.com>"),
            (Some("Acme, Inc."), "\"Acme, Inc.\" <no-reply@example.com>"),
            (
                Some(r#"Say "hi""#),
                r#""Say \"hi\"" <no-reply@example.com>"#,
            ),
            (
                Some(r"back\slash"),
                r#""back\\slash" <no-reply@example.com>"#,
            ),
            (
                Some("Evil\r\nBcc: x@y.z"),
                "\"EvilBcc: x@y.z\" <no-reply@example.com>",
            ),
            (Some("Café"), "=?UTF-8?B?Q2Fmw6k=?= <no-reply@example.com>"),
            (
                Some("東京\n"),
                "=?UTF-8?B?5p2x5Lqs?= <no-reply@example.com>",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(from_header(name, a), want, "{name:?}");
        }
        // A long non-ASCII name: several words, each at most 75 characters, which decode back.
        let long = "Ünïcödé ".repeat(12);
        let header = from_header(Some(&long), a);
        let (words, rest) = header.rsplit_once(" <").unwrap();
        assert_eq!(rest, "no-reply@example.com>");
        let mut decoded = Vec::new();
        for word in words.split(' ') {
            assert!(word.len() <= 75, "{word}");
            let b64 = word
                .strip_prefix("=?UTF-8?B?")
                .unwrap()
                .strip_suffix("?=")
                .unwrap();
            decoded.extend(STANDARD.decode(b64).unwrap());
        }
        assert_eq!(String::from_utf8(decoded).unwrap(), long.trim());
        assert!(header.is_ascii() && !header.contains('\r') && !header.contains('\n'));
        // CR/LF in the address are dropped too.
        assert_eq!(from_header(None, "a@b.c\r\nBcc: x@y.z"), "a@b.cBcc: x@y.z");
    }
}
