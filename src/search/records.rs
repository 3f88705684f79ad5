//! One record by id, and the references it holds that the caller may see.

use serde_json::Value;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, TantivyDocument, Term};
use time::Date;

use crate::index::MusterIndex;
use crate::model::{ClearanceStatus, Kind, Marking, Record};
use crate::schema::{self};
use crate::shapes::PersonRef;
use crate::{Error, Result};

use super::hits::people;
use super::query::{term, u64_at_most};
use super::response::Evidence;
use super::visible_ids;

/// A member's fields only a caller with the vetting permission sees.
pub const VETTING_FIELDS: &[&str] = &["clearance", "clearance_review_due", "clearance_status"];

/// One record as a caller may see it: references to records the caller may not see left out,
/// with what the API adds to the stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    /// The record, its lists of authors, contacts and facilities holding only visible ones.
    pub record: Record,
    /// A member's clearance: whether it counts on the day asked (`None` for no clearance).
    pub clearance_status: Option<ClearanceStatus>,
    /// Case studies a member authored, newest first.
    pub case_studies: Vec<Evidence>,
    /// A case study's authors or a facility's contacts, with how to reach them.
    pub people: Vec<PersonRef>,
    /// The member's clearance is not to be shown (the caller lacks the vetting permission).
    pub clearance_withheld: bool,
}

impl RecordView {
    /// The record as the API sends it: the stored record, plus `clearance_status` and
    /// `case_studies` for a member, `author_details` for a case study, `contact_details` for a
    /// facility; a withheld clearance left out.
    pub fn to_json(&self) -> Value {
        let mut json = self.record.to_json();
        match self.record.kind() {
            Kind::Member => {
                if let Some(status) = self.clearance_status {
                    json["clearance_status"] = serde_json::json!(status);
                }
                json["case_studies"] = serde_json::json!(self.case_studies);
            }
            Kind::CaseStudy => json["author_details"] = serde_json::json!(self.people),
            Kind::Facility => json["contact_details"] = serde_json::json!(self.people),
        }
        if self.clearance_withheld
            && let Some(map) = json.as_object_mut()
        {
            for field in VETTING_FIELDS {
                map.remove(*field);
            }
        }
        json
    }
}

/// One record by id, or `NotFound` when it is missing or above the caller's marking. References
/// to records the caller may not see are left out; a member's clearance says whether it counts on
/// `today`, a case study's authors and a facility's contacts come with their contact details.
pub fn get(
    index: &MusterIndex,
    kind: Kind,
    id: &str,
    max_marking: Marking,
    today: Date,
) -> Result<RecordView> {
    let searcher = index.reader.searcher();
    let fields = &index.fields;
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(fields.key, &schema::record_key(kind, id))),
        (Occur::Must, u64_at_most(fields.marking, max_marking.rank())),
    ]);
    let top = searcher.search(&query, &TopDocs::with_limit(1).order_by_score())?;
    let Some((_, address)) = top.first() else {
        return Err(Error::NotFound);
    };
    let doc: TantivyDocument = searcher.doc(*address)?;
    let mut view = RecordView {
        record: fields.stored_record(&doc, kind)?,
        clearance_status: None,
        case_studies: Vec::new(),
        people: Vec::new(),
        clearance_withheld: false,
    };
    match &mut view.record {
        Record::Member(m) => {
            view.clearance_status = m.clearance_status(today);
            view.case_studies = authored_by(index, &searcher, id, max_marking)?;
        }
        Record::CaseStudy(c) => {
            view.people = people(index, &searcher, &c.authors, max_marking)?;
            c.authors = view.people.iter().map(|a| a.id.clone()).collect();
            let visible = visible_ids(
                index,
                &searcher,
                Kind::Facility,
                c.facilities.iter(),
                max_marking,
            )?;
            c.facilities.retain(|f| visible.contains(f));
        }
        Record::Facility(f) => {
            view.people = people(index, &searcher, &f.contacts, max_marking)?;
            f.contacts = view.people.iter().map(|c| c.id.clone()).collect();
        }
    }
    Ok(view)
}

/// Case studies the caller may see that `member` authored, newest first.
pub(super) fn authored_by(
    index: &MusterIndex,
    searcher: &Searcher,
    member: &str,
    max_marking: Marking,
) -> Result<Vec<Evidence>> {
    let fields = &index.fields;
    let query = BooleanQuery::new(vec![
        (Occur::Must, term(fields.people, member)),
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(fields.kind, schema::kind_code(Kind::CaseStudy)),
                IndexRecordOption::Basic,
            )),
        ),
        (Occur::Must, u64_at_most(fields.marking, max_marking.rank())),
    ]);
    let top = searcher.search(&query, &TopDocs::with_limit(200).order_by_score())?;
    let mut out = Vec::new();
    let mut dated = Vec::new();
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let cs = fields.stored_case_study(&doc)?;
        dated.push((
            cs.date,
            Evidence {
                case_study: cs.id,
                title: cs.title,
            },
        ));
    }
    dated.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.case_study.cmp(&b.1.case_study))
    });
    out.extend(dated.into_iter().map(|(_, e)| e));
    Ok(out)
}
