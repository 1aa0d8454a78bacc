//! Command grants (§2 `cmds`, §3): the `--command` syntax, the constraints
//! on a grant, and exact argv matching.

/// One command grant: an exact argv prefix, optionally allowing further arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// argv[0] is an absolute path, or the literal `sudoedit` followed by one absolute file.
    pub argv: Vec<String>,
    /// Further arguments after `argv` are allowed.
    pub any_args: bool,
}

impl Grant {
    /// Human rendering: shell-quoted argv, then `...` if any further arguments are allowed.
    pub fn display(&self) -> String {
        let mut s = self
            .argv
            .iter()
            .map(|a| shell_quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        if self.any_args {
            s.push_str(" ...");
        }
        s
    }
}

/// Quote a word the way `parse_command` reads it back.
pub fn shell_quote(a: &str) -> String {
    if !a.is_empty()
        && a != "..."
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:,+@%".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// Parse a `--command` specification into a grant.
///
/// Words are split on unquoted whitespace; `'...'` quotes literally, `"..."`
/// quotes with `\"` and `\\` escapes, a backslash outside quotes escapes the
/// next character. A final *unquoted* word `...` means "any further
/// arguments"; a quoted `'...'` is a literal argument.
pub fn parse_command(spec: &str) -> Result<Grant, String> {
    let mut words: Vec<(String, bool)> = Vec::new(); // (word, was_quoted_anywhere)
    let mut cur = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                quoted = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                quoted = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x @ ('"' | '\\')) => cur.push(x),
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                quoted = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("backslash at end of command".into()),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push((std::mem::take(&mut cur), quoted));
                    in_word = false;
                    quoted = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push((cur, quoted));
    }
    let mut any_args = false;
    if let Some((w, q)) = words.last() {
        if w == "..." && !q {
            any_args = true;
            words.pop();
        }
    }
    if words.iter().any(|(w, q)| w == "..." && !q) {
        return Err(
            "an unquoted ... may only be the last word (quote it as '...' for a literal argument)"
                .into(),
        );
    }
    let grant = Grant {
        argv: words.into_iter().map(|(w, _)| w).collect(),
        any_args,
    };
    check_grant(&grant)?;
    Ok(grant)
}

pub(super) fn check_grant(g: &Grant) -> Result<(), String> {
    let Some(first) = g.argv.first() else {
        return Err("a command grant needs at least a path".into());
    };
    if g.argv.iter().any(|a| a.contains('\0')) {
        return Err("a command argument contains NUL".into());
    }
    if first == "sudoedit" {
        if g.argv.len() != 2 || !g.argv[1].starts_with('/') {
            return Err("a sudoedit grant names exactly one absolute file".into());
        }
        if g.any_args {
            return Err("a sudoedit grant cannot allow further arguments".into());
        }
    } else if !first.starts_with('/') {
        return Err(format!(
            "command {first:?} is not an absolute path (or sudoedit)"
        ));
    }
    Ok(())
}

/// Exact argv matching (§3).
pub fn grant_matches(g: &Grant, argv: &[String]) -> bool {
    if g.argv.first().map(String::as_str) == Some("sudoedit") {
        return false;
    }
    let n = g.argv.len();
    if argv.len() < n || (argv.len() > n && !g.any_args) {
        return false;
    }
    g.argv.iter().zip(argv).all(|(a, b)| a == b)
}
