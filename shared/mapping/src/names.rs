//! Person names: Lever holds one `name` string, Namely and the learning systems want first and last.

/// A name split into the parts HR systems store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName {
    pub first: String,
    pub last: String,
}

/// Lower-case particles that belong to the family name ("Ludwig van Beethoven", "Ana de la Cruz").
const SURNAME_PARTICLES: &[&str] = &[
    "van", "von", "de", "del", "della", "der", "den", "da", "das", "do", "dos", "di", "du", "la", "le", "st.", "ter",
    "ten", "bin", "ibn", "al",
];

/// How a person is shown to people in run logs and notes: "Jane Doe <jane@example.com>", or whichever
/// part exists; `None` when neither does.
pub fn person_label(name: Option<&str>, email: Option<&str>) -> Option<String> {
    let (name, email) = (name.map(str::trim).filter(|n| !n.is_empty()), email.map(str::trim).filter(|e| !e.is_empty()));
    match (name, email) {
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (Some(name), None) => Some(name.to_string()),
        (None, Some(email)) => Some(email.to_string()),
        (None, None) => None,
    }
}

/// Splits a full name into first and last name.
///
/// Whitespace is collapsed and nothing else is dropped or changed: accents, apostrophes and hyphens
/// are kept. The last word is the last name, together with any lower-case particles before it
/// ("Maria de la Cruz" → "Maria" / "de la Cruz"). A one-word name becomes the first name with an
/// empty last name; the caller decides whether that is acceptable (Namely requires both).
pub fn split_full_name(full: &str) -> PersonName {
    let words: Vec<&str> = full.split_whitespace().collect();
    match words.len() {
        0 => PersonName { first: String::new(), last: String::new() },
        1 => PersonName { first: words[0].to_string(), last: String::new() },
        n => {
            let mut last_start = n - 1;
            // Keep at least one word as the first name.
            while last_start > 1 && SURNAME_PARTICLES.contains(&words[last_start - 1]) {
                last_start -= 1;
            }
            PersonName { first: words[..last_start].join(" "), last: words[last_start..].join(" ") }
        }
    }
}

/// Joins first and last name into a display name, skipping empty parts.
pub fn join_name(first: &str, last: &str) -> String {
    [first.trim(), last.trim()].iter().filter(|p| !p.is_empty()).copied().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_labelled_by_name_and_email_or_whichever_exists() {
        assert_eq!(person_label(Some(" Jane Doe "), Some("jane@x.org")).as_deref(), Some("Jane Doe <jane@x.org>"));
        assert_eq!(person_label(Some("Jane Doe"), Some(" ")).as_deref(), Some("Jane Doe"));
        assert_eq!(person_label(None, Some("jane@x.org")).as_deref(), Some("jane@x.org"));
        assert_eq!(person_label(Some(""), None), None);
    }

    fn split(s: &str) -> (String, String) {
        let n = split_full_name(s);
        (n.first, n.last)
    }

    #[test]
    fn two_words_split_into_first_and_last() {
        assert_eq!(split("Jane Doe"), ("Jane".into(), "Doe".into()));
    }

    #[test]
    fn middle_names_stay_with_the_first_name() {
        assert_eq!(split("Mary Ann Smith"), ("Mary Ann".into(), "Smith".into()));
    }

    #[test]
    fn one_word_name_has_no_last_name() {
        assert_eq!(split("Cher"), ("Cher".into(), "".into()));
        assert_eq!(split("   "), ("".into(), "".into()));
    }

    #[test]
    fn accents_and_punctuation_are_kept() {
        assert_eq!(split("  José   Núñez-O'Brien "), ("José".into(), "Núñez-O'Brien".into()));
    }

    #[test]
    fn surname_particles_belong_to_the_last_name() {
        assert_eq!(split("Maria de la Cruz"), ("Maria".into(), "de la Cruz".into()));
        assert_eq!(split("Ludwig van Beethoven"), ("Ludwig".into(), "van Beethoven".into()));
        // A particle can't swallow the whole name.
        assert_eq!(split("De Smet"), ("De".into(), "Smet".into()));
    }

    #[test]
    fn split_then_join_keeps_every_word() {
        for name in ["Jane Doe", "Mary Ann Smith", "Maria de la Cruz", "李 小龍", "Cher"] {
            let n = split_full_name(name);
            assert_eq!(join_name(&n.first, &n.last), name);
        }
    }
}
