//! Anchore version numbers as users type them: `5.1`, `5.1.0`, `v5.1.0`, `5.1.0-rc1`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A parsed version. Missing minor or patch numbers are 0; a pre-release tag is kept for
/// display but ignored when choosing a release line (`5.1.0-rc1` is a 5.1 build).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    /// Major number.
    pub major: u64,
    /// Minor number.
    pub minor: u64,
    /// Patch number.
    pub patch: u64,
    /// Pre-release or build tag after `-` or `+`, if any.
    pub pre: Option<String>,
}

/// A string that is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not a version ({reason}); write it like 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1")]
pub struct VersionError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl Version {
    /// A release version.
    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            pre: None,
        }
    }

    /// The numeric part, which decides the release line.
    pub fn core(&self) -> (u64, u64, u64) {
        (self.major, self.minor, self.patch)
    }
}

impl FromStr for Version {
    type Err = VersionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| VersionError {
            input: input.to_owned(),
            reason,
        };
        let text = input.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let (core, pre) = match text.find(['-', '+']) {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        if core.is_empty() {
            return Err(err("no number"));
        }
        let mut numbers = [0u64; 3];
        let parts: Vec<&str> = core.split('.').collect();
        if parts.len() > 3 {
            return Err(err("more than three numbers"));
        }
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("each part must be a number"));
            }
            *slot = part.parse().map_err(|_| err("number too large"))?;
        }
        let pre = match pre {
            Some("") => return Err(err("empty pre-release tag")),
            Some(tag)
                if !tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
            {
                return Err(err(
                    "the pre-release tag may hold only letters, digits, '.' and '-'",
                ));
            }
            other => other.map(str::to_owned),
        };
        Ok(Version {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            pre,
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        match &self.pre {
            Some(pre) => write!(f, "-{pre}"),
            None => Ok(()),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    /// Semantic-version order: a pre-release sorts before its release.
    fn cmp(&self, other: &Self) -> Ordering {
        self.core()
            .cmp(&other.core())
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(
            input
                .parse::<Version>()
                .map(|v| v.to_string())
                .unwrap_or_else(|e| e.to_string()),
            expected
        );
    }

    #[test]
    fn parses_what_users_type() {
        check("5.1", "5.1.0");
        check("5.1.0", "5.1.0");
        check("v5.1.0", "5.1.0");
        check("5.1.0-rc1", "5.1.0-rc1");
        check(" 0.9.4 ", "0.9.4");
        check("5", "5.0.0");
    }

    #[test]
    fn refuses_what_is_not_a_version() {
        check(
            "",
            "'' is not a version (no number); write it like 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1",
        );
        check(
            "latest",
            "'latest' is not a version (each part must be a number); write it like 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1",
        );
        check(
            "1.2.3.4",
            "'1.2.3.4' is not a version (more than three numbers); write it like 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1",
        );
        check(
            "5..1",
            "'5..1' is not a version (each part must be a number); write it like 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1",
        );
        check(
            "5.1-",
            "'5.1-' is not a version (empty pre-release tag); write it like 5.1, 5.1.0, v5.1.0 or 5.1.0-rc1",
        );
    }

    #[test]
    fn pre_releases_sort_before_their_release() {
        let v = |s: &str| s.parse::<Version>().unwrap();
        assert!(v("5.1.0-rc1") < v("5.1.0"));
        assert!(v("5.0.9") < v("5.1.0-rc1"));
        assert_eq!(v("5.1.0-rc1").core(), v("5.1").core());
    }
}
