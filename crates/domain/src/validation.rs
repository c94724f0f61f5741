//! Per-field validation errors, shared by every transport: problem+json lists them under `errors`, GraphQL under
//! `extensions.errors`, forms next to their fields.

use serde::Serialize;

/// One invalid field and why it is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the client spelled it (JSON/GraphQL/form name).
    pub field: String,
    /// A human-readable reason, safe to show to the user.
    pub reason: String,
}

/// All the invalid fields of one input; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// Records that `field` is invalid for `reason`.
    pub fn add(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FieldError { field: field.to_owned(), reason: reason.into() });
    }

    /// Whether no field was invalid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was recorded, else these errors.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }

    /// Adds `other`'s errors for fields not already reported here (one reason per field is enough).
    pub fn merge(&mut self, other: ValidationErrors) {
        for e in other.0 {
            if self.reason_for(&e.field).is_none() {
                self.0.push(e);
            }
        }
    }

    /// The reason recorded for `field`, if any.
    pub fn reason_for(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.reason.as_str())
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Trims `value` and checks it is non-empty and at most `max` characters; records an error otherwise.
pub fn required_text(errors: &mut ValidationErrors, field: &str, value: &str, max: usize) -> String {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        errors.add(field, "is required");
    } else if let Some(reason) = text_problem(trimmed, max) {
        errors.add(field, reason);
    }
    trimmed.to_owned()
}

/// Like [`required_text`] for optional fields: blank becomes `None`.
pub fn optional_text(errors: &mut ValidationErrors, field: &str, value: Option<&str>, max: usize) -> Option<String> {
    let trimmed = value.map(str::trim).filter(|v| !v.is_empty())?;
    if let Some(reason) = text_problem(trimmed, max) {
        errors.add(field, reason);
    }
    Some(trimmed.to_owned())
}

/// What is wrong with a non-empty text: too long — also once lower-cased, as it is stored a second time for
/// search, and some letters grow (`İ` becomes two characters) — or a NUL character, which PostgreSQL cannot store.
fn text_problem(text: &str, max: usize) -> Option<String> {
    let too_long = text.chars().count() > max || (!text.is_ascii() && text.to_lowercase().chars().count() > max);
    if too_long {
        Some(format!("must be at most {max} characters"))
    } else if text.contains('\0') {
        Some("must not contain a NUL character".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn text_that_grows_when_lower_cased_or_holds_nul_is_refused() {
        let mut errors = ValidationErrors::default();
        required_text(&mut errors, "a", &"İ".repeat(300), 500);
        required_text(&mut errors, "b", "x\0y", 500);
        optional_text(&mut errors, "c", Some(&"É".repeat(500)), 500);
        assert_eq!(errors.reason_for("a"), Some("must be at most 500 characters"));
        assert_eq!(errors.reason_for("b"), Some("must not contain a NUL character"));
        assert_eq!(errors.reason_for("c"), None);
    }
}
