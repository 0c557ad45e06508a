//! Splitting a directive's raw arguments the way Apache's `ap_getword_conf`
//! does, so quoting behaves exactly as in mod_wsgi's configuration.

/// Splits `raw` into words: whitespace separates them, and a word that starts
/// with `"` or `'` runs to the matching unescaped quote (a backslash escapes
/// the quote character and is then dropped, as in `ap_getword_conf`). An
/// option's value may be quoted the same way after its `=`
/// (`home='/srv/my app'`, as mod_wsgi's `wsgi_parse_option` reads it, and
/// as mod_wsgi-express writes every value): the word is then `name=value`.
pub fn split_arguments(raw: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            quoted(&mut chars, &mut word)?;
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
                if c == '='
                    && matches!(chars.peek(), Some('"' | '\''))
                    && !word[..word.len() - 1].contains('=')
                {
                    quoted(&mut chars, &mut word)?;
                    break;
                }
            }
        }
        words.push(word);
    }
    Ok(words)
}

/// Reads a quoted run (the quote is next) into `word`.
fn quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    word: &mut String,
) -> Result<(), String> {
    let Some(quote) = chars.next() else {
        return Ok(());
    };
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&quote) {
            word.push(quote);
            chars.next();
        } else if c == quote {
            return Ok(());
        } else {
            word.push(c);
        }
    }
    Err(format!("unterminated quoted argument: {quote}{word}"))
}

/// A Python home (`WSGIPythonHome`, `python-home=`) must be an existing
/// absolute directory: checked while the configuration is read, so that
/// configtest reports it with its line instead of Python failing to start.
pub fn python_home(what: &str, home: &str) -> Result<String, String> {
    let path = std::path::Path::new(home);
    if !path.is_absolute() {
        return Err(format!("{what} must be an absolute path, not '{home}'"));
    }
    if !path.is_dir() {
        return Err(format!("{what} '{home}' is not a directory"));
    }
    Ok(home.to_owned())
}

pub(super) fn exactly_one(name: &str, raw: &str) -> Result<String, String> {
    let mut words = split_arguments(raw)?;
    match words.len() {
        1 => Ok(words.remove(0)),
        0 => Err(format!("{name} takes one argument")),
        n => Err(format!("{name} takes one argument, {n} were given")),
    }
}

pub(super) fn on_off(name: &str, value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("on") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("off") {
        Ok(false)
    } else {
        Err(format!("{name} must be On or Off, not '{value}'"))
    }
}

/// On or Off in mod_wsgi 6's words ("X must be one of: Off | On"), for the
/// directives whose refusal this module words as mod_wsgi does.
pub(super) fn off_or_on(name: &str, value: &str) -> Result<bool, String> {
    on_off(name, value).map_err(|_| format!("{name} must be one of: Off | On, not '{value}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words() {
        assert_eq!(
            split_arguments("  /app  /srv/app.wsgi ").unwrap(),
            ["/app", "/srv/app.wsgi"]
        );
        assert!(split_arguments("   ").unwrap().is_empty());
    }

    #[test]
    fn quoted_words_keep_spaces_and_escaped_quotes() {
        assert_eq!(
            split_arguments(r#""/my app" '/srv/it''s' "a\"b""#).unwrap(),
            ["/my app", "/srv/it", "s", "a\"b"]
        );
    }

    #[test]
    fn option_values_may_be_quoted_as_mod_wsgi_express_writes_them() {
        assert_eq!(
            split_arguments(
                "'site' home='/srv/my app' python-path='' display-name=\"(wsgi:x)\" threads=5"
            )
            .unwrap(),
            [
                "site",
                "home=/srv/my app",
                "python-path=",
                "display-name=(wsgi:x)",
                "threads=5"
            ]
        );
        assert!(
            split_arguments("home='/srv")
                .unwrap_err()
                .contains("unterminated")
        );
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        assert!(
            split_arguments("\"/app")
                .unwrap_err()
                .contains("unterminated")
        );
    }
}
