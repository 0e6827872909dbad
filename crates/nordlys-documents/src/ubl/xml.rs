//! A small XML writer for UBL: elements written straight into one pre-sized `String`, text
//! and attribute values escaped, amounts with exactly 2 decimals, quantities and prices as
//! exact decimals, dates `YYYY-MM-DD`. Empty values are left out (PEPPOL-EN16931-R008: no
//! empty elements). Characters XML 1.0 cannot carry (control characters other than tab and
//! line breaks, U+FFFE, U+FFFF) are not written: each is recorded with the element it was
//! meant for, and the renderer refuses the document.

use std::fmt::Write as _;

use jiff::civil::Date;
use rust_decimal::Decimal;

/// A value that could not be written, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ForbiddenText {
    /// The element path, `Invoice/cac:InvoiceLine/cac:Item/cbc:Name`.
    pub location: String,
    pub value: String,
}

pub(crate) struct Xml {
    out: String,
    open: Vec<&'static str>,
    pub(crate) forbidden: Vec<ForbiddenText>,
}

impl Xml {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        let mut out = String::with_capacity(bytes);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Xml {
            out,
            open: Vec::with_capacity(8),
            forbidden: Vec::new(),
        }
    }

    pub(crate) fn finish(self) -> (String, Vec<ForbiddenText>) {
        (self.out, self.forbidden)
    }

    fn indent(&mut self) {
        for _ in 0..self.open.len() {
            self.out.push_str("  ");
        }
    }

    /// `<tag attributes…>` on its own line; the caller closes it with [`Xml::close`].
    pub(crate) fn open_with(&mut self, tag: &'static str, attributes: &[(&str, &str)]) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attributes {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            self.escaped(tag, value, true);
            self.out.push('"');
        }
        self.out.push_str(">\n");
        self.open.push(tag);
    }

    pub(crate) fn open(&mut self, tag: &'static str) {
        self.open_with(tag, &[]);
    }

    pub(crate) fn close(&mut self) {
        if let Some(tag) = self.open.pop() {
            self.indent();
            self.out.push_str("</");
            self.out.push_str(tag);
            self.out.push_str(">\n");
        }
    }

    fn start_leaf(&mut self, tag: &'static str, attribute: Option<(&str, &str)>) {
        self.indent();
        self.out.push('<');
        self.out.push_str(tag);
        if let Some((name, value)) = attribute {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            self.escaped(tag, value, true);
            self.out.push('"');
        }
        self.out.push('>');
    }

    fn end_leaf(&mut self, tag: &'static str) {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push_str(">\n");
    }

    /// `<tag>text</tag>`; nothing when `text` is empty.
    pub(crate) fn text(&mut self, tag: &'static str, text: &str) {
        self.text_with(tag, None, text);
    }

    /// `<tag name="value">text</tag>`; nothing when `text` is empty.
    pub(crate) fn text_with(
        &mut self,
        tag: &'static str,
        attribute: Option<(&str, &str)>,
        text: &str,
    ) {
        if text.is_empty() {
            return;
        }
        self.start_leaf(tag, attribute);
        self.escaped(tag, text, false);
        self.end_leaf(tag);
    }

    /// `<tag currencyID="NOK">1234.50</tag>`: an amount with exactly 2 decimals.
    pub(crate) fn amount(&mut self, tag: &'static str, currency: &str, amount: Decimal) {
        self.start_leaf(tag, Some(("currencyID", currency)));
        write_amount(&mut self.out, amount);
        self.end_leaf(tag);
    }

    /// `<tag>1234.567</tag>` (or with one attribute): the exact decimal, without trailing zeros.
    pub(crate) fn decimal(
        &mut self,
        tag: &'static str,
        attribute: Option<(&str, &str)>,
        value: Decimal,
    ) {
        self.start_leaf(tag, attribute);
        write_decimal(&mut self.out, value);
        self.end_leaf(tag);
    }

    pub(crate) fn date(&mut self, tag: &'static str, date: Date) {
        self.start_leaf(tag, None);
        write_date(&mut self.out, date);
        self.end_leaf(tag);
    }

    /// `value` escaped for XML text (`&`, `<`, `>`) or an attribute (also `"`). A character
    /// XML cannot carry is recorded and the whole value left out.
    fn escaped(&mut self, tag: &'static str, value: &str, attribute: bool) {
        let needs_care = value
            .bytes()
            .any(|b| b < 0x20 || matches!(b, b'&' | b'<' | b'>' | b'"' | 0xEF));
        if !needs_care {
            self.out.push_str(value);
            return;
        }
        if value.chars().any(forbidden_in_xml) {
            let mut location: String = self.open.join("/");
            location.push('/');
            location.push_str(tag);
            self.forbidden.push(ForbiddenText {
                location,
                value: value.chars().take(80).collect(),
            });
            return;
        }
        for c in value.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '"' if attribute => self.out.push_str("&quot;"),
                // Line breaks and tabs in attributes would be normalised to spaces by a parser.
                '\n' if attribute => self.out.push_str("&#10;"),
                '\r' => self.out.push_str("&#13;"),
                '\t' if attribute => self.out.push_str("&#9;"),
                c => self.out.push(c),
            }
        }
    }
}

/// True for the characters XML 1.0 documents cannot contain (its `Char` production).
pub(crate) fn forbidden_in_xml(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// An amount with exactly 2 decimals (the caller has checked it has no more), never `-0.00`.
pub(crate) fn write_amount(out: &mut String, amount: Decimal) {
    let mut amount = amount.round_dp(2);
    if amount.is_zero() {
        amount = Decimal::ZERO;
    }
    amount.rescale(2);
    let _ = write!(out, "{amount}");
}

/// The exact decimal without trailing zeros, never `-0`.
pub(crate) fn write_decimal(out: &mut String, value: Decimal) {
    let value = if value.is_zero() {
        Decimal::ZERO
    } else {
        value.normalize()
    };
    let _ = write!(out, "{value}");
}

/// `YYYY-MM-DD` (PEPPOL-EN16931-F001). Nordlys dates lie in 2000–2099.
pub(crate) fn write_date(out: &mut String, date: Date) {
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}",
        date.year(),
        date.month(),
        date.day()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(write: impl FnOnce(&mut Xml)) -> (String, Vec<ForbiddenText>) {
        let mut xml = Xml::with_capacity(64);
        xml.open("Invoice");
        write(&mut xml);
        xml.close();
        let (out, forbidden) = xml.finish();
        let body = out.lines().skip(2).collect::<Vec<_>>().join("\n");
        let body = body.trim_end_matches("</Invoice>").trim().to_owned();
        (body, forbidden)
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        let (out, forbidden) = rendered(|xml| {
            xml.text_with(
                "cbc:Name",
                Some(("schemeID", "a\"b<c")),
                "Berg & Sønn <AS> \"Nord\"",
            )
        });
        assert_eq!(
            out,
            "<cbc:Name schemeID=\"a&quot;b&lt;c\">Berg &amp; Sønn &lt;AS&gt; \"Nord\"</cbc:Name>"
        );
        assert!(forbidden.is_empty());
    }

    #[test]
    fn empty_text_writes_no_element() {
        let (out, _) = rendered(|xml| xml.text("cbc:Note", ""));
        assert_eq!(out, "");
    }

    #[test]
    fn control_characters_are_refused_with_their_place() {
        let (out, forbidden) = rendered(|xml| {
            xml.open("cac:Item");
            xml.text("cbc:Name", "Strøm\u{7}spot");
            xml.close();
        });
        assert!(!out.contains("Strøm"), "{out}");
        assert_eq!(
            forbidden,
            vec![ForbiddenText {
                location: "Invoice/cac:Item/cbc:Name".to_owned(),
                value: "Strøm\u{7}spot".to_owned()
            }]
        );
        // Tab and line breaks are XML characters; U+FFFF is not.
        assert!(!forbidden_in_xml('\t') && !forbidden_in_xml('\n') && !forbidden_in_xml('\r'));
        assert!(forbidden_in_xml('\u{FFFF}') && forbidden_in_xml('\u{0}'));
        let (_, forbidden) = rendered(|xml| xml.text("cbc:Note", "a\u{FFFE}"));
        assert_eq!(forbidden.len(), 1);
    }

    #[test]
    fn amounts_have_two_decimals_and_no_negative_zero() {
        let text = |value: &str| {
            let mut out = String::new();
            write_amount(&mut out, value.parse().unwrap());
            out
        };
        assert_eq!(text("1234.5"), "1234.50");
        assert_eq!(text("-0.00"), "0.00");
        assert_eq!(text("0"), "0.00");
        assert_eq!(text("-12"), "-12.00");
        assert_eq!(-Decimal::new(0, 2), Decimal::ZERO);
        let mut out = String::new();
        write_amount(&mut out, -Decimal::new(0, 2));
        assert_eq!(out, "0.00");
    }

    #[test]
    fn quantities_and_prices_are_exact_without_trailing_zeros() {
        let text = |value: &str| {
            let mut out = String::new();
            write_decimal(&mut out, value.parse().unwrap());
            out
        };
        assert_eq!(text("1234.5670"), "1234.567");
        assert_eq!(text("0.28770000001"), "0.28770000001");
        assert_eq!(text("25.00"), "25");
        assert_eq!(text("-0.0"), "0");
        assert_eq!(text("100"), "100");
    }

    #[test]
    fn dates_are_iso() {
        let mut out = String::new();
        write_date(&mut out, Date::constant(2026, 1, 9));
        assert_eq!(out, "2026-01-09");
    }
}
