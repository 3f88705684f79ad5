//! Facility records from the reference data of the establishments and their facilities.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::generate::Rng;
use crate::generate::vocabulary::TOWNS;
use crate::model::{Clearance, Marking};
use crate::reference::Reference;

/// The department a reference establishment belongs to, and its region.
fn establishment_owner(est: &str) -> (&'static str, &'static str) {
    match est {
        "dstl-porton" => ("Dstl", "South West"),
        "dstl-portsdown" => ("Dstl", "South East"),
        "ukhsa-porton" => ("UKHSA", "South West"),
        "ukhsa-colindale" => ("UKHSA", "London"),
        "ukhsa-chilton" => ("UKHSA", "South East"),
        "npl" => ("NPL", "London"),
        "met-office" => ("Met Office", "South West"),
        "apha-weybridge" => ("APHA", "South East"),
        "cefas" => ("Cefas", "East of England"),
        "hse-buxton" => ("HSE", "East Midlands"),
        "uknnl" => ("UKNNL", "North West"),
        "ukaea" => ("UKAEA", "South East"),
        "bgs" => ("UKRI", "East Midlands"),
        "fera" => ("Defra", "Yorkshire and The Humber"),
        "kew" => ("RBG Kew", "London"),
        "forest-research" => ("FC", "South East"),
        "stfc-ral" => ("UKRI", "South East"),
        "stfc-daresbury" => ("UKRI", "North West"),
        "awe" => ("AWE", "South East"),
        "mhra-south-mimms" => ("MHRA", "East of England"),
        "pirbright" => ("UKRI", "South East"),
        "aaib" => ("AAIB", "South East"),
        "ukho" => ("UKHO", "South West"),
        "ea-nls" => ("EA", "South West"),
        "bas" => ("UKRI", "East of England"),
        "noc" => ("UKRI", "South East"),
        _ => ("UKRI", "London"),
    }
}

/// Facility records built from the reference data.
pub(super) fn facilities(rng: &mut Rng, by_dept: &BTreeMap<&str, Vec<String>>) -> Vec<Value> {
    let reference = Reference::get();
    reference
        .facilities
        .iter()
        .map(|f| {
            let est = reference
                .establishment(&f.est)
                .expect("reference facilities name known establishments");
            let (dept, est_region) = establishment_owner(&f.est);
            let (town, lat, lon, region) = match (&f.town, f.lat, f.lon) {
                (Some(t), Some(lat), Some(lon)) => {
                    let short = t.split(',').next().unwrap_or(t).trim();
                    let region = TOWNS
                        .iter()
                        .find(|x| short.contains(x.0) || x.0.contains(short))
                        .map(|x| x.1)
                        .unwrap_or(est_region);
                    (t.clone(), lat, lon, region)
                }
                _ => (est.town.clone(), est.lat, est.lon, est_region),
            };
            let caps = f.caps.join(" ").to_lowercase();
            let access = if matches!(dept, "Dstl" | "AWE" | "UKHO")
                || caps.contains("cl4")
                || caps.contains("sapo4")
                || caps.contains("plutonium")
            {
                Clearance::Sc
            } else if caps.contains("nuclear")
                || caps.contains("explosive")
                || caps.contains("tritium")
            {
                Clearance::Ctc
            } else {
                Clearance::Bpss
            };
            // JET ended operations in December 2023 and is being decommissioned
            let status = if f.id == "ukaea-jet" {
                "closed"
            } else {
                "operational"
            };
            let marking = if matches!(
                f.id.as_str(),
                "awe-hpc" | "awe-cbrn-advice" | "dstl-magazines" | "dstl-ho-facility"
            ) {
                Marking::OfficialSensitive
            } else {
                Marking::Official
            };
            let contacts: Vec<String> = match by_dept.get(dept) {
                Some(ids) if !ids.is_empty() => {
                    let mut c = vec![rng.pick(ids).clone()];
                    let second = rng.pick(ids).clone();
                    if second != c[0] && rng.chance(0.5) {
                        c.push(second);
                    }
                    c
                }
                _ => Vec::new(),
            };
            let mut record = json!({
                "id": f.id,
                "name": f.name,
                "establishment": est.name,
                "department": dept,
                "capabilities": f.caps,
                "location": {"town": town, "region": region, "lat": lat, "lon": lon},
                "access_clearance": access.as_str(),
                "contacts": contacts,
                "status": status,
                "marking": marking.as_str(),
            });
            if let Some(detail) = &f.detail {
                record["description"] = json!(detail);
            }
            record
        })
        .collect()
}

/// Case studies the GSE strategy itself describes, with the skills their authors must hold.
pub(super) struct Flagship {
    pub(super) id: &'static str,
    pub(super) title: &'static str,
    pub(super) summary: &'static str,
    pub(super) body: &'static str,
    pub(super) date: &'static str,
    pub(super) departments: &'static [&'static str],
    pub(super) author_depts: &'static [&'static str],
    pub(super) skills: &'static [&'static str],
    pub(super) facilities: &'static [&'static str],
    pub(super) marking: Marking,
}

pub(super) const FLAGSHIPS: &[Flagship] = &[
    Flagship {
        id: "cs-covid-dstl-modelling",
        title: "Dstl statistical modelling for PHE and the NHS during COVID-19",
        summary: "Dstl statisticians and operational research analysts were redeployed within days to model hospital demand, testing capacity and transmission for Public Health England and the NHS.",
        body: "In March 2020 Dstl stood up a cell of statisticians, modellers and operational research analysts to support Public Health England and NHS England. The team built epidemiological and medical capacity models (queueing models of intensive care demand, Bayesian nowcasts of hospital admissions), assured the SPI-M modelling consensus, and supported testing logistics. More than 300 Dstl scientists contributed over the course of the pandemic. Finding the right people quickly depended on personal networks: the lesson that led to the call for a searchable register of expertise.",
        date: "2020-06-30",
        departments: &["Dstl", "UKHSA", "NHSE"],
        author_depts: &["Dstl", "Dstl", "UKHSA"],
        skills: &[
            "Epidemiological modelling",
            "Statistical modelling",
            "Bayesian statistics",
            "Queueing theory",
            "Operational research",
        ],
        facilities: &["dstl-analysis"],
        marking: Marking::Official,
    },
    Flagship {
        id: "cs-stem-futures",
        title: "STEM Futures: government scientists and engineers in schools and placements",
        summary: "Members of the GSE profession volunteered as STEM ambassadors and hosted placements, showing young people the range of science and engineering careers in government.",
        body: "STEM Futures matched volunteers from across departments and PSREs with schools, colleges and placement students. Volunteers ran careers sessions, supervised summer placements in laboratories and analytical teams, and evaluated the effect on students' intentions to study science, technology, engineering and mathematics.",
        date: "2022-09-01",
        departments: &["GO-Science", "DSIT", "DfE"],
        author_depts: &["GO-Science", "DfE"],
        skills: &["Science policy", "Evaluation", "Social research"],
        facilities: &[],
        marking: Marking::Official,
    },
    Flagship {
        id: "cs-mod-engineering",
        title: "MOD engineering: systems engineering and safety cases that keep equipment available",
        summary: "DE&S and Dstl engineers used systems engineering, structural integrity assessment and safety cases to return equipment to service faster.",
        body: "Engineers from Defence Equipment & Support and Dstl worked with the front line to diagnose recurring failures in deployed equipment. Systems engineering traced requirements to failure modes, structural integrity assessments set safe inspection intervals, and safety cases were updated so that equipment could return to service with assured risk.",
        date: "2021-03-15",
        departments: &["MOD", "DE&S", "Dstl"],
        author_depts: &["DE&S", "DE&S", "Dstl"],
        skills: &[
            "Systems engineering",
            "Safety engineering",
            "Structural integrity",
        ],
        facilities: &[],
        marking: Marking::Official,
    },
    Flagship {
        id: "cs-hse-science-leadership",
        title: "HSE science leadership: reconstructing major incidents at Buxton",
        summary: "HSE's Science and Research Centre reconstructed fires and explosions at full scale to find causes and shape regulation.",
        body: "HSE scientists lead the investigation of major workplace incidents. At the Buxton fire and explosion site they reconstruct incidents at full scale, from gas explosions to escalator fires, and combine the results with forensic engineering and failure analysis. The findings inform prosecutions, guidance and international standards.",
        date: "2019-11-20",
        departments: &["HSE"],
        author_depts: &["HSE", "HSE"],
        skills: &[
            "Fire and explosion science",
            "Structural integrity",
            "Process safety",
        ],
        facilities: &["hse-fire-explosion", "hse-engineering"],
        marking: Marking::Official,
    },
    Flagship {
        id: "cs-salisbury-2018",
        title: "Salisbury 2018: identifying a nerve agent and making the city safe",
        summary: "Dstl identified the Novichok nerve agent and, with PHE and Defra, planned the clean-up of sites across Salisbury.",
        body: "After the poisoning in March 2018, Dstl's chemical analysts confirmed the agent, and scientists from Dstl, Public Health England and Defra assessed the risk to the public and designed decontamination of contaminated sites. Risk communication to residents was part of the scientific response.",
        date: "2018-03-12",
        departments: &["Dstl", "UKHSA", "Defra"],
        author_depts: &["Dstl", "Dstl", "UKHSA"],
        skills: &[
            "Chemical warfare agents",
            "Analytical chemistry",
            "Decontamination engineering",
            "Risk communication",
        ],
        facilities: &["dstl-cbr-chem"],
        marking: Marking::OfficialSensitive,
    },
    Flagship {
        id: "cs-ash-cloud-2010",
        title: "Eyjafjallajökull 2010: forecasting volcanic ash for aviation",
        summary: "The Met Office's dispersion modelling and airborne sampling underpinned decisions to reopen UK airspace.",
        body: "When Eyjafjallajökull erupted in April 2010, the London Volcanic Ash Advisory Centre at the Met Office ran atmospheric dispersion models on its supercomputer and used research aircraft measurements to constrain ash concentrations. The experience led to the Met Office Civil Contingency Aircraft (MOCCA).",
        date: "2010-04-20",
        departments: &["Met Office", "CAA"],
        author_depts: &["Met Office", "Met Office"],
        skills: &[
            "Atmospheric dispersion modelling",
            "Numerical weather prediction",
            "Atmospheric chemistry",
        ],
        facilities: &["met-hpc", "met-mocca", "faam"],
        marking: Marking::Official,
    },
    Flagship {
        id: "cs-avian-influenza-2022",
        title: "Avian influenza 2022-23: diagnostics and risk assessment at national scale",
        summary: "APHA scaled avian influenza testing and risk assessment through the largest outbreak on record in the UK.",
        body: "APHA's reference laboratories at Weybridge tested thousands of samples, sequenced viruses to trace spread, and produced risk assessments for Defra and UKHSA on the risk to poultry and people.",
        date: "2023-02-01",
        departments: &["APHA", "Defra", "UKHSA"],
        author_depts: &["APHA", "APHA"],
        skills: &[
            "Exotic animal disease",
            "Virology",
            "Veterinary epidemiology",
            "Pathogen genomics",
        ],
        facilities: &["apha-ai-ref", "apha-sapo4"],
        marking: Marking::Official,
    },
    Flagship {
        id: "cs-ebola-2014",
        title: "Ebola 2014-15: UK diagnostic laboratories in Sierra Leone",
        summary: "PHE deployed rotating teams of laboratory scientists to run Ebola diagnostic laboratories in Sierra Leone.",
        body: "Public Health England, with Dstl and university partners, built and ran field diagnostic laboratories in Sierra Leone, rotating volunteer scientists every five weeks. High containment expertise from Porton Down underpinned training and assay validation.",
        date: "2015-03-01",
        departments: &["UKHSA", "Dstl"],
        author_depts: &["UKHSA", "UKHSA", "Dstl"],
        skills: &[
            "High containment microbiology",
            "Diagnostic microbiology",
            "Virology",
            "Outbreak investigation",
        ],
        facilities: &["ukhsa-cl4", "ukhsa-ripl"],
        marking: Marking::Official,
    },
];
