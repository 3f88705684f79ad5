//! The tantivy schema, and the one function that turns a record into a tantivy document.
//!
//! This is the only module that knows field names. All three kinds share one index, told
//! apart by `kind`. Text is analysed twice: stemmed English for ranking, unstemmed (`exact`)
//! for phrases and names. Filters and ranking read fast fields only: the ordered enums,
//! marking, coordinates and dates are fast fields, and skills are indexed as terms that carry
//! their level (`bayesian-statistics#3`) and assessment year, so "at least level 3" is one
//! term lookup. Facets are hierarchical paths (`/MOD/Dstl`, `/Life sciences/Microbiology/Virology`).

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;
use tantivy::schema::Value as _;
use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, FacetOptions, Field, INDEXED, IndexRecordOption, STORED,
    STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DateTime, Index, IndexSettings, TantivyDocument};
use time::Date;

use crate::model::{CaseStudy, Facility, Kind, Location, Member, Record};
use crate::reference::Reference;
use crate::taxonomy::Taxonomy;
use crate::text;
use crate::{Error, Result};

/// Facet root for skills that match no taxonomy node.
pub const UNMAPPED_FACET: &str = "Other";
/// Prefix of skill terms for free-text skills.
pub const FREE_SKILL_PREFIX: &str = "free:";

/// The grammar of the skill field's terms, written once for the documents that hold them and the
/// queries that look them up. A skill's base term is its concept's id, or `free:` and the
/// normalised name when it links to no concept; a record also holds the base at each level up to
/// the one held (`virology#3`), with the year it was assessed (`virology@2025`), and the same
/// again for each broader concept, marked as credited from a narrower one (`~microbiology#3`).
pub mod skill_term {
    use super::FREE_SKILL_PREFIX;

    /// The base term of a skill that links to no concept.
    pub fn free(normalised: &str) -> String {
        format!("{FREE_SKILL_PREFIX}{normalised}")
    }

    /// The base term of a broader concept, credited from a narrower skill recorded.
    pub fn ancestor(base: &str) -> String {
        format!("~{base}")
    }

    /// Held at `level` or above.
    pub fn at_level(base: &str, level: u8) -> String {
        format!("{base}#{level}")
    }

    /// Assessed in `year`.
    pub fn assessed_in(base: &str, year: i32) -> String {
        format!("{base}@{year}")
    }
}

/// A facet search counts, and the facet field it counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacetName {
    /// Departments, under their parents.
    Department,
    /// Skills and capabilities, as the taxonomy's tree.
    Skill,
    /// A member's clearance, or the clearance a facility asks.
    Clearance,
    /// How soon a member can be deployed.
    Availability,
    /// Civil service grade.
    Grade,
    /// GSE category.
    GseCategory,
    /// UK region.
    Region,
    /// Whether a facility is open.
    Status,
}

impl FacetName {
    /// Every facet.
    pub const ALL: [FacetName; 8] = [
        FacetName::Department,
        FacetName::Skill,
        FacetName::Clearance,
        FacetName::Availability,
        FacetName::Grade,
        FacetName::GseCategory,
        FacetName::Region,
        FacetName::Status,
    ];

    /// Its name in a response's `facets` (and its filter's parameter).
    pub fn as_str(self) -> &'static str {
        match self {
            FacetName::Department => "department",
            FacetName::Skill => "skill",
            FacetName::Clearance => "clearance",
            FacetName::Availability => "availability",
            FacetName::Grade => "grade",
            FacetName::GseCategory => "gse_category",
            FacetName::Region => "region",
            FacetName::Status => "status",
        }
    }

    /// The facet field it counts.
    pub fn field(self, fields: &Fields) -> Field {
        match self {
            FacetName::Department => fields.department,
            FacetName::Skill => fields.skill_facet,
            FacetName::Clearance => fields.clearance_facet,
            FacetName::Availability => fields.availability_facet,
            FacetName::Grade => fields.grade_facet,
            FacetName::GseCategory => fields.gse_category,
            FacetName::Region => fields.region,
            FacetName::Status => fields.status,
        }
    }
}

/// Handles to every field of the index.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The tantivy schema.
    pub schema: Schema,
    /// `kind/id`, unique per record: used to replace and delete.
    pub key: Field,
    /// The record id (fast, stored).
    pub id: Field,
    /// Kind code (fast): see [`kind_code`].
    pub kind: Field,
    /// Marking rank (indexed, fast).
    pub marking: Field,
    /// Name of a member or facility, title of a case study (stemmed).
    pub name: Field,
    /// Summary or description (stemmed).
    pub summary: Field,
    /// Role, establishment (stemmed).
    pub role: Field,
    /// Case study body (stemmed).
    pub body: Field,
    /// Skill names and capabilities as recorded, with the labels and synonyms of the concepts
    /// they name, one value each (stemmed): what a record's skills score for the words of `q`.
    pub skills_text: Field,
    /// Skill names and capabilities as recorded and the labels of their concepts (stemmed), not
    /// the synonyms: where a word of `q` may be found for the record to match (with the name,
    /// role, summary and body). A synonym is another name for the whole concept, and a request
    /// naming it finds the concept's holders through query understanding; its words one by one
    /// are no evidence ("statistical analysis" does not make a statistician match "analysis").
    pub skill_words: Field,
    /// All text, unstemmed, for phrases and exact names.
    pub exact: Field,
    /// Skill terms: `id`, `id#level`, `id@year`, and `~ancestor` forms.
    pub skill: Field,
    /// Skill facet.
    pub skill_facet: Field,
    /// Department facet, hierarchical.
    pub department: Field,
    /// Clearance rank (indexed, fast).
    pub clearance: Field,
    /// Clearance facet.
    pub clearance_facet: Field,
    /// Day number (days since 1970-01-01) after which the clearance lapses; absent: no review date.
    pub clearance_due: Field,
    /// Availability rank (indexed, fast).
    pub availability: Field,
    /// Availability facet.
    pub availability_facet: Field,
    /// Grade rank (indexed, fast).
    pub grade: Field,
    /// Grade facet.
    pub grade_facet: Field,
    /// GSE category facet.
    pub gse_category: Field,
    /// Region facet.
    pub region: Field,
    /// Registrations, lowercased.
    pub registration: Field,
    /// Latitude (fast).
    pub lat: Field,
    /// Longitude (fast).
    pub lon: Field,
    /// Last update or case study date (fast).
    pub updated: Field,
    /// Case study authors, facility contacts (indexed, fast).
    pub people: Field,
    /// Facility ids a case study used.
    pub facility_ref: Field,
    /// Facility status facet.
    pub status: Field,
    /// Kind facet.
    pub kind_facet: Field,
    /// The record as JSON (stored only).
    pub record: Field,
    /// Each scored text field with the fast field holding its token count per record, so the
    /// statistics of records a caller may not see can be taken out of theirs (see `stats`).
    pub token_counts: Vec<(Field, Field)>,
}

/// The text fields search scores, by name.
const SCORED_TEXT: [&str; 7] = [
    "name",
    "summary",
    "role",
    "body",
    "skills_text",
    "skill_words",
    "exact",
];

/// The numeric code stored for each kind.
pub fn kind_code(kind: Kind) -> u64 {
    match kind {
        Kind::Member => 0,
        Kind::CaseStudy => 1,
        Kind::Facility => 2,
    }
}

fn text_indexed(tokenizer: &str, record: IndexRecordOption, stored: bool) -> TextOptions {
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record),
    );
    if stored {
        options.set_stored()
    } else {
        options
    }
}

impl Fields {
    /// A new schema.
    pub fn build() -> Fields {
        let mut b = Schema::builder();
        // stemmed words are scored by frequency and never looked up as phrases (phrases are
        // matched in `exact`), so they keep no positions: less to write, merge and store
        let en = |stored| text_indexed(text::ENGLISH, IndexRecordOption::WithFreqs, stored);
        let numeric = || INDEXED | FAST;
        let date = DateOptions::from(INDEXED)
            .set_fast()
            .set_precision(DateTimePrecision::Seconds);
        b.add_text_field("key", STRING);
        b.add_text_field("id", STRING | STORED | FAST);
        b.add_u64_field("kind", numeric());
        b.add_u64_field("marking", numeric());
        b.add_text_field("name", en(false));
        b.add_text_field("summary", en(false));
        b.add_text_field("role", en(false));
        b.add_text_field("body", en(false));
        b.add_text_field("skills_text", en(false));
        // only whether a record holds a word: matched, never scored
        b.add_text_field(
            "skill_words",
            text_indexed(text::ENGLISH, IndexRecordOption::Basic, false),
        );
        b.add_text_field(
            "exact",
            text_indexed(text::EXACT, IndexRecordOption::WithFreqsAndPositions, false),
        );
        b.add_text_field("skill", STRING);
        b.add_facet_field("skill_facet", FacetOptions::default());
        b.add_facet_field("department", FacetOptions::default());
        b.add_u64_field("clearance", numeric());
        b.add_facet_field("clearance_facet", FacetOptions::default());
        b.add_i64_field("clearance_due", numeric());
        b.add_u64_field("availability", numeric());
        b.add_facet_field("availability_facet", FacetOptions::default());
        b.add_u64_field("grade", numeric());
        b.add_facet_field("grade_facet", FacetOptions::default());
        b.add_facet_field("gse_category", FacetOptions::default());
        b.add_facet_field("region", FacetOptions::default());
        b.add_text_field("registration", STRING);
        b.add_f64_field("lat", FAST);
        b.add_f64_field("lon", FAST);
        b.add_date_field("updated", date);
        b.add_text_field("people", STRING | FAST);
        b.add_text_field("facility_ref", STRING);
        b.add_facet_field("status", FacetOptions::default());
        b.add_facet_field("kind_facet", FacetOptions::default());
        b.add_text_field("record", STORED);
        for name in SCORED_TEXT {
            b.add_u64_field(&format!("tokens_{name}"), FAST);
        }
        Fields::from_schema(&b.build()).expect("the schema we just built has every field")
    }

    /// Finds every field in an opened index's schema.
    pub fn from_schema(schema: &Schema) -> Result<Fields> {
        let f = |name: &str| {
            schema.get_field(name).map_err(|_| Error::Index {
                path: Default::default(),
                reason: format!("not a Muster index of this version (no field `{name}`)"),
            })
        };
        Ok(Fields {
            schema: schema.clone(),
            key: f("key")?,
            id: f("id")?,
            kind: f("kind")?,
            marking: f("marking")?,
            name: f("name")?,
            summary: f("summary")?,
            role: f("role")?,
            body: f("body")?,
            skills_text: f("skills_text")?,
            skill_words: f("skill_words")?,
            exact: f("exact")?,
            skill: f("skill")?,
            skill_facet: f("skill_facet")?,
            department: f("department")?,
            clearance: f("clearance")?,
            clearance_facet: f("clearance_facet")?,
            clearance_due: f("clearance_due")?,
            availability: f("availability")?,
            availability_facet: f("availability_facet")?,
            grade: f("grade")?,
            grade_facet: f("grade_facet")?,
            gse_category: f("gse_category")?,
            region: f("region")?,
            registration: f("registration")?,
            lat: f("lat")?,
            lon: f("lon")?,
            updated: f("updated")?,
            people: f("people")?,
            facility_ref: f("facility_ref")?,
            status: f("status")?,
            kind_facet: f("kind_facet")?,
            record: f("record")?,
            token_counts: SCORED_TEXT
                .iter()
                .map(|name| Ok((f(name)?, f(&format!("tokens_{name}"))?)))
                .collect::<Result<_>>()?,
        })
    }

    /// Name of the fast field holding record ids.
    pub fn id_name(&self) -> &'static str {
        "id"
    }

    /// Name of the fast field holding people (authors, contacts).
    pub fn people_name(&self) -> &'static str {
        "people"
    }

    /// Name of a fast field by handle, for columnar readers.
    pub fn name_of(&self, field: Field) -> &str {
        self.schema.get_field_name(field)
    }

    /// The record a stored document holds, typed: the reverse of what `document` stores.
    pub fn stored_record(&self, doc: &TantivyDocument, kind: Kind) -> Result<Record> {
        Ok(match kind {
            Kind::Member => Record::Member(self.stored_member(doc)?),
            Kind::CaseStudy => Record::CaseStudy(self.stored_case_study(doc)?),
            Kind::Facility => Record::Facility(self.stored_facility(doc)?),
        })
    }

    /// The member a stored member document holds.
    pub fn stored_member(&self, doc: &TantivyDocument) -> Result<Member> {
        self.stored_as(doc, Kind::Member)
    }

    /// The case study a stored case-study document holds.
    pub fn stored_case_study(&self, doc: &TantivyDocument) -> Result<CaseStudy> {
        self.stored_as(doc, Kind::CaseStudy)
    }

    /// The facility a stored facility document holds.
    pub fn stored_facility(&self, doc: &TantivyDocument) -> Result<Facility> {
        self.stored_as(doc, Kind::Facility)
    }

    fn stored_as<T: serde::de::DeserializeOwned>(
        &self,
        doc: &TantivyDocument,
        kind: Kind,
    ) -> Result<T> {
        let json = doc
            .get_first(self.record)
            .and_then(|v| v.as_str())
            .unwrap_or("{}");
        serde_json::from_str(json)
            .map_err(|e| Error::InvalidRecord(format!("stored {} record: {e}", kind.as_str())))
    }
}

/// Bytes of stored records compressed together. A hit decompresses the whole block holding its
/// record (tantivy's default, 16 KiB, holds some 17 members, of which a page rarely shows two): a
/// quarter of that costs a little compression for a quarter of the decompression per hit.
pub const STORE_BLOCK_BYTES: usize = 4096;

/// The settings every Muster index is created with.
pub fn index_settings() -> IndexSettings {
    IndexSettings {
        docstore_blocksize: STORE_BLOCK_BYTES,
        ..IndexSettings::default()
    }
}

/// Registers Muster's analysers on an index (needed after every open).
pub fn register_tokenizers(index: &Index) {
    text::register_analyzers(index.tokenizers());
}

/// The term under which a record is unique.
pub fn record_key(kind: Kind, id: &str) -> String {
    format!("{}/{}", kind.as_str(), id)
}

/// Days since 1970-01-01.
pub fn day_number(date: Date) -> i64 {
    (date.to_julian_day() - time::macros::date!(1970 - 01 - 01).to_julian_day()) as i64
}

fn tantivy_date(date: Date) -> DateTime {
    DateTime::from_timestamp_secs(day_number(date) * 86_400)
}

/// The concepts a skill name links to (see [`Taxonomy::resolve`]), and the terms that stand for it.
pub struct SkillKey {
    /// Taxonomy nodes; empty when the name links to none (free text).
    pub nodes: Vec<usize>,
    /// The base terms: the node ids, or `free:` plus the normalised text.
    pub terms: Vec<String>,
}

/// Maps a skill name through the taxonomy's matcher.
pub fn skill_key(taxonomy: &Taxonomy, name: &str) -> SkillKey {
    let (nodes, _) = taxonomy.resolve(name);
    let terms = if nodes.is_empty() {
        vec![skill_term::free(&taxonomy.normalised(name))]
    } else {
        nodes.iter().map(|&n| taxonomy.node(n).id.clone()).collect()
    };
    SkillKey { nodes, terms }
}

/// The facet path for a department, e.g. `/MOD/Dstl`; `None` for an unknown one.
pub fn department_facet(abbr: &str) -> Option<tantivy::schema::Facet> {
    let path = Reference::get().department_path(abbr);
    if path.is_empty() {
        return None;
    }
    Some(tantivy::schema::Facet::from_path(path))
}

/// The facets for a skill: its concepts' taxonomy paths, or `/Other/<name>` for free text.
pub fn skill_facets(
    taxonomy: &Taxonomy,
    key: &SkillKey,
    written: &str,
) -> Vec<tantivy::schema::Facet> {
    if key.nodes.is_empty() {
        return vec![tantivy::schema::Facet::from_path([
            UNMAPPED_FACET,
            written.trim(),
        ])];
    }
    key.nodes
        .iter()
        .map(|&node| tantivy::schema::Facet::from_path(taxonomy.path(node)))
        .collect()
}

/// A skill or capability of a record that named no concept (kept as free text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlinked {
    /// A member's or case study's skill.
    Skill(String),
    /// A facility's capability.
    Capability(String),
}

/// At most this many skill names' contributions are remembered by one [`DocumentBuilder`].
const REMEMBERED_SKILLS: usize = 1 << 16;

/// Builds tantivy documents from records.
pub struct DocumentBuilder<'a> {
    fields: &'a Fields,
    taxonomy: &'a Taxonomy,
    /// What each skill name adds to a record, worked out the first time it is met: records
    /// labelled from a taxonomy repeat a few thousand names, each with its concepts' synonyms.
    skills: RefCell<FxHashMap<Box<str>, Rc<SkillEntry<'a>>>>,
}

/// What one skill name adds to any record that holds it, level and year apart.
struct SkillEntry<'a> {
    /// Whether the name links to a concept.
    linked: bool,
    /// The base terms: the concepts' (or the free text's), then their broader concepts'.
    terms: Vec<String>,
    facets: Vec<tantivy::schema::Facet>,
    /// The concepts' labels (where the name is not one) and synonyms, with their fields.
    texts: Vec<(Field, &'a str)>,
    /// The tokens the name and `texts` add to each scored text field.
    tokens: Tokens<'a>,
}

/// The tokens of each scored text field of one document, counted as its values are added.
struct Tokens<'f> {
    fields: &'f Fields,
    counts: Vec<u64>,
}

impl<'f> Tokens<'f> {
    fn new(fields: &'f Fields) -> Self {
        Tokens {
            fields,
            counts: vec![0; fields.token_counts.len()],
        }
    }

    /// Adds what `other` counted.
    fn extend(&mut self, other: &Tokens) {
        for (count, n) in self.counts.iter_mut().zip(&other.counts) {
            *count += n;
        }
    }

    fn add(&mut self, field: Field, tokens: u64) {
        if let Some(i) = self
            .fields
            .token_counts
            .iter()
            .position(|(f, _)| *f == field)
        {
            self.counts[i] += tokens;
        }
    }
}

impl<'a> DocumentBuilder<'a> {
    /// A builder over `fields` mapping skills through `taxonomy`.
    pub fn new(fields: &'a Fields, taxonomy: &'a Taxonomy) -> Self {
        DocumentBuilder {
            fields,
            taxonomy,
            skills: RefCell::default(),
        }
    }

    /// The tantivy document for `record`, and its skills and capabilities that named no concept.
    pub fn document(&self, record: &Record) -> (TantivyDocument, Vec<Unlinked>) {
        let mut tokens = Tokens::new(self.fields);
        let (mut doc, unmapped) = self.fields_of(record, &mut tokens);
        for ((_, count), n) in self.fields.token_counts.iter().zip(tokens.counts) {
            doc.add_u64(*count, n);
        }
        (doc, unmapped)
    }

    fn fields_of(&self, record: &Record, tokens: &mut Tokens) -> (TantivyDocument, Vec<Unlinked>) {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        let kind = record.kind();
        doc.add_text(f.key, record_key(kind, record.id()));
        doc.add_text(f.id, record.id());
        doc.add_u64(f.kind, kind_code(kind));
        doc.add_facet(f.kind_facet, format!("/{}", kind.as_str()).as_str());
        doc.add_u64(f.marking, record.marking().rank());
        let json = record.to_json_text();
        doc.add_text(f.record, &json);
        let mut unmapped = Vec::new();
        match record {
            Record::Member(m) => {
                self.text(&mut doc, tokens, f.name, &m.name);
                if let Some(role) = &m.role {
                    self.text(&mut doc, tokens, f.role, role);
                }
                if let Some(summary) = &m.summary {
                    self.text(&mut doc, tokens, f.summary, summary);
                }
                self.department(&mut doc, &m.department);
                doc.add_u64(f.clearance, m.clearance.rank());
                doc.add_facet(f.clearance_facet, format!("/{}", m.clearance).as_str());
                if let Some(due) = m.clearance_review_due {
                    doc.add_i64(f.clearance_due, day_number(due));
                }
                doc.add_u64(f.availability, m.availability.rank());
                doc.add_facet(
                    f.availability_facet,
                    format!("/{}", m.availability).as_str(),
                );
                if let Some(grade) = m.grade {
                    doc.add_u64(f.grade, grade.rank());
                    doc.add_facet(f.grade_facet, format!("/{grade}").as_str());
                }
                if let Some(category) = m.gse_category {
                    doc.add_facet(f.gse_category, format!("/{category}").as_str());
                }
                self.location(&mut doc, m.location.as_ref());
                for registration in &m.registrations {
                    doc.add_text(f.registration, registration.to_lowercase());
                }
                if let Some(updated) = m.updated {
                    doc.add_date(f.updated, tantivy_date(updated));
                }
                for skill in &m.skills {
                    let year = skill.assessed.map(|d| d.year());
                    if !self.skill(&mut doc, tokens, &skill.name, skill.level.number(), year) {
                        unmapped.push(Unlinked::Skill(skill.name.clone()));
                    }
                }
            }
            Record::CaseStudy(c) => {
                self.text(&mut doc, tokens, f.name, &c.title);
                if let Some(summary) = &c.summary {
                    self.text(&mut doc, tokens, f.summary, summary);
                }
                if let Some(body) = &c.body {
                    self.text(&mut doc, tokens, f.body, body);
                }
                for department in &c.departments {
                    self.department(&mut doc, department);
                }
                for author in &c.authors {
                    doc.add_text(f.people, author);
                }
                for facility in &c.facilities {
                    doc.add_text(f.facility_ref, facility);
                }
                if let Some(date) = c.date {
                    doc.add_date(f.updated, tantivy_date(date));
                }
                for skill in &c.skills {
                    if !self.skill(&mut doc, tokens, skill, 0, None) {
                        unmapped.push(Unlinked::Skill(skill.clone()));
                    }
                }
            }
            Record::Facility(fac) => {
                self.text(&mut doc, tokens, f.name, &fac.name);
                if let Some(description) = &fac.description {
                    self.text(&mut doc, tokens, f.summary, description);
                }
                if let Some(establishment) = &fac.establishment {
                    self.text(&mut doc, tokens, f.role, establishment);
                }
                if let Some(department) = &fac.department {
                    self.department(&mut doc, department);
                }
                doc.add_u64(f.clearance, fac.access_clearance.rank());
                doc.add_facet(
                    f.clearance_facet,
                    format!("/{}", fac.access_clearance).as_str(),
                );
                doc.add_facet(f.status, format!("/{}", fac.status).as_str());
                self.location(&mut doc, fac.location.as_ref());
                for contact in &fac.contacts {
                    doc.add_text(f.people, contact);
                }
                for capability in &fac.capabilities {
                    // a capability is matched to concepts like a skill, so a search for "CL3"
                    // or "NWP" finds the lab, and one that names none is reported
                    if !self.skill(&mut doc, tokens, capability, 0, None) {
                        unmapped.push(Unlinked::Capability(capability.clone()));
                    }
                }
            }
        }
        (doc, unmapped)
    }

    fn text(&self, doc: &mut TantivyDocument, tokens: &mut Tokens, field: Field, value: &str) {
        doc.add_text(field, value);
        doc.add_text(self.fields.exact, value);
        let n = text::count_tokens(value);
        tokens.add(field, n);
        tokens.add(self.fields.exact, n);
    }

    fn department(&self, doc: &mut TantivyDocument, abbr: &str) {
        if let Some(facet) = department_facet(abbr) {
            doc.add_facet(self.fields.department, facet);
        }
    }

    fn location(&self, doc: &mut TantivyDocument, location: Option<&Location>) {
        let Some(location) = location else { return };
        doc.add_f64(self.fields.lat, location.lat);
        doc.add_f64(self.fields.lon, location.lon);
        if let Some(region) = &location.region {
            doc.add_facet(
                self.fields.region,
                tantivy::schema::Facet::from_path([region.as_str()]),
            );
        }
    }

    /// Adds one skill (terms, facets, text). `level` 0 means "no level" (case studies,
    /// capabilities). Returns whether the name linked to a concept.
    fn skill(
        &self,
        doc: &mut TantivyDocument,
        tokens: &mut Tokens,
        name: &str,
        level: u8,
        year: Option<i32>,
    ) -> bool {
        let f = self.fields;
        let entry = self.skill_entry(name);
        for base in &entry.terms {
            doc.add_text(f.skill, base);
            for l in 1..=level {
                doc.add_text(f.skill, skill_term::at_level(base, l));
            }
            if let Some(year) = year {
                doc.add_text(f.skill, skill_term::assessed_in(base, year));
            }
        }
        for facet in &entry.facets {
            doc.add_facet(f.skill_facet, facet.clone());
        }
        doc.add_text(f.skills_text, name);
        doc.add_text(f.skill_words, name);
        doc.add_text(f.exact, name);
        for (field, text) in &entry.texts {
            doc.add_text(*field, *text);
        }
        tokens.extend(&entry.tokens);
        entry.linked
    }

    /// What `name` adds to a record, remembered.
    fn skill_entry(&self, name: &str) -> Rc<SkillEntry<'a>> {
        if let Some(entry) = self.skills.borrow().get(name) {
            return entry.clone();
        }
        let entry = Rc::new(self.work_out_skill(name));
        let mut skills = self.skills.borrow_mut();
        if skills.len() < REMEMBERED_SKILLS {
            skills.insert(name.into(), entry.clone());
        }
        entry
    }

    fn work_out_skill(&self, name: &str) -> SkillEntry<'a> {
        let f = self.fields;
        let taxonomy = self.taxonomy;
        let key = skill_key(taxonomy, name);
        let mut ancestors: Vec<usize> = key
            .nodes
            .iter()
            .flat_map(|&node| taxonomy.ancestors(node).into_iter().skip(1))
            .filter(|a| !key.nodes.contains(a))
            .collect();
        ancestors.sort_unstable();
        ancestors.dedup();
        let facets = skill_facets(taxonomy, &key, name);
        let mut texts = Vec::new();
        for &node in &key.nodes {
            let node = taxonomy.node(node);
            if !node.label.eq_ignore_ascii_case(name.trim()) {
                texts.push((f.skills_text, node.label.as_str()));
                texts.push((f.skill_words, node.label.as_str()));
            }
            for synonym in node.all_synonyms() {
                texts.push((f.skills_text, synonym.as_str()));
            }
        }
        let mut tokens = Tokens::new(f);
        let name_tokens = text::count_tokens(name);
        for field in [f.skills_text, f.skill_words, f.exact] {
            tokens.add(field, name_tokens);
        }
        for (field, text) in &texts {
            tokens.add(*field, text::count_tokens(text));
        }
        let mut terms = key.terms;
        terms.extend(
            ancestors
                .into_iter()
                .map(|a| skill_term::ancestor(&taxonomy.node(a).id)),
        );
        SkillEntry {
            linked: !key.nodes.is_empty(),
            terms,
            facets,
            texts,
            tokens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn member() -> Member {
        Member {
            id: "m-1".into(),
            name: "Ada".into(),
            email: None,
            phone: None,
            department: "Dstl".into(),
            parent_department: Some("MOD".into()),
            role: None,
            grade: Some(Grade::G7),
            gse_category: None,
            clearance: Clearance::Sc,
            clearance_review_due: None,
            availability: Availability::Within24h,
            location: None,
            skills: vec![
                SkillRecord {
                    name: "virology".into(),
                    level: Level::Practitioner,
                    assessed: Some(time::macros::date!(2025 - 06 - 01)),
                },
                SkillRecord {
                    name: "quidditch refereeing".into(),
                    level: Level::Working,
                    assessed: None,
                },
            ],
            registrations: vec!["CSci".into()],
            summary: None,
            updated: None,
            marking: Marking::Official,
        }
    }

    fn terms(doc: &TantivyDocument, field: Field) -> Vec<String> {
        use tantivy::schema::Value;
        doc.get_all(field)
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    }

    #[test]
    fn skill_terms_carry_every_level_up_to_the_one_held_and_the_ancestors() {
        let fields = Fields::build();
        let taxonomy = Taxonomy::builtin();
        let (doc, unmapped) =
            DocumentBuilder::new(&fields, &taxonomy).document(&Record::Member(member()));
        let skill_terms = terms(&doc, fields.skill);
        for t in [
            "virology",
            "virology#1",
            "virology#3",
            "virology@2025",
            "~microbiology#3",
            "~life-sciences",
        ] {
            assert!(
                skill_terms.contains(&t.to_string()),
                "{t} missing from {skill_terms:?}"
            );
        }
        assert!(!skill_terms.contains(&"virology#4".to_string()));
        assert!(
            skill_terms.contains(&"free:quidditch refere#2".to_string()),
            "{skill_terms:?}"
        );
        assert_eq!(
            unmapped,
            vec![Unlinked::Skill("quidditch refereeing".into())]
        );
    }

    #[test]
    fn token_counts_are_the_tokens_of_each_field_and_a_remembered_skill_changes_nothing() {
        let fields = Fields::build();
        let taxonomy = Taxonomy::builtin();
        let builder = DocumentBuilder::new(&fields, &taxonomy);
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut records = 0;
        for (kind, file) in [
            (Kind::Member, "members.jsonl"),
            (Kind::CaseStudy, "case_studies.jsonl"),
            (Kind::Facility, "facilities.jsonl"),
        ] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let record = crate::ingest::parse_json_line(kind, line).unwrap().record;
                let (first, _) = builder.document(&record);
                for (text, count) in &fields.token_counts {
                    let tokens: u64 = first
                        .get_all(*text)
                        .filter_map(|v| v.as_str())
                        .map(text::count_tokens)
                        .sum();
                    let counted = first.get_first(*count).and_then(|v| v.as_u64());
                    assert_eq!(
                        counted,
                        Some(tokens),
                        "{} of {line}",
                        fields.schema.get_field_name(*text)
                    );
                }
                // built again, every skill comes from the builder's memory
                use tantivy::Document as _;
                let (again, _) = builder.document(&record);
                assert_eq!(again.to_json(&fields.schema), first.to_json(&fields.schema));
                records += 1;
            }
        }
        assert!(records > 100, "{records} fixture records");
    }

    #[test]
    fn only_the_exact_words_keep_positions_for_phrases() {
        use tantivy::schema::FieldType;
        let fields = Fields::build();
        for (field, entry) in fields.schema.fields() {
            let FieldType::Str(options) = entry.field_type() else {
                continue;
            };
            let Some(indexing) = options.get_indexing_options() else {
                continue;
            };
            assert_eq!(
                indexing.index_option().has_positions(),
                field == fields.exact,
                "{}",
                entry.name()
            );
        }
        // the stemmed words are scored by their frequencies
        for field in [
            fields.name,
            fields.summary,
            fields.role,
            fields.body,
            fields.skills_text,
        ] {
            let FieldType::Str(options) = fields.schema.get_field_entry(field).field_type() else {
                panic!("text field");
            };
            let indexing = options.get_indexing_options().unwrap();
            assert!(indexing.index_option().has_freq());
        }
    }

    #[test]
    fn department_facet_is_the_full_hierarchy() {
        assert_eq!(
            department_facet("Dstl").unwrap().to_path_string(),
            "/MOD/Dstl"
        );
        assert!(department_facet("Nowhere").is_none());
    }
}
