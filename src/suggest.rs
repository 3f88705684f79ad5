//! Typeahead and the skills tree.
//!
//! Suggestions come from an in-memory sorted list of keys, one per word start of every skill
//! label and synonym (framework and ESCO preferred labels), department, establishment and
//! facility name, so a prefix lookup is two binary searches; whole words that name a concept
//! some other way come from the taxonomy's matcher. Facility names are records: each
//! keeps its marking and is only offered to callers allowed to see it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{TantivyDocument, Term};

use crate::Result;
use crate::index::MusterIndex;
use crate::model::{Kind, Marking};
use crate::reference::Reference;
use crate::schema;
use crate::taxonomy::Taxonomy;
use crate::text;

/// What a suggestion is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionKind {
    /// A skill of the GSE framework or ESCO.
    Skill,
    /// A department.
    Department,
    /// A research establishment.
    Establishment,
    /// A facility.
    Facility,
}

/// One typeahead suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// Text to show and to search for.
    pub text: String,
    /// What it is.
    pub kind: SuggestionKind,
    /// Skill id, department short name, establishment or facility id.
    pub id: String,
    /// The label the text stands for, when the match was on a synonym.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

struct Entry {
    suggestion: Suggestion,
    /// Higher first.
    weight: u32,
    marking: Marking,
}

/// Entries and their keys, sorted for prefix lookup.
struct Prefixes {
    entries: Vec<Entry>,
    /// (normalised text from a word start, entry, whether it is the start of the whole text)
    keys: Vec<(String, u32, bool)>,
}

impl Prefixes {
    fn new(entries: Vec<Entry>) -> Prefixes {
        let mut keys = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let folded = fold(&entry.suggestion.text);
            let mut start = 0;
            for (n, word) in folded.split(' ').enumerate() {
                keys.push((folded[start..].to_string(), i as u32, n == 0));
                start += word.len() + 1;
            }
        }
        keys.sort();
        Prefixes { entries, keys }
    }

    /// Entries with a key starting with `prefix`: (key, entry, whether at the start).
    fn starting<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a Entry, bool)> {
        let from = self.keys.partition_point(|(k, _, _)| k.as_str() < prefix);
        self.keys[from..]
            .iter()
            .take_while(move |(k, _, _)| k.starts_with(prefix))
            .take(5000)
            .map(|(k, entry, at_start)| (k.as_str(), &self.entries[*entry as usize], *at_start))
    }
}

/// The prefix index behind `/v1/suggest`: a fixed part (taxonomy and reference data) built
/// once, and the facilities, rebuilt when they change.
pub struct SuggestIndex {
    taxonomy: Arc<Taxonomy>,
    fixed: Arc<Prefixes>,
    facilities: Prefixes,
}

fn fold(text: &str) -> String {
    let mut exact = text::exact_analyzer();
    text::tokens(&mut exact, text).join(" ")
}

impl SuggestIndex {
    /// Builds the index from the taxonomy, the reference data and the facilities in `index`.
    pub fn build(index: &MusterIndex) -> Result<SuggestIndex> {
        let mut entries = Vec::new();
        add_taxonomy(&mut entries, &index.taxonomy);
        let reference = Reference::get();
        for d in &reference.departments {
            let suggestion = |text: &str| Suggestion {
                text: text.to_string(),
                kind: SuggestionKind::Department,
                id: d.abbr.clone(),
                label: (text != d.abbr).then(|| d.abbr.clone()),
            };
            entries.push(Entry {
                suggestion: suggestion(&d.abbr),
                weight: 30,
                marking: Marking::Official,
            });
            entries.push(Entry {
                suggestion: suggestion(&d.name),
                weight: 30,
                marking: Marking::Official,
            });
        }
        for e in &reference.establishments {
            entries.push(Entry {
                suggestion: Suggestion {
                    text: e.name.clone(),
                    kind: SuggestionKind::Establishment,
                    id: e.id.clone(),
                    label: None,
                },
                weight: 20,
                marking: Marking::Official,
            });
        }
        Ok(SuggestIndex {
            taxonomy: index.taxonomy.clone(),
            fixed: Arc::new(Prefixes::new(entries)),
            facilities: Prefixes::new(facilities(index)?),
        })
    }

    /// The same index with the facilities read again from `index`.
    pub fn with_facilities_of(&self, index: &MusterIndex) -> Result<SuggestIndex> {
        Ok(SuggestIndex {
            taxonomy: self.taxonomy.clone(),
            fixed: self.fixed.clone(),
            facilities: Prefixes::new(facilities(index)?),
        })
    }

    /// Up to `limit` suggestions for what the user has typed, best first.
    pub fn suggest(&self, typed: &str, max_marking: Marking, limit: usize) -> Vec<Suggestion> {
        let prefix = fold(typed);
        if prefix.is_empty() {
            return Vec::new();
        }
        let mut scored: BTreeMap<(std::cmp::Reverse<u32>, usize, String), &Suggestion> =
            BTreeMap::new();
        let fixed = self.fixed.starting(&prefix);
        for (key, entry, at_start) in fixed.chain(self.facilities.starting(&prefix)) {
            if entry.marking > max_marking {
                continue;
            }
            let mut weight = entry.weight;
            if at_start {
                weight += 5;
            }
            if key.len() == prefix.len() {
                weight += 10;
            }
            let text = &entry.suggestion.text;
            scored.insert(
                (std::cmp::Reverse(weight), text.len(), text.clone()),
                &entry.suggestion,
            );
        }
        let mut out: Vec<Suggestion> = Vec::new();
        for suggestion in scored.values() {
            if out
                .iter()
                .any(|s| s.text.eq_ignore_ascii_case(&suggestion.text))
            {
                continue;
            }
            out.push((*suggestion).clone());
            if out.len() == limit {
                break;
            }
        }
        // whole words that name a concept without starting one of its names ("viral genome
        // sequencing" is genome sequencing), through the taxonomy's matcher
        if out.len() < limit && typed.contains(' ') {
            let (nodes, _) = self.taxonomy.resolve(typed);
            for node in nodes {
                let node = self.taxonomy.node(node);
                if out.len() == limit || out.iter().any(|s| s.id == node.id) {
                    continue;
                }
                out.push(Suggestion {
                    text: node.label.clone(),
                    kind: SuggestionKind::Skill,
                    id: node.id.clone(),
                    label: None,
                });
            }
        }
        out
    }
}

fn add_taxonomy(entries: &mut Vec<Entry>, taxonomy: &Taxonomy) {
    for (i, node) in taxonomy.nodes().iter().enumerate() {
        if node.depth == 0 && !node.children.is_empty() && !taxonomy.is_gse(i) {
            continue;
        }
        let gse = taxonomy.is_gse(i);
        if !gse && node.depth < 2 {
            continue;
        }
        let skill = |text: &str, label: Option<String>| Suggestion {
            text: text.to_string(),
            kind: SuggestionKind::Skill,
            id: node.id.clone(),
            label,
        };
        let weight = if gse { 40 } else { 10 };
        entries.push(Entry {
            suggestion: skill(&node.label, None),
            weight,
            marking: Marking::Official,
        });
        if gse {
            for synonym in &node.synonyms {
                entries.push(Entry {
                    suggestion: skill(synonym, Some(node.label.clone())),
                    weight: weight - 5,
                    marking: Marking::Official,
                });
            }
        }
    }
}

fn facilities(index: &MusterIndex) -> Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let searcher = index.reader.searcher();
    let fields = &index.fields;
    // every facility, whatever its marking: each suggestion keeps the marking and is filtered
    // per caller in `suggest`
    let query = TermQuery::new(
        Term::from_field_u64(fields.kind, schema::kind_code(Kind::Facility)),
        IndexRecordOption::Basic,
    );
    for (_, address) in searcher.search(&query, &TopDocs::with_limit(100_000).order_by_score())? {
        let doc: TantivyDocument = searcher.doc(address)?;
        let facility = fields.stored_facility(&doc)?;
        entries.push(Entry {
            suggestion: Suggestion {
                text: facility.name,
                kind: SuggestionKind::Facility,
                id: facility.id,
                label: None,
            },
            weight: 20,
            marking: facility.marking,
        });
    }
    Ok(entries)
}

/// One node of the skills tree with how many visible members hold it (or a narrower skill).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SkillNode {
    /// Taxonomy id.
    pub id: String,
    /// Label.
    pub label: String,
    /// Visible members holding this skill or one under it.
    pub members: u64,
    /// Framework synonyms and abbreviations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<String>,
    /// Narrower skills.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub children: Vec<SkillNode>,
}

/// The skills tree with member counts the caller may see: every framework node, and ESCO or
/// free-text skills that at least one visible member holds.
pub fn skills_tree(index: &MusterIndex, max_marking: Marking) -> Result<Vec<SkillNode>> {
    let mut request = crate::search::SearchRequest::new(
        Kind::Member,
        max_marking,
        time::OffsetDateTime::now_utc().date(),
    );
    request.limit = 1;
    let counts = crate::search::search(index, &request)?
        .facets
        .remove("skill")
        .unwrap_or_default();
    let taxonomy: &Arc<Taxonomy> = &index.taxonomy;
    fn build(taxonomy: &Taxonomy, i: usize, counts: &BTreeMap<String, u64>) -> Option<SkillNode> {
        let node = taxonomy.node(i);
        let members = counts.get(&node.label).copied().unwrap_or(0);
        if !taxonomy.is_gse(i) && members == 0 {
            return None;
        }
        Some(SkillNode {
            id: node.id.clone(),
            label: node.label.clone(),
            members,
            synonyms: node.synonyms.clone(),
            children: node
                .children
                .iter()
                .filter_map(|&c| build(taxonomy, c, counts))
                .collect(),
        })
    }
    let mut roots: Vec<SkillNode> = taxonomy
        .nodes()
        .iter()
        .enumerate()
        .filter(|(_, n)| n.parent.is_none())
        .filter_map(|(i, _)| build(taxonomy, i, &counts))
        .collect();
    let free: Vec<SkillNode> = counts
        .iter()
        .filter(|&(label, _)| taxonomy.lookup(label).is_none() && label != schema::UNMAPPED_FACET)
        .map(|(label, members)| SkillNode {
            id: format!("{}{}", schema::FREE_SKILL_PREFIX, text::slug(label)),
            label: label.clone(),
            members: *members,
            synonyms: Vec::new(),
            children: Vec::new(),
        })
        .collect();
    if let Some(total) = counts.get(schema::UNMAPPED_FACET) {
        roots.push(SkillNode {
            id: "unmapped".into(),
            label: schema::UNMAPPED_FACET.into(),
            members: *total,
            synonyms: Vec::new(),
            children: free,
        });
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::parse_json_line;

    fn index_with_a_sensitive_facility() -> MusterIndex {
        let mut records = crate::search::tests::small_records();
        records.push(
            parse_json_line(Kind::Facility, r#"{"id":"f-range","name":"Classified firing range","marking":"OFFICIAL-SENSITIVE"}"#)
                .unwrap()
                .record,
        );
        crate::index::in_ram(&records, Taxonomy::builtin()).unwrap()
    }

    fn texts(suggestions: &[Suggestion]) -> Vec<&str> {
        suggestions.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn typeahead_offers_skills_first_then_other_things() {
        let index = index_with_a_sensitive_facility();
        let suggest = SuggestIndex::build(&index).unwrap();
        let got = suggest.suggest("epid", Marking::Official, 8);
        assert!(got[0].text.starts_with("Epidemiolog"), "{:?}", texts(&got));
        assert!(
            got.iter().all(|s| s.kind == SuggestionKind::Skill),
            "{:?}",
            texts(&got)
        );
        let got = suggest.suggest("porton", Marking::Official, 8);
        assert!(
            got.iter().any(|s| s.kind == SuggestionKind::Establishment),
            "{:?}",
            texts(&got)
        );
        let got = suggest.suggest("met off", Marking::Official, 8);
        assert_eq!(got[0].id, "Met Office");
        // a synonym says which label it stands for
        let got = suggest.suggest("wome", Marking::Official, 8);
        assert_eq!(got[0].label.as_deref(), Some("Energetics"));
        assert!(suggest.suggest("   ", Marking::Official, 8).is_empty());
    }

    #[test]
    fn words_that_name_a_concept_another_way_suggest_it() {
        let index = index_with_a_sensitive_facility();
        let suggest = SuggestIndex::build(&index).unwrap();
        let found = suggest.suggest("viral genome sequencing", Marking::Official, 8);
        assert!(
            found.iter().any(|s| s.id == "genome-sequencing"),
            "{found:?}"
        );
    }

    #[test]
    fn a_hidden_facility_is_never_suggested() {
        let index = index_with_a_sensitive_facility();
        let suggest = SuggestIndex::build(&index).unwrap();
        assert!(
            suggest
                .suggest("classified firing", Marking::Official, 8)
                .is_empty()
        );
        let got = suggest.suggest("classified firing", Marking::OfficialSensitive, 8);
        assert_eq!(texts(&got), vec!["Classified firing range"]);
    }

    #[test]
    fn skills_tree_counts_only_visible_members() {
        let index = crate::search::tests::small_index();
        let count = |marking| {
            let tree = skills_tree(&index, marking).unwrap();
            let maths = tree
                .iter()
                .find(|n| n.label == "Mathematical and data sciences")
                .unwrap();
            let stats = maths
                .children
                .iter()
                .find(|n| n.label == "Statistics")
                .unwrap();
            let bayes = stats
                .children
                .iter()
                .find(|n| n.label == "Bayesian statistics")
                .unwrap();
            (maths.members, bayes.members)
        };
        assert_eq!(count(Marking::Official), (4, 4));
        assert_eq!(count(Marking::OfficialSensitive), (5, 5));
        let tree = skills_tree(&index, Marking::Official).unwrap();
        assert!(
            tree.iter().all(|n| n.label != "ESCO"),
            "no visible member holds an ESCO-only skill"
        );
    }
}
