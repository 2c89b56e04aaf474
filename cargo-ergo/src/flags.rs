//! One `--with-*` value as Go Ergo's generator writes it: `Name`, `Parent:Name`, either
//! followed by parameters in braces, `Parent:Name{key:value,key:value}`.

use std::fmt;

/// A parsed `--with-*` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decl {
    /// The flag it came from (`--with-sup`), for messages.
    pub flag: &'static str,
    /// The parent's name, if the value had one.
    pub parent: Option<String>,
    /// The declared name.
    pub name: String,
    /// The parameters, in the order given.
    pub params: Vec<(String, String)>,
}

/// A value that does not follow `Parent:Name{key:value,...}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// The flag.
    pub flag: &'static str,
    /// The value as given.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} `{}`: {}", self.flag, self.value, self.reason)
    }
}

impl std::error::Error for SyntaxError {}

/// Parses `value` of `flag`.
pub fn parse(flag: &'static str, value: &str) -> Result<Decl, SyntaxError> {
    let err = |reason: String| SyntaxError {
        flag,
        value: value.to_string(),
        reason,
    };
    let (path, params) = match value.find('{') {
        None => (value, None),
        Some(open) => {
            let Some(inner) = value[open + 1..].strip_suffix('}') else {
                return Err(err("parameters must end with `}`".into()));
            };
            (&value[..open], Some(inner))
        }
    };
    let (parent, name) = match path.split_once(':') {
        None => (None, path.trim()),
        Some((parent, name)) => {
            if name.contains(':') {
                return Err(err(
                    "expected `Parent:Name` (one parent: nest deeper by declaring the parent with its own parent)".into(),
                ));
            }
            let parent = parent.trim();
            if parent.is_empty() {
                return Err(err("the parent before `:` is empty".into()));
            }
            (Some(parent.to_string()), name.trim())
        }
    };
    if name.is_empty() {
        return Err(err("the name is empty".into()));
    }
    let mut pairs = Vec::new();
    for item in params.into_iter().flat_map(|p| p.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((key, val)) = item.split_once(':') else {
            return Err(err(format!("parameter `{item}` is not `key:value`")));
        };
        let (key, val) = (key.trim(), val.trim());
        if key.is_empty() || val.is_empty() {
            return Err(err(format!("parameter `{item}` is not `key:value`")));
        }
        if pairs.iter().any(|(k, _): &(String, String)| k == key) {
            return Err(err(format!("parameter `{key}` is given twice")));
        }
        pairs.push((key.to_string(), val.to_string()));
    }
    Ok(Decl {
        flag,
        parent,
        name: name.to_string(),
        params: pairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decl(parent: Option<&str>, name: &str, params: &[(&str, &str)]) -> Decl {
        Decl {
            flag: "--with-sup",
            parent: parent.map(String::from),
            name: name.to_string(),
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn names_parents_and_parameters() {
        assert_eq!(parse("--with-sup", "MySup"), Ok(decl(None, "MySup", &[])));
        assert_eq!(
            parse("--with-sup", "MyApp:MySup"),
            Ok(decl(Some("MyApp"), "MySup", &[]))
        );
        assert_eq!(
            parse("--with-sup", "MyApp:MySup{type:afo, strategy:perm}"),
            Ok(decl(
                Some("MyApp"),
                "MySup",
                &[("type", "afo"), ("strategy", "perm")]
            ))
        );
        assert_eq!(parse("--with-sup", "MySup{}"), Ok(decl(None, "MySup", &[])));
    }

    #[test]
    fn malformed_values_say_what_is_wrong() {
        let e = parse("--with-sup", "A:B:C").unwrap_err();
        assert!(e.to_string().contains("one parent"), "{e}");
        let e = parse("--with-sup", ":B").unwrap_err();
        assert!(e.to_string().contains("parent before `:` is empty"), "{e}");
        let e = parse("--with-sup", "A:").unwrap_err();
        assert!(e.to_string().contains("name is empty"), "{e}");
        let e = parse("--with-sup", "A:B{type:ofo").unwrap_err();
        assert!(e.to_string().contains("end with `}`"), "{e}");
        let e = parse("--with-sup", "A:B{type}").unwrap_err();
        assert!(e.to_string().contains("`type` is not `key:value`"), "{e}");
        let e = parse("--with-sup", "A:B{type:ofo,type:afo}").unwrap_err();
        assert!(e.to_string().contains("given twice"), "{e}");
        assert_eq!(
            e.to_string(),
            "--with-sup `A:B{type:ofo,type:afo}`: parameter `type` is given twice"
        );
    }
}
