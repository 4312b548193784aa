//! Lenient serde helpers for fields vendors send in more than one shape (`""` vs `null`, numbers as
//! strings, two date formats). Use with `#[serde(default, deserialize_with = "…")]`.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn scalar_string(value: Value) -> Option<String> {
    match value {
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string where `""` and `null` both mean absent; numbers and booleans become their text.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(scalar_string(Value::deserialize(d)?))
}

/// An integer sent as a number or a numeric string (Lever `uploadedAt`/`size`, Namely timestamps).
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| s.parse::<f64>().ok().map(|f| f as i64))
        }
        _ => None,
    })
}

/// A decimal sent as a number or a string (Namely `salary.yearly_amount`).
pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', "").parse::<f64>().ok(),
        _ => None,
    })
}

/// A boolean sent as `true`/`false` or as the strings `"true"`/`"false"`.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    })
}

/// Parse a date written `YYYY-MM-DD`, `MM/DD/YYYY` or as an ISO-8601 date-time (date part kept).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%m/%d/%Y"))
        .ok()
        .or_else(|| text.get(..10).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()))
}

/// A date in either format; `""`, `null` and unparseable text are absent.
pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Ok(scalar_string(Value::deserialize(d)?).as_deref().and_then(parse_date))
}

/// An id sent as a string, a number, or an expanded object with an `id`.
pub fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(mut map) => map.remove("id").and_then(scalar_string),
        other => scalar_string(other),
    })
}

/// A required id sent as a string or a number.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    scalar_string(Value::deserialize(d)?).ok_or_else(|| serde::de::Error::custom("missing or empty id"))
}

/// A list where `null` means empty.
pub fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Ids sent as strings or expanded objects (Lever `followers`, `applications` without expand).
pub fn ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let items = Option::<Vec<Value>>::deserialize(d)?.unwrap_or_default();
    Ok(items
        .into_iter()
        .filter_map(|v| match v {
            Value::Object(mut map) => map.remove("id").and_then(scalar_string),
            other => scalar_string(other),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    struct T {
        #[serde(default, deserialize_with = "opt_string")]
        s: Option<String>,
        #[serde(default, deserialize_with = "opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "opt_date")]
        d: Option<NaiveDate>,
        #[serde(default, deserialize_with = "opt_id")]
        id: Option<String>,
    }

    fn t(json: &str) -> T {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn empty_and_null_are_absent() {
        assert_eq!(t(r#"{"s":""}"#).s, None);
        assert_eq!(t(r#"{"s":null}"#).s, None);
        assert_eq!(t(r#"{}"#).s, None);
        assert_eq!(t(r#"{"s":"x"}"#).s.as_deref(), Some("x"));
        assert_eq!(t(r#"{"s":12}"#).s.as_deref(), Some("12"));
    }

    #[test]
    fn numbers_as_strings() {
        assert_eq!(t(r#"{"i":"1582910091572"}"#).i, Some(1_582_910_091_572));
        assert_eq!(t(r#"{"i":1582910091572}"#).i, Some(1_582_910_091_572));
        assert_eq!(t(r#"{"f":"115000.08"}"#).f, Some(115000.08));
        assert_eq!(t(r#"{"f":100000}"#).f, Some(100000.0));
        assert_eq!(t(r#"{"f":""}"#).f, None);
    }

    #[test]
    fn both_date_formats() {
        let want = NaiveDate::from_ymd_opt(2011, 1, 15);
        assert_eq!(t(r#"{"d":"2011-01-15"}"#).d, want);
        assert_eq!(t(r#"{"d":"01/15/2011"}"#).d, want);
        assert_eq!(t(r#"{"d":"2011-01-15T00:00:00-05:00"}"#).d, want);
        assert_eq!(t(r#"{"d":""}"#).d, None);
        assert_eq!(t(r#"{"d":"garbage"}"#).d, None);
    }

    #[test]
    fn ids_as_string_or_object() {
        assert_eq!(t(r#"{"id":"u1"}"#).id.as_deref(), Some("u1"));
        assert_eq!(t(r#"{"id":{"id":"u2","name":"X"}}"#).id.as_deref(), Some("u2"));
        assert_eq!(t(r#"{"id":7}"#).id.as_deref(), Some("7"));
    }
}
