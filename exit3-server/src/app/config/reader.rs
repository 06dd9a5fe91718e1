//! Reading variables: every setting through one [`Reader`], which trims, applies the
//! default, and collects every problem instead of stopping at the first. Names and
//! defaults are written once, in [`SETTINGS`](super::SETTINGS) (and the core's throttle
//! scope table for `THROTTLE_*`): a default is parsed by the same rule as a value.

use std::{collections::HashMap, fmt::Display, str::FromStr, time::Duration};

use exit3_core::ThrottleScope;

use super::SETTINGS;

/// The default of a setting, as written in configuration; `None` for an unknown name.
pub(crate) fn default_of(name: &str) -> Option<&'static str> {
    SETTINGS
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.default)
        .or_else(|| {
            ThrottleScope::ALL
                .into_iter()
                .map(ThrottleScope::spec)
                .find(|s| s.setting == name)
                .map(|s| s.default)
        })
}

/// Typed reads of a set of variables, collecting problems.
pub(crate) struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    pub(crate) problems: Vec<String>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(vars: &'a HashMap<String, String>) -> Self {
        Self {
            vars,
            problems: Vec::new(),
        }
    }

    /// Records a problem.
    pub(crate) fn problem(&mut self, text: impl Into<String>) {
        self.problems.push(text.into());
    }

    /// The trimmed value of `name` as set, `None` when unset or blank.
    pub(crate) fn get(&mut self, name: &str) -> Option<String> {
        self.default(name);
        self.vars
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// The default of `name`; a name missing from the tables is a problem (the
    /// deployment test reads them: every name must be documented).
    fn default(&mut self, name: &str) -> &'static str {
        default_of(name).unwrap_or_else(|| {
            self.problem(format!("internal: {name} is not in config::SETTINGS"));
            ""
        })
    }

    /// Reads `name` with `parse`: the value set, else the default; `None` when neither
    /// is there. A value `parse` refuses is a problem (`what` says what was expected,
    /// the error why), and the default applies.
    fn read<T>(
        &mut self,
        name: &str,
        what: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let default = self.default(name);
        if let Some(v) = self.get(name) {
            match parse(&v) {
                Ok(t) => return Some(t),
                Err(why) if why.is_empty() => self.problem(format!("{name}={v:?} is not {what}")),
                Err(why) => self.problem(format!("{name}={v:?} is not {what} ({why})")),
            }
        }
        if default.is_empty() {
            return None;
        }
        let parsed = parse(default).ok();
        if parsed.is_none() {
            self.problem(format!("internal: the default of {name} is not {what}"));
        }
        parsed
    }

    /// The text of `name`: the value set, else the default (`None`: neither).
    pub(crate) fn text(&mut self, name: &str) -> Option<String> {
        self.read(name, "text", |v| Ok(v.to_owned()))
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    pub(crate) fn bool(&mut self, name: &str) -> bool {
        self.read(name, "a boolean (true/false)", |v| {
            match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(String::new()),
            }
        })
        .unwrap_or(false)
    }

    /// A value of `T` (`None`: unset, no default), described as `what` in a problem.
    pub(crate) fn parsed<T: FromStr>(&mut self, name: &str, what: &str) -> Option<T>
    where
        T::Err: Display,
    {
        self.read(name, what, |v| v.parse::<T>().map_err(|e| e.to_string()))
    }

    /// A whole number within `range`, described as `what`.
    pub(crate) fn number<T>(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<T>,
        what: &str,
    ) -> T
    where
        T: FromStr + PartialOrd + Display + Copy + Default,
    {
        let what = format!("{what} from {} to {}", range.start(), range.end());
        self.read(name, &what, |v| {
            v.parse::<T>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_default()
        })
        .unwrap_or_default()
    }

    /// A duration (`500ms`, `15s`, `5m`, `72h`, `30d`, or a bare number of seconds) of at
    /// least `min`.
    pub(crate) fn duration(&mut self, name: &str, min: Duration) -> Duration {
        let what = format!(
            "a duration such as 500ms, 15s, 5m, 72h or 30d (at least {}ms)",
            min.as_millis()
        );
        self.read(name, &what, |v| {
            parse_duration(v).filter(|d| *d >= min).ok_or_default()
        })
        .unwrap_or(min)
    }

    /// A whole number of days from 1 to 36,500, or `off` (`None`).
    pub(crate) fn days_or_off(&mut self, name: &str) -> Option<u32> {
        self.read(name, "a number of days from 1 to 36500, or off", |v| {
            if v.eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            v.parse::<u32>()
                .ok()
                .filter(|d| (1..=36_500).contains(d))
                .map(Some)
                .ok_or_default()
        })
        .flatten()
    }

    /// The non-empty, trimmed entries of a comma-separated list (the value, else the
    /// default).
    pub(crate) fn list(&mut self, name: &str) -> Vec<String> {
        self.read(name, "a comma-separated list", |v| Ok(comma_list(v)))
            .unwrap_or_default()
    }
}

/// `Option` → `Result` with an empty reason (the problem's text says it all).
trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, String>;
}

impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, String> {
        self.ok_or_else(String::new)
    }
}

/// The non-empty, trimmed entries of a comma-separated list.
pub fn comma_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `N` followed by `ms`, `s`, `m`, `h` or `d`, or a bare `N` (seconds). (Five units do
/// not need a dependency.)
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let n: u64 = number.parse().ok()?;
    let seconds = |factor: u64| n.checked_mul(factor).map(Duration::from_secs);
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "" | "s" => seconds(1),
        "m" => seconds(60),
        "h" => seconds(3600),
        "d" => seconds(86_400),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_five_units_and_bare_seconds() {
        assert_eq!(parse_duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("72h"), Some(Duration::from_secs(72 * 3600)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_duration("30d"),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
        for bad in [
            "",
            "s",
            "1.5s",
            "-1s",
            "10 weeks",
            "1w",
            "99999999999999999999d",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
