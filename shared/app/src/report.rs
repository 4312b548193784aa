//! The answer to `{"action": "verify"}`: one line per vendor connection.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The result of checking one vendor connection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConnectionCheck {
    pub vendor: String,
    pub ok: bool,
    /// On success who or what was reached; on failure what is wrong and what to fix.
    pub detail: String,
}

/// The verification report of one function.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct VerifyReport {
    pub function: String,
    pub ok: bool,
    pub checks: Vec<ConnectionCheck>,
}

impl VerifyReport {
    pub fn new(function: &str, checks: Vec<ConnectionCheck>) -> Self {
        let ok = !checks.is_empty() && checks.iter().all(|c| c.ok);
        VerifyReport { function: function.to_string(), ok, checks }
    }

    /// A report for a function that could not run its checks at all (say, unreadable configuration).
    pub fn failed(function: &str, detail: String) -> Self {
        let check = ConnectionCheck { vendor: "setup".into(), ok: false, detail };
        VerifyReport { function: function.to_string(), ok: false, checks: vec![check] }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.ok { "all connections verified" } else { "NOT VERIFIED" };
        writeln!(f, "{}: {verdict}", self.function)?;
        for c in &self.checks {
            let mark = if c.ok { "ok  " } else { "FAIL" };
            writeln!(f, "  [{mark}] {:<9} {}", c.vendor, c.detail)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(vendor: &str, ok: bool) -> ConnectionCheck {
        ConnectionCheck { vendor: vendor.into(), ok, detail: format!("{vendor} detail") }
    }

    #[test]
    fn report_is_ok_only_when_every_check_is() {
        assert!(VerifyReport::new("f", vec![check("lever", true), check("namely", true)]).ok);
        assert!(!VerifyReport::new("f", vec![check("lever", true), check("namely", false)]).ok);
        assert!(!VerifyReport::new("f", vec![]).ok);
    }

    #[test]
    fn display_marks_failures() {
        let text = VerifyReport::new("f", vec![check("lever", true), check("namely", false)]).to_string();
        assert!(text.contains("NOT VERIFIED"), "{text}");
        assert!(text.contains("[FAIL] namely"), "{text}");
        assert!(text.contains("[ok  ] lever"), "{text}");
    }
}
