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
//! One pass collects every match with its score and whether it also matches strictly. Credit is
//! then worked out only for the members a search visits ([`WithCredit`] adds it to their score)
//! and shows: from a member record to the case studies naming it, through tables made once per
//! pair of segments ([`AuthorCache`]), with no name looked up per search. Sums are kept in fixed
//! point, so they do not depend on the order matches arrive in (segments, threads, how the index
//! was built): the same records and request give the same points.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use smallvec::SmallVec;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::index::SegmentId;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{
    DateTime, DocAddress, DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader,
};
use time::Date;

use crate::Result;
use crate::index::MusterIndex;
use crate::index::tables::{DocBits, StrTable};
use crate::model::Kind;
use crate::schema;
use crate::stats::Statistics;
use crate::top::Bar;

/// What the case studies matching a request say about people.
#[derive(Default)]
pub struct Credit {
    /// The searcher's segments, in order.
    segments: Vec<SegmentId>,
    /// Per segment, its matching case studies.
    found: Vec<Found>,
    /// `authored[to][from]`: the case studies of segment `from` naming each member record of `to`.
    authored: Vec<Vec<Arc<Pair>>>,
    /// Per segment, its records' ids (to order evidence of equal relevance).
    ids: Vec<Arc<StrTable>>,
    /// Weighted relevance, in [`FIXED`] units, that counts as 1: the best match's score.
    best: f64,
    /// Per segment, authors of a case study matching strictly, at their live member records, in
    /// order.
    admitted: Vec<Vec<DocId>>,
}

impl fmt::Debug for Credit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let matches: usize = self.found.iter().map(|f| f.matches.len()).sum();
        f.debug_struct("Credit")
            .field("matches", &matches)
            .field(
                "admitted",
                &self.admitted.iter().map(Vec::len).sum::<usize>(),
            )
            .finish()
    }
}

/// What the case studies said about one member.
#[derive(Default)]
pub struct Credited {
    /// Points from every case study the caller may see that they wrote.
    pub points: f32,
    /// Case studies that credited them.
    pub counted: usize,
    /// The best few (most relevant, then smallest id, first), with their scores.
    shown: SmallVec<[(Score, DocAddress); EVIDENCE_SHOWN]>,
}

impl Credit {
    /// Whether no case study matched.
    pub fn is_empty(&self) -> bool {
        self.found.iter().all(|f| f.matches.is_empty())
    }

    /// What the case studies said about the (live) member record at `member`, if anything.
    pub fn of(&self, member: DocAddress) -> Option<Credited> {
        let mut credited = Credited::default();
        let mut units = 0u64;
        let ids = |case_study: DocAddress| {
            let table = &self.ids[case_study.segment_ord as usize];
            table.of(case_study.doc_id).next().unwrap_or_default()
        };
        self.each_match(member, &mut self.starts(), |from, found, rank| {
            let m = &found.matches[rank];
            units += found.units[rank];
            credited.counted += 1;
            let address = DocAddress::new(from as SegmentOrdinal, m.doc);
            credited.keep((m.score, address), ids);
        });
        credited.points = self.points_for(units);
        (credited.counted > 0).then_some(credited)
    }

    /// The points of the (live) member record `doc` of segment `ord`: [`Credit::of`] without
    /// the evidence. `starts` is as for [`Credit::each_match`].
    fn points_at(&self, ord: usize, doc: DocId, starts: &mut [usize]) -> Score {
        let mut units = 0u64;
        self.each_match(
            DocAddress::new(ord as SegmentOrdinal, doc),
            starts,
            |_, found, rank| units += found.units[rank],
        );
        self.points_for(units)
    }

    /// Where to start looking for a member in each case-study segment's links: at the start.
    fn starts(&self) -> Vec<usize> {
        vec![0; self.found.len()]
    }

    /// Calls `visit` with each matching case study naming the member record at `member`: its
    /// segment, that segment's matches and its rank among them.
    /// `starts` (one per case-study segment, from [`Credit::starts`]) is where the links of a
    /// smaller member record of the same segment were found: a search asking in record order
    /// passes the same ones each time and moves through the links once.
    fn each_match(
        &self,
        member: DocAddress,
        starts: &mut [usize],
        mut visit: impl FnMut(usize, &Found, usize),
    ) {
        let Some(pairs) = self.authored.get(member.segment_ord as usize) else {
            return;
        };
        for ((from, pair), start) in pairs.iter().enumerate().zip(starts) {
            let found = &self.found[from];
            if found.matches.is_empty() {
                continue;
            }
            for &case_study in pair.case_studies_of(member.doc_id, start) {
                if let Some(rank) = found.rank(case_study) {
                    visit(from, found, rank);
                }
            }
        }
    }

    /// At least the points of any member record of segment `ord`: as if one had written as many
    /// matching case studies in each case-study segment as the most any record there has, each
    /// matching as well as the best match there; a little more, so rounding in
    /// [`credit_points`] never puts a member past it.
    pub(crate) fn ceiling(&self, ord: usize) -> Score {
        let Some(pairs) = self.authored.get(ord) else {
            return 0.0;
        };
        let units = pairs
            .iter()
            .zip(&self.found)
            .map(|(pair, found)| pair.most.saturating_mul(found.most_units))
            .fold(0u64, u64::saturating_add);
        match units {
            0 => 0.0,
            _ => self.points_for(units) + CEILING_MARGIN,
        }
    }

    fn points_for(&self, units: u64) -> Score {
        match units {
            0 => 0.0,
            _ => credit_points((units as f64 / self.best) as f32),
        }
    }

    /// The members admitted as hits: per segment, in record order.
    pub fn admitted(&self) -> &[Vec<DocId>] {
        &self.admitted
    }

    /// Every credited member with their points (to test with).
    #[cfg(test)]
    pub fn points(&self) -> Vec<(DocAddress, Score)> {
        let mut members: Vec<DocAddress> = Vec::new();
        for (to, pairs) in self.authored.iter().enumerate() {
            for pair in pairs {
                members.extend(
                    pair.authored
                        .iter()
                        .map(|(m, _)| DocAddress::new(to as SegmentOrdinal, *m)),
                );
            }
        }
        members.sort_unstable();
        members.dedup();
        // As a search asks: in record order, one walk through the links per member segment.
        let mut segment = None;
        let mut starts = self.starts();
        members
            .into_iter()
            .map(|m| {
                if segment.replace(m.segment_ord) != Some(m.segment_ord) {
                    starts = self.starts();
                }
                (
                    m,
                    self.points_at(m.segment_ord as usize, m.doc_id, &mut starts),
                )
            })
            .filter(|(_, points)| *points > 0.0)
            .collect()
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
/// Points added to [`Credit::ceiling`]: far above `f32` rounding at a dozen points, far below
/// any difference in score that matters.
const CEILING_MARGIN: f32 = 1e-3;
/// Fixed-point units per unit of weighted score.
const FIXED: f64 = (1u64 << 24) as f64;

/// Points for a summed relevance: strictly increasing, so more good work always counts more,
/// and bounded, so authorship adds to a profile and skill levels rather than drowning them.
fn credit_points(relevance: f32) -> f32 {
    CREDIT_POINTS * relevance / (relevance + CREDIT_HALF)
}

/// How much a case study `age` days old counts: 1 when new (or dated in the future).
fn recency(age: i64) -> f32 {
    let years = (age.max(0) as f32) / 365.25;
    0.5 + 0.5 * 0.5f32.powf(years / CREDIT_HALF_LIFE_YEARS)
}

/// Ages up to this many days have their [`recency`] remembered by a search (a century: at most
/// 146 KB, and a broad query meets thousands of case studies of each age).
const REMEMBERED_AGES: usize = 36_525;

/// Sorts `docs` (records of a segment of `max_doc`) and drops repeats: through a bit per record
/// when there are many (a broad word admits tens of thousands of authors), by sorting otherwise.
fn in_order_once(docs: &mut Vec<DocId>, max_doc: DocId) {
    if docs.len() < max_doc as usize / 64 {
        docs.sort_unstable();
        docs.dedup();
        return;
    }
    let bits = DocBits::from_docs(docs, max_doc);
    docs.clear();
    docs.extend(bits.docs());
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
    let fields = &index.fields;
    let found = crate::search::collect(
        searcher,
        stats,
        loose,
        Matches {
            strict: Arc::from(strict),
            updated: fields.name_of(fields.updated).to_string(),
            today,
        },
    )?;
    let segments = searcher.segment_readers();
    let mut per_segment: Vec<Found> = segments.iter().map(|_| Found::default()).collect();
    for (ord, found, units) in found {
        per_segment[ord as usize] = Found::new(found, units);
    }
    let Some(best) = per_segment
        .iter()
        .flat_map(|f| &f.matches)
        .map(|m| m.score)
        .max_by(f32::total_cmp)
    else {
        return Ok(Credit::default());
    };
    let pairs = segments
        .iter()
        .map(|to| {
            segments
                .iter()
                .map(|from| index.author_cache.pair(index, from, to))
                .collect::<Result<Vec<_>>>()
        })
        .collect::<Result<Vec<_>>>()?;
    let people = segments
        .iter()
        .map(|s| index.facet_cache.strings(s, fields.people_name()))
        .collect::<tantivy::Result<Vec<Arc<StrTable>>>>()?;
    let ids = segments
        .iter()
        .map(|s| index.facet_cache.strings(s, fields.id_name()))
        .collect::<tantivy::Result<Vec<Arc<StrTable>>>>()?;

    // authors of strict matches, at their live member records (authors above the caller's
    // marking too: the expert query carries the marking filter, so they never become hits)
    let mut admitted: Vec<Vec<DocId>> = segments.iter().map(|_| Vec::new()).collect();
    for (from, found) in per_segment.iter().enumerate() {
        for m in found.matches.iter().filter(|m| m.strict) {
            for &author in people[from].ords(m.doc) {
                for (to, reader) in segments.iter().enumerate() {
                    let Some(&doc) = pairs[to][from].links.get(author as usize) else {
                        continue;
                    };
                    if doc != NO_MEMBER && reader.alive_bitset().is_none_or(|b| b.is_alive(doc)) {
                        admitted[to].push(doc);
                    }
                }
            }
        }
    }
    for (docs, reader) in admitted.iter_mut().zip(segments) {
        in_order_once(docs, reader.max_doc());
    }
    Ok(Credit {
        segments: segments.iter().map(|s| s.segment_id()).collect(),
        found: per_segment,
        authored: pairs,
        ids,
        best: f64::from(best) * FIXED,
        admitted,
    })
}

/// `inner`'s matches, each scoring what `inner` scores plus its case-study credit: worked out
/// for the members a search visits only, rather than for every author of every match.
///
/// Against `bar` (the page's, raised by the collector filling it), a member that could not
/// reach it even with the most credit anyone in its segment could have ([`Credit::ceiling`])
/// scores without its credit (less than it would, and still short of the bar), so its case
/// studies are not looked up: the page, its scores and every count stay what they would be, and
/// a record on the page always scores in full. Only for the one search collecting that page;
/// explanations ignore the bar.
#[derive(Debug)]
pub struct WithCredit {
    pub inner: Box<dyn Query>,
    pub credit: Arc<Credit>,
    pub bar: Arc<Bar>,
}

impl Clone for WithCredit {
    fn clone(&self) -> Self {
        WithCredit {
            inner: self.inner.box_clone(),
            credit: self.credit.clone(),
            bar: self.bar.clone(),
        }
    }
}

impl Query for WithCredit {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(WithCreditWeight {
            inner: self.inner.weight(scoring)?,
            credit: self.credit.clone(),
            bar: self.bar.clone(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct WithCreditWeight {
    inner: Box<dyn Weight>,
    credit: Arc<Credit>,
    bar: Arc<Bar>,
}

impl WithCreditWeight {
    fn scorer_under(
        &self,
        segment: &SegmentReader,
        boost: Score,
        bar: Option<Arc<Bar>>,
    ) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.inner.scorer(segment, boost)?;
        let id = segment.segment_id();
        let Some(ord) = self.credit.segments.iter().position(|s| *s == id) else {
            return Ok(inner);
        };
        Ok(Box::new(WithCreditScorer {
            inner,
            starts: self.credit.starts(),
            most: boost * self.credit.ceiling(ord),
            credit: self.credit.clone(),
            ord,
            boost,
            bar,
        }))
    }
}

impl Weight for WithCreditWeight {
    fn scorer(&self, segment: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.scorer_under(segment, boost, Some(self.bar.clone()))
    }

    fn explain(&self, segment: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let scorer = self.scorer_under(segment, 1.0, None)?;
        crate::visible::explain_scorer_at(scorer, doc, "credited")
    }
}

struct WithCreditScorer {
    inner: Box<dyn Scorer>,
    credit: Arc<Credit>,
    ord: usize,
    boost: Score,
    /// Where the last member scored was found in the links (members arrive in record order).
    starts: Vec<usize>,
    /// The page's bar, if any (see [`WithCredit`]).
    bar: Option<Arc<Bar>>,
    /// At least the credit any member of the segment can score (boosted).
    most: Score,
}

impl DocSet for WithCreditScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.inner.seek(target)
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

impl Scorer for WithCreditScorer {
    fn score(&mut self) -> Score {
        let doc = self.inner.doc();
        let score = self.inner.score();
        if let Some(bar) = &self.bar
            && score + self.most < bar.get()
        {
            return score;
        }
        score + self.boost * self.credit.points_at(self.ord, doc, &mut self.starts)
    }
}

/// Both ways between the case studies of one segment and the member records of another.
struct Pair {
    /// By author value ordinal of the case studies' segment, the last member record holding
    /// that id in the members' segment, or [`NO_MEMBER`] (whether it is live is asked at each
    /// search, as deletes come and go).
    links: Vec<DocId>,
    /// `(member record, case study)` for each case study naming a linked member, sorted.
    authored: Vec<(DocId, DocId)>,
    /// The most case studies naming one member record.
    most: u64,
}

impl Pair {
    /// The case studies naming the member record `member`, in record order. `start` is where
    /// to look from, and becomes where `member` was found: when it points at or before it, the
    /// search costs the log of the distance moved, so visiting members in order costs one walk.
    fn case_studies_of(&self, member: DocId, start: &mut usize) -> impl Iterator<Item = &DocId> {
        let before = |(m, _): &(DocId, DocId)| *m < member;
        // every link before `start` must be of a smaller member; else look from the start
        if *start > self.authored.len() || *start > 0 && !before(&self.authored[*start - 1]) {
            *start = 0;
        }
        let rest = &self.authored[*start..];
        // gallop: the first power-of-two step past `member`, then a binary search below it
        let mut step = 1;
        while step <= rest.len() && before(&rest[step - 1]) {
            step *= 2;
        }
        let below = step / 2;
        *start += below + rest[below..step.min(rest.len())].partition_point(before);
        self.authored[*start..]
            .iter()
            .take_while(move |(m, _)| *m == member)
            .map(|(_, case_study)| case_study)
    }
}

/// Linked authors by pair of segments (case studies', members').
type Pairs = HashMap<(SegmentId, SegmentId), Arc<Pair>>;

/// No member record holds this author's id.
const NO_MEMBER: DocId = DocId::MAX;

/// For each pair of segments, the member records of the second that wrote the case studies of
/// the first, and back. Two segments never change, so a pair is linked once, by one merge of
/// their sorted dictionaries, and shared by every search.
#[derive(Default, Clone)]
pub struct AuthorCache {
    pairs: Arc<Mutex<Pairs>>,
}

impl AuthorCache {
    /// The authors of the case studies in `from` among the member records of `to`, both ways.
    fn pair(
        &self,
        index: &MusterIndex,
        from: &SegmentReader,
        to: &SegmentReader,
    ) -> Result<Arc<Pair>> {
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
        let mut links = vec![NO_MEMBER; people.len()];
        let (mut author, mut id) = (0u32, 0u32);
        while let (Some(a), Some(i)) = (people.value(author), ids.value(id)) {
            match a.cmp(i) {
                std::cmp::Ordering::Less => author += 1,
                std::cmp::Ordering::Greater => id += 1,
                std::cmp::Ordering::Equal => {
                    if let Some(doc) = members.last(id) {
                        links[author as usize] = doc;
                    }
                    author += 1;
                    id += 1;
                }
            }
        }
        let mut authored = Vec::new();
        for case_study in 0..from.max_doc() {
            for &author in people.ords(case_study) {
                match links.get(author as usize) {
                    Some(&member) if member != NO_MEMBER => authored.push((member, case_study)),
                    _ => {}
                }
            }
        }
        authored.sort_unstable();
        authored.dedup();
        let most = authored
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| run.len() as u64)
            .max()
            .unwrap_or(0);
        let built = Arc::new(Pair {
            links,
            authored,
            most,
        });
        self.lock().insert(key, built.clone());
        Ok(built)
    }

    /// Links the segments of `searcher` ahead of the first search.
    pub fn warm(&self, index: &MusterIndex, searcher: &Searcher) -> Result<()> {
        for from in searcher.segment_readers() {
            for to in searcher.segment_readers() {
                self.pair(index, from, to)?;
            }
        }
        Ok(())
    }

    /// Drops the links of segments `searcher` no longer has.
    pub fn prune(&self, searcher: &Searcher) {
        let live: HashSet<SegmentId> = searcher
            .segment_readers()
            .iter()
            .map(|r| r.segment_id())
            .collect();
        let mut pairs = self.lock();
        if pairs.len() > live.len() * live.len() {
            pairs.retain(|(from, to), _| live.contains(from) && live.contains(to));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pairs> {
        self.pairs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A matching case study.
struct Match {
    doc: DocId,
    score: Score,
    /// Whether it matches strictly too.
    strict: bool,
}

/// One segment's matching case studies, found by record in constant time: a bit per record
/// up to the last match, with how many matches come before each word of bits (a rank table).
#[derive(Default)]
struct Found {
    /// In record order, each record once (as a collector sees them).
    matches: Vec<Match>,
    /// By rank, each match's score weighted by its age, in [`FIXED`] units: all that scoring a
    /// visited member reads, kept apart so a broad query's random lookups touch less memory.
    units: Vec<u64>,
    /// Per 64 records, how many matches come before them and which of them match.
    words: Vec<(u32, u64)>,
    /// The largest of `units`.
    most_units: u64,
}

impl Found {
    /// `units[i]` is the weighted score of `matches[i]`.
    fn new(matches: Vec<Match>, units: Vec<u64>) -> Self {
        let last = matches.last().map_or(0, |m| m.doc as usize / 64 + 1);
        let mut words = vec![(0u32, 0u64); last];
        for m in &matches {
            words[m.doc as usize / 64].1 |= 1 << (m.doc % 64);
        }
        let mut before = 0;
        for (count, bits) in &mut words {
            *count = before;
            before += bits.count_ones();
        }
        Found {
            most_units: units.iter().copied().max().unwrap_or(0),
            matches,
            units,
            words,
        }
    }

    /// The rank among the matches of the match at record `doc`, if it matched.
    fn rank(&self, doc: DocId) -> Option<usize> {
        let &(before, bits) = self.words.get(doc as usize / 64)?;
        let bit = 1u64 << (doc % 64);
        (bits & bit != 0).then(|| (before + (bits & (bit - 1)).count_ones()) as usize)
    }
}

/// Every match with its score, and whether `strict` matches it as well.
struct Matches {
    strict: Arc<dyn Weight>,
    /// The date field's name.
    updated: String,
    today: Date,
}

impl Collector for Matches {
    type Fruit = Vec<(SegmentOrdinal, Vec<Match>, Vec<u64>)>;
    type Child = MatchesSegment;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<MatchesSegment> {
        Ok(MatchesSegment {
            segment: segment_ord,
            strict: self.strict.scorer(segment, 1.0)?,
            dates: segment.fast_fields().date(&self.updated).ok(),
            today: schema::day_number(self.today),
            by_age: Vec::new(),
            found: Vec::new(),
            units: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(
        &self,
        fruits: Vec<(SegmentOrdinal, Vec<Match>, Vec<u64>)>,
    ) -> tantivy::Result<Self::Fruit> {
        Ok(fruits)
    }
}

struct MatchesSegment {
    segment: SegmentOrdinal,
    strict: Box<dyn Scorer>,
    dates: Option<Column<DateTime>>,
    /// Today's day number.
    today: i64,
    /// [`recency`] by age in days, as met (NaN: not yet worked out).
    by_age: Vec<f32>,
    found: Vec<Match>,
    /// Each match's weighted score, in [`FIXED`] units.
    units: Vec<u64>,
}

impl MatchesSegment {
    /// How much a case study dated `day` (days since 1970) counts today: 1 when undated.
    fn recency(&mut self, day: Option<i64>) -> f32 {
        let Some(day) = day else {
            return 1.0;
        };
        let age = (self.today - day).max(0);
        let Some(slot) = usize::try_from(age).ok().filter(|&a| a < REMEMBERED_AGES) else {
            return recency(age);
        };
        if slot >= self.by_age.len() {
            self.by_age.resize(slot + 1, f32::NAN);
        }
        if self.by_age[slot].is_nan() {
            self.by_age[slot] = recency(age);
        }
        self.by_age[slot]
    }
}

impl SegmentCollector for MatchesSegment {
    type Fruit = (SegmentOrdinal, Vec<Match>, Vec<u64>);

    fn collect(&mut self, doc: DocId, score: Score) {
        // matches arrive in document order, so the strict scorer only moves forward
        if self.strict.doc() < doc {
            self.strict.seek(doc);
        }
        let day = self
            .dates
            .as_ref()
            .and_then(|c| c.first(doc))
            .map(|d| d.into_timestamp_secs().div_euclid(86_400));
        let weighted = f64::from(score * self.recency(day));
        self.found.push(Match {
            doc,
            score,
            strict: self.strict.doc() == doc,
        });
        self.units.push((weighted * FIXED).round() as u64);
    }

    fn harvest(self) -> Self::Fruit {
        (self.segment, self.found, self.units)
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
    fn records_come_in_order_once_whether_few_or_many() {
        for (count, max_doc) in [(0, 1000), (10, 100_000), (5_000, 6_000), (50_000, 20_000)] {
            // repeats, out of order, the last record included
            let mut docs: Vec<DocId> = (0..count)
                .map(|i: u32| i.wrapping_mul(2_654_435_761) % max_doc)
                .chain((count > 0).then_some(max_doc - 1))
                .collect();
            let mut expected = docs.clone();
            expected.sort_unstable();
            expected.dedup();
            in_order_once(&mut docs, max_doc);
            assert_eq!(docs, expected, "{count} of {max_doc}");
        }
    }

    #[test]
    fn a_remembered_recency_is_the_one_worked_out_for_that_age() {
        assert_eq!(recency(0), 1.0);
        assert_eq!(recency(-30), 1.0, "dated in the future counts as new");
        assert!(
            (recency(3_652) - 0.75).abs() < 1e-4,
            "ten years: three quarters"
        );
        let today = 20_000;
        let mut segment = MatchesSegment {
            segment: 0,
            strict: Box::new(tantivy::query::EmptyScorer),
            dates: None,
            today,
            by_age: Vec::new(),
            found: Vec::new(),
            units: Vec::new(),
        };
        let oldest_remembered = today - REMEMBERED_AGES as i64 + 1;
        // ages met in any order, again, in the future, at the last remembered and past it
        for day in [
            19_000,
            20_000,
            19_000,
            20_500,
            19_999,
            oldest_remembered,
            oldest_remembered - 1,
            -5_000,
            20_000,
        ] {
            assert_eq!(
                segment.recency(Some(day)).to_bits(),
                recency(today - day).to_bits(),
                "day {day}"
            );
        }
        assert_eq!(segment.recency(None), 1.0, "undated counts as new");
        assert!(segment.by_age.len() <= REMEMBERED_AGES);
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

    #[test]
    fn a_matching_case_study_is_found_by_its_record_and_no_other_is() {
        // matches on both sides of word edges, a gap of whole words, and a last word
        let docs: Vec<DocId> = vec![0, 1, 63, 64, 65, 127, 300, 301, 511];
        let found = Found::new(
            docs.iter()
                .map(|&doc| Match {
                    doc,
                    score: doc as Score,
                    strict: false,
                })
                .collect(),
            docs.iter().map(|&doc| u64::from(doc)).collect(),
        );
        for doc in 0..600 {
            let got = found
                .rank(doc)
                .map(|r| (found.matches[r].doc, found.units[r]));
            let expected = docs.contains(&doc).then_some((doc, u64::from(doc)));
            assert_eq!(got, expected, "record {doc}");
        }
        assert!(Found::default().rank(0).is_none());
    }

    #[test]
    fn a_member_finds_the_case_studies_naming_it_from_wherever_the_last_one_was_found() {
        // members 3, 4 (twice), 9 and 20..40 wrote; the rest wrote nothing
        let mut authored = vec![(3, 7), (4, 1), (4, 8), (9, 2)];
        authored.extend((20..40).map(|m| (m, m + 100)));
        let pair = Pair {
            links: Vec::new(),
            authored: authored.clone(),
            most: 2,
        };
        let expected = |member: DocId| -> Vec<DocId> {
            authored
                .iter()
                .filter(|(m, _)| *m == member)
                .map(|(_, c)| *c)
                .collect()
        };
        let found = |member: DocId, start: &mut usize| -> Vec<DocId> {
            pair.case_studies_of(member, start).copied().collect()
        };
        // in record order (as a search asks), backwards, asked twice, and jumping about, each
        // with one `start` carried along
        let forwards: Vec<DocId> = (0..45).collect();
        let backwards: Vec<DocId> = (0..45).rev().collect();
        let twice: Vec<DocId> = (0..45).flat_map(|m| [m, m]).collect();
        let jumps: Vec<DocId> = vec![39, 4, 44, 0, 21, 20, 9, 3, 38, 4];
        for order in [forwards, backwards, twice, jumps] {
            let mut start = 0;
            for &member in &order {
                assert_eq!(
                    found(member, &mut start),
                    expected(member),
                    "member {member}"
                );
            }
        }
        let mut past_the_end = authored.len() + 5;
        assert_eq!(found(4, &mut past_the_end), vec![1, 8]);
    }
}
