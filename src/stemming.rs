//! English stemming that remembers: the same stems as tantivy's `Stemmer` (the same frostem
//! algorithm), with each analyser keeping the stems of the words it has met. Indexing stems the
//! same few tens of thousands of words over and over (every holder of an ESCO concept carries its
//! labels); a lookup replaces the Snowball rules for all but the first time a word is seen.

use std::collections::HashMap;

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words remembered per analyser before the memo starts again (a bound on its memory: about
/// 4 MB).
const REMEMBERED: usize = 50_000;

/// A token filter stemming English words, remembering each word's stem.
#[derive(Clone, Default)]
pub struct MemoStemmer;

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter {
            inner: tokenizer,
            stems: HashMap::new(),
        }
    }
}

/// [`MemoStemmer`] over a tokenizer. A clone starts with an empty memo.
pub struct MemoStemmerFilter<T> {
    inner: T,
    /// Word -> stem, for words the stemmer changes; `None` for those it leaves as they are.
    stems: HashMap<String, Option<String>>,
}

impl<T: Clone> Clone for MemoStemmerFilter<T> {
    fn clone(&self) -> Self {
        MemoStemmerFilter {
            inner: self.inner.clone(),
            stems: HashMap::new(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        if self.stems.len() >= REMEMBERED {
            self.stems.clear();
        }
        MemoStemmerStream {
            tail: self.inner.token_stream(text),
            stems: &mut self.stems,
            stemmer: None,
        }
    }
}

/// The tokens of one text, stemmed.
pub struct MemoStemmerStream<'a, T> {
    tail: T,
    stems: &'a mut HashMap<String, Option<String>>,
    /// Made on the first word not in the memo.
    stemmer: Option<frostem::Stemmer>,
}

impl<T: TokenStream> TokenStream for MemoStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        let stem = match self.stems.get(&token.text) {
            Some(stem) => stem,
            None => {
                let stemmer = self
                    .stemmer
                    .get_or_insert_with(|| frostem::Stemmer::new(frostem::Algorithm::English));
                let stem = match stemmer.stem(&token.text) {
                    std::borrow::Cow::Owned(stem) => Some(stem),
                    std::borrow::Cow::Borrowed(stem) if stem != token.text => {
                        Some(stem.to_string())
                    }
                    std::borrow::Cow::Borrowed(_) => None,
                };
                self.stems.entry(token.text.clone()).or_insert(stem)
            }
        };
        if let Some(stem) = stem {
            token.text.clear();
            token.text.push_str(stem);
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::{
        Language, LowerCaser, SimpleTokenizer, Stemmer, TextAnalyzer, TokenStream,
    };

    use super::*;

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
        }
        out
    }

    #[test]
    fn stems_as_tantivy_does_the_first_time_and_every_time_after() {
        let mut tantivy = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build();
        let mut memo = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(LowerCaser)
            .filter(MemoStemmer)
            .build();
        let taxonomy = crate::taxonomy::Taxonomy::builtin();
        let texts: Vec<String> = taxonomy
            .nodes()
            .iter()
            .take(3_000)
            .flat_map(|n| std::iter::once(n.label.clone()).chain(n.all_synonyms().cloned()))
            .chain(["Dogs are the bests! Modelling, models, modelled; studies".to_string()])
            .collect();
        for round in 0..2 {
            for text in &texts {
                assert_eq!(
                    tokens(&mut memo, text),
                    tokens(&mut tantivy, text),
                    "{round}: {text}"
                );
            }
        }
    }
}
