//! The skills taxonomy: a tree of concepts (disciplines > specialisms > skills, and narrower
//! concepts below a skill), each meaning one thing, with its synonyms; ESCO's skills, knowledge and
//! skill groups beside it; and the one matcher that maps free text onto concepts ([`matcher`]).
//!
//! The GSE framework ships compiled in (`src/taxonomy/gse.txt`); `--taxonomy FILE` replaces it.
//! A framework file is checked when it is read: a label used twice, or a synonym that is another
//! concept's label or synonym, is refused with its line. ESCO v1.1.1 (`src/taxonomy/esco.tsv`,
//! see [`crate::esco`]) is added to either: an ESCO concept that is the same thing as a framework
//! concept (same label, or listed on the framework line) joins it, bringing its URI and labels;
//! the others sit under `ESCO`, in ESCO's own hierarchy of skill groups where the download gives
//! it. Matching is case, plural, stemming and punctuation insensitive (see [`crate::text`]).

pub mod matcher;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::text;
use crate::{Error, Result};

/// The compiled-in GSE skills framework.
pub const GSE_FRAMEWORK: &str = include_str!("taxonomy/gse.txt");
/// The compiled-in ESCO v1.1.1 concepts and skill groups (see [`crate::esco`]).
pub const ESCO_CONCEPTS: &str = include_str!("taxonomy/esco.tsv");
/// Most names whose resolution is remembered (see `Taxonomy::resolve`).
const RESOLVED_CACHE: usize = 100_000;
/// Root label of the ESCO part of the tree.
pub const ESCO_ROOT: &str = "ESCO";

/// One concept of the tree.
#[derive(Debug, Clone)]
pub struct Node {
    /// Stable id: the slug of a framework label (`bayesian-statistics`), or `esco-` and the
    /// start of an ESCO concept's UUID.
    pub id: String,
    /// Preferred label.
    pub label: String,
    /// Other names for the same thing, from the GSE framework.
    pub synonyms: Vec<String>,
    /// Other names for the same thing, from ESCO.
    pub esco_synonyms: Vec<String>,
    /// URIs of the ESCO concepts this concept is (the first is the one shown).
    pub esco_uris: Vec<String>,
    /// Where the concept comes from and what it is.
    pub kind: ConceptKind,
    /// Index of the parent node.
    pub parent: Option<usize>,
    /// Indices of the child nodes.
    pub children: Vec<usize>,
    /// 0 for a discipline (or the ESCO root), 1 for a specialism, and so on down.
    pub depth: usize,
}

/// What a concept is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConceptKind {
    /// A concept of the GSE framework (perhaps joined by ESCO concepts).
    Framework,
    /// An ESCO skill or competence ("collect samples").
    EscoSkill,
    /// An ESCO knowledge concept ("marine biology").
    EscoKnowledge,
    /// An ESCO skill group, or the root of the ESCO part: a heading, not something anyone holds.
    EscoGroup,
}

impl Node {
    /// Whether the concept belongs to the GSE framework (not the ESCO part).
    pub fn is_framework(&self) -> bool {
        self.kind == ConceptKind::Framework
    }

    /// Whether it is a heading of ESCO's hierarchy rather than a skill.
    pub fn is_group(&self) -> bool {
        self.kind == ConceptKind::EscoGroup
    }

    /// Every alternative label: the framework's, then ESCO's.
    pub fn all_synonyms(&self) -> impl Iterator<Item = &String> {
        self.synonyms.iter().chain(self.esco_synonyms.iter())
    }

    /// The ESCO URI shown for the concept, if it is an ESCO concept.
    pub fn esco_uri(&self) -> Option<&str> {
        self.esco_uris.first().map(String::as_str)
    }
}

/// A framework concept's link to an ESCO concept, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct EscoLink {
    /// The framework node.
    pub node: usize,
    /// The ESCO concept's preferred label.
    pub esco_label: String,
    /// Its URI.
    pub uri: String,
    /// Listed on the framework line (`true`) or the same label or synonym, letter for letter
    /// (`false`).
    pub listed: bool,
}

/// The whole taxonomy with its lookup tables.
#[derive(Debug)]
pub struct Taxonomy {
    nodes: Vec<Node>,
    by_id: HashMap<String, usize>,
    by_uri: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
    /// Every label and synonym as written, with its normalised key: names that records and
    /// requests use verbatim are looked up without running the stemmer again.
    keys: HashMap<String, String>,
    /// ESCO preferred labels listed on framework lines, with the node and the line.
    listed_links: Vec<(usize, String, usize)>,
    /// The framework's links to ESCO concepts (made by [`Taxonomy::add_esco`]).
    links: Vec<EscoLink>,
    /// The matcher's label index, built on first use (see [`matcher`]).
    label_index: OnceLock<matcher::LabelIndex>,
    /// Framework labels and synonyms as unstemmed words, for [`Taxonomy::lookup_fuzzy`]; built
    /// on first use.
    fuzzy_keys: OnceLock<Vec<(usize, Vec<Vec<char>>)>>,
    /// What [`Taxonomy::resolve`] answered for names seen before (the names in records and
    /// requests repeat); emptied when it grows past [`RESOLVED_CACHE`] entries.
    resolved: std::sync::Mutex<HashMap<String, matcher::Resolution>>,
}

/// One line of a framework file, parsed.
struct Line {
    number: usize,
    depth: usize,
    label: String,
    synonyms: Vec<String>,
    esco: Vec<String>,
}

fn parse_line(number: usize, line: &str) -> std::result::Result<Option<Line>, String> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    let indent = line.len() - trimmed.len();
    if !indent.is_multiple_of(2) {
        return Err("indent by two spaces per level".into());
    }
    let mut parts = trimmed.split('|').map(str::trim);
    let label = parts.next().unwrap_or_default().to_string();
    if label.is_empty() {
        return Err("empty label".into());
    }
    let list = |cell: &str| -> Vec<String> {
        cell.split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect()
    };
    let mut synonyms = Vec::new();
    let mut esco = Vec::new();
    for part in parts {
        match part.split_once(':') {
            Some((head, rest)) if head.trim().eq_ignore_ascii_case("esco") => {
                esco.extend(list(rest));
            }
            _ if !synonyms.is_empty() || !esco.is_empty() => {
                return Err("one `|` before the synonyms and one before `ESCO:`, no more".into());
            }
            _ => synonyms = list(part),
        }
    }
    Ok(Some(Line {
        number,
        depth: indent / 2,
        label,
        synonyms,
        esco,
    }))
}

impl Taxonomy {
    /// The compiled-in taxonomy, parsed once per process.
    pub fn builtin() -> Arc<Taxonomy> {
        static BUILTIN: OnceLock<Arc<Taxonomy>> = OnceLock::new();
        BUILTIN
            .get_or_init(|| {
                let mut taxonomy = Taxonomy::parse(GSE_FRAMEWORK, "builtin taxonomy")
                    .expect("builtin taxonomy is valid");
                taxonomy
                    .add_esco(&crate::esco::parse_compact(ESCO_CONCEPTS))
                    .expect("builtin taxonomy links only ESCO concepts that exist");
                Arc::new(taxonomy)
            })
            .clone()
    }

    /// Reads a framework file in the `gse.txt` format and adds the compiled-in ESCO concepts.
    pub fn from_file(path: &Path) -> Result<Taxonomy> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let source = path.display().to_string();
        let mut taxonomy = Taxonomy::parse(&text, &source)?;
        taxonomy.add_esco(&crate::esco::parse_compact(ESCO_CONCEPTS))?;
        Ok(taxonomy)
    }

    /// Parses the indented `label | synonym; synonym | ESCO: label` format, refusing a label
    /// used twice or a synonym that is another concept's label or synonym (every problem found is
    /// listed, each with its line).
    pub fn parse(text: &str, source: &str) -> Result<Taxonomy> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut lines: Vec<Line> = Vec::new();
        // stack[d] = index of the last node seen at depth d
        let mut stack: Vec<usize> = Vec::new();
        let problem = |number: usize, reason: &str| {
            Error::field("taxonomy", format!("{source} line {number}: {reason}"))
        };
        for (i, raw) in text.lines().enumerate() {
            let line = match parse_line(i + 1, raw) {
                Ok(Some(line)) => line,
                Ok(None) => continue,
                Err(reason) => return Err(problem(i + 1, &reason)),
            };
            if line.depth > stack.len() {
                return Err(problem(
                    line.number,
                    "indented more than one level below its parent",
                ));
            }
            stack.truncate(line.depth);
            let parent = stack.last().copied();
            let index = nodes.len();
            nodes.push(Node {
                id: text::slug(&line.label),
                label: line.label.clone(),
                synonyms: line.synonyms.clone(),
                esco_synonyms: Vec::new(),
                esco_uris: Vec::new(),
                kind: ConceptKind::Framework,
                parent,
                children: Vec::new(),
                depth: line.depth,
            });
            if let Some(p) = parent {
                nodes[p].children.push(index);
            }
            stack.push(index);
            lines.push(line);
        }
        let mut analyzer = text::english_analyzer();
        let mut problems = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let mut by_key: HashMap<String, usize> = HashMap::new();
        let mut keys = HashMap::new();
        // labels first, so a synonym is always checked against every label
        for (i, node) in nodes.iter().enumerate() {
            let key = text::normalise(&mut analyzer, &node.label);
            keys.insert(node.label.clone(), key.clone());
            let clash = by_key.get(&key).or_else(|| by_id.get(&node.id));
            if let Some(&other) = clash {
                problems.push(format!(
                    "line {}: label `{}` is already the label of line {} (`{}`)",
                    lines[i].number, node.label, lines[other].number, nodes[other].label
                ));
                continue;
            }
            by_id.insert(node.id.clone(), i);
            by_key.insert(key, i);
        }
        for (i, node) in nodes.iter().enumerate() {
            for synonym in &node.synonyms {
                let key = text::normalise(&mut analyzer, synonym);
                keys.insert(synonym.clone(), key.clone());
                if key.is_empty() {
                    problems.push(format!(
                        "line {}: synonym `{synonym}` has no words",
                        lines[i].number
                    ));
                    continue;
                }
                match by_key.get(&key) {
                    Some(&other) if other == i => problems.push(format!(
                        "line {}: synonym `{synonym}` repeats a name of `{}`",
                        lines[i].number, node.label
                    )),
                    Some(&other) => problems.push(format!(
                        "line {}: synonym `{synonym}` of `{}` already names `{}` (line {}); \
                         a synonym must name exactly one concept",
                        lines[i].number, node.label, nodes[other].label, lines[other].number
                    )),
                    None => {
                        by_key.insert(key, i);
                    }
                }
            }
        }
        if !problems.is_empty() {
            let shown: Vec<&str> = problems.iter().take(20).map(String::as_str).collect();
            let more = problems.len().saturating_sub(shown.len());
            let mut reason = format!("{source}: {}", shown.join("; "));
            if more > 0 {
                reason.push_str(&format!("; and {more} more"));
            }
            return Err(Error::field("taxonomy", reason));
        }
        let listed_links = lines
            .iter()
            .enumerate()
            .flat_map(|(i, line)| line.esco.iter().map(move |l| (i, l.clone(), line.number)))
            .collect();
        Ok(Taxonomy {
            nodes,
            by_id,
            by_uri: HashMap::new(),
            by_key,
            keys,
            listed_links,
            links: Vec::new(),
            label_index: OnceLock::new(),
            fuzzy_keys: OnceLock::new(),
            resolved: Default::default(),
        })
    }

    /// Adds ESCO concepts and skill groups. A skill or knowledge concept that is the same thing
    /// as a framework concept (listed on its line, or with its label or a synonym as preferred
    /// label) joins it; every other one becomes a node under `ESCO`, below its broader concept
    /// when ESCO gives one (a skill group, another concept, or a framework concept it joined), or
    /// else below the `skills` or `knowledge` group. A label already taken keeps its concept:
    /// framework names first, then ESCO preferred labels, then ESCO's other labels.
    pub fn add_esco(&mut self, concepts: &[crate::esco::Concept]) -> Result<()> {
        self.fuzzy_keys = OnceLock::new();
        self.label_index = OnceLock::new();
        self.resolved = Default::default();
        let mut analyzer = text::english_analyzer();
        let key_of = |analyzer: &mut tantivy::tokenizer::TextAnalyzer, label: &str| {
            text::normalise(analyzer, label)
        };
        // framework concepts each ESCO concept joins: listed ones first, then same names
        let mut joined: HashMap<&str, usize> = HashMap::new();
        let by_label: HashMap<String, Vec<usize>> = {
            let mut map: HashMap<String, Vec<usize>> = HashMap::new();
            for (i, c) in concepts.iter().enumerate() {
                if c.kind != "group" {
                    map.entry(key_of(&mut analyzer, &c.label))
                        .or_default()
                        .push(i);
                }
            }
            map
        };
        let mut problems = Vec::new();
        for (node, label, line) in self.listed_links.clone() {
            match by_label.get(&key_of(&mut analyzer, &label)) {
                Some(found) => {
                    for &c in found {
                        joined.entry(concepts[c].reference.as_str()).or_insert(node);
                    }
                }
                None => problems.push(format!(
                    "line {line}: no ESCO concept has the preferred label `{label}`"
                )),
            }
        }
        if !problems.is_empty() {
            return Err(Error::field("taxonomy", problems.join("; ")));
        }
        // the same name, letter for letter (ignoring case and punctuation, but not stemming:
        // "surveying methods" is not "survey methods")
        let mut exact = text::exact_analyzer();
        let mut framework_names: HashMap<String, usize> = HashMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            for name in std::iter::once(&node.label).chain(&node.synonyms) {
                framework_names.insert(text::normalise(&mut exact, name), i);
            }
        }
        for concept in concepts.iter().filter(|c| c.kind != "group") {
            if let Some(&node) = framework_names.get(&text::normalise(&mut exact, &concept.label)) {
                joined.entry(concept.reference.as_str()).or_insert(node);
            }
        }
        let mut links = Vec::new();
        for concept in concepts {
            if let Some(&node) = joined.get(concept.reference.as_str()) {
                let listed = self
                    .listed_links
                    .iter()
                    .any(|(n, l, _)| *n == node && l.eq_ignore_ascii_case(&concept.label));
                let uri = concept.uri();
                self.nodes[node].esco_uris.push(uri.clone());
                self.by_uri.insert(uri.clone(), node);
                links.push(EscoLink {
                    node,
                    esco_label: concept.label.clone(),
                    uri,
                    listed,
                });
            }
        }
        links.sort_by(|a, b| (a.node, &a.esco_label).cmp(&(b.node, &b.esco_label)));
        self.links = links;

        // the ESCO tree: the root, then every concept below its broader one, parents first
        let root = self.push_node(
            ESCO_ROOT.to_lowercase(),
            ESCO_ROOT.to_string(),
            ConceptKind::EscoGroup,
            None,
        );
        let by_ref: HashMap<&str, usize> = concepts
            .iter()
            .enumerate()
            .map(|(i, c)| (c.reference.as_str(), i))
            .collect();
        let top_group = |label: &str| {
            concepts
                .iter()
                .find(|c| c.kind == "group" && c.broader.is_empty() && c.label == label)
                .map(|c| c.reference.as_str())
        };
        let (skills_top, knowledge_top) = (top_group("skills"), top_group("knowledge"));
        let mut placed: HashMap<&str, usize> = joined.clone();
        let mut placing: Vec<bool> = vec![false; concepts.len()];
        for start in 0..concepts.len() {
            // depth-first: place a concept's parent before it; a cycle falls back to the top
            let mut path = vec![start];
            while let Some(&i) = path.last() {
                let concept = &concepts[i];
                if placed.contains_key(concept.reference.as_str()) {
                    path.pop();
                    continue;
                }
                placing[i] = true;
                let fallback = match concept.kind.as_str() {
                    "group" => None,
                    "knowledge" => knowledge_top,
                    _ => skills_top,
                };
                let mut broader: Vec<&str> = concept
                    .broader
                    .iter()
                    .map(String::as_str)
                    .filter(|r| by_ref.contains_key(r))
                    .collect();
                // the narrowest broader concept: a skill before a group
                broader.sort_by_key(|r| concepts[by_ref[r]].kind == "group");
                let parent_ref = broader
                    .first()
                    .copied()
                    .filter(|r| !placing[by_ref[r]] || placed.contains_key(r))
                    .or(fallback.filter(|f| *f != concept.reference));
                let parent = match parent_ref {
                    Some(r) => match placed.get(r) {
                        Some(&node) => node,
                        None => {
                            path.push(by_ref[r]);
                            continue;
                        }
                    },
                    None => root,
                };
                let kind = match concept.kind.as_str() {
                    "group" => ConceptKind::EscoGroup,
                    "knowledge" => ConceptKind::EscoKnowledge,
                    _ => ConceptKind::EscoSkill,
                };
                let node = self.push_node(concept.id(), concept.label.clone(), kind, Some(parent));
                let uri = concept.uri();
                self.nodes[node].esco_uris.push(uri.clone());
                self.by_uri.insert(uri, node);
                placed.insert(concept.reference.as_str(), node);
                path.pop();
            }
        }

        // names: ESCO preferred labels (skills and knowledge before groups), then other labels
        let mut order: Vec<&crate::esco::Concept> = concepts.iter().collect();
        order.sort_by_key(|c| c.kind == "group");
        for concept in &order {
            let node = placed[concept.reference.as_str()];
            let key = key_of(&mut analyzer, &concept.label);
            self.keys.insert(concept.label.clone(), key.clone());
            if key.is_empty() {
                continue;
            }
            if self.by_key.contains_key(&key) {
                continue;
            }
            self.by_key.insert(key, node);
            if self.nodes[node].is_framework() {
                // joined by listing under another name: the ESCO label is one of its names
                self.nodes[node].esco_synonyms.push(concept.label.clone());
            }
        }
        for concept in &order {
            let node = placed[concept.reference.as_str()];
            for synonym in &concept.synonyms {
                let key = key_of(&mut analyzer, synonym);
                self.keys.insert(synonym.clone(), key.clone());
                if key.is_empty() || self.by_key.contains_key(&key) {
                    continue;
                }
                self.by_key.insert(key, node);
                self.nodes[node].esco_synonyms.push(synonym.clone());
            }
        }
        Ok(())
    }

    fn push_node(
        &mut self,
        id: String,
        label: String,
        kind: ConceptKind,
        parent: Option<usize>,
    ) -> usize {
        let index = self.nodes.len();
        let depth = parent.map(|p| self.nodes[p].depth + 1).unwrap_or(0);
        self.nodes.push(Node {
            id: id.clone(),
            label,
            synonyms: Vec::new(),
            esco_synonyms: Vec::new(),
            esco_uris: Vec::new(),
            kind,
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

    /// The framework's links to ESCO concepts, by framework node and ESCO label.
    pub fn esco_links(&self) -> &[EscoLink] {
        &self.links
    }

    /// Whether a node belongs to the GSE framework (not the ESCO part).
    pub fn is_gse(&self, index: usize) -> bool {
        self.nodes[index].is_framework()
    }

    /// Every node, parents before children.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node at `index`.
    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    /// Finds the node a name refers to exactly: by id, ESCO URI, label or synonym.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        let trimmed = name.trim();
        if let Some(&i) = self.by_id.get(trimmed).or_else(|| self.by_uri.get(trimmed)) {
            return Some(i);
        }
        self.lookup_normalised(&self.normalised(name))
    }

    /// `text::normalise` of `name` with the English analyser; a label or synonym as written is
    /// answered from a table.
    pub fn normalised(&self, name: &str) -> Cow<'_, str> {
        match self.keys.get(name) {
            Some(key) => Cow::Borrowed(key.as_str()),
            None => Cow::Owned(text::english_tokens(name).join(" ")),
        }
    }

    /// Finds a framework node whose label or synonym is within the allowed edits of `name`
    /// (word by word: 1 edit from 5 letters, 2 from 8, none for shorter words).
    pub fn lookup_fuzzy(&self, name: &str) -> Option<usize> {
        let words: Vec<Vec<char>> = text::exact_tokens(name)
            .iter()
            .map(|w| w.chars().collect())
            .collect();
        let allowed: Vec<usize> = words
            .iter()
            .map(|w| text::allowed_edits(&w.iter().collect::<String>()) as usize)
            .collect();
        if words.is_empty() || allowed.iter().all(|a| *a == 0) {
            return None;
        }
        let mut best: Option<(usize, usize)> = None;
        for (i, other) in self.fuzzy_keys() {
            if other.len() != words.len() {
                continue;
            }
            let mut total = 0;
            let fits = words
                .iter()
                .zip(other)
                .zip(&allowed)
                .all(|((w, o), &allowed)| {
                    let d = text::edit_distance_chars(w, o, allowed);
                    total += d;
                    d <= allowed
                });
            if fits && best.is_none_or(|(_, t)| total < t) {
                best = Some((*i, total));
            }
        }
        best.map(|(i, _)| i)
    }

    fn fuzzy_keys(&self) -> &[(usize, Vec<Vec<char>>)] {
        self.fuzzy_keys.get_or_init(|| {
            let mut keys = Vec::new();
            for (i, node) in self.nodes.iter().enumerate() {
                if node.depth == 0 || !node.is_framework() {
                    continue;
                }
                for candidate in std::iter::once(&node.label).chain(node.synonyms.iter()) {
                    let words = text::exact_tokens(candidate)
                        .iter()
                        .map(|w| w.chars().collect())
                        .collect();
                    keys.push((i, words));
                }
            }
            keys
        })
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

    /// Whether `narrower` is `broader` or sits somewhere below it.
    pub fn is_within(&self, narrower: usize, broader: usize) -> bool {
        let mut current = Some(narrower);
        while let Some(i) = current {
            if i == broader {
                return true;
            }
            current = self.nodes[i].parent;
        }
        false
    }

    /// Indices of the leaf concepts (nodes without children).
    pub fn leaves(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].children.is_empty())
    }

    /// Every name of every concept, by normalised key, for the matcher: `(key, node, preferred)`.
    fn names(&self) -> impl Iterator<Item = (&str, &str, usize, bool)> + '_ {
        self.nodes.iter().enumerate().flat_map(move |(i, node)| {
            std::iter::once((node.label.as_str(), true))
                .chain(node.all_synonyms().map(|s| (s.as_str(), false)))
                .map(move |(name, preferred)| {
                    let key = self.keys.get(name).map(String::as_str).unwrap_or("");
                    (name, key, i, preferred)
                })
        })
    }
}

/// A framework file's problems, or its ESCO links, for `muster taxonomy check`.
pub fn check(text: &str, source: &str) -> Result<Vec<String>> {
    let mut taxonomy = Taxonomy::parse(text, source)?;
    taxonomy.add_esco(&crate::esco::parse_compact(ESCO_CONCEPTS))?;
    let mut by_node: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for link in taxonomy.esco_links() {
        by_node.entry(link.node).or_default().push(format!(
            "{} ({}, {})",
            link.esco_label,
            link.uri,
            if link.listed { "listed" } else { "same name" }
        ));
    }
    Ok(by_node
        .into_iter()
        .map(|(node, links)| format!("{} = {}", taxonomy.node(node).label, links.join("; ")))
        .collect())
}

#[cfg(test)]
mod tests;
