//! The skills taxonomy: a tree of disciplines > specialisms > skills, with synonyms, and the
//! normalisation that maps a member's free-text skill onto a node.
//!
//! The GSE framework ships compiled in (`src/taxonomy/gse.txt`); `--taxonomy FILE` replaces it.
//! Matching is case, plural, stemming and punctuation insensitive (see [`crate::text`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::text;
use crate::{Error, Result};

/// The compiled-in GSE skills framework.
pub const GSE_FRAMEWORK: &str = include_str!("taxonomy/gse.txt");
/// The compiled-in ESCO v1.1.1 concepts (see [`crate::esco`]).
pub const ESCO_CONCEPTS: &str = include_str!("taxonomy/esco.tsv");
/// Root label of the ESCO part of the tree.
pub const ESCO_ROOT: &str = "ESCO";

/// One node of the tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable id: the slug of the label (`bayesian-statistics`).
    pub id: String,
    /// Preferred label.
    pub label: String,
    /// Alternative labels and abbreviations from the GSE framework.
    pub synonyms: Vec<String>,
    /// Alternative labels from ESCO.
    pub esco_synonyms: Vec<String>,
    /// Index of the parent node.
    pub parent: Option<usize>,
    /// Indices of the child nodes.
    pub children: Vec<usize>,
    /// 0 for a discipline, 1 for a specialism, 2 for a skill.
    pub depth: usize,
}

/// The whole taxonomy with its lookup tables.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    nodes: Vec<Node>,
    by_id: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
    /// Every label and synonym as written, with its normalised key: names that records and
    /// requests use verbatim are looked up without running the stemmer again.
    keys: HashMap<String, String>,
    /// Framework labels and synonyms as unstemmed words, for [`Taxonomy::lookup_fuzzy`]; built
    /// on first use (ESCO nodes are added after parsing).
    fuzzy_keys: OnceLock<Vec<(usize, Vec<String>)>>,
}

impl Node {
    /// Every alternative label: the framework's, then ESCO's.
    pub fn all_synonyms(&self) -> impl Iterator<Item = &String> {
        self.synonyms.iter().chain(self.esco_synonyms.iter())
    }
}

impl Taxonomy {
    /// The compiled-in taxonomy, parsed once per process.
    pub fn builtin() -> Arc<Taxonomy> {
        static BUILTIN: OnceLock<Arc<Taxonomy>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut taxonomy = Taxonomy::parse(GSE_FRAMEWORK, "builtin taxonomy")
                    .expect("builtin taxonomy is valid");
                taxonomy.add_esco(&crate::esco::parse_compact(ESCO_CONCEPTS));
                Arc::new(taxonomy)
            })
            .clone()
    }

    /// Reads a taxonomy file in the `gse.txt` format.
    pub fn from_file(path: &Path) -> Result<Taxonomy> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Taxonomy::parse(&text, &path.display().to_string())
    }

    /// Parses the indented `label | synonym; synonym` format.
    pub fn parse(text: &str, source: &str) -> Result<Taxonomy> {
        let mut nodes: Vec<Node> = Vec::new();
        // stack[d] = index of the last node seen at depth d
        let mut stack: Vec<usize> = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let indent = line.len() - trimmed.len();
            let bad = |reason: &str| {
                Error::field(
                    "taxonomy",
                    format!("{source} line {}: {reason}", number + 1),
                )
            };
            if indent % 2 != 0 {
                return Err(bad("indent by two spaces per level"));
            }
            let depth = indent / 2;
            if depth > stack.len() {
                return Err(bad("indented more than one level below its parent"));
            }
            stack.truncate(depth);
            let (label, synonyms) = match trimmed.split_once('|') {
                Some((label, rest)) => (label.trim(), rest),
                None => (trimmed.trim(), ""),
            };
            if label.is_empty() {
                return Err(bad("empty label"));
            }
            let synonyms = synonyms
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            let parent = stack.last().copied();
            let index = nodes.len();
            nodes.push(Node {
                id: text::slug(label),
                label: label.to_string(),
                synonyms,
                esco_synonyms: Vec::new(),
                parent,
                children: Vec::new(),
                depth,
            });
            if let Some(p) = parent {
                nodes[p].children.push(index);
            }
            stack.push(index);
        }
        let mut by_id = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            if by_id.insert(node.id.clone(), i).is_some() {
                return Err(Error::field(
                    "taxonomy",
                    format!("{source}: label `{}` appears twice", node.label),
                ));
            }
        }
        let mut analyzer = text::english_analyzer();
        let mut by_key = HashMap::new();
        let mut keys = HashMap::new();
        // Labels first so that a synonym never shadows another node's own label; deeper nodes
        // win ties because a member's skill is usually the specific one.
        for (i, node) in nodes.iter().enumerate() {
            let key = text::normalise(&mut analyzer, &node.label);
            keys.insert(node.label.clone(), key.clone());
            by_key.insert(key, i);
        }
        for (i, node) in nodes.iter().enumerate() {
            for synonym in &node.synonyms {
                let key = text::normalise(&mut analyzer, synonym);
                keys.insert(synonym.clone(), key.clone());
                by_key.entry(key).or_insert(i);
            }
        }
        Ok(Taxonomy {
            nodes,
            by_id,
            by_key,
            keys,
            fuzzy_keys: OnceLock::new(),
        })
    }

    /// Adds ESCO concepts. A concept whose label matches a node already in the tree gives that
    /// node its labels as synonyms; any other becomes a node under `ESCO > ESCO skills` or
    /// `ESCO > ESCO knowledge`. Labels already taken keep their node.
    pub fn add_esco(&mut self, concepts: &[crate::esco::Concept]) {
        self.fuzzy_keys = OnceLock::new();
        let mut analyzer = text::english_analyzer();
        let root = self.push_node(ESCO_ROOT.to_string(), ESCO_ROOT.to_string(), None);
        let skills = self.push_node("esco-skills".into(), "ESCO skills".into(), Some(root));
        let knowledge =
            self.push_node("esco-knowledge".into(), "ESCO knowledge".into(), Some(root));
        for concept in concepts {
            let key = text::normalise(&mut analyzer, &concept.label);
            self.keys.insert(concept.label.clone(), key.clone());
            if key.is_empty() {
                continue;
            }
            let node = match self.by_key.get(&key) {
                Some(&existing) => existing,
                None => {
                    let parent = if concept.kind == "knowledge" {
                        knowledge
                    } else {
                        skills
                    };
                    let i = self.push_node(concept.id.clone(), concept.label.clone(), Some(parent));
                    self.by_key.insert(key, i);
                    i
                }
            };
            for synonym in &concept.synonyms {
                let key = text::normalise(&mut analyzer, synonym);
                self.keys.insert(synonym.clone(), key.clone());
                if key.is_empty() || self.by_key.contains_key(&key) {
                    continue;
                }
                self.by_key.insert(key, node);
                self.nodes[node].esco_synonyms.push(synonym.clone());
            }
        }
    }

    fn push_node(&mut self, id: String, label: String, parent: Option<usize>) -> usize {
        let index = self.nodes.len();
        let depth = parent.map(|p| self.nodes[p].depth + 1).unwrap_or(0);
        self.nodes.push(Node {
            id: id.clone(),
            label,
            synonyms: Vec::new(),
            esco_synonyms: Vec::new(),
            parent,
            children: Vec::new(),
            depth,
        });
        if let Some(p) = parent {
            self.nodes[p].children.push(index);
        }
        self.by_id.insert(id, index);
        index
    }

    /// Whether a node belongs to the GSE framework (not the ESCO part).
    pub fn is_gse(&self, index: usize) -> bool {
        self.path(index).first() != Some(&ESCO_ROOT)
    }

    /// Every node, parents before children.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node at `index`.
    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    /// Finds the node a skill name refers to: by id, label or synonym.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        if let Some(&i) = self.by_id.get(name.trim()) {
            return Some(i);
        }
        self.lookup_normalised(&self.normalised(name))
    }

    /// `text::normalise` of `name` with the English analyser; a label or synonym as written is
    /// answered from a table.
    pub fn normalised(&self, name: &str) -> Cow<'_, str> {
        match self.keys.get(name) {
            Some(key) => Cow::Borrowed(key.as_str()),
            None => Cow::Owned(text::normalise(&mut text::english_analyzer(), name)),
        }
    }

    /// Finds a framework node whose label or synonym is within the allowed edits of `name`
    /// (word by word: 1 edit from 5 letters, 2 from 8, none for shorter words).
    pub fn lookup_fuzzy(&self, name: &str) -> Option<usize> {
        let mut exact = text::exact_analyzer();
        let words = text::tokens(&mut exact, name);
        if words.is_empty() || words.iter().all(|w| text::allowed_edits(w) == 0) {
            return None;
        }
        let mut best: Option<(usize, usize)> = None;
        for (i, other) in self.fuzzy_keys() {
            if other.len() != words.len() {
                continue;
            }
            let mut total = 0;
            let fits = words.iter().zip(other).all(|(w, o)| {
                let allowed = text::allowed_edits(w) as usize;
                let d = text::edit_distance(w, o, allowed);
                total += d;
                d <= allowed
            });
            if fits && best.is_none_or(|(_, t)| total < t) {
                best = Some((*i, total));
            }
        }
        best.map(|(i, _)| i)
    }

    fn fuzzy_keys(&self) -> &[(usize, Vec<String>)] {
        self.fuzzy_keys.get_or_init(|| {
            let mut exact = text::exact_analyzer();
            let mut keys = Vec::new();
            for (i, node) in self.nodes.iter().enumerate() {
                if node.depth == 0 || !self.is_gse(i) {
                    continue;
                }
                for candidate in std::iter::once(&node.label).chain(node.synonyms.iter()) {
                    keys.push((i, text::tokens(&mut exact, candidate)));
                }
            }
            keys
        })
    }

    /// Skills named in free text: the longest runs of up to four words that are a label or
    /// synonym (or, failing that, close to a framework label), left to right.
    pub fn find_in_text(&self, words: &[String]) -> Vec<usize> {
        let mut found = Vec::new();
        let mut i = 0;
        while i < words.len() {
            let mut matched = 0;
            for len in (1..=4.min(words.len() - i)).rev() {
                let window = words[i..i + len].join(" ");
                let node = self.lookup(&window).or_else(|| self.lookup_fuzzy(&window));
                if let Some(node) = node {
                    if !found.contains(&node) {
                        found.push(node);
                    }
                    matched = len;
                    break;
                }
            }
            i += matched.max(1);
        }
        found
    }

    /// Finds a node by an already normalised key.
    pub fn lookup_normalised(&self, key: &str) -> Option<usize> {
        if key.is_empty() {
            return None;
        }
        self.by_key.get(key).copied()
    }

    /// Labels from the root down to `index`, e.g. `["Life sciences", "Microbiology", "Virology"]`.
    pub fn path(&self, index: usize) -> Vec<&str> {
        let mut path = Vec::new();
        let mut current = Some(index);
        while let Some(i) = current {
            path.push(self.nodes[i].label.as_str());
            current = self.nodes[i].parent;
        }
        path.reverse();
        path
    }

    /// Indices of `index` and its ancestors, nearest first.
    pub fn ancestors(&self, index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut current = Some(index);
        while let Some(i) = current {
            out.push(i);
            current = self.nodes[i].parent;
        }
        out
    }

    /// Indices of the leaf skills (depth 2 or nodes without children).
    pub fn leaves(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].children.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_framework_has_disciplines_specialisms_and_skills() {
        let t = Taxonomy::builtin();
        let disciplines = t.nodes().iter().filter(|n| n.depth == 0).count();
        let specialisms = t.nodes().iter().filter(|n| n.depth == 1).count();
        let skills = t.nodes().iter().filter(|n| n.depth == 2).count();
        assert!(disciplines >= 8, "{disciplines}");
        assert!(specialisms >= 40, "{specialisms}");
        assert!(skills >= 120, "{skills}");
    }

    #[test]
    fn lookup_is_case_plural_and_punctuation_insensitive() {
        let t = Taxonomy::builtin();
        let i = t.lookup("Epidemiological modelling").unwrap();
        assert_eq!(t.lookup("epidemiological-models"), Some(i));
        assert_eq!(t.lookup("EPIDEMIOLOGICAL MODELLING"), Some(i));
        assert_eq!(t.lookup("epidemiological-modelling"), Some(i));
        assert_eq!(t.node(i).id, "epidemiological-modelling");
        assert_eq!(
            t.path(i),
            vec![
                "Health and medical sciences",
                "Epidemiology and public health",
                "Epidemiological modelling"
            ]
        );
    }

    #[test]
    fn synonyms_and_abbreviations_map_to_their_node() {
        let t = Taxonomy::builtin();
        let modelling = t.lookup("Epidemiological modelling").unwrap();
        assert_eq!(t.lookup("disease modelling"), Some(modelling));
        let energetics = t.lookup("Energetics").unwrap();
        assert_eq!(t.lookup("WOME"), Some(energetics));
        assert_eq!(t.lookup("NWP"), t.lookup("Numerical weather prediction"));
        assert_eq!(t.lookup("quidditch refereeing"), None);
    }

    #[test]
    fn esco_labels_enrich_matching_nodes_and_add_the_rest() {
        let t = Taxonomy::builtin();
        // ESCO's "epidemiology" merges into the GSE node and brings its synonyms
        let epidemiology = t.lookup("Epidemiology").unwrap();
        assert!(t.is_gse(epidemiology));
        assert_eq!(t.lookup("disease aetiology"), Some(epidemiology));
        // a concept the GSE framework lacks is its own node under ESCO
        let python = t.lookup("Python (computer programming)").unwrap();
        assert!(!t.is_gse(python));
        assert_eq!(t.path(python)[..2], ["ESCO", "ESCO knowledge"]);
        assert!(t.nodes().len() > 13_000);
    }

    #[test]
    fn misspelt_labels_of_eight_letters_or_more_are_recognised() {
        let t = Taxonomy::builtin();
        let modelling = t.lookup("Epidemiological modelling").unwrap();
        assert_eq!(t.lookup_fuzzy("epidemiolgical modeling"), Some(modelling));
        assert_eq!(
            t.lookup_fuzzy("bayesain statistics"),
            t.lookup("Bayesian statistics")
        );
        // short words are never fuzzed: CBRX is not CBRN
        assert_eq!(t.lookup_fuzzy("CBRX"), None);
    }

    #[test]
    fn skills_are_found_inside_free_text() {
        let t = Taxonomy::builtin();
        let words: Vec<String> = "need disease modelling and bayesian statistics support"
            .split(' ')
            .map(String::from)
            .collect();
        let found = t.find_in_text(&words);
        assert!(found.contains(&t.lookup("Epidemiological modelling").unwrap()));
        assert!(found.contains(&t.lookup("Bayesian statistics").unwrap()));
    }

    #[test]
    fn bad_indentation_is_reported_with_its_line() {
        let err = Taxonomy::parse("A\n      B\n", "test").unwrap_err();
        assert!(err.to_string().contains("test line 2"), "{err}");
    }
}
