//! Text analysis shared by the taxonomy and the index: one definition of how words are folded.
//!
//! `english` (stemmed, ASCII-folded, lowercased) is used for ranked full text; `exact` (folded and
//! lowercased, not stemmed) for phrases and names. Skill lookups normalise with `english`, so
//! "Epidemiological Modelling", "epidemiological-modelling" and "epidemiological models" agree.

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, TokenStream,
};

use crate::stemming::MemoStemmer;

/// Name under which the stemmed analyser is registered in the index.
pub const ENGLISH: &str = "muster_en";
/// Name under which the unstemmed analyser is registered in the index.
pub const EXACT: &str = "muster_exact";

/// Words that carry no meaning of their own in a query or a skill name.
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "or", "not", "of", "the", "in", "on", "for", "to", "with", "at", "by", "who",
    "can",
];

/// Stemmed English analyser: simple tokens, long ones dropped, lowercase, ASCII folding, stemming
/// (tantivy's English stems, remembered: [`MemoStemmer`]).
pub fn english_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(MemoStemmer)
        .build()
}

/// Registers both analysers, under [`ENGLISH`] and [`EXACT`], with an index's tokenizers.
pub fn register_analyzers(tokenizers: &tantivy::tokenizer::TokenizerManager) {
    tokenizers.register(ENGLISH, english_analyzer());
    tokenizers.register(EXACT, exact_analyzer());
}

/// Unstemmed analyser for phrases and names.
pub fn exact_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

thread_local! {
    /// Each thread's own analysers: building one allocates a tokenizer and a stemmer, which
    /// matters for the many short names the taxonomy looks up per query.
    static ANALYZERS: std::cell::RefCell<(TextAnalyzer, TextAnalyzer)> =
        std::cell::RefCell::new((english_analyzer(), exact_analyzer()));
    /// The tokens both analysers keep, uncased and unstemmed: enough to count them.
    static COUNTER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .build(),
    );
}

/// How many tokens both analysers make of `text` (the same number: casing, folding and stemming
/// change tokens, never their count).
pub fn count_tokens(text: &str) -> u64 {
    COUNTER.with(|a| {
        let mut analyzer = a.borrow_mut();
        let mut stream = analyzer.token_stream(text);
        let mut n = 0;
        while stream.advance() {
            n += 1;
        }
        n
    })
}

/// The stemmed tokens of `text` ([`english_analyzer`]).
pub fn english_tokens(text: &str) -> Vec<String> {
    ANALYZERS.with(|a| tokens(&mut a.borrow_mut().0, text))
}

/// The unstemmed tokens of `text` ([`exact_analyzer`]).
pub fn exact_tokens(text: &str) -> Vec<String> {
    ANALYZERS.with(|a| tokens(&mut a.borrow_mut().1, text))
}

/// The tokens `analyzer` makes of `text`.
pub fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

/// A normalised key for matching labels: stemmed tokens joined by single spaces.
pub fn normalise(analyzer: &mut TextAnalyzer, text: &str) -> String {
    tokens(analyzer, text).join(" ")
}

/// A lowercase ASCII slug (`Bayesian statistics` -> `bayesian-statistics`).
pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Edits allowed for a misspelt word: none under 5 characters, 1 from 5, 2 from 8.
pub fn allowed_edits(word: &str) -> u8 {
    match word.chars().count() {
        0..=4 => 0,
        5..=7 => 1,
        _ => 2,
    }
}

/// Levenshtein distance between two strings, in characters (stops early past `limit`).
pub fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    edit_distance_chars(&a, &b, limit)
}

/// [`edit_distance`] of words already split into characters.
pub fn edit_distance_chars(a: &[char], b: &[char], limit: usize) -> usize {
    if a == b {
        return 0;
    }
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        let mut row_min = current[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            row_min = row_min.min(current[j]);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_ignores_case_plural_punctuation_and_accents() {
        let mut en = english_analyzer();
        let a = normalise(&mut en, "Epidemiological Modelling");
        assert_eq!(a, normalise(&mut en, "epidemiological-modelling"));
        assert_eq!(
            normalise(&mut en, "Bayesian statistics"),
            normalise(&mut en, "bayesian statistic")
        );
        assert_eq!(normalise(&mut en, "Café"), normalise(&mut en, "cafe"));
    }

    #[test]
    fn edits_are_allowed_only_for_longer_words() {
        assert_eq!(allowed_edits("cbrn"), 0);
        assert_eq!(allowed_edits("virus"), 1);
        assert_eq!(allowed_edits("virology"), 2);
        assert_eq!(edit_distance("epidemiolgy", "epidemiology", 2), 1);
        assert_eq!(edit_distance("kitten", "sitting", 5), 3);
        assert!(edit_distance("abc", "xyzxyz", 1) > 1);
    }

    #[test]
    fn slug_is_lowercase_ascii_with_single_dashes() {
        assert_eq!(
            slug("Fire and explosion science"),
            "fire-and-explosion-science"
        );
        assert_eq!(slug("  CBRN / defence "), "cbrn-defence");
    }
}
