//! Credit to people from the case studies they wrote (Balog's document-centric Model 2, summed
//! as in "document voting").
//!
//! Every case study the caller may see that matches any word of the request credits its
//! authors: its relevance (its score over the best case study's), weighted by its age, is added
//! to each author, and an author's sum becomes points by [`credit_points`]. A member is admitted
//! as a hit only by a case study matching the request as a search of case studies would (every
//! word of a short query), so a loose match adds credit to people who match anyway but brings
//! nobody in.
//!
//! One pass collects every match with its score and whether it also matches strictly; each
//! author is then credited at their member record, found through links between segments made
//! once ([`AuthorCache`]), with no name looked up per search. Sums are kept
//! in fixed point, so they do not depend on the order matches arrive in (segments, threads, how
//! the index was built): the same records and request give the same points.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Query, Scorer, Weight};
use tantivy::{DocAddress, DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader};
use time::Date;

use crate::Result;
use crate::facets::StrTable;
use crate::index::MusterIndex;
use crate::model::Kind;
use crate::schema;
use crate::stats::Statistics;

/// What the case studies said about people: the member records they credit, in address order.
#[derive(Default)]
pub struct Credit {
    members: Vec<(DocAddress, Credited)>,
}

/// What the case studies said about one member.
#[derive(Default)]
pub struct Credited {
    /// Points from every case study the caller may see that they wrote.
    pub points: f32,
    /// Case studies that credited them.
    pub counted: usize,
    /// Whether one of them matches the request as a search would (so they match).
    pub admits: bool,
    /// The best few (most relevant, then smallest id, first), with their scores.
    shown: Vec<(Score, DocAddress)>,
    /// Their summed weighted scores, in [`FIXED`] units.
    units: u64,
}

impl Credit {
    /// What the case studies said about the member at `member`.
    pub fn of(&self, member: DocAddress) -> Option<&Credited> {
        let at = self
            .members
            .binary_search_by_key(&member, |(address, _)| *address)
            .ok()?;
        Some(&self.members[at].1)
    }

    /// Every credited member with their points.
    pub fn points(&self) -> impl Iterator<Item = (DocAddress, Score)> + '_ {
        self.members.iter().map(|(m, c)| (*m, c.points))
    }

    /// The members admitted as hits.
    pub fn admitted(&self) -> impl Iterator<Item = DocAddress> + '_ {
        self.members
            .iter()
            .filter(|(_, c)| c.admits)
            .map(|(m, _)| *m)
    }
}

impl Credited {
    /// The case studies shown as evidence, best first.
    pub fn evidence(&self) -> impl Iterator<Item = DocAddress> + '_ {
        self.shown.iter().map(|(_, address)| *address)
    }

    /// Keeps `case_study` among the shown if it is among the best; `id` names a case study.
    fn keep<'a>(&mut self, case_study: (Score, DocAddress), id: impl Fn(DocAddress) -> &'a str) {
        let before = |a: &(Score, DocAddress), b: &(Score, DocAddress)| {
            b.0.total_cmp(&a.0)
                .then_with(|| id(a.1).cmp(id(b.1)))
                .is_lt()
        };
        let at = self.shown.partition_point(|kept| before(kept, &case_study));
        if at < EVIDENCE_SHOWN {
            self.shown.insert(at, case_study);
            self.shown.truncate(EVIDENCE_SHOWN);
        }
    }
}

/// Most points a member's case studies can add, approached as their summed relevance grows.
pub const CREDIT_POINTS: f32 = 12.0;
/// Summed relevance (1 for a case study matching as well as the best) giving half the points:
/// one best-matching case study gives 3 points, three give 6, thirty give 11.
pub const CREDIT_HALF: f32 = 3.0;
/// Case studies listed as a member's evidence, best first.
pub const EVIDENCE_SHOWN: usize = 5;
/// A case study this many years old counts three quarters; older ones tend to a half.
const CREDIT_HALF_LIFE_YEARS: f32 = 10.0;
/// Fixed-point units per unit of weighted score.
const FIXED: f64 = (1u64 << 24) as f64;

/// Points for a summed relevance: strictly increasing, so more good work always counts more,
/// and bounded, so authorship adds to a profile and skill levels rather than drowning them.
fn credit_points(relevance: f32) -> f32 {
    CREDIT_POINTS * relevance / (relevance + CREDIT_HALF)
}

/// How much a case study dated `day` (days since 1970) counts on `today`: 1 when new.
fn recency(day: Option<i64>, today: Date) -> f32 {
    let Some(day) = day else {
        return 1.0;
    };
    let years = ((schema::day_number(today) - day).max(0) as f32) / 365.25;
    0.5 + 0.5 * 0.5f32.powf(years / CREDIT_HALF_LIFE_YEARS)
}

/// The credit of the case studies matching `loose` (visible ones only: the caller's marking is
/// part of it); those also matching `strict` admit their authors.
pub fn case_study_credit(
    index: &MusterIndex,
    searcher: &Searcher,
    stats: &Statistics<'_>,
    loose: &dyn Query,
    strict: &dyn Query,
    today: Date,
) -> Result<Credit> {
    let strict = strict.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let matches = crate::search::collect(
        searcher,
        stats,
        loose,
        &Matches {
            strict: Arc::from(strict),
        },
    )?;
    let Some(best) = matches.iter().map(|m| m.score).max_by(f32::total_cmp) else {
        return Ok(Credit::default());
    };
    let fields = &index.fields;
    let segments = searcher.segment_readers();
    let tables = |field: &str| {
        segments
            .iter()
            .map(|s| index.facet_cache.strings(s, field))
            .collect::<tantivy::Result<Vec<Arc<StrTable>>>>()
    };
    let (people, ids) = (tables(fields.people_name())?, tables(fields.id_name())?);
    let updated = fields.name_of(fields.updated);
    let dates = segments
        .iter()
        .map(|s| s.fast_fields().date(updated).ok())
        .collect::<Vec<_>>();
    // links[from][to]: the authors of segment `from` among the member records of segment `to`
    let links = segments
        .iter()
        .map(|from| {
            segments
                .iter()
                .map(|to| index.author_cache.links(index, from, to))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let alive: Vec<_> = segments.iter().map(|s| s.alive_bitset()).collect();

    let id = |case_study: DocAddress| {
        let table = &ids[case_study.segment_ord as usize];
        table.of(case_study.doc_id).next().unwrap_or_default()
    };

    // each author credited at their live member record (authors above the caller's marking
    // too: the expert query carries the marking filter, so they never become hits); `slots`
    // holds, per member segment and record, where its tally is in `members`
    let mut slots: Vec<Vec<u32>> = segments
        .iter()
        .map(|s| vec![u32::MAX; s.max_doc() as usize])
        .collect();
    let mut members: Vec<(DocAddress, Credited)> = Vec::new();
    for m in &matches {
        let from = m.address.segment_ord as usize;
        let day = dates[from]
            .as_ref()
            .and_then(|c| c.first(m.address.doc_id))
            .map(|d| d.into_timestamp_secs().div_euclid(86_400));
        let weighted = f64::from(m.score * recency(day, today));
        let units = (weighted * FIXED).round() as u64;
        for &author in people[from].ords(m.address.doc_id) {
            for (to, link) in links[from].iter().enumerate() {
                let Some(&doc) = link.get(author as usize) else {
                    continue;
                };
                if doc == NO_MEMBER || alive[to].is_some_and(|bits| !bits.is_alive(doc)) {
                    continue;
                }
                let slot = &mut slots[to][doc as usize];
                if *slot == u32::MAX {
                    *slot = members.len() as u32;
                    let address = DocAddress::new(to as SegmentOrdinal, doc);
                    members.push((address, Credited::default()));
                }
                let credited = &mut members[*slot as usize].1;
                credited.units += units;
                credited.counted += 1;
                credited.admits |= m.strict;
                credited.keep((m.score, m.address), id);
            }
        }
    }
    for (_, credited) in &mut members {
        let relevance = (credited.units as f64 / FIXED / f64::from(best)) as f32;
        credited.points = credit_points(relevance);
    }
    members.sort_unstable_by_key(|(address, _)| *address);
    Ok(Credit { members })
}

/// Linked authors by pair of segments (case studies', members').
type Links = HashMap<(SegmentId, SegmentId), Arc<Vec<DocId>>>;

/// No member record holds this author's id.
const NO_MEMBER: DocId = DocId::MAX;

/// For a pair of segments, the member records of the second that wrote the case studies of the
/// first: by author value ordinal of the first, the last member record holding that id in the
/// second, or [`NO_MEMBER`] (whether it is live is asked at each search, as deletes come and go).
/// Two segments never change, so a pair is linked once, by one merge of their sorted
/// dictionaries, and shared by every search.
#[derive(Default, Clone)]
pub struct AuthorCache {
    links: Arc<Mutex<Links>>,
}

impl AuthorCache {
    /// The authors of the case studies in `from` among the member records of `to`.
    pub fn links(
        &self,
        index: &MusterIndex,
        from: &SegmentReader,
        to: &SegmentReader,
    ) -> Result<Arc<Vec<DocId>>> {
        let key = (from.segment_id(), to.segment_id());
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        let fields = &index.fields;
        let people = index.facet_cache.strings(from, fields.people_name())?;
        let members = index.facet_cache.records_by_id(
            to,
            fields.id_name(),
            fields.name_of(fields.kind),
            schema::kind_code(Kind::Member),
        )?;
        let ids = members.ids();
        let mut linked = vec![NO_MEMBER; people.len()];
        let (mut author, mut id) = (0u32, 0u32);
        while let (Some(a), Some(i)) = (people.value(author), ids.value(id)) {
            match a.cmp(i) {
                std::cmp::Ordering::Less => author += 1,
                std::cmp::Ordering::Greater => id += 1,
                std::cmp::Ordering::Equal => {
                    if let Some(doc) = members.last(id) {
                        linked[author as usize] = doc;
                    }
                    author += 1;
                    id += 1;
                }
            }
        }
        let built = Arc::new(linked);
        self.lock().insert(key, built.clone());
        Ok(built)
    }

    /// Drops the links of segments `searcher` no longer has.
    pub fn prune(&self, searcher: &Searcher) {
        let live: HashSet<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        let mut links = self.lock();
        if links.len() > live.len() * live.len() {
            links.retain(|(from, to), _| live.contains(from) && live.contains(to));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Links> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A matching case study.
struct Match {
    address: DocAddress,
    score: Score,
    /// Whether it matches strictly too.
    strict: bool,
}

/// Every match with its score, and whether `strict` matches it as well.
struct Matches {
    strict: Arc<dyn Weight>,
}

impl Collector for Matches {
    type Fruit = Vec<Match>;
    type Child = MatchesSegment;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<MatchesSegment> {
        Ok(MatchesSegment {
            segment: segment_ord,
            strict: self.strict.scorer(segment, 1.0)?,
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Match>>) -> tantivy::Result<Vec<Match>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

struct MatchesSegment {
    segment: SegmentOrdinal,
    strict: Box<dyn Scorer>,
    found: Vec<Match>,
}

impl SegmentCollector for MatchesSegment {
    type Fruit = Vec<Match>;

    fn collect(&mut self, doc: DocId, score: Score) {
        // matches arrive in document order, so the strict scorer only moves forward
        if self.strict.doc() < doc {
            self.strict.seek(doc);
        }
        self.found.push(Match {
            address: DocAddress::new(self.segment, doc),
            score,
            strict: self.strict.doc() == doc,
        });
    }

    fn harvest(self) -> Vec<Match> {
        self.found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_grow_with_relevance_and_stay_bounded() {
        assert!((credit_points(CREDIT_HALF) - CREDIT_POINTS / 2.0).abs() < 1e-6);
        assert!(credit_points(2.0) > credit_points(1.0));
        assert!(credit_points(1e6) < CREDIT_POINTS);
    }

    #[test]
    fn evidence_keeps_the_best_then_the_smallest_id() {
        let mut credited = Credited::default();
        let ids = ["cs-9", "cs-5", "cs-2", "cs-1", "cs-7", "cs-3", "cs-4"];
        let scores = [1.0, 3.0, 3.0, 0.5, 2.0, 0.7, 0.6];
        let id = |a: DocAddress| ids[a.doc_id as usize];
        for (doc, score) in scores.iter().enumerate() {
            credited.keep((*score, DocAddress::new(0, doc as DocId)), id);
        }
        let shown: Vec<&str> = credited.evidence().map(id).collect();
        assert_eq!(shown, vec!["cs-2", "cs-5", "cs-7", "cs-9", "cs-3"]);
    }
}
