//! One generated member: skills fitting their department, grade, clearance, availability,
//! location near a site, registrations fitting their discipline, contact details and summary.

use serde_json::{Value, json};

use crate::generate::vocabulary::{
    CROSS_CUTTING, FIRST_NAMES, FREE_TEXT_SKILLS, Profile, SURNAMES, town,
};
use crate::generate::{AS_OF, Rng};
use crate::model::{Availability, Clearance, Grade, GseCategory, Level, Marking};
use crate::reference::Reference;
use crate::taxonomy::Taxonomy;

/// Member ids are `m-` plus a zero-padded number, so files sort naturally.
pub fn member_id(n: usize) -> String {
    format!("m-{n:05}")
}

pub(super) struct Ctx<'a> {
    pub(super) rng: Rng,
    pub(super) taxonomy: &'a Taxonomy,
    /// With [`super::SkillSource::Esco`], the concepts members' skills are drawn from.
    pub(super) esco: Option<Vec<usize>>,
}

/// A member as generated, kept in memory only for the small facts case studies need.
pub(super) struct Sketch {
    pub(super) id: String,
    pub(super) department: &'static str,
    /// Taxonomy nodes (leaf or specialism) the member is good at, with level.
    pub(super) skills: Vec<(usize, u8)>,
    /// The discipline of their main area (for author-only members, their hidden area).
    pub(super) hidden_area: Option<usize>,
}

/// When a profile was last updated, from a day drawn evenly since 2023: most profiles are kept up
/// to date (updated in the year to [`AS_OF`]); the earliest sixth of draws become profiles one to
/// three years old, the stale ones pages flag.
fn recent_update(drawn: &str) -> String {
    let day = |date: time::Date| date.to_julian_day();
    let as_of = time::Date::from_calendar_date(
        AS_OF.0,
        time::Month::try_from(AS_OF.1).expect("valid month"),
        AS_OF.2,
    )
    .expect("valid date");
    let start = time::Date::from_calendar_date(2023, time::Month::January, 1).expect("valid date");
    let drawn = crate::model::date_format::parse(drawn, "updated").unwrap_or(as_of);
    let share = f64::from(day(drawn) - day(start)) / f64::from((day(as_of) - day(start)).max(1));
    let (from, to, within) = if share < 1.0 / 6.0 {
        (day(as_of) - 3 * 365, day(as_of) - 366, share * 6.0)
    } else {
        (day(as_of) - 365, day(as_of), (share - 1.0 / 6.0) * 1.2)
    };
    let at = from + (f64::from(to - from) * within.clamp(0.0, 1.0)) as i32;
    crate::model::date_format::format(time::Date::from_julian_day(at).unwrap_or(as_of))
}

pub(super) fn date_between(rng: &mut Rng, from_year: i32, to: (i32, u8, u8)) -> String {
    let start = time::Date::from_calendar_date(from_year, time::Month::January, 1)
        .expect("valid date")
        .to_julian_day();
    let end = time::Date::from_calendar_date(
        to.0,
        time::Month::try_from(to.1).expect("valid month"),
        to.2,
    )
    .expect("valid date")
    .to_julian_day();
    let day = start + rng.below((end - start).max(1) as usize) as i32;
    crate::model::date_format::format(time::Date::from_julian_day(day).expect("valid day"))
}

impl Ctx<'_> {
    /// A leaf skill under `label` (or the node itself now and then, or when it is a leaf).
    fn skill_under(&mut self, label: &str) -> usize {
        let node = self
            .taxonomy
            .lookup(label)
            .unwrap_or_else(|| panic!("generator profile names `{label}`, not in the taxonomy"));
        let children = &self.taxonomy.node(node).children;
        if children.is_empty() || self.rng.chance(0.12) {
            node
        } else {
            *self.rng.pick(children)
        }
    }

    /// How a member writes a skill: usually the label, sometimes lowercase or a synonym.
    fn written(&mut self, node: usize) -> String {
        let n = self.taxonomy.node(node);
        let roll = self.rng.unit();
        if roll < 0.12 {
            lower_label(&n.label)
        } else if roll < 0.25 && !n.synonyms.is_empty() {
            let synonym = self.rng.pick(&n.synonyms).clone();
            // abbreviations stay as written; other synonyms get a capital like a label
            if synonym
                .chars()
                .all(|c| c.is_uppercase() || !c.is_alphabetic())
            {
                synonym
            } else {
                capitalise(&synonym)
            }
        } else {
            n.label.clone()
        }
    }

    fn level(&mut self, core: bool) -> u8 {
        if core {
            self.rng.weighted(&[(1, 4), (2, 18), (3, 42), (4, 36)])
        } else {
            self.rng.weighted(&[(1, 30), (2, 36), (3, 24), (4, 10)])
        }
    }
}

/// Lowercases a label for running text, keeping acronyms (`CBRN detection` stays as is).
pub(super) fn lower_label(label: &str) -> String {
    label
        .split(' ')
        .map(|word| {
            if word.len() > 1
                && word
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .all(|c| c.is_uppercase())
            {
                word.to_string()
            } else {
                word.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(super) fn discipline_of(taxonomy: &Taxonomy, node: usize) -> usize {
    *taxonomy.ancestors(node).last().unwrap_or(&node)
}

fn role_for(taxonomy: &Taxonomy, node: usize, grade: Grade) -> String {
    let discipline = taxonomy.node(discipline_of(taxonomy, node)).label.as_str();
    let specialism = taxonomy
        .ancestors(node)
        .into_iter()
        .find(|&a| taxonomy.node(a).depth == 1)
        .map(|a| taxonomy.node(a).label.as_str())
        .unwrap_or(discipline);
    let noun = match (discipline, specialism) {
        (_, "Statistics") => "Statistician",
        (_, "Operational research") => "Operational Research Analyst",
        (_, "Data science and AI") => "Data Scientist",
        (_, "Economic analysis") => "Economist",
        (_, "Social and policy research") => "Social Researcher",
        ("Engineering", _) => "Engineer",
        ("Mathematical and data sciences", _) => "Analyst",
        ("Science policy and resilience", _) => "Adviser",
        ("Social and behavioural sciences", _) => "Behavioural Scientist",
        _ => "Scientist",
    };
    let seniority = match grade {
        Grade::Aa | Grade::Ao | Grade::Eo => "Assistant",
        Grade::Heo => "",
        Grade::Seo => "Senior",
        Grade::G7 => "Principal",
        Grade::G6 => "Lead",
        Grade::Scs1 => return format!("Deputy Director, {specialism}"),
        Grade::Scs2 | Grade::Scs3 | Grade::Scs4 => {
            return format!("Chief Scientific Adviser ({specialism})");
        }
    };
    let title = if seniority.is_empty() {
        noun.to_string()
    } else {
        format!("{seniority} {noun}")
    };
    format!("{title}, {specialism}")
}

fn registration_for(rng: &mut Rng, taxonomy: &Taxonomy, node: usize) -> Option<&'static str> {
    let discipline = taxonomy.node(discipline_of(taxonomy, node)).label.as_str();
    let specialism = taxonomy
        .ancestors(node)
        .into_iter()
        .find(|&a| taxonomy.node(a).depth == 1)
        .map(|a| taxonomy.node(a).label.as_str())
        .unwrap_or("");
    let options: &[&str] = match (discipline, specialism) {
        (_, "Statistics") => &["CStat", "CStat", "CSci"],
        (_, "Chemistry") => &["CChem", "CSci"],
        (_, "Physics") | (_, "Metrology") => &["CPhys", "CSci"],
        (_, "Data science and AI") => &["CITP", "CSci", "RSci"],
        ("Engineering", _) => &["CEng", "CEng", "IEng"],
        ("Mathematical and data sciences", _) => &["CMath", "CSci"],
        ("Life sciences", _) | ("Health and medical sciences", _) => &["CBiol", "CSci", "RSci"],
        ("Earth and environmental sciences", _) => &["CEnv", "CGeol", "CSci", "CMarSci"],
        ("Defence and security science", _) => &["CSci", "CEng", "CChem"],
        _ => &["CSci", "RSci"],
    };
    Some(*rng.pick(options))
}

fn clearance(rng: &mut Rng, defence: bool) -> Clearance {
    if defence {
        rng.weighted(&[
            (Clearance::Bpss, 10),
            (Clearance::Ctc, 7),
            (Clearance::Sc, 50),
            (Clearance::Esc, 5),
            (Clearance::Dv, 25),
            (Clearance::Edv, 3),
        ])
    } else {
        rng.weighted(&[
            (Clearance::None, 7),
            (Clearance::Bpss, 45),
            (Clearance::Ctc, 15),
            (Clearance::Sc, 30),
            (Clearance::Dv, 3),
        ])
    }
}

/// A civil service grade that fits the highest proficiency level held: recognised experts are
/// senior, people still developing a skill are junior.
fn grade(rng: &mut Rng, top_level: u8) -> Grade {
    match top_level {
        4 => rng.weighted(&[
            (Grade::Seo, 15),
            (Grade::G7, 40),
            (Grade::G6, 30),
            (Grade::Scs1, 10),
            (Grade::Scs2, 5),
        ]),
        3 => rng.weighted(&[
            (Grade::Heo, 15),
            (Grade::Seo, 35),
            (Grade::G7, 35),
            (Grade::G6, 15),
        ]),
        _ => rng.weighted(&[
            (Grade::Ao, 2),
            (Grade::Eo, 20),
            (Grade::Heo, 35),
            (Grade::Seo, 30),
            (Grade::G7, 13),
        ]),
    }
}

/// A GSE category that fits the highest proficiency level held.
fn category(rng: &mut Rng, top_level: u8) -> GseCategory {
    match top_level {
        4 => rng.weighted(&[
            (GseCategory::DeepSpecialist, 70),
            (GseCategory::Specialist, 30),
        ]),
        3 => rng.weighted(&[
            (GseCategory::DeepSpecialist, 20),
            (GseCategory::Specialist, 70),
            (GseCategory::Affiliate, 10),
        ]),
        _ => rng.weighted(&[(GseCategory::Specialist, 40), (GseCategory::Affiliate, 60)]),
    }
}

/// A telephone number from the ranges Ofcom keeps for drama and examples, so none is real:
/// 07700 900000-900999 (mobiles) and 01632 960000-960999 (landlines).
fn phone(rng: &mut Rng) -> String {
    let line = rng.below(1000);
    if rng.chance(0.6) {
        format!("07700 900{line:03}")
    } else {
        format!("01632 960{line:03}")
    }
}

fn email_domain(dept: &str) -> String {
    let slug: String = dept
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    format!("{slug}.gov.uk")
}

fn email_local(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            ' ' => Some('.'),
            c if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
            'Ó' | 'ó' => Some('o'),
            'Ú' | 'ú' => Some('u'),
            'á' => Some('a'),
            _ => None,
        })
        .collect()
}

/// One generated member as JSON, and what case studies need to know of them.
pub(super) fn member(ctx: &mut Ctx<'_>, n: usize, profile: &Profile) -> (Value, Sketch) {
    let rng = &mut ctx.rng;
    let first = *rng.pick(FIRST_NAMES);
    let last = *rng.pick(SURNAMES);
    let name = format!("{first} {last}");
    let id = member_id(n);
    let town = town(rng.weighted(profile.towns));
    let lat = town.2 + (rng.unit() - 0.5) * 0.06;
    let lon = town.3 + (rng.unit() - 0.5) * 0.09;
    let clearance = clearance(rng, profile.defence);
    let review_due = (clearance >= Clearance::Ctc).then(|| {
        // about one in twelve reviews is overdue as of the data's date
        if rng.chance(0.08) {
            date_between(rng, 2024, AS_OF)
        } else {
            date_between(rng, 2027, (2032, 6, 30))
        }
    });
    let availability = rng.weighted(&[
        (Availability::Now, 5),
        (Availability::Within24h, 15),
        (Availability::Week, 30),
        (Availability::Month, 30),
        (Availability::Unavailable, 20),
    ]);
    let marking_p = if profile.defence { 0.12 } else { 0.04 };
    let marking = if rng.chance(marking_p) {
        Marking::OfficialSensitive
    } else {
        Marking::Official
    };
    let author_only = ctx.rng.chance(0.012);

    // Skills: one core area at high levels, one or two more from the department, maybe a
    // cross-cutting one, maybe a free-text one.
    let mut skills: Vec<(usize, u8)> = Vec::new();
    let mut written: Vec<Value> = Vec::new();
    let core_area = ctx.rng.weighted(profile.areas);
    let core_count = 1 + ctx.rng.below(3);
    let extra_count = ctx.rng.below(3);
    let mut picks: Vec<(usize, bool)> = Vec::new();
    if let Some(concepts) = &ctx.esco {
        for i in 0..2 + ctx.rng.below(4) {
            picks.push((*ctx.rng.pick(concepts), i == 0));
        }
    } else {
        for _ in 0..core_count {
            picks.push((ctx.skill_under(core_area), true));
        }
        for _ in 0..extra_count {
            let area = ctx.rng.weighted(profile.areas);
            picks.push((ctx.skill_under(area), false));
        }
        if ctx.rng.chance(0.35) {
            let label = ctx.rng.weighted(CROSS_CUTTING);
            picks.push((ctx.skill_under(label), false));
        }
    }
    for (node, core) in picks {
        if skills.iter().any(|(n, _)| *n == node) {
            continue;
        }
        let level = ctx.level(core);
        skills.push((node, level));
        let name = if ctx.esco.is_some() {
            ctx.taxonomy.node(node).label.clone()
        } else {
            ctx.written(node)
        };
        let assessed = date_between(&mut ctx.rng, 2019, AS_OF);
        let level_value = if ctx.rng.chance(0.5) {
            json!(level)
        } else {
            json!(Level::from_number(level as u64).map(Level::as_str))
        };
        written.push(json!({"name": name, "level": level_value, "assessed": assessed}));
    }
    let free_text = (ctx.esco.is_none() && ctx.rng.chance(0.08)).then(|| {
        let free = *ctx.rng.pick(FREE_TEXT_SKILLS);
        (
            free,
            ctx.level(false),
            date_between(&mut ctx.rng, 2019, AS_OF),
        )
    });
    let main = skills[0].0;
    // seniority and GSE category follow the highest level held; a free-text skill is held no
    // higher than that (so no level-4 expert is graded as a junior)
    let top_level = skills.iter().map(|(_, level)| *level).max().unwrap_or(1);
    if let Some((free, level, assessed)) = free_text {
        written.push(json!({"name": free, "level": level.min(top_level), "assessed": assessed}));
    }
    let grade = grade(&mut ctx.rng, top_level);
    let category = category(&mut ctx.rng, top_level);
    let phone = phone(&mut ctx.rng);
    let dept_name = Reference::get()
        .department(profile.dept)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| profile.dept.to_string());
    let role = role_for(ctx.taxonomy, main, grade);
    let labels: Vec<String> = skills
        .iter()
        .map(|(node, _)| lower_label(&ctx.taxonomy.node(*node).label))
        .collect();
    let summary = if author_only {
        format!("Works in the science directorate of the {dept_name}.")
    } else {
        summary(&mut ctx.rng, &dept_name, &labels, skills[0].1)
    };
    let registrations: Vec<&str> = if grade >= Grade::Seo && ctx.rng.chance(0.45) {
        registration_for(&mut ctx.rng, ctx.taxonomy, main)
            .into_iter()
            .collect()
    } else {
        Vec::new()
    };
    let updated = recent_update(&date_between(&mut ctx.rng, 2023, AS_OF));
    // a skill is assessed no later than the profile was last updated
    for skill in &mut written {
        if skill["assessed"]
            .as_str()
            .is_some_and(|a| a > updated.as_str())
        {
            skill["assessed"] = json!(updated);
        }
    }
    let mut record = json!({
        "id": id,
        "name": name,
        "email": format!("{}@{}", email_local(&name), email_domain(profile.dept)),
        "phone": phone,
        "department": profile.dept,
        "role": role,
        "grade": grade.as_str(),
        "gse_category": category.as_str(),
        "clearance": clearance.as_str(),
        "availability": availability.as_str(),
        "location": {"town": town.0, "region": town.1, "lat": round(lat, 4), "lon": round(lon, 4)},
        "skills": if author_only { Vec::new() } else { written },
        "registrations": registrations,
        "summary": summary,
        "updated": updated,
        "marking": marking.as_str(),
    });
    if let Some(due) = review_due {
        record["clearance_review_due"] = json!(due);
    }
    let sketch = Sketch {
        id,
        department: profile.dept,
        hidden_area: author_only.then_some(main),
        skills: if author_only { Vec::new() } else { skills },
    };
    (record, sketch)
}

fn round(value: f64, places: i32) -> f64 {
    let factor = 10f64.powi(places);
    (value * factor).round() / factor
}

fn summary(rng: &mut Rng, dept_name: &str, labels: &[String], top_level: u8) -> String {
    let lead = match top_level {
        4 => "Recognised expert in",
        3 => "Experienced practitioner in",
        2 => "Works independently in",
        _ => "Developing skills in",
    };
    let mut text = format!("{lead} {}", labels[0]);
    if labels.len() > 1 {
        text.push_str(&format!(", with {}", join_and(&labels[1..])));
    }
    text.push_str(&format!(" at the {dept_name}. "));
    let extras = [
        "Has advised ministers and SAGE sub-groups during emergencies.",
        "Leads a small team and mentors early-career scientists.",
        "Experienced in deploying at short notice to incident response cells.",
        "Publishes in peer-reviewed journals and sits on standards committees.",
        "Has worked across departments on joint evidence programmes.",
        "Builds and maintains the team's analytical tools.",
        "Provides expert witness statements and technical assurance.",
    ];
    let extra: &&str = rng.pick(&extras);
    text.push_str(extra);
    text
}

pub(super) fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
