//! Reading a need written in words: the skills and capabilities it names, the level, the
//! clearance and how soon, and whether people, labs or both are wanted.

use time::Date;

use crate::Result;
use crate::index::MusterIndex;
use crate::model::{Availability, Clearance, Kind, Marking};
use crate::search::{self, SearchRequest};
use crate::taxonomy::ConceptKind;

use super::request::{INFERRED_LEVEL, MAX_SKILLS, Need};
use super::team::level_name;

/// What a need's words ask for.
pub(super) struct Inferred {
    pub(super) skills: Vec<Need>,
    pub(super) capabilities: Vec<String>,
}

/// Words before or after a skill that say how well it is needed.
pub(super) const LEVEL_WORDS: &[(&str, u8)] = &[
    ("expert", 4),
    ("experts", 4),
    ("specialist", 4),
    ("specialists", 4),
    ("leading", 4),
    ("senior", 4),
    ("experienced", 3),
    ("practitioner", 3),
    ("practitioners", 3),
    ("skilled", 3),
    ("working", 2),
    ("competent", 2),
    ("awareness", 1),
    ("basic", 1),
];

/// Words near a skill that say people are wanted, not (only) a facility.
pub(super) const PEOPLE_WORDS: &[&str] = &[
    "advice",
    "adviser",
    "advisers",
    "advisor",
    "advisors",
    "people",
    "person",
    "scientists",
    "engineers",
    "analysts",
    "modellers",
    "team",
];

/// Words near a skill that say a facility is wanted.
pub(super) const LAB_WORDS: &[&str] = &[
    "lab",
    "labs",
    "laboratory",
    "laboratories",
    "facility",
    "facilities",
    "capacity",
    "site",
    "vessel",
    "suite",
];

/// What the words around a mentioned skill say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Said {
    /// The level asked for, and the word that says it.
    pub(super) level: Option<(&'static str, u8)>,
    /// People are wanted ("advice", "experts").
    pub(super) people: bool,
    /// A facility is wanted ("lab", "capacity").
    pub(super) lab: bool,
}

/// Skills and facility capabilities named in `need`: the concepts it names (framework specialisms
/// and skills, and ESCO knowledge named in two words or more). A concept is a capability when a
/// usable facility has it or the words around it ask for a lab ("a containment level 4
/// laboratory"); it is a skill when the words ask for people ("decontamination advice",
/// "experts"), or else when someone holds it or no facility does. A skill's level comes from
/// words near it ("experts in", "experienced"; the strongest where a skill is named twice), or
/// else [`INFERRED_LEVEL`]. A need that names no concept is one skill searched by its words.
pub(super) fn infer(
    index: &MusterIndex,
    need: &str,
    max_marking: Marking,
    today: Date,
) -> Result<Inferred> {
    let taxonomy = &index.taxonomy;
    let words = crate::text::tokens(&mut crate::text::exact_analyzer(), need);
    let mentions: Vec<_> = taxonomy
        .mentions(&words)
        .into_iter()
        .filter(|m| {
            let node = taxonomy.node(m.node);
            match node.kind {
                ConceptKind::Framework => node.depth >= 1,
                ConceptKind::EscoKnowledge => m.words.len() >= 2,
                ConceptKind::EscoSkill | ConceptKind::EscoGroup => false,
            }
        })
        .collect();
    let said = words_said(&words, &mentions);
    // each concept once, in the order first named, with what its mentions say: whether one asks
    // for people, one for a lab, one for neither, and the highest level one asks
    let mut concepts: Vec<(usize, String, Said, bool)> = Vec::new();
    for (mention, said) in mentions.iter().zip(said) {
        let plain = !said.people && !said.lab;
        match concepts.iter_mut().find(|(n, ..)| *n == mention.node) {
            Some((_, _, seen, seen_plain)) => {
                seen.people |= said.people;
                seen.lab |= said.lab;
                *seen_plain |= plain;
                if said.level.map(|(_, l)| l) > seen.level.map(|(_, l)| l) {
                    seen.level = said.level;
                }
            }
            None => concepts.push((
                mention.node,
                words[mention.words.clone()].join(" "),
                said,
                plain,
            )),
        }
    }
    let held = |kind: Kind, node: usize| -> Result<bool> {
        let mut r = SearchRequest::new(kind, max_marking, today);
        r.facets = crate::search::FacetChoice::NONE;
        r.limit = 1;
        r.filters.skills = vec![taxonomy.node(node).id.clone()];
        Ok(search::search(index, &r)?.total > 0)
    };
    let mut out = Inferred {
        skills: Vec::new(),
        capabilities: Vec::new(),
    };
    for (node_index, asked, said, plain) in concepts {
        let node = taxonomy.node(node_index);
        let by_facility = held(Kind::Facility, node_index)?;
        let by_member = held(Kind::Member, node_index)?;
        if by_facility || said.lab {
            out.capabilities.push(node.label.clone());
        }
        if said.people || (plain && (by_member || !by_facility)) {
            let (min_level, level_from) = match said.level {
                Some((word, level)) => (level, format!("the need says \"{word}\"")),
                None => (
                    INFERRED_LEVEL,
                    format!(
                        "level {INFERRED_LEVEL} ({}) by default for an emergency",
                        level_name(INFERRED_LEVEL)
                    ),
                ),
            };
            out.skills.push(Need {
                asked,
                skill: node.label.clone(),
                skill_id: Some(node.id.clone()),
                min_level,
                inferred: true,
                level_from: Some(level_from),
                by_text: false,
            });
        }
    }
    out.skills.truncate(MAX_SKILLS);
    out.capabilities.truncate(MAX_SKILLS);
    if out.skills.is_empty() && out.capabilities.is_empty() {
        out.skills.push(Need {
            asked: need.to_string(),
            skill: "the need as written".to_string(),
            skill_id: None,
            min_level: 1,
            inferred: true,
            level_from: None,
            by_text: true,
        });
    }
    Ok(out)
}

/// What the words around each mentioned skill say. People and levels are said of a whole run of
/// skills joined by "and"/"or", by a word just before it ("experts in avian influenza and
/// veterinary epidemiology") or just after ("radiological protection and dosimetry experts"); a
/// lab is said of one skill, by a word right after it ("sequencing capacity", "reference lab") or
/// just before ("a lab for"), and then that skill is not asked of people. A word right after a
/// run belongs to it, not to the next.
pub(super) fn words_said(
    words: &[String],
    mentions: &[crate::taxonomy::matcher::Mention],
) -> Vec<Said> {
    let level = |w: &String| LEVEL_WORDS.iter().find(|(c, _)| c == w).copied();
    let people = |w: &String| level(w).is_some() || PEOPLE_WORDS.contains(&w.as_str());
    let lab = |w: &String| LAB_WORDS.contains(&w.as_str());
    let joined = |gap: &[String]| gap.iter().all(|w| w == "and" || w == "or");
    // the words before mention i (after the previous one and its own trailing word) and after it
    let before = |i: usize, reach: usize| {
        let start = mentions[i].words.start;
        let from = match i.checked_sub(1) {
            Some(p) => {
                let after = mentions[p].words.end;
                after + usize::from(words.get(after).is_some_and(|w| people(w) || lab(w)))
            }
            None => 0,
        }
        .max(start.saturating_sub(reach))
        .min(start);
        &words[from..start]
    };
    let after = |i: usize, reach: usize| {
        let end = mentions[i].words.end;
        let to = mentions
            .get(i + 1)
            .map_or(words.len(), |n| n.words.start)
            .min(end + reach);
        &words[end..to]
    };
    let mut out = vec![Said::default(); mentions.len()];
    let mut start = 0;
    while start < mentions.len() {
        let mut end = start + 1;
        while end < mentions.len()
            && joined(&words[mentions[end - 1].words.end..mentions[end].words.start])
        {
            end += 1;
        }
        let near: Vec<&String> = before(start, 4)
            .iter()
            .rev()
            .chain(after(end - 1, 2))
            .collect();
        let run_level = near.iter().find_map(|w| level(w));
        let run_people = near.iter().any(|w| people(w));
        for (i, slot) in out.iter_mut().enumerate().take(end).skip(start) {
            // "a lab for X", but not "a lab today and X"
            let lab_before = before(i, 3)
                .iter()
                .rev()
                .take_while(|w| *w != "and" && *w != "or")
                .any(lab);
            let own_lab = after(i, 2).iter().any(lab) || lab_before;
            *slot = Said {
                level: run_level.filter(|_| !own_lab),
                people: run_people && !own_lab,
                lab: own_lab,
            };
        }
        start = end;
    }
    out
}

/// The lowest clearance a need's words name (`SC`, `DV`, "security check"), and the words.
pub(super) fn clearance_in(words: &[String]) -> Option<(Clearance, String)> {
    let mut found: Option<(Clearance, String)> = None;
    for (i, word) in words.iter().enumerate() {
        let named = match (word.as_str(), words.get(i + 1).map(String::as_str)) {
            ("security", Some("check")) => Some((Clearance::Sc, "security check")),
            ("developed", Some("vetting")) => Some((Clearance::Dv, "developed vetting")),
            ("none", _) => None,
            _ => Clearance::parse(word)
                .filter(|c| *c != Clearance::None)
                .map(|c| (c, c.as_str())),
        };
        if let Some((c, said)) = named
            && found.as_ref().is_none_or(|(f, _)| c < *f)
        {
            found = Some((c, said.to_string()));
        }
    }
    found
}

/// How soon a need's words say people are needed, and the words.
pub(super) fn availability_in(words: &[String]) -> Option<(Availability, String)> {
    let text = format!(" {} ", words.join(" "));
    let phrases: &[(&str, Availability)] = &[
        ("immediately", Availability::Now),
        ("right now", Availability::Now),
        ("straight away", Availability::Now),
        ("24 hours", Availability::Within24h),
        ("24h", Availability::Within24h),
        ("today", Availability::Within24h),
        ("tonight", Availability::Within24h),
        ("within a day", Availability::Within24h),
        ("this week", Availability::Week),
        ("within a week", Availability::Week),
        ("7 days", Availability::Week),
        ("seven days", Availability::Week),
        ("this month", Availability::Month),
        ("within a month", Availability::Month),
    ];
    phrases
        .iter()
        .filter(|(phrase, _)| text.contains(&format!(" {phrase} ")))
        .min_by_key(|(_, a)| *a)
        .map(|(phrase, a)| (*a, phrase.to_string()))
}
