//! The document's words in the buyer's language: Fluent messages (`i18n/{nb,da,en}/*.ftl`,
//! embedded with `include_str!`) looked up by id, and ([`format`]) numbers, amounts, dates and
//! identifiers written as each language writes them. Renderers take every label from here;
//! no template formats anything that depends on the language.

pub mod format;

use std::fmt;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use nordlys_core::model::Language;

/// Every language documents are written in, in a fixed order.
pub const LANGUAGES: [Language; 3] = [Language::Nb, Language::Da, Language::En];

/// The Fluent source of the invoice messages of `language`.
pub fn invoice_source(language: Language) -> &'static str {
    match language {
        Language::Nb => include_str!("../i18n/nb/invoice.ftl"),
        Language::Da => include_str!("../i18n/da/invoice.ftl"),
        Language::En => include_str!("../i18n/en/invoice.ftl"),
    }
}

/// A message that could not be loaded or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum I18nError {
    /// A `.ftl` file does not parse; `line` is 1-based.
    Syntax {
        language: Language,
        line: usize,
        detail: String,
    },
    /// A message id is not in the language's file.
    MissingMessage { language: Language, id: String },
    /// A message refers to an argument the caller did not give, or is otherwise broken.
    Format {
        language: Language,
        id: String,
        detail: String,
    },
}

impl fmt::Display for I18nError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            I18nError::Syntax {
                language,
                line,
                detail,
            } => write!(
                f,
                "i18n/{}/invoice.ftl line {line} does not parse: {detail}",
                language.code()
            ),
            I18nError::MissingMessage { language, id } => write!(
                f,
                "message `{id}` is missing from i18n/{}/invoice.ftl",
                language.code()
            ),
            I18nError::Format {
                language,
                id,
                detail,
            } => write!(
                f,
                "message `{id}` of i18n/{}/invoice.ftl cannot be written: {detail}",
                language.code()
            ),
        }
    }
}

impl std::error::Error for I18nError {}

/// The invoice messages of every language, parsed once; `Send + Sync`, shared by threads.
pub struct Localiser {
    bundles: Vec<(Language, FluentBundle<FluentResource>)>,
}

impl fmt::Debug for Localiser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Localiser").finish_non_exhaustive()
    }
}

impl Localiser {
    /// Parse the embedded invoice messages of every language.
    pub fn new() -> Result<Self, I18nError> {
        Self::from_sources(invoice_source)
    }

    /// Parse the messages `source` gives for every language (another set than the invoice's,
    /// e.g. the self-service web's).
    pub fn from_sources(source: fn(Language) -> &'static str) -> Result<Self, I18nError> {
        let mut bundles = Vec::with_capacity(LANGUAGES.len());
        for language in LANGUAGES {
            let source = source(language);
            let resource = FluentResource::try_new(source.to_owned()).map_err(|(_, errors)| {
                let first = &errors[0];
                I18nError::Syntax {
                    language,
                    line: source[..first.pos.start.min(source.len())]
                        .matches('\n')
                        .count()
                        + 1,
                    detail: first.kind.to_string(),
                }
            })?;
            let identifier: unic_langid::LanguageIdentifier =
                language.code().parse().map_err(|error| I18nError::Syntax {
                    language,
                    line: 0,
                    detail: format!("language tag: {error}"),
                })?;
            let mut bundle = FluentBundle::new_concurrent(vec![identifier]);
            // The PDF text must read exactly as written: no Unicode isolation marks.
            bundle.set_use_isolating(false);
            bundle
                .add_resource(resource)
                .map_err(|errors| I18nError::Syntax {
                    language,
                    line: 0,
                    detail: errors
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                })?;
            bundles.push((language, bundle));
        }
        Ok(Localiser { bundles })
    }

    fn bundle(&self, language: Language) -> &FluentBundle<FluentResource> {
        // Every language of LANGUAGES has a bundle: `new` builds them all or fails.
        let index = LANGUAGES.iter().position(|l| *l == language).unwrap_or(0);
        &self.bundles[index].1
    }

    /// The message `id` in `language` with its arguments (already formatted text).
    pub fn text(
        &self,
        language: Language,
        id: &str,
        args: &[(&str, &str)],
    ) -> Result<String, I18nError> {
        let bundle = self.bundle(language);
        let pattern = bundle
            .get_message(id)
            .and_then(|message| message.value())
            .ok_or_else(|| I18nError::MissingMessage {
                language,
                id: id.to_owned(),
            })?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, *value);
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        if let Some(error) = errors.first() {
            return Err(I18nError::Format {
                language,
                id: id.to_owned(),
                detail: error.to_string(),
            });
        }
        Ok(text.into_owned())
    }

    /// The ids of every message of `language`, in file order.
    pub fn message_ids(language: Language) -> Vec<String> {
        Self::message_ids_of(invoice_source(language))
    }

    /// The ids of every message of a Fluent `source`, in file order.
    pub fn message_ids_of(source: &str) -> Vec<String> {
        let Ok(resource) = FluentResource::try_new(source.to_owned()) else {
            return Vec::new();
        };
        resource
            .entries()
            .filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(message) => Some(message.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_exists_in_every_language() {
        let localiser = Localiser::new().expect("the embedded messages parse");
        let reference = Localiser::message_ids(Language::En);
        assert!(reference.len() > 50, "{reference:?}");
        for language in LANGUAGES {
            let ids = Localiser::message_ids(language);
            let missing: Vec<_> = reference.iter().filter(|id| !ids.contains(id)).collect();
            let extra: Vec<_> = ids.iter().filter(|id| !reference.contains(id)).collect();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "{}: missing {missing:?}, not in English {extra:?}",
                language.code()
            );
            for id in &ids {
                // Every message writes with placeholder arguments (no broken reference).
                let args = [
                    ("kind", "K"),
                    ("number", "N"),
                    ("vat_id", "V"),
                    ("phone", "P"),
                    ("from", "F"),
                    ("to", "T"),
                    ("page", "1"),
                    ("pages", "2"),
                    ("currency", "NOK"),
                    ("percent", "25"),
                    ("base", "B"),
                    ("category", "Z"),
                    ("amount", "A"),
                    ("documents", "D"),
                    ("date", "D"),
                    ("reason", "R"),
                    ("label", "L"),
                    ("energy", "E"),
                    ("average", "A"),
                    ("scheme", "S"),
                    ("count", "3"),
                    ("days", "10"),
                    ("days_in_month", "31"),
                    ("month", "M"),
                    ("amperes", "25"),
                    ("demand", "D"),
                    ("hour", "H"),
                    ("hours", "H"),
                    ("period", "P"),
                    ("total", "T"),
                    ("price", "P"),
                    ("factor", "F"),
                    ("markup", "M"),
                    ("rate", "R"),
                    ("threshold", "T"),
                    ("covered", "C"),
                    ("capped", "C"),
                    ("rule", "R"),
                ];
                let text = localiser.text(language, id, &args).unwrap();
                assert!(!text.trim().is_empty(), "{id} is empty");
            }
        }
    }

    #[test]
    fn messages_place_their_arguments_without_isolation_marks() {
        let localiser = Localiser::new().unwrap();
        assert_eq!(
            localiser
                .text(
                    Language::Nb,
                    "page-number",
                    &[("page", "1"), ("pages", "3")]
                )
                .unwrap(),
            "Side 1 av 3"
        );
        assert_eq!(
            localiser
                .text(
                    Language::Da,
                    "vat-line",
                    &[("percent", "25"), ("base", "100,00")]
                )
                .unwrap(),
            "Moms 25 % af 100,00"
        );
    }

    #[test]
    fn unknown_ids_and_missing_arguments_are_named() {
        let localiser = Localiser::new().unwrap();
        let error = localiser
            .text(Language::En, "no-such-label", &[])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "message `no-such-label` is missing from i18n/en/invoice.ftl"
        );
        let error = localiser
            .text(Language::Nb, "page-number", &[])
            .unwrap_err();
        assert!(error.to_string().contains("page-number"), "{error}");
    }
}
