//! U-NAPTR (RFC 4848) as the SML uses it: of a participant's NAPTR records, the terminal ones
//! (flag `U`) for service `Meta:SMP`, in order and preference; each record's regexp
//! (`!^.*$!https://smp.example/!`, RFC 3402 syntax) rewrites the queried name into the SMP's
//! base URL.

/// The NAPTR service of an SMP's base URL.
pub const SMP_SERVICE: &str = "Meta:SMP";

/// One NAPTR record as the resolver returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NaptrRecord {
    pub order: u16,
    pub preference: u16,
    pub flags: String,
    pub services: String,
    pub regexp: String,
    pub replacement: String,
}

/// A NAPTR regexp that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("NAPTR regexp {regexp:?}: {reason}")]
pub struct NaptrError {
    pub regexp: String,
    pub reason: String,
}

/// The SMP base URL that `records` (the NAPTR records of `queried_host`) give: the first, by
/// order then preference, terminal `Meta:SMP` record whose regexp matches. `None` when no
/// record is for an SMP (the name exists but does not point at one).
pub fn smp_url_from_naptr(
    records: &[NaptrRecord],
    queried_host: &str,
) -> Result<Option<String>, NaptrError> {
    let mut candidates: Vec<&NaptrRecord> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("u"))
        .filter(|r| r.services.eq_ignore_ascii_case(SMP_SERVICE))
        .collect();
    candidates.sort_by_key(|r| (r.order, r.preference));
    let host = queried_host.trim_end_matches('.');
    for record in candidates {
        if let Some(url) = apply_regexp(&record.regexp, host)? {
            return Ok(Some(url));
        }
    }
    Ok(None)
}

/// Apply an RFC 3402 substitution expression `<delim>ere<delim>replacement<delim>[i]` to
/// `input`: `None` if the ERE does not match (the record does not apply).
pub fn apply_regexp(regexp: &str, input: &str) -> Result<Option<String>, NaptrError> {
    let fail = |reason: &str| NaptrError {
        regexp: regexp.to_owned(),
        reason: reason.to_owned(),
    };
    let mut chars = regexp.chars();
    let delim = chars
        .next()
        .ok_or_else(|| fail("empty; expected !pattern!replacement!"))?;
    if delim == '\\' || delim.is_ascii_digit() || delim.is_ascii_alphabetic() {
        return Err(fail(
            "the delimiter may not be a backslash, digit or letter",
        ));
    }
    // Split at unescaped delimiters; `\<delim>` stands for the delimiter itself.
    let mut parts = vec![String::new()];
    let mut escaped = false;
    for c in chars {
        if escaped {
            let part = parts.last_mut().expect("parts is never empty");
            if c != delim {
                part.push('\\');
            }
            part.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == delim {
            parts.push(String::new());
        } else {
            parts.last_mut().expect("parts is never empty").push(c);
        }
    }
    if escaped {
        return Err(fail("ends in a lone backslash"));
    }
    let [pattern, replacement, flags] = <[String; 3]>::try_from(parts)
        .map_err(|_| fail("expected three delimiters: !pattern!replacement!flags"))?;
    let case_insensitive = match flags.as_str() {
        "" => false,
        "i" => true,
        _ => return Err(fail("the only flag is 'i'")),
    };
    let regex = regex_lite::RegexBuilder::new(&pattern)
        .case_insensitive(case_insensitive)
        .build()
        .map_err(|e| fail(&format!("the pattern does not compile: {e}")))?;
    let Some(captures) = regex.captures(input) else {
        return Ok(None);
    };
    // The replacement is literal text but for `\1`…`\9` (back-references) and `\\`.
    let mut out = String::new();
    let mut rest = replacement.chars().peekable();
    while let Some(c) = rest.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match rest.next() {
            Some(d @ '0'..='9') => {
                let group = d.to_digit(10).expect("a digit") as usize;
                match captures.get(group) {
                    Some(m) => out.push_str(m.as_str()),
                    None if group < regex.captures_len() => {}
                    None => return Err(fail(&format!("back-reference \\{group} has no group"))),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(order: u16, preference: u16, services: &str, regexp: &str) -> NaptrRecord {
        NaptrRecord {
            order,
            preference,
            flags: "U".into(),
            services: services.into(),
            regexp: regexp.into(),
            replacement: ".".into(),
        }
    }

    #[test]
    fn the_sml_style_regexp_yields_the_smp_url() {
        assert_eq!(
            apply_regexp(
                "!^.*$!https://smp.example/!",
                "ABC.iso6523-actorid-upis.zone"
            )
            .unwrap(),
            Some("https://smp.example/".to_owned())
        );
    }

    #[test]
    fn back_references_escapes_and_other_delimiters_work() {
        assert_eq!(
            apply_regexp(r"#^([a-z]+)\.zone$#https://\1.smp.example/#", "acme.zone").unwrap(),
            Some("https://acme.smp.example/".to_owned())
        );
        assert_eq!(
            apply_regexp(r"!^.*$!https://smp.example/a\!b!", "x").unwrap(),
            Some("https://smp.example/a!b".to_owned()),
            "an escaped delimiter is part of the replacement"
        );
        assert_eq!(
            apply_regexp("!^ABC$!https://x/!i", "abc").unwrap(),
            Some("https://x/".to_owned())
        );
        assert_eq!(apply_regexp("!^ABC$!https://x/!", "abc").unwrap(), None);
    }

    #[test]
    fn malformed_regexps_are_errors_naming_the_regexp() {
        for (regexp, reason) in [
            ("", "empty"),
            ("!^.*$!https://x/", "three delimiters"),
            ("!^.*$!https://x/!g", "only flag"),
            ("!(!x!", "does not compile"),
            ("!^.*$!\\2!", "no group"),
        ] {
            let error = apply_regexp(regexp, "host").unwrap_err();
            assert_eq!(error.regexp, regexp);
            assert!(error.reason.contains(reason), "{regexp}: {}", error.reason);
        }
    }

    #[test]
    fn records_are_taken_by_order_then_preference_and_only_for_meta_smp() {
        let records = vec![
            record(20, 10, "Meta:SMP", "!^.*$!https://late.example/!"),
            record(10, 20, "Meta:SMP", "!^.*$!https://second.example/!"),
            record(10, 10, "Meta:CPPA", "!^.*$!https://not-an-smp.example/!"),
            record(10, 15, "meta:smp", "!^nomatch$!https://skipped.example/!"),
            record(10, 16, "Meta:SMP", "!^.*$!https://first.example/!"),
        ];
        assert_eq!(
            smp_url_from_naptr(&records, "host.zone.").unwrap(),
            Some("https://first.example/".to_owned())
        );
        let mut not_terminal = record(1, 1, "Meta:SMP", "!^.*$!https://x/!");
        not_terminal.flags = "S".into();
        assert_eq!(smp_url_from_naptr(&[not_terminal], "h").unwrap(), None);
        assert_eq!(smp_url_from_naptr(&[], "h").unwrap(), None);
    }
}
