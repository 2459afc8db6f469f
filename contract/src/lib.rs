//! What the operator and the trigger must agree on, defined once. The operator writes the
//! trigger's environment from a validated spec; the trigger reads it back at start-up. Both
//! sides, and the CRD schema generated from the operator's types, take every name, default and
//! range from here, so the two can never drift apart.

/// Environment variable names the operator sets on the trigger function.
pub mod env {
    /// One of [`crate::strategy::TRIGGER`].
    pub const STRATEGY: &str = "PWP_STRATEGY";
    pub const LINK_TTL_SECONDS: &str = "PWP_LINK_TTL_SECONDS";
    /// Seconds between two sends (link or code) to one user, for every strategy.
    pub const MIN_INTERVAL_SECONDS: &str = "PWP_MIN_INTERVAL_SECONDS";
    /// Wrong answers to one user's codes, across sessions, before sign-in locks (see
    /// [`crate::MAX_FAILURES`]).
    pub const MAX_FAILURES: &str = "PWP_MAX_FAILURES";
    /// The first lockout's length; each further wrong answer doubles it, up to
    /// [`crate::MAX_LOCKOUT_SECONDS`].
    pub const LOCKOUT_SECONDS: &str = "PWP_LOCKOUT_SECONDS";
    pub const OTP_LENGTH: &str = "PWP_OTP_LENGTH";
    pub const OTP_TTL_SECONDS: &str = "PWP_OTP_TTL_SECONDS";
    pub const ATTEMPT_LIMIT: &str = "PWP_ATTEMPT_LIMIT";
    /// A JSON array of URLs; the first is the default.
    pub const REDIRECT_URLS: &str = "PWP_REDIRECT_URLS";
    pub const SENDER_ADDRESS: &str = "PWP_SENDER_ADDRESS";
    pub const SENDER_NAME: &str = "PWP_SENDER_NAME";
    pub const REPLY_TO: &str = "PWP_REPLY_TO";
    pub const APP_NAME: &str = "PWP_APP_NAME";
    pub const EMAIL_SUBJECT: &str = "PWP_EMAIL_SUBJECT";
    pub const EMAIL_HTML: &str = "PWP_EMAIL_HTML";
    pub const EMAIL_TEXT: &str = "PWP_EMAIL_TEXT";
    pub const SMS_TEXT: &str = "PWP_SMS_TEXT";
    /// The language tags of [`crate::messages::FILE`], comma-separated: set exactly when the
    /// deployment package carries that file.
    pub const LOCALES: &str = "PWP_LOCALES";
    /// The state table: every strategy has one (cooldown, failures, single-use links).
    pub const TABLE_NAME: &str = "PWP_TABLE_NAME";
    /// The ARN of the Secrets Manager secret holding the signing keys (value format:
    /// [`crate::signing_keys`]). Only the trigger's role may read it; the keys themselves are
    /// never in the environment.
    pub const SIGNING_KEYS_SECRET: &str = "PWP_SIGNING_KEYS_SECRET";
    /// One of [`crate::sign_up::ALL`].
    pub const SIGN_UP: &str = "PWP_SIGN_UP";

    /// One variable of the trigger's environment, as the reference page lists it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Var {
        pub name: &'static str,
        /// The `PasswordlessPool` field it is set from (or what, when no field).
        pub from: &'static str,
        pub meaning: &'static str,
    }

    /// Every variable the operator sets and the trigger reads.
    pub const ALL: [Var; 21] = [
        Var {
            name: STRATEGY,
            from: "spec.strategy",
            meaning: "The flow the trigger runs: magicLink, emailOtp or smsOtp.",
        },
        Var {
            name: SIGN_UP,
            from: "spec.signUp",
            meaning: "Disabled (only users an administrator made sign in) or AutoConfirm (a new address or phone signs itself up).",
        },
        Var {
            name: ATTEMPT_LIMIT,
            from: "spec.attemptLimit",
            meaning: "Answers one sign-in session may give before it fails.",
        },
        Var {
            name: MIN_INTERVAL_SECONDS,
            from: "spec.limits.minIntervalSeconds",
            meaning: "Seconds between two sends (link or code) to one user, for every strategy; 0: no cooldown.",
        },
        Var {
            name: MAX_FAILURES,
            from: "spec.limits.maxFailures",
            meaning: "Wrong answers to one user's codes, across sessions, before sign-in locks.",
        },
        Var {
            name: LOCKOUT_SECONDS,
            from: "spec.limits.lockoutSeconds",
            meaning: "The first lockout's length; each further wrong answer doubles it, up to a day.",
        },
        Var {
            name: OTP_LENGTH,
            from: "spec.otp.length",
            meaning: "Digits of a code sent (longer while the user is locked out).",
        },
        Var {
            name: OTP_TTL_SECONDS,
            from: "spec.otp.ttlSeconds",
            meaning: "How long a code stays valid.",
        },
        Var {
            name: LINK_TTL_SECONDS,
            from: "spec.magicLink.ttlSeconds (magicLink only)",
            meaning: "How long a magic link stays valid.",
        },
        Var {
            name: REDIRECT_URLS,
            from: "spec.magicLink.redirectUrls (magicLink only)",
            meaning: "A JSON array of the URLs a link may open; the first is the default.",
        },
        Var {
            name: SENDER_ADDRESS,
            from: "spec.sender.address",
            meaning: "The address sign-in email is sent from.",
        },
        Var {
            name: SENDER_NAME,
            from: "spec.sender.displayName",
            meaning: "The display name beside the sender's address.",
        },
        Var {
            name: REPLY_TO,
            from: "spec.sender.replyTo",
            meaning: "The Reply-To address of sign-in email.",
        },
        Var {
            name: APP_NAME,
            from: "spec.email.appName",
            meaning: "The application's name, as the templates show it.",
        },
        Var {
            name: EMAIL_SUBJECT,
            from: "spec.email.subject",
            meaning: "The subject template of sign-in email.",
        },
        Var {
            name: EMAIL_HTML,
            from: "spec.email.html",
            meaning: "The HTML body template of sign-in email.",
        },
        Var {
            name: EMAIL_TEXT,
            from: "spec.email.text",
            meaning: "The plain-text body template of sign-in email.",
        },
        Var {
            name: SMS_TEXT,
            from: "spec.sms.text (smsOtp only)",
            meaning: "The text message template of a sign-in code.",
        },
        Var {
            name: LOCALES,
            from: "the keys of spec.email.localized or spec.sms.localized",
            meaning: "The languages the deployment package's messages.json holds, comma-separated. The trigger uses the file's; a disagreement (for the moment between Lambda applying a new environment and a new package) is logged, never a refusal.",
        },
        Var {
            name: TABLE_NAME,
            from: "the pool's state table (named by the operator)",
            meaning: "The DynamoDB table of cooldowns, failure counts and spent links.",
        },
        Var {
            name: SIGNING_KEYS_SECRET,
            from: "the pool's keys secret (named by the operator)",
            meaning: "The Secrets Manager secret the trigger reads its signing keys from; the keys themselves are never in the environment.",
        },
    ];
}

/// Sign-in messages per language: the operator adds them to the pool's deployment package as
/// one JSON file (the function's environment is limited to 4 KB), the trigger reads it at
/// start and picks a language per message.
pub mod messages {
    /// The file, at the package's root: `{"<tag>": {"<field>": "<template>", ...}, ...}`.
    pub const FILE: &str = "messages.json";
    pub const SUBJECT: &str = "subject";
    pub const HTML: &str = "html";
    pub const TEXT: &str = "text";
    pub const SMS: &str = "sms";
    pub const FIELDS: [&str; 4] = [SUBJECT, HTML, TEXT, SMS];
    /// Languages per pool, beside the default.
    pub const MAX_LANGUAGES: usize = 10;
    /// A BCP 47 language tag of the form language[-Script][-REGION] (RFC 5646's common case:
    /// no variants, extensions or private use), e.g. `de`, `pt-BR`, `zh-Hant-TW`.
    pub const LANGUAGE_TAG_PATTERN: &str =
        "^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$";
    /// The longest tag the pattern allows: 3 + `-Xxxx` + `-999`.
    pub const MAX_LANGUAGE_TAG: usize = 12;
    /// The user attribute a user's language is read from first (Cognito's standard `locale`).
    pub const USER_ATTRIBUTE: &str = "locale";
    /// Then the sign-in request's `clientMetadata` key: one tag, or several by preference,
    /// comma-separated (`navigator.languages`, an Accept-Language value).
    pub const CLIENT_METADATA_KEY: &str = "locale";

    /// Whether `tag` is a language tag of the form [`LANGUAGE_TAG_PATTERN`] says.
    pub fn is_language_tag(tag: &str) -> bool {
        let mut parts = tag.split('-');
        let alpha = |s: &str, n: std::ops::RangeInclusive<usize>| {
            n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
        };
        let Some(language) = parts.next() else {
            return false;
        };
        if !alpha(language, 2..=3) {
            return false;
        }
        let rest: Vec<&str> = parts.collect();
        let (script, region) = match rest.as_slice() {
            [] => (None, None),
            [one] if one.len() == 4 => (Some(*one), None),
            [one] => (None, Some(*one)),
            [script, region] => (Some(*script), Some(*region)),
            _ => return false,
        };
        script.is_none_or(|s| alpha(s, 4..=4))
            && region.is_none_or(|r| {
                alpha(r, 2..=2) || (r.len() == 3 && r.bytes().all(|b| b.is_ascii_digit()))
            })
    }
}

/// The strategy names, as written in a manifest and in [`env::STRATEGY`].
pub mod strategy {
    pub const MAGIC_LINK: &str = "magicLink";
    pub const EMAIL_OTP: &str = "emailOtp";
    pub const SMS_OTP: &str = "smsOtp";
    /// Cognito's own USER_AUTH passwordless: no trigger runs.
    pub const NATIVE: &str = "native";
    /// The strategies a trigger function serves.
    pub const TRIGGER: [&str; 3] = [MAGIC_LINK, EMAIL_OTP, SMS_OTP];
}

/// The sign-up policy names, as written in a manifest and in [`env::SIGN_UP`].
pub mod sign_up {
    pub const DISABLED: &str = "Disabled";
    pub const AUTO_CONFIRM: &str = "AutoConfirm";
    pub const ALL: [&str; 2] = [DISABLED, AUTO_CONFIRM];
}

/// An inclusive range of whole numbers with the value used when none is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub min: u32,
    pub max: u32,
    pub default: u32,
}

impl Bounds {
    pub const fn contains(&self, value: u32) -> bool {
        self.min <= value && value <= self.max
    }
}

/// How long a magic link stays valid, in seconds. The default is OWASP ASVS 5.0's cap (V6.5.5)
/// for out-of-band links and codes; longer is allowed, with a Warning.
pub const LINK_TTL_SECONDS: Bounds = Bounds {
    min: 60,
    max: 3600,
    default: ASVS_MAX_OUT_OF_BAND_SECONDS,
};
/// OWASP ASVS 5.0 V6.5.5: out-of-band links and codes live at most 10 minutes.
pub const ASVS_MAX_OUT_OF_BAND_SECONDS: u32 = 600;
/// Minimum seconds between two sends (link or code) to one user (0: no cooldown).
pub const MIN_INTERVAL_SECONDS: Bounds = Bounds {
    min: 0,
    max: 3600,
    default: 60,
};
/// Wrong answers to one user's codes, across sessions, before sign-in locks for
/// [`LOCKOUT_SECONDS`]. A lock does not keep the user out: while it lasts, every code sent is
/// [`HARDENED_OTP_LENGTH`] digits long, beyond guessing, and only such a code (or a magic link)
/// is accepted; codes of the usual length are refused unchecked.
pub const MAX_FAILURES: Bounds = Bounds {
    min: 1,
    max: 100,
    default: 5,
};
/// The first lockout, in seconds; it doubles with each further wrong answer.
pub const LOCKOUT_SECONDS: Bounds = Bounds {
    min: 1,
    max: 86_400,
    default: 900,
};
/// The longest lockout, however many wrong answers.
pub const MAX_LOCKOUT_SECONDS: u64 = 86_400;
/// Digits of every code sent while the user is locked out (10^16 codes: at the default cooldown
/// a day of wrong answers, at most 3 a send, has about 4e-13 chance; 16 digits keep it under
/// 1e-7 even at a thousand sends a second). Longer than any [`OTP_LENGTH`], so a client that
/// reads or takes a code must allow [`OTP_LENGTH`]`.min` up to this many digits.
pub const HARDENED_OTP_LENGTH: u32 = 16;

/// Cognito waits 5 seconds for a trigger, then retries it: the function's timeout is no longer,
/// so a slow invocation ends rather than runs on beside its retry.
pub const TRIGGER_TIMEOUT_SECONDS: i32 = 5;
/// The budget of one AWS call of the trigger, retries included. An invocation makes at most
/// four in a row (the signing keys on a cold start, the lockout, the send permit, the send; the
/// marker that it answered runs beside the send): 4 × 1.2 s = 4.8 s stays inside
/// [`TRIGGER_TIMEOUT_SECONDS`].
pub const TRIGGER_CALL_TIMEOUT_MS: u64 = 1_200;
/// What an invocation leaves Lambda and Cognito around its own work (starting it, carrying the
/// answer back) when it judges whether it will answer in time.
pub const TRIGGER_OVERHEAD_MS: u64 = 500;
/// One attempt of such a call: a hung connection is given up in time for one retry.
pub const TRIGGER_ATTEMPT_TIMEOUT_MS: u64 = 700;
const _: () = assert!(
    4 * TRIGGER_CALL_TIMEOUT_MS < TRIGGER_TIMEOUT_SECONDS as u64 * 1_000,
    "four calls in a row fit the trigger's timeout"
);
const _: () = assert!(
    HARDENED_OTP_LENGTH > OTP_LENGTH.max,
    "a hardened code is the longest"
);
/// Digits of a one-time code.
pub const OTP_LENGTH: Bounds = Bounds {
    min: 6,
    max: 10,
    default: 6,
};
/// How long a code stays valid, in seconds; 900 is Cognito's longest auth session.
pub const OTP_TTL_SECONDS: Bounds = Bounds {
    min: 60,
    max: 900,
    default: 300,
};
/// Wrong answers allowed before a sign-in fails. The default depends on the strategy.
pub const ATTEMPT_LIMIT: Bounds = Bounds {
    min: 1,
    max: 10,
    default: CODE_ATTEMPT_LIMIT,
};
/// A link is good for one try.
pub const LINK_ATTEMPT_LIMIT: u32 = 1;
/// A typed code forgives typos.
pub const CODE_ATTEMPT_LIMIT: u32 = 3;

/// The attempt limit for a strategy name when the spec gives none.
pub fn default_attempt_limit(strategy: &str) -> u32 {
    if strategy == strategy::MAGIC_LINK {
        LINK_ATTEMPT_LIMIT
    } else {
        CODE_ATTEMPT_LIMIT
    }
}

/// The product name an email shows when the spec names none.
pub const DEFAULT_APP_NAME: &str = "your account";

/// The signing keys' secret value (Secrets Manager, `SecretString`):
/// `kid:base64key[,kid:base64key]`, current first; the first signs, all verify.
pub mod signing_keys {
    /// Separates keys.
    pub const KEY_SEPARATOR: char = ',';
    /// Separates a key's id from its base64 bytes.
    pub const ID_SEPARATOR: char = ':';
    /// How long a trigger process uses the keys it read before reading them again. The
    /// operator keeps a retired key in the secret this much longer than the links it signed.
    pub const MAX_AGE_SECONDS: u64 = 300;
}

/// The per-pool DynamoDB table the trigger keeps single-use, cooldown and failure records in.
pub mod table {
    /// The partition key (string).
    pub const PARTITION_KEY: &str = "pk";
    /// The TTL attribute (epoch seconds); DynamoDB deletes expired items lazily.
    pub const TTL_ATTRIBUTE: &str = "expiresAt";
}

/// What CreateAuthChallenge tells the client, in its public challenge parameters: a sign-in
/// client (the operator's `signin` command, an app) reads [`challenge::STEP`] and acts on it.
pub mod challenge {
    /// The parameter naming what happened: one of [`step`].
    pub const STEP: &str = "step";
    /// The masked address the link or code went to (`CODE_SENT`, `LINK_SENT`).
    pub const DESTINATION: &str = "destination";
    /// Whole seconds until trying again is worth it (`COOLDOWN`, `LOCKED_OUT`).
    pub const RETRY_AFTER_SECONDS: &str = "retryAfterSeconds";

    /// The values of [`STEP`].
    pub mod step {
        /// Magic link, first round: answer with the link's token (metadata `action=redeem`) or
        /// ask for a link (`action=request`).
        pub const PROVIDE_AUTH_PARAMETERS: &str = "PROVIDE_AUTH_PARAMETERS";
        /// A link answer failed; another link may be tried.
        pub const PROVIDE_LINK: &str = "PROVIDE_LINK";
        /// A link (and its fallback code) was emailed.
        pub const LINK_SENT: &str = "LINK_SENT";
        /// A code was emailed or texted.
        pub const CODE_SENT: &str = "CODE_SENT";
        /// Nothing was sent: the last send to this user was under the minimum interval ago. The
        /// attempt ends with the next answer.
        pub const COOLDOWN: &str = "COOLDOWN";
        /// Nothing was sent and no answer is accepted: too many wrong answers. The attempt ends
        /// with the next answer. Sent by triggers before locks hardened codes instead (see
        /// [`crate::MAX_FAILURES`]); today's trigger never sends it, but a client should still
        /// end the attempt on it.
        pub const LOCKED_OUT: &str = "LOCKED_OUT";
    }
}

/// The operator's synthetic invocation after it deploys the trigger: proof that the deployed
/// binary accepts its configuration and can read well-formed signing keys from
/// [`env::SIGNING_KEYS_SECRET`] (one GetSecretValue; no other AWS call).
pub mod probe {
    /// The `triggerSource` of the probe event (Cognito never sends it).
    pub const TRIGGER_SOURCE: &str = "PasswordlessOperator_Probe";
    /// What a trigger that refuses its configuration answers every invocation with, and what
    /// the probe's error starts with when the keys cannot be read: before the reason (which
    /// names the variable and the AWS error code or the fault, never a value).
    pub const REFUSED_PREFIX: &str = "configuration refused: ";
    /// What follows the variable's name when the keys' secret could not be read (then the AWS
    /// error code): a passing fault (a new role's permissions still spreading, throttling),
    /// retried, unlike a refused configuration, which waits for a change.
    pub const KEYS_UNREADABLE: &str = "GetSecretValue failed: ";

    /// Whether a probe's failure `reason` is the trigger refusing its configuration (or its
    /// keys as malformed), which only a change mends; any other (the secret unreadable for now,
    /// a timeout, a crash) may pass by itself.
    pub fn refused_for_good(reason: &str) -> bool {
        reason.starts_with(REFUSED_PREFIX) && !reason.contains(KEYS_UNREADABLE)
    }
}

/// The sign-in email's placeholders, written `{{name}}`.
pub mod placeholder {
    /// The magic link.
    pub const LINK: &str = "link";
    /// The one-time code.
    pub const CODE: &str = "code";
    /// How long the link or code stays valid, e.g. `15 minutes` (in English).
    pub const TTL: &str = "ttl";
    /// The same in whole minutes, rounded up, e.g. `15`: for messages in other languages.
    pub const TTL_MINUTES: &str = "ttlMinutes";
    /// The product name.
    pub const APP_NAME: &str = "appName";
    pub const ALL: [&str; 5] = [LINK, CODE, TTL, TTL_MINUTES, APP_NAME];

    /// The `{{name}}` placeholders of a template, in order, trimmed. An unclosed `{{` ends the
    /// scan: the trigger leaves the rest as text.
    pub fn scan(template: &str) -> Vec<(std::ops::Range<usize>, &str)> {
        let mut found = Vec::new();
        let mut offset = 0;
        while let Some(start) = template[offset..].find("{{") {
            let open = offset + start;
            let Some(end) = template[open + 2..].find("}}") else {
                break;
            };
            let close = open + 2 + end;
            // ASCII whitespace only, as the CRD's CEL (RE2 `\s`) reads it.
            let name = template[open + 2..close].trim_matches(|c: char| c.is_ascii_whitespace());
            found.push((open..close + 2, name));
            offset = close + 2;
        }
        found
    }

    /// The names used in a template, in order.
    pub fn names(template: &str) -> Vec<&str> {
        scan(template).into_iter().map(|(_, name)| name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_take_the_common_bcp47_form_only() {
        for good in [
            "de",
            "DE",
            "pt-BR",
            "zh-Hant",
            "zh-Hant-TW",
            "es-419",
            "haw",
            "sr-Latn-RS",
        ] {
            assert!(messages::is_language_tag(good), "{good}");
        }
        for bad in [
            "",
            "d",
            "deutsch",
            "de-",
            "-de",
            "de_DE",
            "de-DEU",
            "de-1996-x",
            "en-US-x-twain",
            "zh-Hant-TW-x",
            "de--DE",
            "12",
            "de-12",
            "en-Latn1",
        ] {
            assert!(!messages::is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn every_default_lies_in_its_range() {
        for b in [
            LINK_TTL_SECONDS,
            MIN_INTERVAL_SECONDS,
            MAX_FAILURES,
            LOCKOUT_SECONDS,
            OTP_LENGTH,
            OTP_TTL_SECONDS,
            ATTEMPT_LIMIT,
        ] {
            assert!(b.contains(b.default), "{b:?}");
        }
        assert!(ATTEMPT_LIMIT.contains(LINK_ATTEMPT_LIMIT));
        assert_eq!(default_attempt_limit(strategy::MAGIC_LINK), 1);
        assert_eq!(default_attempt_limit(strategy::SMS_OTP), 3);
    }

    #[test]
    fn placeholders_are_found_in_order_with_their_spans() {
        let t = "a {{ link }} b {{code}}{{ttl";
        assert_eq!(placeholder::names(t), vec!["link", "code"]);
        let spans: Vec<_> = placeholder::scan(t).into_iter().map(|(r, _)| r).collect();
        assert_eq!(spans, vec![2..12, 15..23]);
    }
}
