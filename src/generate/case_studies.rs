//! Case studies written by members whose skills fit the topic, about real kinds of events.

use serde_json::{Value, json};

use crate::generate::members::{
    Ctx, Sketch, capitalise, date_between, discipline_of, join_and, lower_label,
};
use crate::generate::{AS_OF, Rng};
use crate::model::Marking;
use crate::reference::Reference;
use crate::taxonomy::Taxonomy;

/// Events and programmes case studies are written about, by discipline.
const EVENTS: &[(&str, &[&str])] = &[
    (
        "Life sciences",
        &[
            "the 2014-16 West Africa Ebola epidemic",
            "the 2022 mpox outbreak",
            "avian influenza in 2022-23",
            "the 2007 foot-and-mouth disease incident",
            "bluetongue incursions in 2023",
            "ash dieback surveillance",
            "the COVID-19 pandemic",
        ],
    ),
    (
        "Health and medical sciences",
        &[
            "the COVID-19 pandemic",
            "the 2022 mpox outbreak",
            "winter pressures on the NHS",
            "the 2018 Salisbury incident",
            "Exercise Cygnus",
            "the 2014-16 West Africa Ebola epidemic",
            "measles outbreaks in 2024",
        ],
    ),
    (
        "Physical sciences",
        &[
            "the UK national timescale programme",
            "the 2018 Salisbury incident",
            "air quality monitoring in UK cities",
            "fusion materials qualification",
            "the Fukushima Daiichi accident response",
        ],
    ),
    (
        "Engineering",
        &[
            "the Carmont derailment",
            "the 2023 RAAC assessments in schools",
            "equipment availability for the armed forces",
            "the Shoreham airshow accident",
            "nuclear decommissioning at Sellafield",
            "the Grenfell Tower inquiry",
        ],
    ),
    (
        "Mathematical and data sciences",
        &[
            "the COVID-19 pandemic",
            "the Census 2021",
            "hospital capacity planning",
            "defence logistics planning",
            "the National Risk Register",
            "winter pressures on the NHS",
        ],
    ),
    (
        "Earth and environmental sciences",
        &[
            "the 2010 Eyjafjallajokull ash cloud",
            "the winter 2015-16 floods",
            "Storm Arwen",
            "the 2022 heatwave",
            "the Buncefield oil depot fire",
            "groundwater flooding in 2014",
        ],
    ),
    (
        "Defence and security science",
        &[
            "the 2018 Salisbury incident",
            "a national cyber incident exercise",
            "counter-IED programmes",
            "protective security for major events",
            "the Manchester Arena inquiry",
        ],
    ),
    (
        "Social and behavioural sciences",
        &[
            "the COVID-19 pandemic",
            "the cost of living response",
            "the evaluation of the Levelling Up fund",
            "public messaging during heatwaves",
        ],
    ),
    (
        "Science policy and resilience",
        &[
            "Exercise Pegasus",
            "the National Risk Register",
            "the COVID-19 pandemic",
            "the Buncefield oil depot fire",
            "the Grenfell Tower inquiry",
        ],
    ),
];

const TITLE_TEMPLATES: &[&str] = &[
    "{skill} support during {event}",
    "Rapid {skill_lc} for {event}",
    "{event}: lessons from {skill_lc}",
    "Applying {skill_lc} and {skill2_lc} to {event}",
    "Cross-government {skill_lc} cell for {event}",
];

/// Who holds a skill at or below each taxonomy node, overall and per department.
#[derive(Default)]
pub(super) struct Holders {
    pub(super) by_node: std::collections::HashMap<usize, Vec<usize>>,
    pub(super) by_dept_node: std::collections::HashMap<(&'static str, usize), Vec<usize>>,
}

impl Holders {
    pub(super) fn new(taxonomy: &Taxonomy, sketches: &[Sketch]) -> Holders {
        let mut holders = Holders::default();
        for (i, sketch) in sketches.iter().enumerate() {
            let mut nodes: Vec<usize> = sketch
                .skills
                .iter()
                .flat_map(|(n, _)| taxonomy.ancestors(*n))
                .collect();
            nodes.sort_unstable();
            nodes.dedup();
            for node in nodes {
                holders.by_node.entry(node).or_default().push(i);
                holders
                    .by_dept_node
                    .entry((sketch.department, node))
                    .or_default()
                    .push(i);
            }
        }
        holders
    }

    /// One holder from `list` not already `chosen`, if a few tries find one.
    fn pick(rng: &mut Rng, list: Option<&Vec<usize>>, chosen: &[usize]) -> Option<usize> {
        let list = list.filter(|l| !l.is_empty())?;
        (0..8)
            .map(|_| *rng.pick(list))
            .find(|i| !chosen.contains(i))
    }

    /// Authors for a topic: holders of skills under `nodes`, one per department in
    /// `departments` where possible, then from anywhere.
    pub(super) fn authors(
        &self,
        rng: &mut Rng,
        nodes: &[usize],
        departments: &[&str],
        count: usize,
    ) -> Vec<usize> {
        let mut chosen: Vec<usize> = Vec::new();
        for dept in departments.iter().take(count) {
            let found = nodes
                .iter()
                .find_map(|n| Holders::pick(rng, self.by_dept_node.get(&(*dept, *n)), &chosen));
            chosen.extend(found);
        }
        let mut tries = 0;
        while chosen.len() < count && tries < 16 && !nodes.is_empty() {
            tries += 1;
            let node = *rng.pick(nodes);
            chosen.extend(Holders::pick(rng, self.by_node.get(&node), &chosen));
        }
        chosen
    }
}

pub(super) fn case_study_from_topic(
    ctx: &mut Ctx<'_>,
    number: usize,
    sketches: &[Sketch],
    holders: &Holders,
    lead: usize,
    area: usize,
    facilities: &[Value],
) -> Value {
    let taxonomy = ctx.taxonomy;
    let discipline = taxonomy.node(discipline_of(taxonomy, area)).label.clone();
    let events = EVENTS
        .iter()
        .find(|(d, _)| *d == discipline)
        .map(|(_, e)| *e)
        .unwrap_or(EVENTS[0].1);
    let event = *ctx.rng.pick(events);
    // a second skill from the same specialism, for the title and the skills list
    let specialism = taxonomy
        .ancestors(area)
        .into_iter()
        .find(|&a| taxonomy.node(a).depth == 1)
        .unwrap_or(area);
    let siblings = &taxonomy.node(specialism).children;
    let second = if siblings.is_empty() {
        area
    } else {
        *ctx.rng.pick(siblings)
    };
    let mut skill = taxonomy.node(area).label.clone();
    let skill2 = taxonomy.node(second).label.clone();
    // never "Avian influenza support during avian influenza": an event that names the skill
    // is paired with the broader area instead
    if event.to_lowercase().contains(&skill.to_lowercase())
        && let Some(parent) = taxonomy.node(area).parent
    {
        skill = taxonomy.node(parent).label.clone();
    }
    // a title names two skills only when there are two
    let templates: Vec<&str> = TITLE_TEMPLATES
        .iter()
        .copied()
        .filter(|t| second != area || !t.contains("{skill2_lc}"))
        .collect();
    let template = *ctx.rng.pick(&templates);
    let title = capitalise(
        &template
            .replace("{skill}", &skill)
            .replace("{skill_lc}", &lower_label(&skill))
            .replace("{skill2_lc}", &lower_label(&skill2))
            .replace("{event}", event),
    );
    let mut authors = vec![lead];
    let extra = ctx.rng.below(3);
    if extra > 0 {
        let departments = [sketches[lead].department];
        for i in holders.authors(&mut ctx.rng, &[area, second], &departments, extra + 1) {
            if !authors.contains(&i) {
                authors.push(i);
            }
        }
    }
    let mut departments: Vec<&str> = Vec::new();
    for &a in &authors {
        if !departments.contains(&sketches[a].department) {
            departments.push(sketches[a].department);
        }
    }
    let mut skills = vec![skill.clone()];
    if second != area {
        skills.push(skill2.clone());
    }
    let area_words: Vec<String> = [&skill, &skill2].iter().map(|s| s.to_lowercase()).collect();
    let used: Vec<Value> = facilities
        .iter()
        .filter(|f| {
            let caps = f["capabilities"].to_string().to_lowercase();
            let dept = f["department"].as_str().unwrap_or("");
            departments.contains(&dept)
                && area_words
                    .iter()
                    .any(|w| caps.contains(w.split(' ').next().unwrap_or(w)))
        })
        .take(2)
        .map(|f| f["id"].clone())
        .collect();
    let dept_names: Vec<String> = departments
        .iter()
        .map(|d| {
            Reference::get()
                .department(d)
                .map(|x| x.name.clone())
                .unwrap_or_else(|| d.to_string())
        })
        .collect();
    let summary = format!(
        "How {} applied {} to {event}.",
        join_and(&dept_names),
        lower_label(&skill)
    );
    let body = format!(
        "During {event}, a team from {} was asked for {} advice at short notice. \
         The team combined {} with {} to give decision makers an assessment they could act on, \
         and documented methods, data and caveats so the work could be reused. \
         Lessons: agree the question early, share data across departmental boundaries, \
         and keep a list of people who can be called on.",
        join_and(&dept_names),
        lower_label(&skill),
        lower_label(&skill),
        lower_label(&skill2),
    );
    let marking = if ctx.rng.chance(0.08) {
        Marking::OfficialSensitive
    } else {
        Marking::Official
    };
    json!({
        "id": format!("cs-{number:04}"),
        "title": title,
        "summary": summary,
        "body": body,
        "date": event_date(&mut ctx.rng, event),
        "departments": departments,
        "authors": authors.iter().map(|&a| sketches[a].id.clone()).collect::<Vec<_>>(),
        "skills": skills,
        "facilities": used,
        "marking": marking.as_str(),
    })
}

/// When work on `event` was written up: in the event's own years (the last year it names, or
/// 2020-22 for COVID-19) or up to a year after, never before it; any time since 2012 for an event
/// without a date.
fn event_date(rng: &mut Rng, event: &str) -> String {
    let years: Vec<i32> = event
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| match w.len() {
            4 => w.parse().ok(),
            // the end of a range such as 2014-16 or 2022-23
            2 => w.parse::<i32>().ok().map(|y| 2000 + y),
            _ => None,
        })
        .filter(|y| (1990..=AS_OF.0).contains(y))
        .collect();
    let (from, to) = match years.iter().max() {
        Some(&last) => (last, last + 1),
        None if event.contains("COVID") => (2020, 2022),
        None => (2012, AS_OF.0),
    };
    let to = if to >= AS_OF.0 { AS_OF } else { (to, 12, 31) };
    date_between(rng, from.min(AS_OF.0), to)
}
