//! Limits every product-file parser applies before and while it reads (TOML, fri-nettleie
//! YAML, OpenEI URDB JSON): a cheap pre-scan of the nesting depth (a parser given 100,000
//! levels takes quadratic time), at most [`MAX_REPORTED_PROBLEMS`] problems listed (then
//! "… and N more"), and at most a short prefix of an offending value echoed.

/// Problems listed for one file or product, as for CSV imports; the rest are counted.
pub const MAX_REPORTED_PROBLEMS: usize = 20;

/// Characters of an offending value echoed in a message.
pub const MAX_ECHOED_CHARS: usize = 64;

/// Where in a text: 1-based line and column (in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// `text` cut to [`MAX_ECHOED_CHARS`] characters, with `…` when it was longer.
pub fn echo(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHOED_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// A parser's message cut to a readable length (it may quote a long value).
pub fn short_message(message: &str) -> String {
    const MAX_MESSAGE_CHARS: usize = 300;
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message.to_owned(),
        Some((cut, _)) => format!("{}…", &message[..cut]),
    }
}

/// The position of the first bracket that opens more than `max` nested levels, if any.
/// Brackets inside quoted strings do not count (`"` with backslash escapes; with
/// `single_quotes_and_comments` (YAML, TOML), also `'…'` strings and `#` comments after a
/// space or at a line start).
pub fn max_depth_exceeded(
    text: &str,
    max: usize,
    open: &[u8],
    close: &[u8],
    single_quotes_and_comments: bool,
) -> Option<Position> {
    let (mut depth, mut line, mut line_start) = (0usize, 1usize, 0usize);
    let mut quote: Option<u8> = None;
    let mut escaped = false;
    let mut comment = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            line += 1;
            line_start = i + 1;
            comment = false;
            if quote == Some(b'\'') {
                continue;
            }
        }
        if comment {
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if b == b'\\' && q == b'"' {
                escaped = true;
            } else if b == b'\'' && q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                escaped = true; // `''` is a quote inside a single-quoted string
            } else if b == q {
                quote = None;
            }
            continue;
        }
        if b == b'"' || (single_quotes_and_comments && b == b'\'' && starts_token(bytes, i)) {
            quote = Some(b);
        } else if single_quotes_and_comments
            && b == b'#'
            && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n'))
        {
            comment = true;
        } else if open.contains(&b) {
            depth += 1;
            if depth > max {
                return Some(Position {
                    line,
                    column: i - line_start + 1,
                });
            }
        } else if close.contains(&b) {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

/// A `'` opens a string only where a value starts (not in `don't`).
fn starts_token(bytes: &[u8], i: usize) -> bool {
    i == 0
        || matches!(
            bytes[i - 1],
            b' ' | b'\t' | b'\n' | b'[' | b'{' | b',' | b':' | b'-' | b'='
        )
}

/// The first line of a YAML text whose block nesting is deeper than `max`: its indentation
/// plus the `- ` / `? ` indicators that open a nested node on the same line.
pub fn yaml_block_depth_exceeded(text: &str, max: usize) -> Option<Position> {
    for (n, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let mut column = 0;
        while column < bytes.len() {
            match bytes[column] {
                b' ' => column += 1,
                b'-' | b'?' if bytes.get(column + 1).is_none_or(|c| *c == b' ') => column += 2,
                _ => break,
            }
        }
        if column > max {
            return Some(Position {
                line: n + 1,
                column: max + 1,
            });
        }
    }
    None
}

/// Deepest nesting of flow collections (`[…]`, `{…}`) in a YAML or TOML product file.
pub const MAX_FLOW_DEPTH: usize = 32;

/// Widest block indentation (with `- ` indicators) of a YAML line; a fri-nettleie file needs 10.
pub const MAX_YAML_INDENT_COLUMNS: usize = 64;

/// Why a YAML or TOML text nests too deep to be parsed, if it does.
pub fn too_deep(text: &str, yaml: bool) -> Option<String> {
    if let Some(at) = max_depth_exceeded(text, MAX_FLOW_DEPTH, b"[{", b"]}", true) {
        return Some(format!(
            "line {}, column {}: nested deeper than {MAX_FLOW_DEPTH} levels of [ ] and {{ }}",
            at.line, at.column
        ));
    }
    if yaml && let Some(at) = yaml_block_depth_exceeded(text, MAX_YAML_INDENT_COLUMNS) {
        return Some(format!(
            "line {}: indented deeper than {MAX_YAML_INDENT_COLUMNS} columns (nesting without a bound is refused)",
            at.line
        ));
    }
    None
}

/// "… and N more" after the listed problems, or nothing.
pub fn and_more(total: usize) -> Option<String> {
    (total > MAX_REPORTED_PROBLEMS).then(|| format!("… and {} more", total - MAX_REPORTED_PROBLEMS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_keeps_a_short_prefix() {
        assert_eq!(echo("short"), "short");
        let long = "ø".repeat(100);
        assert_eq!(echo(&long), format!("{}…", "ø".repeat(MAX_ECHOED_CHARS)));
    }

    #[test]
    fn depth_counts_brackets_outside_strings_and_comments() {
        assert_eq!(
            max_depth_exceeded("[[\"[[[[\"]]", 2, b"[{", b"]}", false),
            None
        );
        assert_eq!(
            max_depth_exceeded("a: # [[[[\nb: [[[x]]]", 2, b"[{", b"]}", true),
            Some(Position { line: 2, column: 6 })
        );
        assert_eq!(
            yaml_block_depth_exceeded("a:\n  - - - x\n", 4),
            Some(Position { line: 2, column: 5 })
        );
        assert_eq!(yaml_block_depth_exceeded("a:\n  - b: 1\n", 4), None);
        assert_eq!(
            max_depth_exceeded("a = 'don''t [[[['\nb = [[1]]", 2, b"[{", b"]}", true),
            None
        );
    }
}

#[cfg(test)]
mod toml_tests {
    #[test]
    fn deeply_nested_toml_is_refused_before_it_is_parsed() {
        let text = format!("x = {}", "[".repeat(100_000));
        let errors = crate::format::read_product_toml(&text).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "product \"?\", field file: line 1, column 37: nested deeper than 32 levels of [ ] and { }"
        );
    }
}
