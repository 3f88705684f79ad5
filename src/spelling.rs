//! "Did you mean": a correction for a search that found nobody.
//!
//! Each word of the text that no record the caller may see holds, and that is long enough to be
//! misspelt, is replaced by the nearest word (within a few more edits than search itself
//! tolerates) that a visible record holds or that a skill's label or synonym uses: fewest edits first, then the
//! word more visible records hold, then the alphabet. Words of records the caller may not see
//! are never offered, and the search offers the correction only if it finds someone, so nothing
//! hidden shows through it.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use tantivy::schema::Field;
use tantivy::{Searcher, Term};

use crate::Result;
use crate::index::MusterIndex;
use crate::model::Marking;
use crate::stats::Statistics;
use crate::text;

/// `query` with its unknown words corrected, or `None` when no word needs or has a correction.
/// The caller's search decides whether to offer it (only if it finds someone).
pub fn correction(
    index: &MusterIndex,
    max_marking: Marking,
    query: &str,
) -> Result<Option<String>> {
    let searcher = index.reader.searcher();
    let stats = Statistics::new(&searcher, &index.fields, &index.stats_cache, max_marking)?;
    let exact = index.fields.exact;
    let visible = |word: &str| stats.visible_doc_freq(&Term::from_field_text(exact, word));
    let mut changed = false;
    let mut words = Vec::new();
    for word in text::exact_tokens(query) {
        let edits = suggestion_edits(&word);
        if edits == 0 || visible(&word)? > 0 {
            words.push(word);
            continue;
        }
        // (distance, word, whether a skill's name uses it)
        let mut candidates: BTreeSet<(usize, String, bool)> = BTreeSet::new();
        for (distance, near) in index.taxonomy.words_near(&word, edits)? {
            candidates.insert((distance, near, true));
        }
        for (distance, near) in terms_near(&searcher, exact, &word, edits)? {
            candidates.insert((distance, near, false));
        }
        let mut best: Option<(usize, Reverse<usize>, Reverse<u64>, String)> = None;
        for (distance, candidate, names_a_skill) in candidates {
            let records = visible(&candidate)?;
            if records == 0 && !names_a_skill {
                continue; // held only by records the caller may not see
            }
            // among equally near words, the one that starts as typed for longer (a slip is
            // likelier late in a word), then the commoner
            let same_start = word
                .chars()
                .zip(candidate.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let key = (distance, Reverse(same_start), Reverse(records), candidate);
            if best.as_ref().is_none_or(|b| key < *b) {
                best = Some(key);
            }
        }
        match best {
            Some((_, _, _, better)) => {
                changed = true;
                words.push(better);
            }
            None => words.push(word),
        }
    }
    Ok(changed.then(|| words.join(" ")))
}

/// Edits a suggestion may make to a word: one more than search's own typo tolerance allows
/// ([`text::allowed_edits`]; two more from 8 letters), as search has already tried those and a
/// suggestion is only offered, never applied. None under 4 letters.
fn suggestion_edits(word: &str) -> usize {
    match (word.chars().count(), text::allowed_edits(word) as usize) {
        (0..=3, _) => 0,
        (4, _) => 1,
        (5..=7, allowed) => allowed + 1,
        (_, allowed) => allowed + 2,
    }
}

/// Terms of `field` within `limit` edits of `word` that begin with its first letter (a
/// misspelling seldom starts wrong, and this reads one slice of each dictionary).
pub fn terms_near(
    searcher: &Searcher,
    field: Field,
    word: &str,
    limit: usize,
) -> tantivy::Result<Vec<(usize, String)>> {
    let Some(first) = word.chars().next() else {
        return Ok(Vec::new());
    };
    let chars: Vec<char> = word.chars().collect();
    let start = first.to_string();
    let end = char::from_u32(first as u32 + 1).map(|c| c.to_string());
    let mut near = Vec::new();
    for segment in searcher.segment_readers() {
        let terms = segment.inverted_index(field)?;
        let mut range = terms.terms().range().ge(start.as_bytes());
        if let Some(end) = &end {
            range = range.lt(end.as_bytes());
        }
        let mut stream = range.into_stream()?;
        while stream.advance() {
            let Ok(term) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            let other: Vec<char> = term.chars().collect();
            let distance = text::edit_distance_chars(&chars, &other, limit);
            if distance <= limit {
                near.push((distance, term.to_string()));
            }
        }
    }
    Ok(near)
}
