//! The forbidden-text scanner: output that always means a provider or core bug.
//!
//! Terraform reports protocol violations (an invalid or inconsistent plan, an apply result that does
//! not match the plan) as ordinary error diagnostics, and a crashed plugin as "Plugin did not
//! respond". A test that expects *some* error could otherwise pass on one of these, so every terraform
//! invocation is scanned and any match fails the test, whatever the step expected.

/// Texts that fail a test wherever they appear in terraform's output (matched case-insensitively).
pub const FORBIDDEN_TEXTS: &[&str] = &[
    "Provider produced",
    "inconsistent",
    "invalid plan",
    "invalid result object",
    "panic",
    "Plugin did not respond",
    "RUST_BACKTRACE",
];

/// Where a forbidden text was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForbiddenMatch {
    /// The entry of [`FORBIDDEN_TEXTS`] that matched.
    pub pattern: &'static str,
    /// The whole line it matched in, trimmed.
    pub line: String,
}

/// Returns the first forbidden text found in `output`, scanning line by line.
pub fn find_forbidden(output: &str) -> Option<ForbiddenMatch> {
    output.lines().find_map(|line| {
        let lower = line.to_lowercase();
        FORBIDDEN_TEXTS
            .iter()
            .find(|pattern| lower.contains(&pattern.to_lowercase()))
            .map(|pattern| ForbiddenMatch { pattern, line: line.trim().to_owned() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_forbidden_text_in_real_shaped_messages() {
        let samples = [
            ("│ Error: Provider produced inconsistent final plan", "Provider produced"),
            (
                "When expanding the plan for x.y to include new values learned so far during apply, provider produced an invalid new value",
                "Provider produced",
            ),
            ("│ Error: Provider produced invalid plan", "Provider produced"),
            ("│ Error: Provider returned invalid result object after apply", "invalid result object"),
            ("│ Error: Plugin did not respond", "Plugin did not respond"),
            ("thread 'main' panicked at src/main.rs:3:5", "panic"),
            ("panic: runtime error: invalid memory address", "panic"),
            (
                "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
                "RUST_BACKTRACE",
            ),
            ("the result was Inconsistent with the plan", "inconsistent"),
            ("planned an invalid plan for this", "invalid plan"),
        ];
        for (text, pattern) in samples {
            let found = find_forbidden(&format!("Plan: 1 to add\n{text}\nmore"))
                .unwrap_or_else(|| panic!("not found in {text:?}"));
            assert_eq!(found.pattern, pattern, "{text}");
            assert_eq!(found.line, text.trim());
        }
    }

    #[test]
    fn ordinary_output_passes() {
        let output = "\
╷
│ Warning: Provider development overrides are in effect
│
│ The following provider development overrides are set in the CLI configuration:
│  - registry.terraform.io/cloudtemple/cloudtemple in /work/main/target/debug
│
│ The behavior may therefore not match any released version of the provider and applying
│ changes may cause the state to become incompatible with published releases.
╵
Plan: 1 to add, 0 to change, 0 to destroy.
│ Error: Invalid value for \"topology\": expected dev or production
Apply complete! Resources: 1 added, 0 changed, 0 destroyed.";
        assert_eq!(find_forbidden(output), None);
        assert_eq!(find_forbidden(""), None);
    }
}
