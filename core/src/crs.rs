//! Coordinate reference system identifiers.
//!
//! geochip does not reproject here: it carries the CRS next to the pixels so that every grid,
//! chip and written file stays georeferenced. Text definitions (WKT, PROJJSON) are kept
//! verbatim, byte for byte, so nothing is lost on a round trip.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Errors from parsing or validating a CRS identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrsError {
    /// The text is empty or only whitespace.
    #[error("crs: empty CRS text")]
    Empty,
    /// An `EPSG:` identifier whose code is not a positive integer.
    #[error("crs: '{text}' is not a valid EPSG code (expected EPSG:<positive integer>)")]
    BadEpsg {
        /// The text as given.
        text: String,
    },
    /// Text that is neither `EPSG:n`, WKT nor PROJJSON.
    #[error(
        "crs: '{text}' is not recognised (expected EPSG:<code>, WKT text or a PROJJSON object)"
    )]
    Unrecognised {
        /// The text as given (truncated to 80 characters).
        text: String,
    },
}

/// A coordinate reference system, as an EPSG code or a verbatim text definition.
///
/// ```
/// use geochip::Crs;
/// let utm: Crs = "EPSG:32618".parse().unwrap();
/// assert_eq!(utm, Crs::Epsg(32618));
/// assert_eq!(utm.to_string(), "EPSG:32618");
/// let wkt: Crs = r#"PROJCS["WGS 84 / UTM zone 18N"]"#.parse().unwrap();
/// assert!(matches!(wkt, Crs::Wkt(_)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[non_exhaustive]
pub enum Crs {
    /// An EPSG code, e.g. 32618 for WGS 84 / UTM zone 18N.
    Epsg(u32),
    /// A WKT (1 or 2) definition, kept verbatim.
    Wkt(String),
    /// A PROJJSON definition, kept verbatim.
    ProjJson(String),
}

impl Crs {
    /// The EPSG code, when this CRS is identified by one.
    ///
    /// ```
    /// use geochip::Crs;
    /// assert_eq!(Crs::Epsg(4326).epsg(), Some(4326));
    /// assert_eq!(Crs::Wkt("GEOGCS[...]".into()).epsg(), None);
    /// ```
    pub fn epsg(&self) -> Option<u32> {
        match self {
            Crs::Epsg(code) => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Crs::Epsg(code) => write!(f, "EPSG:{code}"),
            Crs::Wkt(text) | Crs::ProjJson(text) => f.write_str(text),
        }
    }
}

impl FromStr for Crs {
    type Err = CrsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err(CrsError::Empty);
        }
        let upper_prefix = trimmed.get(..5).map(|p| p.to_ascii_uppercase());
        if upper_prefix.as_deref() == Some("EPSG:") {
            let code = trimmed[5..].trim();
            return match code.parse::<u32>() {
                Ok(c) if c > 0 => Ok(Crs::Epsg(c)),
                _ => Err(CrsError::BadEpsg { text: s.to_owned() }),
            };
        }
        if trimmed.starts_with('{') {
            return Ok(Crs::ProjJson(s.to_owned()));
        }
        // WKT1 and WKT2 both start with an upper-case keyword followed by '[' or '('.
        let keyword_len = trimmed
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || *b == b'_' || b.is_ascii_digit())
            .count();
        if keyword_len > 0 && matches!(trimmed.as_bytes().get(keyword_len), Some(b'[' | b'(')) {
            return Ok(Crs::Wkt(s.to_owned()));
        }
        Err(CrsError::Unrecognised {
            text: trimmed.chars().take(80).collect(),
        })
    }
}

impl TryFrom<String> for Crs {
    type Error = CrsError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Crs> for String {
    fn from(value: Crs) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_epsg_case_insensitive() {
        assert_eq!("epsg:4326".parse::<Crs>().unwrap(), Crs::Epsg(4326));
        assert_eq!(" EPSG: 28992 ".parse::<Crs>().unwrap(), Crs::Epsg(28992));
    }

    #[test]
    fn keeps_text_verbatim() {
        let text = "  GEOGCRS[\"WGS 84\"]";
        assert_eq!(text.parse::<Crs>().unwrap().to_string(), text);
        let pj = "{\"type\": \"ProjectedCRS\"}";
        assert_eq!(pj.parse::<Crs>().unwrap(), Crs::ProjJson(pj.into()));
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!("".parse::<Crs>(), Err(CrsError::Empty));
        assert!(matches!(
            "EPSG:abc".parse::<Crs>(),
            Err(CrsError::BadEpsg { .. })
        ));
        assert!(matches!(
            "EPSG:0".parse::<Crs>(),
            Err(CrsError::BadEpsg { .. })
        ));
        assert!(matches!(
            "utm".parse::<Crs>(),
            Err(CrsError::Unrecognised { .. })
        ));
    }

    #[test]
    fn serde_round_trip() {
        let json = serde_json::to_string(&Crs::Epsg(32618)).unwrap();
        assert_eq!(json, "\"EPSG:32618\"");
        assert_eq!(
            serde_json::from_str::<Crs>(&json).unwrap(),
            Crs::Epsg(32618)
        );
    }
}
