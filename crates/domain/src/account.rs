//! Rules for accounts: email addresses and development passwords.

use crate::ValidationErrors;

/// Longest email address (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 320;

/// Longest display name kept (longer names from providers are cut).
pub const MAX_NAME_CHARS: usize = 200;

/// Shortest development password.
pub const MIN_PASSWORD_LEN: usize = 10;

/// Longest password we will hash: argon2 costs time per byte, so an unbounded one is a denial-of-service lever.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Trims and lower-cases an email address, or says why it is not one. Deliberately loose (one `@`, something on
/// each side, no spaces): the provider or the email link is what proves an address, not a regex.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    let Some((local, domain)) = email.split_once('@') else {
        return Err("must be an email address");
    };
    // No display-name or group syntax (`x<a@b>`, `a@b, c@d`): an address, nothing a mailer could read as another.
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c);
    if local.is_empty() || domain.is_empty() || domain.contains('@') || email.chars().any(forbidden) {
        return Err("must be an email address");
    }
    if email.len() > MAX_EMAIL_LEN {
        return Err("is too long");
    }
    Ok(email)
}

/// Checks a new development password's length (in characters).
pub fn check_new_password(password: &str) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        errors.add("password", format!("must be at least {MIN_PASSWORD_LEN} characters"));
    } else if password.len() > MAX_PASSWORD_LEN {
        errors.add("password", format!("must be at most {MAX_PASSWORD_LEN} bytes"));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(normalize_email("  Alice@Example.TEST ").as_deref(), Ok("alice@example.test"));
    }

    #[test]
    fn non_addresses_are_refused() {
        for bad in [
            "",
            "alice",
            "@example.test",
            "alice@",
            "a@b@c",
            "al ice@example.test",
            "x<evil@example.test>",
            "a@b.test,c@d.test",
            "a\t@b.test",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.test", "a".repeat(MAX_EMAIL_LEN));
        assert_eq!(normalize_email(&long), Err("is too long"));
    }

    #[test]
    fn password_length_edges() {
        assert!(check_new_password(&"x".repeat(MIN_PASSWORD_LEN - 1)).is_err());
        assert!(check_new_password(&"x".repeat(MIN_PASSWORD_LEN)).is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_LEN)).is_ok());
        assert!(check_new_password(&"x".repeat(MAX_PASSWORD_LEN + 1)).is_err());
    }
}

string_enum!(
    /// What a user may change beyond their own studio sessions. Anyone may read the catalogue and
    /// licenses; writes to them need `editor`, and the royalty ledger (reads and writes) needs `accountant`.
    StaffRole {
        /// Creates and edits works, recordings, contributions and licenses.
        Editor => "editor",
        /// Opens, writes to and closes royalty cycles, and reads statements.
        Accountant => "accountant",
    }
);
