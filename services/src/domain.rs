//! Parse-don't-validate newtypes for user input.

use crate::{Error, Result};

/// A syntactically plausible, normalised (trimmed, lower-case) email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an email address: one `@`, a dotted domain, no spaces, at most 254 chars.
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim().to_lowercase();
        let bad = || Error::invalid(format!("'{}' is not a valid email address", raw.trim()));
        if s.is_empty() || s.len() > 254 || s.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(bad());
        }
        Ok(Email(s))
    }
    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the length policy (10 to 128 characters).
pub struct Password(String);

impl Password {
    /// Checks the policy; never echoes the password back.
    pub fn parse(raw: &str) -> Result<Self> {
        let n = raw.chars().count();
        if n < 10 {
            return Err(Error::invalid("password must be at least 10 characters"));
        }
        if n > 128 {
            return Err(Error::invalid("password must be at most 128 characters"));
        }
        Ok(Password(raw.to_owned()))
    }
    /// The raw password, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// An image address an organiser gives: empty, `https://…`, or a path on this
/// site (`/…`, not `//…`); no spaces, quotes or angle brackets.
pub fn parse_image_url(field: &str, raw: &str) -> Result<String> {
    let url = raw.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    let site_path = url.starts_with('/') && !url.starts_with("//");
    if !(url.starts_with("https://") || site_path)
        || url.len() > 1000
        || url.contains(char::is_whitespace)
        || url.contains(['"', '<', '>', '\\'])
    {
        return Err(Error::invalid(format!(
            "{field} must be an https:// address or a path on this site"
        )));
    }
    Ok(url.to_owned())
}

/// An accent colour, `#rrggbb` (stored lowercase); empty for the default.
pub fn parse_accent(raw: &str) -> Result<String> {
    let c = raw.trim().to_ascii_lowercase();
    let ok = c.is_empty()
        || (c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|d| d.is_ascii_hexdigit()));
    if ok {
        Ok(c)
    } else {
        Err(Error::invalid("accent colour must look like #1d4ed8"))
    }
}

/// The text colour readable on `accent` (`#rrggbb`): black or white,
/// whichever contrasts more (WCAG relative luminance).
pub fn text_on(accent: &str) -> &'static str {
    let channel = |i: usize| {
        let v = u8::from_str_radix(accent.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
        let c = f64::from(v) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let l = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
    // Contrast with black is (l + 0.05) / 0.05, with white 1.05 / (l + 0.05).
    if (l + 0.05) / 0.05 >= 1.05 / (l + 0.05) {
        "#000000"
    } else {
        "#ffffff"
    }
}

/// A display name: invisible formatting characters dropped, trimmed,
/// non-empty, at most `max` characters, no control characters.
pub fn parse_name(field: &str, raw: &str, max: usize) -> Result<String> {
    let visible: String = raw.chars().filter(|c| !is_invisible_format(*c)).collect();
    let s = visible.trim();
    if s.is_empty() {
        return Err(Error::invalid(format!("{field} is required")));
    }
    if s.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(s.to_owned())
}

/// Zero-width and direction-changing characters: invisible, they let a name
/// pass for another or flip the text around it, so names and texts drop them.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' // zero-width space, joiners, LRM/RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{061C}' // Arabic letter mark
        | '\u{FEFF}' // zero-width no-break space
    )
}

/// Plain text as attendees type it: trimmed, control characters (but line
/// breaks), zero-width and bidi-override characters stripped, at most `max`
/// characters. Shown as text, never as HTML.
pub fn clean_text(field: &str, raw: &str, max: usize) -> Result<String> {
    let text: String = raw
        .trim()
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .filter(|c| !is_invisible_format(*c))
        .collect();
    let text = text.trim().to_owned();
    if text.is_empty() {
        return Err(Error::invalid(format!("{field} is empty")));
    }
    if text.chars().count() > max {
        return Err(Error::invalid(format!(
            "{field} is longer than {max} characters"
        )));
    }
    Ok(text)
}

/// An event slug: 3-60 chars of `a-z`, `0-9` and inner `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    /// Parses a slug (lower-cased first).
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim().to_lowercase();
        let ok = (3..=60).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if !ok {
            return Err(Error::invalid(
                "slug must be 3-60 characters of a-z, 0-9 and single inner hyphens",
            ));
        }
        Ok(Slug(s))
    }
    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISO 4217 currency code (three upper-case letters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    /// Parses a currency code, e.g. `eur` → `EUR`.
    pub fn parse(raw: &str) -> Result<Self> {
        let s = raw.trim().to_uppercase();
        if s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase()) {
            Ok(Currency(s))
        } else {
            Err(Error::invalid(format!(
                "'{}' is not a currency code like EUR",
                raw.trim()
            )))
        }
    }
    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Digits after the decimal point in this currency's minor unit.
    pub fn exponent(&self) -> u32 {
        match self.0.as_str() {
            "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XAF" | "XOF" | "UGX" | "PYG" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "IQD" | "LYD" => 3,
            _ => 2,
        }
    }
}

/// Formats minor units as a decimal amount, e.g. `12.50` (EUR) or `1500` (JPY).
pub fn format_amount(minor: i64, currency: &str) -> String {
    let exp = Currency::parse(currency).map(|c| c.exponent()).unwrap_or(2);
    if exp == 0 {
        return minor.to_string();
    }
    let unit = 10i64.pow(exp);
    format!(
        "{}.{:0width$}",
        minor / unit,
        minor % unit,
        width = exp as usize
    )
}

/// Formats minor units with the currency code, e.g. `12.50 EUR`.
pub fn format_money(minor: i64, currency: &str) -> String {
    format!("{} {currency}", format_amount(minor, currency))
}

/// Parses a decimal price such as `12.50` into minor units of `currency`, without floats.
pub fn parse_price(raw: &str, currency: &Currency) -> Result<i64> {
    let s = raw.trim();
    let bad = || Error::invalid(format!("'{s}' is not a price like 12.50"));
    if s.is_empty() {
        return Ok(0);
    }
    let (units, frac) = s.split_once('.').unwrap_or((s, ""));
    let exp = currency.exponent() as usize;
    if units.is_empty()
        || !units.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
        || units.len() > 9
    {
        return Err(bad());
    }
    if frac.len() > exp {
        return Err(Error::invalid(format!(
            "{} has {exp} decimal places; '{s}' has more",
            currency.as_str()
        )));
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<exp$}").parse().map_err(|_| bad())?
    };
    Ok(units * 10i64.pow(exp as u32) + frac)
}

#[cfg(test)]
mod branding_tests {
    use super::*;

    #[test]
    fn brand_inputs_are_checked_and_text_stays_readable() {
        assert_eq!(parse_accent(" #1D4ED8 ").unwrap(), "#1d4ed8");
        assert_eq!(parse_accent("").unwrap(), "");
        assert!(parse_accent("red").is_err());
        assert!(parse_accent("#12345g").is_err());
        assert_eq!(text_on("#1d4ed8"), "#ffffff");
        assert_eq!(text_on("#fde047"), "#000000");
        assert_eq!(
            parse_image_url("logo", "/favicon.svg").unwrap(),
            "/favicon.svg"
        );
        assert!(parse_image_url("logo", "//evil.example/x.png").is_err());
        assert!(parse_image_url("logo", "javascript:alert(1)").is_err());
        assert!(parse_image_url("logo", "https://x.example/a b.png").is_err());
        assert!(parse_image_url("logo", "https://x.example/\"onerror=").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_minor_units() {
        let eur = Currency::parse("eur").unwrap();
        assert_eq!(eur.as_str(), "EUR");
        assert_eq!(parse_price("12.5", &eur).unwrap(), 1250);
        assert_eq!(parse_price("12.05", &eur).unwrap(), 1205);
        assert_eq!(parse_price("0", &eur).unwrap(), 0);
        assert_eq!(parse_price("", &eur).unwrap(), 0);
        assert!(parse_price("1.005", &eur).is_err());
        assert!(parse_price("-1", &eur).is_err());
        assert!(parse_price("1e3", &eur).is_err());
        assert!(parse_price(".5", &eur).is_err());
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(parse_price("1500", &jpy).unwrap(), 1500);
        assert!(parse_price("1500.5", &jpy).is_err());
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("€").is_err());
        assert_eq!(format_money(1205, "EUR"), "12.05 EUR");
        assert_eq!(format_money(1500, "JPY"), "1500 JPY");
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ada@Example.ORG ").unwrap().as_str(),
            "ada@example.org"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@b.c",
            "a@b.c@d.e",
            "a b@c.d",
            "a@.c",
            "a@c.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("long enough pw").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("secret-secret").unwrap()),
            "Password(***)"
        );
    }

    #[test]
    fn slugs() {
        assert_eq!(
            Slug::parse("RustConf-2026").unwrap().as_str(),
            "rustconf-2026"
        );
        for bad in [
            "ab",
            "-abc",
            "abc-",
            "a--b",
            "a b c",
            "ümlaut",
            &"a".repeat(61),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn text_is_cleaned_and_bounded() {
        assert_eq!(
            clean_text("m", "  hi\u{0007}\u{202E}there \n", 10).unwrap(),
            "hithere"
        );
        assert_eq!(clean_text("m", "a\nb", 10).unwrap(), "a\nb");
        assert!(clean_text("m", " \u{200B} ", 10).is_err());
        assert!(clean_text("m", "elevenchars", 10).is_err());
        // Markup is kept as text: the browser shows it, never interprets it.
        assert_eq!(clean_text("m", "<b>x</b>", 20).unwrap(), "<b>x</b>");
    }

    #[test]
    fn names() {
        assert_eq!(parse_name("name", "  Ada ", 10).unwrap(), "Ada");
        assert!(parse_name("name", "   ", 10).is_err());
        assert!(parse_name("name", "abcdefghijk", 10).is_err());
        assert!(parse_name("name", "a\u{7}b", 10).is_err());
        // Invisible and direction-changing characters are dropped, not kept.
        assert_eq!(
            parse_name("name", "\u{202E}Ada\u{200B} Love\u{2066}lace\u{FEFF}", 20).unwrap(),
            "Ada Lovelace"
        );
        assert!(parse_name("name", " \u{200B}\u{202E} ", 10).is_err());
    }
}
