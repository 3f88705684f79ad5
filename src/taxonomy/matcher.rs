//! The one matcher from free text to concepts, used by ingest (member skills, case-study skills,
//! facility capabilities), query understanding, typeahead, the muster and `GET /v1/concepts`.
//!
//! Two questions, one set of names (every concept's label and synonyms, the framework's and
//! ESCO's):
//! - [`Taxonomy::resolve`]: which concepts does this skill or capability *name*? Used to link a
//!   record or a request to concepts, so it only answers when the text says so: the whole text is
//!   a name (`CL4`, `foot and mouth disease`); or it is a list of names (`CL4/BSL4`); or names
//!   cover at least half of its words with the rest qualifying them (`FMD diagnosis`, `viral genome
//!   sequencing`, `flight data recorder download`; not `surge to SAPO4`, where a small word makes
//!   the name something else's object); or it is a framework label with a typo (`virolgy`).
//!   Anything else stays free text and is reported by `muster index`.
//! - [`Taxonomy::rank`]: which concepts might this phrase mean, best first? BM25 over every name
//!   as its own entry (a concept scores by its best name; a preferred label counts a quarter more
//!   than an alternative), words the names never use matched within a few typos, and whatever
//!   [`Taxonomy::resolve`] finds first. Measured on real skill mentions linked to ESCO by people
//!   (`muster eval --skill-norm`, README).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::{DocId, Index, IndexReader, Score, SegmentReader, TantivyDocument, Term};

use super::Taxonomy;
use crate::text;

/// How much more a concept's preferred label counts than its other names when ranking.
const PREFERRED_LABEL: f64 = 1.25;
/// Longest run of words looked up as one name inside longer text.
const MAX_NAME_WORDS: usize = 6;
/// Separators of a list of names in one skill or capability (`CL4/BSL4`).
const LIST_SEPARATORS: &[char] = &['/', ';', ',', '&', '+'];

/// How a phrase was matched to a concept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// The phrase is one of the concept's names.
    Exact,
    /// The phrase is a list of names.
    List,
    /// Names cover most of the phrase.
    Contained,
    /// A framework label within the allowed typos.
    Typo,
    /// Ranked by the words it shares with the concept's names.
    Ranked,
}

/// One concept a phrase may mean.
#[derive(Debug, Clone, PartialEq)]
pub struct ConceptMatch {
    /// The node.
    pub node: usize,
    /// How it was found.
    pub how: How,
    /// Ranking score (BM25 of its best name; higher is better).
    pub score: f32,
    /// The name that matched best.
    pub name: String,
}

/// The concepts a phrase names and how they were found (see [`Taxonomy::resolve`]).
pub type Resolution = (Vec<usize>, Option<How>);

/// A concept named in running text, and which of its words name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    /// The node.
    pub node: usize,
    /// Positions of the words naming it.
    pub words: std::ops::Range<usize>,
}

/// The names of every concept as a small in-memory tantivy index, one entry per name.
pub struct LabelIndex {
    reader: IndexReader,
    stemmed: Field,
    exact: Field,
    /// Per entry: the node and whether it is the preferred label.
    entries: Vec<(usize, bool, String)>,
}

impl std::fmt::Debug for LabelIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LabelIndex({} names)", self.entries.len())
    }
}

impl LabelIndex {
    fn build(taxonomy: &Taxonomy) -> tantivy::Result<LabelIndex> {
        let mut builder = Schema::builder();
        let analysed = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqs),
            )
        };
        let stemmed = builder.add_text_field("name", analysed(text::ENGLISH));
        let exact = builder.add_text_field("name_exact", analysed(text::EXACT));
        let entry = builder.add_u64_field("entry", FAST);
        let index = Index::create_in_ram(builder.build());
        text::register_analyzers(index.tokenizers());
        let mut writer = index.writer_with_num_threads(1, 50_000_000)?;
        let mut entries = Vec::new();
        let mut seen: HashSet<(usize, &str)> = HashSet::new();
        for (name, key, node, preferred) in taxonomy.names() {
            if key.is_empty() || !seen.insert((node, key)) {
                continue;
            }
            let mut doc = TantivyDocument::default();
            doc.add_text(stemmed, name);
            doc.add_text(exact, name);
            doc.add_u64(entry, entries.len() as u64);
            writer.add_document(doc)?;
            entries.push((node, preferred, name.to_string()));
        }
        writer.commit()?;
        let reader = index.reader()?;
        Ok(LabelIndex {
            reader,
            stemmed,
            exact,
            entries,
        })
    }

    /// Entries matching `phrase`, scored by BM25 (preferred labels weighted), best first.
    fn search(&self, phrase: &str, limit: usize) -> tantivy::Result<Vec<(f64, usize)>> {
        let searcher = self.reader.searcher();
        let stems = text::english_tokens(phrase);
        let forms = text::exact_tokens(phrase);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen = HashSet::new();
        for (i, stem) in stems.iter().enumerate() {
            if !seen.insert(stem.clone()) {
                continue;
            }
            let term = Term::from_field_text(self.stemmed, stem);
            let known = searcher.doc_freq(&term)? > 0;
            clauses.push((
                Occur::Should,
                Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
            ));
            // a word no name uses may be a misspelling of one that does
            if let Some(form) = forms.get(i)
                && !known
                && text::allowed_edits(form) > 0
            {
                let fuzzy = FuzzyTermQuery::new(
                    Term::from_field_text(self.exact, form),
                    text::allowed_edits(form),
                    true,
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(fuzzy), 0.5)),
                ));
            }
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let preferred: Vec<bool> = self.entries.iter().map(|(_, p, _)| *p).collect();
        let collector = TopDocs::with_limit(limit).tweak_score(move |segment: &SegmentReader| {
            let entry = segment.fast_fields().u64("entry").ok();
            let preferred = preferred.clone();
            move |doc: DocId, score: Score| -> f64 {
                let is_preferred = entry
                    .as_ref()
                    .and_then(|c| c.first(doc))
                    .is_some_and(|e| preferred.get(e as usize).copied().unwrap_or(false));
                f64::from(score) * if is_preferred { PREFERRED_LABEL } else { 1.0 }
            }
        });
        let found = searcher.search(&BooleanQuery::new(clauses), &collector)?;
        let mut columns = HashMap::new();
        let mut out = Vec::with_capacity(found.len());
        for (score, address) in found {
            let column = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(column) => column.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => slot.insert(
                    searcher
                        .segment_reader(address.segment_ord)
                        .fast_fields()
                        .u64("entry")?,
                ),
            };
            if let Some(entry) = column.first(address.doc_id) {
                out.push((score, entry as usize));
            }
        }
        Ok(out)
    }
}

impl Taxonomy {
    /// The words of concept labels and synonyms (the framework's and ESCO's) within `limit`
    /// edits of `word` and starting with its letter, each with its distance.
    pub fn words_near(&self, word: &str, limit: usize) -> tantivy::Result<Vec<(usize, String)>> {
        let labels = self.label_index();
        crate::spelling::terms_near(&labels.reader.searcher(), labels.exact, word, limit)
    }

    fn label_index(&self) -> &LabelIndex {
        self.label_index.get_or_init(|| {
            LabelIndex::build(self).expect("an in-memory index of the taxonomy's names builds")
        })
    }

    /// The concepts a skill or capability names, with how they were found; empty for free text.
    /// See the module documentation for what counts as naming.
    pub fn resolve(&self, phrase: &str) -> Resolution {
        if let Some(node) = self.lookup(phrase) {
            return (vec![node], Some(How::Exact));
        }
        let mut cache = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = cache.get(phrase) {
            return found.clone();
        }
        drop(cache);
        let found = self.resolve_uncached(phrase);
        cache = self.resolved.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= super::RESOLVED_CACHE {
            cache.clear();
        }
        cache.insert(phrase.to_string(), found.clone());
        found
    }

    fn resolve_uncached(&self, phrase: &str) -> Resolution {
        if let Some(node) = self.lookup(phrase) {
            return (vec![node], Some(How::Exact));
        }
        let parts: Vec<&str> = phrase
            .split(LIST_SEPARATORS)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if parts.len() > 1 {
            let nodes: Option<Vec<usize>> = parts.iter().map(|p| self.lookup(p)).collect();
            if let Some(mut nodes) = nodes {
                dedup_in_order(&mut nodes);
                return (nodes, Some(How::List));
            }
        }
        let contained = self.contained(phrase);
        if !contained.is_empty() {
            return (contained, Some(How::Contained));
        }
        match self.lookup_fuzzy(phrase) {
            Some(node) => (vec![node], Some(How::Typo)),
            None => (Vec::new(), None),
        }
    }

    /// Names inside `phrase` that cover at least half of its words (all of them when a small word
    /// such as "to" joins the rest), longest first, left to right. A single-word name counts only
    /// when it is the framework's: ESCO has thousands of one-word labels that say little alone.
    fn contained(&self, phrase: &str) -> Vec<usize> {
        let words = text::exact_tokens(phrase);
        let stop = |w: &str| text::STOP_WORDS.contains(&w);
        let content = words.iter().filter(|w| !stop(w)).count();
        if words.len() < 2 || content == 0 {
            return Vec::new();
        }
        let mut found = Vec::new();
        let mut covered = 0;
        let mut i = 0;
        while i < words.len() {
            let mut matched = 0;
            for len in (1..=MAX_NAME_WORDS.min(words.len() - i)).rev() {
                let window = &words[i..i + len];
                if len == words.len() || stop(&window[0]) || stop(&window[len - 1]) {
                    continue;
                }
                let Some(node) = self.lookup(&window.join(" ")) else {
                    continue;
                };
                if len == 1 && !self.nodes[node].is_framework() {
                    continue;
                }
                found.push(node);
                covered += window.iter().filter(|w| !stop(w)).count();
                matched = len;
                break;
            }
            i += matched.max(1);
        }
        let joined_by_small_word = words.len() > content;
        let enough = if joined_by_small_word {
            covered == content
        } else {
            2 * covered >= content
        };
        if !enough {
            return Vec::new();
        }
        dedup_in_order(&mut found);
        found
    }

    /// Concepts named in running text (a query, a need), left to right: the longest runs of up
    /// to six words that are a name (or, up to four words, close to a framework label), never
    /// starting or ending with a small word such as "and". `words` are the text's tokens as
    /// [`text::exact_analyzer`] makes them.
    pub fn mentions(&self, words: &[String]) -> Vec<Mention> {
        let stop = |w: &str| text::STOP_WORDS.contains(&w);
        let mut found = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = 0;
            for len in (1..=MAX_NAME_WORDS.min(words.len() - i)).rev() {
                let window = &words[i..i + len];
                if stop(&window[0]) || stop(&window[len - 1]) {
                    continue;
                }
                let joined = window.join(" ");
                let node = self
                    .lookup(&joined)
                    .or_else(|| field_of_practitioner(&joined).and_then(|f| self.lookup(&f)))
                    .or_else(|| (len <= 4).then(|| self.lookup_fuzzy(&joined)).flatten());
                if let Some(node) = node {
                    found.push(Mention {
                        node,
                        words: i..i + len,
                    });
                    matched = len;
                    break;
                }
            }
            i += matched.max(1);
        }
        found
    }

    /// The distinct concepts [`Taxonomy::mentions`] finds in `text`, in order.
    pub fn find_in_text(&self, text: &str) -> Vec<usize> {
        let words = text::exact_tokens(text);
        let mut nodes: Vec<usize> = self.mentions(&words).into_iter().map(|m| m.node).collect();
        dedup_in_order(&mut nodes);
        nodes
    }

    /// Concepts `phrase` may mean, best first: what [`Taxonomy::resolve`] finds, then the rest by
    /// BM25 over their names. Ties go to framework concepts, then skills before ESCO's groups.
    pub fn rank(&self, phrase: &str, limit: usize) -> Vec<ConceptMatch> {
        let (resolved, how) = self.resolve(phrase);
        let labels = self.label_index();
        // more entries than concepts asked for: a concept's names may take several places
        let entries = labels
            .search(phrase, (limit * 8).max(200))
            .unwrap_or_default();
        let mut best: HashMap<usize, (f64, &str)> = HashMap::new();
        for (score, entry) in entries {
            let (node, _, name) = &labels.entries[entry];
            let slot = best.entry(*node).or_insert((score, name));
            if score > slot.0 {
                *slot = (score, name);
            }
        }
        let mut ranked: Vec<ConceptMatch> = best
            .into_iter()
            .map(|(node, (score, name))| ConceptMatch {
                node,
                how: How::Ranked,
                score: score as f32,
                name: name.to_string(),
            })
            .collect();
        for node in &resolved {
            match ranked.iter_mut().find(|m| m.node == *node) {
                Some(m) => m.how = how.unwrap_or(How::Ranked),
                None => ranked.push(ConceptMatch {
                    node: *node,
                    how: how.unwrap_or(How::Ranked),
                    score: 0.0,
                    name: self.nodes[*node].label.clone(),
                }),
            }
        }
        let order = |m: &ConceptMatch| resolved.iter().position(|n| *n == m.node);
        ranked.sort_by(|a, b| {
            let (pa, pb) = (order(a), order(b));
            pb.is_some()
                .cmp(&pa.is_some())
                .then_with(|| pa.cmp(&pb))
                .then_with(|| b.score.total_cmp(&a.score))
                .then_with(|| {
                    self.nodes[b.node]
                        .is_framework()
                        .cmp(&self.nodes[a.node].is_framework())
                })
                .then_with(|| {
                    self.nodes[a.node]
                        .is_group()
                        .cmp(&self.nodes[b.node].is_group())
                })
                .then_with(|| self.nodes[a.node].id.cmp(&self.nodes[b.node].id))
        });
        ranked.truncate(limit);
        ranked
    }
}

/// The field a name for its practitioners stands for: "veterinary epidemiologists" is veterinary
/// epidemiology, "statisticians" statistics; `None` for anything else.
fn field_of_practitioner(words: &str) -> Option<String> {
    let (head, last) = match words.rsplit_once(' ') {
        Some((head, last)) => (format!("{head} "), last),
        None => (String::new(), words),
    };
    let last = last.strip_suffix('s').unwrap_or(last);
    let field = if let Some(stem) = last.strip_suffix("ologist") {
        format!("{stem}ology")
    } else if let Some(stem) = last.strip_suffix("ician").filter(|s| *s != "phys") {
        format!("{stem}ics")
    } else {
        return None;
    };
    Some(format!("{head}{field}"))
}

fn dedup_in_order(nodes: &mut Vec<usize>) {
    let mut seen = HashSet::new();
    nodes.retain(|n| seen.insert(*n));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(t: &Taxonomy, phrase: &str) -> Vec<String> {
        t.resolve(phrase)
            .0
            .into_iter()
            .map(|n| t.node(n).label.clone())
            .collect()
    }

    #[test]
    fn a_list_of_names_or_a_qualified_name_links_to_its_concepts() {
        let t = Taxonomy::builtin();
        assert_eq!(label(&t, "CL4/BSL4"), ["Containment level 4"]);
        assert_eq!(label(&t, "FMD diagnosis"), ["Foot-and-mouth disease"]);
        assert_eq!(label(&t, "viral genome sequencing"), ["Genome sequencing"]);
        assert_eq!(
            label(&t, "flight data recorder download"),
            ["Flight data analysis"]
        );
        assert_eq!(
            label(&t, "nuclear decommissioning robotics"),
            ["Nuclear decommissioning", "Robotics and remote handling"]
        );
        assert_eq!(label(&t, "virolgy"), ["Virology"]);
    }

    #[test]
    fn a_name_that_is_the_object_of_something_else_or_a_minor_part_is_not_linked() {
        let t = Taxonomy::builtin();
        assert!(label(&t, "surge to SAPO4").is_empty());
        assert!(label(&t, "large-animal infection studies").is_empty());
        assert!(label(&t, "quidditch refereeing").is_empty());
    }

    #[test]
    fn names_in_running_text_are_found_even_with_small_words_inside_them() {
        let t = Taxonomy::builtin();
        let found: Vec<String> = t
            .find_in_text("an outbreak of foot and mouth disease near a containment level 4 lab")
            .into_iter()
            .map(|n| t.node(n).label.clone())
            .collect();
        assert_eq!(found, ["Foot-and-mouth disease", "Containment level 4"]);
    }

    #[test]
    fn practitioners_name_their_field() {
        let t = Taxonomy::builtin();
        let found = |text: &str| -> Vec<String> {
            t.find_in_text(text)
                .into_iter()
                .map(|n| t.node(n).label.clone())
                .collect()
        };
        assert_eq!(
            found("veterinary epidemiologists"),
            ["Veterinary epidemiology"]
        );
        assert_eq!(found("two virologists"), ["Virology"]);
        assert_eq!(found("statisticians for the NHS"), ["Statistics"]);
        assert!(found("a physician").is_empty());
    }

    #[test]
    fn ranking_puts_what_the_phrase_names_first_then_shared_words() {
        let t = Taxonomy::builtin();
        let top = |phrase: &str| t.node(t.rank(phrase, 5)[0].node).label.clone();
        assert_eq!(top("survey methods"), "Survey methodology");
        assert_eq!(top("containment level 4 laboratory"), "Containment level 4");
        let ranked = t.rank("genome sequencing of viruses", 10);
        assert!(
            ranked
                .iter()
                .any(|m| t.node(m.node).label == "Genome sequencing"),
            "{ranked:?}"
        );
        // a misspelt word still finds the concept
        assert_eq!(top("epidemiolgy"), "Epidemiology");
    }
}
