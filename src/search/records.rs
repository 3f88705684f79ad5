//! One record by id, and the references it holds that the caller may see.

use serde_json::{Value, json};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, TantivyDocument, Term};
use time::Date;

use crate::index::MusterIndex;
use crate::model::{Kind, Marking};
use crate::schema::{self};
use crate::{Error, Result};

use super::hits::{clearance_status, people, str_field, string_list};
use super::query::{term, u64_at_most};
use super::response::Evidence;
use super::{stored_record, visible_ids};

/// One record by id, or `NotFound` when it is missing or above the caller's marking. References
/// to records the caller may not see are left out; a member's clearance says whether it counts on
/// `today` (`clearance_status`), a case study's authors and a facility's contacts come with their
/// contact details (`author_details`, `contact_details`).
pub fn get(
    index: &MusterIndex,
    kind: Kind,
    id: &str,
    max_marking: Marking,
    today: Date,
) -> Result<Value> {
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
    let mut record = stored_record(fields, &doc)?;
    match kind {
        Kind::Member => {
            if let Some(status) = clearance_status(&record, today) {
                record["clearance_status"] = json!(status);
            }
            record["case_studies"] = json!(authored_by(index, &searcher, id, max_marking)?);
        }
        Kind::CaseStudy => {
            let authors = people(
                index,
                &searcher,
                &string_list(&record, "authors"),
                max_marking,
            )?;
            record["authors"] = json!(authors.iter().map(|a| &a.id).collect::<Vec<_>>());
            record["author_details"] = json!(authors);
            hide_references(
                index,
                &searcher,
                &mut record,
                "facilities",
                Kind::Facility,
                max_marking,
            )?;
        }
        Kind::Facility => {
            let contacts = people(
                index,
                &searcher,
                &string_list(&record, "contacts"),
                max_marking,
            )?;
            record["contacts"] = json!(contacts.iter().map(|c| &c.id).collect::<Vec<_>>());
            record["contact_details"] = json!(contacts);
        }
    }
    Ok(record)
}

pub(super) fn hide_references(
    index: &MusterIndex,
    searcher: &Searcher,
    record: &mut Value,
    field: &str,
    kind: Kind,
    max_marking: Marking,
) -> Result<()> {
    let ids = string_list(record, field);
    let visible = visible_ids(index, searcher, kind, ids.iter(), max_marking)?;
    let kept: Vec<&String> = ids.iter().filter(|id| visible.contains(*id)).collect();
    record[field] = json!(kept);
    Ok(())
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
        let record = stored_record(fields, &doc)?;
        dated.push((
            str_field(&record, "date").unwrap_or_default().to_string(),
            Evidence {
                case_study: str_field(&record, "id").unwrap_or_default().to_string(),
                title: str_field(&record, "title").unwrap_or_default().to_string(),
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
