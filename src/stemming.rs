//! English stemming that remembers: the same stems as tantivy's `Stemmer` (the same frostem
//! algorithm), with each thread keeping the stems of the words it has met. Indexing stems the
//! same few tens of thousands of words over and over (every holder of an ESCO concept carries its
//! labels), and a search stems the same words of the same fields for every hit it highlights; a
//! lookup replaces the Snowball rules for all but the first time a thread sees a word. The memo
//! is the thread's, not the analyser's: analysers are cloned for every field highlighted, and a
//! memo that started empty each time would cost more than it saves.

use std::cell::RefCell;

use rustc_hash::FxHashMap;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Words remembered per thread before the memo starts again (a bound on its memory: about
/// 4 MB).
const REMEMBERED: usize = 50_000;

/// A thread's stems: word -> stem, for words the stemmer changes; `None` for those it leaves as
/// they are. And the thread's stemmer, made on the first word not in the memo.
#[derive(Default)]
struct Memo {
    stems: FxHashMap<Box<str>, Option<Box<str>>>,
    stemmer: Option<frostem::Stemmer>,
}

impl Memo {
    /// Replaces `word` with its stem.
    fn stem(&mut self, word: &mut String) {
        let stem = match self.stems.get(word.as_str()) {
            Some(stem) => stem,
            None => {
                if self.stems.len() >= REMEMBERED {
                    self.stems.clear();
                }
                let stemmer = self
                    .stemmer
                    .get_or_insert_with(|| frostem::Stemmer::new(frostem::Algorithm::English));
                let stem: Option<Box<str>> = match stemmer.stem(word) {
                    std::borrow::Cow::Owned(stem) => Some(stem.into()),
                    std::borrow::Cow::Borrowed(stem) if stem != word.as_str() => Some(stem.into()),
                    std::borrow::Cow::Borrowed(_) => None,
                };
                self.stems.entry(word.as_str().into()).or_insert(stem)
            }
        };
        if let Some(stem) = stem {
            word.clear();
            word.push_str(stem);
        }
    }
}

thread_local! {
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// A token filter stemming English words, remembering each word's stem (per thread).
#[derive(Clone, Default)]
pub struct MemoStemmer;

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter { inner: tokenizer }
    }
}

/// [`MemoStemmer`] over a tokenizer.
#[derive(Clone)]
pub struct MemoStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream {
            tail: self.inner.token_stream(text),
        }
    }
}

/// The tokens of one text, stemmed.
pub struct MemoStemmerStream<T> {
    tail: T,
}

impl<T: TokenStream> TokenStream for MemoStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        MEMO.with_borrow_mut(|memo| memo.stem(&mut token.text));
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
