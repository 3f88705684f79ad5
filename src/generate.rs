//! Deterministic synthetic data sets in the ingest format, for fixtures and benchmarks.
//!
//! The same seed and size always give byte-identical files (a fixed PRNG, a fixed "today", no
//! hash-map iteration). Members get realistic skill mixes for their department, clearances,
//! availability, grades, locations near their department's sites and registrations fitting their
//! discipline. Case studies are written by members whose skills fit the topic; a few members have
//! thin profiles and are visible only through the case studies they wrote. Facilities come from
//! the reference data of the 26 establishments and their 89 facilities.
//! Output streams to disk, so a million members need little memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::model::{Availability, Clearance, Grade, GseCategory, Level, Marking};
use crate::reference::Reference;
use crate::taxonomy::Taxonomy;
use crate::{Error, Result};

/// The date the generated data is "as of" (fixed, so output never depends on the clock).
pub const AS_OF: (i32, u8, u8) = (2026, 11, 1);

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Number of members.
    pub members: usize,
    /// Case studies per member (0.075 gives ~150 for 2,000 members).
    pub case_studies_per_member: f64,
    /// PRNG seed.
    pub seed: u64,
    /// Also write the members as `members.csv` (instead of `members.jsonl`).
    pub csv: bool,
}

/// Counts of what was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    /// Members written.
    pub members: usize,
    /// Case studies written.
    pub case_studies: usize,
    /// Facilities written.
    pub facilities: usize,
}

/// SplitMix64: small, fast, and stable across releases of any crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One value, chosen in proportion to its weight.
    pub fn weighted<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u32 = items.iter().map(|(_, w)| w).sum();
        let mut roll = self.below(total.max(1) as usize) as u32;
        for (item, weight) in items {
            if roll < *weight {
                return *item;
            }
            roll -= weight;
        }
        items[items.len() - 1].0
    }
}

/// A town where people work: name, ITL1 region, latitude, longitude.
type Town = (&'static str, &'static str, f64, f64);

const TOWNS: &[Town] = &[
    ("London", "London", 51.5014, -0.1419),
    ("Salisbury", "South West", 51.133, -1.703),
    ("Fareham", "South East", 50.858, -1.118),
    ("Colindale", "London", 51.596, -0.248),
    ("Didcot", "South East", 51.575, -1.318),
    ("Teddington", "London", 51.425, -0.342),
    ("Exeter", "South West", 50.727, -3.475),
    ("Addlestone", "South East", 51.35, -0.49),
    ("Lowestoft", "East of England", 52.466, 1.744),
    ("Buxton", "East Midlands", 53.236, -1.913),
    ("Seascale", "North West", 54.42, -3.497),
    ("Abingdon", "South East", 51.659, -1.228),
    ("Keyworth", "East Midlands", 52.877, -1.079),
    ("York", "Yorkshire and The Humber", 53.96, -1.08),
    ("Sand Hutton", "Yorkshire and The Humber", 53.994, -0.946),
    ("Richmond", "London", 51.479, -0.296),
    ("Farnham", "South East", 51.169, -0.846),
    ("Warrington", "North West", 53.343, -2.641),
    ("Aldermaston", "South East", 51.366, -1.153),
    ("Potters Bar", "East of England", 51.69, -0.231),
    ("Pirbright", "South East", 51.302, -0.643),
    ("Farnborough", "South East", 51.276, -0.76),
    ("Taunton", "South West", 51.02, -3.098),
    ("Cambridge", "East of England", 52.205, 0.119),
    ("Southampton", "South East", 50.909, -1.404),
    ("Bristol", "South West", 51.4545, -2.5879),
    ("Cheltenham", "South West", 51.899, -2.078),
    ("Swindon", "South West", 51.556, -1.78),
    ("Newport", "Wales", 51.584, -2.998),
    ("Titchfield", "South East", 50.85, -1.24),
    ("Sheffield", "Yorkshire and The Humber", 53.381, -1.47),
    ("Leeds", "Yorkshire and The Humber", 53.80, -1.549),
    ("Darlington", "North East", 54.523, -1.559),
    ("Newcastle upon Tyne", "North East", 54.978, -1.618),
    ("Peterborough", "East of England", 52.573, -0.249),
    ("Birmingham", "West Midlands", 52.486, -1.89),
    ("Bootle", "North West", 53.446, -2.996),
    ("Edinburgh", "Scotland", 55.953, -3.188),
    ("Glasgow", "Scotland", 55.864, -4.252),
    ("East Kilbride", "Scotland", 55.764, -4.177),
    ("Cardiff", "Wales", 51.481, -3.179),
    ("Crawley", "South East", 51.109, -0.187),
    ("Derby", "East Midlands", 52.922, -1.476),
    ("Manchester", "North West", 53.48, -2.242),
    ("Whitehaven", "North West", 54.549, -3.587),
    ("Wolverhampton", "West Midlands", 52.586, -2.128),
    ("Croydon", "London", 51.376, -0.098),
    ("Harwell", "South East", 51.572, -1.316),
    ("Weymouth", "South West", 50.61, -2.451),
    ("Cardington", "East of England", 52.104, -0.424),
    ("Cranfield", "East of England", 52.072, -0.617),
    ("Preston", "North West", 53.776, -2.808),
    ("Ardingly", "South East", 51.067, -0.088),
    ("Belfast", "Northern Ireland", 54.597, -5.93),
];

fn town(name: &str) -> Town {
    *TOWNS.iter().find(|t| t.0 == name).unwrap_or(&TOWNS[0])
}

/// Where a department's people work, how many there are, and what they know.
struct Profile {
    dept: &'static str,
    weight: u32,
    towns: &'static [(&'static str, u32)],
    areas: &'static [(&'static str, u32)],
    defence: bool,
}

macro_rules! profiles {
    ($( $dept:literal $weight:literal $defence:literal [$($town:literal $tw:literal),+] {$($area:literal $aw:literal),+} )+) => {
        &[$(Profile { dept: $dept, weight: $weight, defence: $defence,
            towns: &[$(($town, $tw)),+], areas: &[$(($area, $aw)),+] }),+]
    };
}

const PROFILES: &[Profile] = profiles! {
    "Dstl" 180 true ["Salisbury" 7, "Fareham" 3] {"Operational research" 14, "Statistics" 8, "Data science and AI" 10, "CBRN science" 12, "Energetics" 8, "Electronic and information warfare" 10, "Microbiology" 6, "Epidemiological modelling" 4, "Chemistry" 5, "Human factors engineering" 3, "Physics" 4, "Forensics and identity" 3, "Security and counter-terrorism" 4, "Mathematical modelling" 4, "Systems and safety engineering" 4}
    "UKHSA" 170 false ["Salisbury" 4, "Colindale" 5, "Didcot" 2, "London" 2] {"Epidemiology and public health" 20, "Microbiology" 16, "Genomics and bioinformatics" 10, "Statistics" 8, "Immunology and vaccines" 6, "Toxicology and pharmacology" 5, "Radiological protection" 4, "Epidemiological modelling" 8, "Bayesian statistics" 3, "Health economics" 3, "Risk communication" 2, "Emergency planning" 3, "Behavioural science" 2}
    "Met Office" 90 false ["Exeter" 9, "Cardington" 1] {"Atmospheric science" 30, "High performance computing" 6, "Machine learning" 4, "Climate science" 8, "Software engineering" 4, "Hydrology" 3, "Space weather" 3, "Statistics" 3, "Oceanography" 2}
    "NPL" 60 false ["Teddington" 1] {"Metrology" 25, "Quantum technologies" 8, "Physics" 8, "Materials science" 6, "Data science and AI" 4, "Ionising radiation metrology" 4, "Electromagnetic metrology" 4, "Biometrics" 2, "Air quality" 3}
    "APHA" 70 false ["Addlestone" 8, "Sand Hutton" 1, "Bristol" 1] {"Veterinary and animal health" 25, "Microbiology" 10, "Virology" 6, "Veterinary epidemiology" 6, "Genomics and bioinformatics" 4, "Epidemiology" 3, "Statistics" 3, "Bee health" 3, "Exotic animal disease" 6}
    "Cefas" 45 false ["Lowestoft" 4, "Weymouth" 1] {"Ecology and conservation" 15, "Fisheries science" 10, "Marine ecology" 8, "Environmental chemistry" 5, "Aquatic animal health" 6, "Oceanography" 5, "Statistics" 4, "Hydrography" 3}
    "HSE" 70 false ["Buxton" 6, "Bootle" 2, "Birmingham" 1] {"Occupational health and safety" 25, "Structural integrity" 6, "Process safety" 6, "Toxicology" 4, "Human factors engineering" 4, "Statistics" 3, "Fire and explosion science" 6, "Explosives science" 3, "Geospatial analysis" 2, "Occupational hygiene" 5, "Aerosol microbiology" 2}
    "UKNNL" 40 false ["Seascale" 3, "Preston" 1, "Warrington" 1] {"Nuclear engineering" 20, "Radiochemistry" 10, "Nuclear materials" 6, "Materials characterisation" 3, "Robotics and remote handling" 3, "Safety engineering" 3}
    "UKAEA" 50 false ["Abingdon" 1] {"Fusion engineering" 12, "Plasma physics" 12, "Robotics and remote handling" 8, "Nuclear materials" 6, "Thermal engineering" 5, "High performance computing" 3, "Software engineering" 3}
    "AWE" 60 true ["Aldermaston" 1] {"High energy density physics" 8, "Laser physics" 6, "Nuclear forensics" 6, "High performance computing" 6, "Materials science" 5, "Radiochemistry" 4, "Explosives science" 5, "Nuclear safety" 4, "Numerical methods" 4, "Uncertainty quantification" 3}
    "MHRA" 45 false ["Potters Bar" 3, "London" 2] {"Medicines regulation" 20, "Biological standardisation" 8, "Vaccine development" 6, "Immunoassay development" 4, "Virology" 3, "Medical statistics" 4, "Pharmacology" 4, "Clinical trials" 4}
    "UKRI" 80 false ["Swindon" 2, "Harwell" 3, "Warrington" 1, "Keyworth" 2, "Cambridge" 2, "Southampton" 2, "Pirbright" 2, "Edinburgh" 1] {"Geosciences" 8, "Marine and polar science" 8, "Laser physics" 3, "Materials characterisation" 6, "High performance computing" 5, "Data engineering" 4, "Virology" 3, "Exotic animal disease" 3, "Climate science" 4, "Seismology" 3, "Polar science" 4, "Science policy" 3, "Machine learning" 3}
    "EA" 70 false ["Bristol" 3, "Exeter" 2, "Leeds" 1, "Peterborough" 1, "Newcastle upon Tyne" 1] {"Hydrology and water" 15, "Environmental protection" 15, "Flood risk engineering" 10, "Environmental chemistry" 6, "Ecology" 4, "Pollution incident response" 5, "Geospatial analysis" 3, "Statistics" 2}
    "Defra" 45 false ["London" 3, "York" 2, "Sand Hutton" 1, "Bristol" 1] {"Plant health and botany" 6, "Ecology and conservation" 6, "Economics" 3, "Statistics" 4, "Exotic animal disease" 3, "Science policy" 4, "Food safety" 2, "Risk assessment" 3, "Emergency planning" 2, "Pesticide residues" 2}
    "FC" 25 false ["Farnham" 3, "Edinburgh" 1] {"Tree health" 12, "Ecology" 4, "Entomology" 4, "Plant pathology" 4, "Statistics" 2, "Geospatial analysis" 2}
    "RBG Kew" 20 false ["Richmond" 4, "Ardingly" 1] {"Plant taxonomy" 10, "Seed conservation" 6, "Mycology" 3, "Bioinformatics" 3, "Biodiversity assessment" 4}
    "NE" 25 false ["York" 2, "Bristol" 1, "Peterborough" 1] {"Ecology" 8, "Biodiversity assessment" 6, "Marine ecology" 3, "Geospatial analysis" 3, "Evaluation" 2}
    "JNCC" 10 false ["Peterborough" 3, "Edinburgh" 1] {"Biodiversity assessment" 6, "Marine ecology" 4, "Statistics" 2, "Data engineering" 2}
    "MMO" 10 false ["Newcastle upon Tyne" 1] {"Marine ecology" 4, "Fisheries science" 4, "Geospatial analysis" 2, "Economics" 2}
    "VMD" 10 false ["Addlestone" 1] {"Pharmacology" 5, "Antimicrobial resistance" 4, "Veterinary epidemiology" 2, "Toxicology" 2}
    "DHSC" 35 false ["London" 4, "Leeds" 1] {"Health economics" 6, "Epidemiology" 4, "Statistics" 4, "Science policy" 4, "Emergency planning" 3, "Economics" 3, "Behavioural science" 2, "Medical statistics" 2}
    "NHSE" 40 false ["Leeds" 3, "London" 2] {"Medical statistics" 5, "Health economics" 4, "Data science and AI" 5, "Operational research" 5, "Epidemiology" 3, "Queueing theory" 3, "Clinical trials" 2}
    "FSA" 30 false ["London" 2, "York" 2] {"Food science" 12, "Microbiology" 4, "Toxicology" 4, "Risk assessment" 4, "Statistics" 2, "Behavioural science" 2}
    "ONS" 70 false ["Newport" 4, "Titchfield" 2, "London" 1] {"Statistics" 25, "Official statistics" 8, "Survey methodology" 8, "Data science and AI" 8, "Economics" 4, "Geospatial analysis" 2, "Data engineering" 4}
    "HMT" 20 false ["London" 3, "Darlington" 1] {"Economics" 10, "Cost-benefit analysis" 5, "Statistics" 3, "Operational research" 2, "Decision analysis" 2}
    "DWP" 25 false ["Sheffield" 2, "Leeds" 2, "London" 1] {"Statistics" 6, "Social research" 6, "Operational research" 4, "Economics" 4, "Data science and AI" 3}
    "DfE" 20 false ["Sheffield" 2, "Darlington" 1, "London" 2] {"Social research" 6, "Statistics" 6, "Economics" 3, "Evaluation" 4, "Data science and AI" 2}
    "MoJ" 15 false ["London" 1] {"Statistics" 4, "Social research" 4, "Operational research" 3, "Data science and AI" 3, "Forensic science" 2}
    "HO" 45 false ["London" 3, "Croydon" 1, "Sheffield" 1] {"Forensic science" 6, "Security and counter-terrorism" 6, "Biometrics" 3, "Statistics" 3, "Social research" 3, "Behavioural science" 3, "Digital forensics" 3, "Screening technology" 3, "CBRN science" 3}
    "CO" 30 false ["London" 4, "Glasgow" 1] {"Emergency planning" 10, "Risk assessment" 6, "Science policy" 4, "Behavioural science" 3, "Risk communication" 3, "Operational research" 3, "Data science and AI" 3, "Decision analysis" 2}
    "GO-Science" 20 false ["London" 1] {"Science policy" 10, "Foresight and horizon scanning" 6, "Risk assessment" 3, "Emergency planning" 3, "Epidemiological modelling" 1, "Statistics" 2}
    "DSIT" 40 false ["London" 4, "Manchester" 1] {"Science policy" 6, "Artificial intelligence" 5, "Quantum technologies" 3, "Data science and AI" 4, "Economics" 3, "Cyber security" 3, "Communications engineering" 2}
    "UKSA" 20 false ["Swindon" 3, "Harwell" 1] {"Space systems" 8, "Space weather" 2, "Propulsion" 3, "Geospatial analysis" 3, "Science policy" 2}
    "ARIA" 8 false ["London" 1] {"Science policy" 2, "Artificial intelligence" 2, "Robotics and remote handling" 2, "Synthetic chemistry" 1, "Quantum technologies" 2}
    "AISI" 20 false ["London" 1] {"AI safety and evaluation" 10, "Machine learning" 8, "Cyber security" 3, "Statistics" 2, "Behavioural science" 2, "Software engineering" 3}
    "OS" 15 false ["Southampton" 1] {"Geospatial analysis" 10, "Data engineering" 4, "Software engineering" 3, "Hydrography" 1, "Machine learning" 2}
    "DESNZ" 45 false ["London" 4, "Aldermaston" 0, "Manchester" 1] {"Power systems" 8, "Economics" 5, "Nuclear safety" 3, "Geoenergy" 4, "Climate science" 3, "Science policy" 3, "Statistics" 3, "Operational research" 2}
    "NDA" 20 false ["Whitehaven" 3, "Warrington" 1] {"Nuclear decommissioning" 12, "Radiochemistry" 3, "Robotics and remote handling" 3, "Safety engineering" 3, "Geology" 2}
    "ONR" 30 false ["Bootle" 3, "Cheltenham" 1] {"Nuclear safety" 12, "Structural integrity" 3, "Safety engineering" 5, "Human factors engineering" 3, "Radiological protection" 3, "Nuclear fuel cycle" 2}
    "DfT" 30 false ["London" 3, "Birmingham" 1] {"Transport engineering" 6, "Railway engineering" 3, "Statistics" 3, "Economics" 3, "Operational research" 3, "Human factors engineering" 2, "Air quality" 2}
    "AAIB" 12 false ["Farnborough" 1] {"Accident investigation" 10, "Flight data analysis" 6, "Aircraft structures" 4, "Structural integrity" 3}
    "RAIB" 8 false ["Derby" 2, "Farnborough" 1] {"Accident investigation" 8, "Railway engineering" 6, "Human factors engineering" 3}
    "MAIB" 6 false ["Southampton" 1] {"Accident investigation" 8, "Human factors engineering" 2, "Structural engineering" 2}
    "CAA" 15 false ["Crawley" 1] {"Aircraft structures" 5, "Safety engineering" 4, "Human factors engineering" 3, "Propulsion" 2, "Space systems" 2}
    "MOD" 40 true ["London" 4, "Bristol" 1] {"Operational research" 6, "Systems engineering" 5, "Science policy" 3, "Economics" 2, "Electronic warfare" 3, "Emergency planning" 2}
    "DE&S" 40 true ["Bristol" 1] {"Systems engineering" 8, "Mechanical engineering" 6, "Electrical and electronic engineering" 6, "Aerospace engineering" 5, "Safety engineering" 4, "Propulsion" 2, "Radar" 2}
    "UKHO" 20 true ["Taunton" 1] {"Hydrography" 12, "Geospatial analysis" 6, "Oceanography" 4, "Data engineering" 3, "Software engineering" 2}
    "GCHQ" 30 true ["Cheltenham" 4, "Manchester" 1] {"Cyber security" 12, "Cryptography" 8, "Machine learning" 5, "Software engineering" 4, "Statistics" 3, "Mathematical modelling" 3, "Data engineering" 3, "Communications engineering" 3}
    "NPSA" 15 true ["London" 1] {"Protective security" 8, "Screening technology" 4, "Counter-terrorism science" 4, "Structural engineering" 2, "Behavioural science" 3, "Weapons effects" 2}
    "FCDO" 15 false ["London" 3, "East Kilbride" 1] {"Science policy" 5, "Economics" 3, "CBRN science" 2, "Risk assessment" 2, "Climate science" 2}
    "MHCLG" 15 false ["London" 2, "Wolverhampton" 1] {"Statistics" 3, "Social research" 3, "Economics" 3, "Structural engineering" 3, "Fire and explosion science" 2, "Geospatial analysis" 2}
    "DBT" 15 false ["London" 3, "Cardiff" 1] {"Economics" 6, "Statistics" 3, "Science policy" 2}
    "UKSV" 5 false ["York" 1] {"Psychology" 3, "Protective security" 2, "Data engineering" 1, "Social research" 1}
};

/// Skills many people hold besides their specialism.
const CROSS_CUTTING: &[(&str, u32)] = &[
    ("Science policy", 4),
    ("Emergency planning", 5),
    ("Risk assessment", 4),
    ("Risk communication", 3),
    ("Statistical modelling", 4),
    ("Machine learning", 2),
    ("Software engineering", 2),
    ("Bayesian statistics", 2),
    ("Decision analysis", 1),
    ("Geospatial analysis", 2),
];

/// Free-text skills that are deliberately not in the GSE framework.
const FREE_TEXT_SKILLS: &[&str] = &[
    "Stakeholder engagement",
    "Python programming",
    "R programming",
    "LIMS administration",
    "Project management",
    "MATLAB",
    "Welsh language",
    "Technical report writing",
    "Laboratory quality management",
    "Agile delivery",
    "Procurement of scientific equipment",
];

const FIRST_NAMES: &[&str] = &[
    "Aisha",
    "Alastair",
    "Alice",
    "Amara",
    "Amir",
    "Andrew",
    "Angharad",
    "Anita",
    "Ben",
    "Bethan",
    "Catherine",
    "Chen",
    "Chidi",
    "Chloe",
    "Ciaran",
    "Claire",
    "Daniel",
    "David",
    "Deepa",
    "Eilidh",
    "Eleanor",
    "Emeka",
    "Emily",
    "Emma",
    "Fatima",
    "Fiona",
    "Gareth",
    "Grace",
    "Hamish",
    "Hannah",
    "Harpreet",
    "Helen",
    "Ibrahim",
    "Imogen",
    "Isla",
    "James",
    "Jane",
    "Jasmine",
    "Joanna",
    "John",
    "Jonathan",
    "Kavita",
    "Kwame",
    "Laura",
    "Lucy",
    "Mairead",
    "Malcolm",
    "Mark",
    "Martin",
    "Mei",
    "Michael",
    "Mohammed",
    "Nadia",
    "Naomi",
    "Neil",
    "Niamh",
    "Nicola",
    "Oliver",
    "Olumide",
    "Owen",
    "Patrick",
    "Paul",
    "Priya",
    "Rachel",
    "Rahul",
    "Rebecca",
    "Rhys",
    "Richard",
    "Robert",
    "Ruth",
    "Sam",
    "Sarah",
    "Seren",
    "Simon",
    "Siobhan",
    "Sophie",
    "Stephen",
    "Sunita",
    "Thomas",
    "Tom",
    "Tomasz",
    "Una",
    "Victoria",
    "Wei",
    "William",
    "Yasmin",
    "Yusuf",
    "Zainab",
    "Zoe",
    "Agnieszka",
];

const SURNAMES: &[&str] = &[
    "Adeyemi",
    "Ahmed",
    "Ali",
    "Anderson",
    "Armstrong",
    "Baker",
    "Banerjee",
    "Bell",
    "Bennett",
    "Brown",
    "Campbell",
    "Carter",
    "Chapman",
    "Chen",
    "Clarke",
    "Cooper",
    "Davies",
    "Dhillon",
    "Edwards",
    "Evans",
    "Fergusson",
    "Fraser",
    "Gallagher",
    "Gill",
    "Graham",
    "Green",
    "Griffiths",
    "Hall",
    "Harris",
    "Hughes",
    "Hussain",
    "Jackson",
    "James",
    "Jenkins",
    "Johnson",
    "Jones",
    "Kaur",
    "Kelly",
    "Khan",
    "King",
    "Kowalski",
    "Lewis",
    "Li",
    "Lloyd",
    "MacDonald",
    "Mackenzie",
    "Martin",
    "Mensah",
    "Mitchell",
    "Moore",
    "Morgan",
    "Morris",
    "Murphy",
    "Murray",
    "Nguyen",
    "Novak",
    "Obi",
    "O'Brien",
    "Okafor",
    "Osei",
    "Owen",
    "Patel",
    "Phillips",
    "Price",
    "Rahman",
    "Reid",
    "Roberts",
    "Robertson",
    "Robinson",
    "Ross",
    "Scott",
    "Shah",
    "Sharma",
    "Singh",
    "Smith",
    "Stewart",
    "Taylor",
    "Thomas",
    "Thompson",
    "Turner",
    "Walker",
    "Wallace",
    "Wang",
    "Ward",
    "Watson",
    "White",
    "Williams",
    "Wilson",
    "Wood",
    "Wright",
    "Young",
    "Zhang",
    "Ó Súilleabháin",
];

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

/// Member ids are `m-` plus a zero-padded number, so files sort naturally.
pub fn member_id(n: usize) -> String {
    format!("m-{n:05}")
}

struct Ctx<'a> {
    rng: Rng,
    taxonomy: &'a Taxonomy,
}

/// A member as generated, kept in memory only for the small facts case studies need.
struct Sketch {
    id: String,
    department: &'static str,
    /// Taxonomy nodes (leaf or specialism) the member is good at, with level.
    skills: Vec<(usize, u8)>,
    /// The discipline of their main area (for author-only members, their hidden area).
    hidden_area: Option<usize>,
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

fn date_between(rng: &mut Rng, from_year: i32, to: (i32, u8, u8)) -> String {
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
fn lower_label(label: &str) -> String {
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

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn discipline_of(taxonomy: &Taxonomy, node: usize) -> usize {
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
fn member(ctx: &mut Ctx<'_>, n: usize, profile: &Profile) -> (Value, Sketch) {
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
    for (node, core) in picks {
        if skills.iter().any(|(n, _)| *n == node) {
            continue;
        }
        let level = ctx.level(core);
        skills.push((node, level));
        let name = ctx.written(node);
        let assessed = date_between(&mut ctx.rng, 2019, AS_OF);
        let level_value = if ctx.rng.chance(0.5) {
            json!(level)
        } else {
            json!(Level::from_number(level as u64).map(Level::as_str))
        };
        written.push(json!({"name": name, "level": level_value, "assessed": assessed}));
    }
    let free_text = ctx.rng.chance(0.08).then(|| {
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

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Facility records built from the reference data.
fn facilities(rng: &mut Rng, by_dept: &BTreeMap<&str, Vec<String>>) -> Vec<Value> {
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
struct Flagship {
    id: &'static str,
    title: &'static str,
    summary: &'static str,
    body: &'static str,
    date: &'static str,
    departments: &'static [&'static str],
    author_depts: &'static [&'static str],
    skills: &'static [&'static str],
    facilities: &'static [&'static str],
    marking: Marking,
}

const FLAGSHIPS: &[Flagship] = &[
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

/// Who holds a skill at or below each taxonomy node, overall and per department.
#[derive(Default)]
struct Holders {
    by_node: std::collections::HashMap<usize, Vec<usize>>,
    by_dept_node: std::collections::HashMap<(&'static str, usize), Vec<usize>>,
}

impl Holders {
    fn new(taxonomy: &Taxonomy, sketches: &[Sketch]) -> Holders {
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
    fn authors(
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

fn case_study_from_topic(
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

fn write_jsonl(path: &Path, records: impl IntoIterator<Item = Value>) -> Result<usize> {
    let file = File::create(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = BufWriter::new(file);
    let mut n = 0;
    for record in records {
        serde_json::to_writer(&mut out, &record)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    Ok(n)
}

const CSV_COLUMNS: &[&str] = &[
    "id",
    "name",
    "email",
    "phone",
    "department",
    "role",
    "grade",
    "gse_category",
    "clearance",
    "clearance_review_due",
    "availability",
    "town",
    "region",
    "lat",
    "lon",
    "skills",
    "registrations",
    "summary",
    "updated",
    "marking",
];

fn csv_row(record: &Value) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    CSV_COLUMNS
        .iter()
        .map(|&column| match column {
            "town" | "region" | "lat" | "lon" => text(&record["location"][column]),
            "skills" => record["skills"]
                .as_array()
                .map(|skills| {
                    skills
                        .iter()
                        .map(|s| {
                            format!(
                                "{}:{}:{}",
                                text(&s["name"]),
                                text(&s["level"]),
                                text(&s["assessed"])
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default(),
            "registrations" => record["registrations"]
                .as_array()
                .map(|r| r.iter().map(text).collect::<Vec<_>>().join(";"))
                .unwrap_or_default(),
            other => text(&record[other]),
        })
        .collect()
}

/// Writes `members.jsonl` (or `.csv`), `case_studies.jsonl` and `facilities.jsonl` into `out`.
pub fn generate(spec: &Spec, taxonomy: &Taxonomy, out: &Path) -> Result<Written> {
    std::fs::create_dir_all(out).map_err(|source| Error::Read {
        path: out.to_path_buf(),
        source,
    })?;
    let mut ctx = Ctx {
        rng: Rng::new(spec.seed),
        taxonomy,
    };
    let profiles: Vec<(usize, u32)> = PROFILES
        .iter()
        .enumerate()
        .map(|(i, p)| (i, p.weight))
        .collect();

    // Members stream to disk; only a small sketch of each stays in memory.
    let members_path = out.join(if spec.csv {
        "members.csv"
    } else {
        "members.jsonl"
    });
    let file = File::create(&members_path).map_err(|source| Error::Read {
        path: members_path.clone(),
        source,
    })?;
    let mut jsonl = (!spec.csv).then(|| BufWriter::new(file.try_clone().expect("file handle")));
    let mut csv = spec
        .csv
        .then(|| csv::Writer::from_writer(BufWriter::new(file)));
    if let Some(w) = csv.as_mut() {
        w.write_record(CSV_COLUMNS).map_err(std::io::Error::other)?;
    }
    let mut sketches = Vec::with_capacity(spec.members);
    let mut by_dept: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for n in 1..=spec.members {
        let profile = &PROFILES[ctx.rng.weighted(&profiles)];
        let (record, sketch) = member(&mut ctx, n, profile);
        if let Some(w) = jsonl.as_mut() {
            serde_json::to_writer(&mut *w, &record)?;
            w.write_all(b"\n")?;
        }
        if let Some(w) = csv.as_mut() {
            w.write_record(csv_row(&record))
                .map_err(std::io::Error::other)?;
        }
        by_dept
            .entry(profile.dept)
            .or_default()
            .push(sketch.id.clone());
        sketches.push(sketch);
    }
    if let Some(mut w) = jsonl {
        w.flush()?;
    }
    if let Some(mut w) = csv {
        w.flush()?;
    }

    let facilities = facilities(&mut ctx.rng, &by_dept);
    let facility_count = write_jsonl(&out.join("facilities.jsonl"), facilities.iter().cloned())?;

    // Case studies: the flagships first, then author-only members' work, then the rest.
    let target = (spec.members as f64 * spec.case_studies_per_member).round() as usize;
    let mut studies: Vec<Value> = Vec::new();
    let holders = Holders::new(taxonomy, &sketches);
    for flagship in FLAGSHIPS {
        if sketches.is_empty() || studies.len() >= target.max(FLAGSHIPS.len()) {
            break;
        }
        let nodes: Vec<usize> = flagship
            .skills
            .iter()
            .filter_map(|s| taxonomy.lookup(s))
            .collect();
        let authors = holders.authors(
            &mut ctx.rng,
            &nodes,
            flagship.author_depts,
            flagship.author_depts.len(),
        );
        studies.push(json!({
            "id": flagship.id,
            "title": flagship.title,
            "summary": flagship.summary,
            "body": flagship.body,
            "date": flagship.date,
            "departments": flagship.departments,
            "authors": authors.iter().map(|&a| sketches[a].id.clone()).collect::<Vec<_>>(),
            "skills": flagship.skills,
            "facilities": flagship.facilities,
            "marking": flagship.marking.as_str(),
        }));
    }
    let author_only: Vec<usize> = (0..sketches.len())
        .filter(|&i| sketches[i].hidden_area.is_some())
        .collect();
    let mut number = 1;
    for &i in &author_only {
        let area = sketches[i].hidden_area.expect("filtered on hidden_area");
        for _ in 0..2 {
            if studies.len() >= target {
                break;
            }
            studies.push(case_study_from_topic(
                &mut ctx,
                number,
                &sketches,
                &holders,
                i,
                area,
                &facilities,
            ));
            number += 1;
        }
    }
    let with_skills: Vec<usize> = (0..sketches.len())
        .filter(|&i| !sketches[i].skills.is_empty())
        .collect();
    while studies.len() < target && !with_skills.is_empty() {
        let lead = *ctx.rng.pick(&with_skills);
        let area = ctx.rng.pick(&sketches[lead].skills).0;
        studies.push(case_study_from_topic(
            &mut ctx,
            number,
            &sketches,
            &holders,
            lead,
            area,
            &facilities,
        ));
        number += 1;
    }
    let case_studies = write_jsonl(&out.join("case_studies.jsonl"), studies)?;
    Ok(Written {
        members: spec.members,
        case_studies,
        facilities: facility_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_area_and_cross_cutting_skill_is_in_the_taxonomy() {
        let taxonomy = Taxonomy::builtin();
        for profile in PROFILES {
            assert!(
                Reference::get().department(profile.dept).is_some(),
                "{}",
                profile.dept
            );
            for (area, _) in profile.areas {
                assert!(taxonomy.lookup(area).is_some(), "{}: {area}", profile.dept);
            }
            for (town_name, _) in profile.towns {
                assert_eq!(town(town_name).0, *town_name);
            }
        }
        for (label, _) in CROSS_CUTTING {
            assert!(taxonomy.lookup(label).is_some(), "{label}");
        }
        for flagship in FLAGSHIPS {
            for skill in flagship.skills {
                assert!(taxonomy.lookup(skill).is_some(), "{}: {skill}", flagship.id);
            }
        }
    }

    #[test]
    fn the_same_seed_gives_identical_files_and_another_seed_does_not() {
        let taxonomy = Taxonomy::builtin();
        let spec = Spec {
            members: 300,
            case_studies_per_member: 0.075,
            seed: 7,
            csv: false,
        };
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        generate(&spec, &taxonomy, a.path()).unwrap();
        generate(&spec, &taxonomy, b.path()).unwrap();
        generate(&Spec { seed: 8, ..spec }, &taxonomy, c.path()).unwrap();
        for file in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"] {
            let x = std::fs::read(a.path().join(file)).unwrap();
            assert_eq!(x, std::fs::read(b.path().join(file)).unwrap(), "{file}");
            if file != "facilities.jsonl" {
                assert_ne!(x, std::fs::read(c.path().join(file)).unwrap(), "{file}");
            }
        }
    }

    #[test]
    fn generated_data_loads_without_a_single_rejection() {
        let taxonomy = Taxonomy::builtin();
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            members: 400,
            case_studies_per_member: 0.075,
            seed: 3,
            csv: false,
        };
        let written = generate(&spec, &taxonomy, dir.path()).unwrap();
        assert_eq!(written.facilities, 89);
        assert_eq!(written.case_studies, 30);
        let (records, report) = crate::index::load_records(dir.path()).unwrap();
        assert_eq!(report.rejected(), 0, "{report}");
        assert_eq!(records.len(), 400 + 30 + 89);
    }

    #[test]
    fn committed_fixtures_are_what_the_generator_makes_from_seed_7() {
        let taxonomy = Taxonomy::builtin();
        let dir = tempfile::tempdir().unwrap();
        let spec = Spec {
            members: 2000,
            case_studies_per_member: 0.075,
            seed: 7,
            csv: false,
        };
        generate(&spec, &taxonomy, dir.path()).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for file in ["members.jsonl", "case_studies.jsonl", "facilities.jsonl"] {
            let fresh = std::fs::read(dir.path().join(file)).unwrap();
            let committed = std::fs::read(fixtures.join(file)).unwrap();
            assert!(
                fresh == committed,
                "fixtures/{file} differs from the generator's output: regenerate with `muster generate --members 2000 --seed 7 --out fixtures`"
            );
        }
    }

    #[test]
    fn csv_and_jsonl_members_of_the_same_seed_load_identically() {
        let taxonomy = Taxonomy::builtin();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let spec = Spec {
            members: 300,
            case_studies_per_member: 0.0,
            seed: 11,
            csv: false,
        };
        generate(&spec, &taxonomy, a.path()).unwrap();
        generate(&Spec { csv: true, ..spec }, &taxonomy, b.path()).unwrap();
        assert!(b.path().join("members.csv").exists());
        let (from_json, r1) = crate::index::load_records(a.path()).unwrap();
        let (from_csv, r2) = crate::index::load_records(b.path()).unwrap();
        assert_eq!((r1.rejected(), r2.rejected()), (0, 0), "{r2}");
        let members = |records: Vec<crate::model::Record>| -> Vec<_> {
            records
                .into_iter()
                .filter(|r| r.kind() == crate::model::Kind::Member)
                .collect()
        };
        let (json_members, csv_members) = (members(from_json), members(from_csv));
        assert_eq!(json_members.len(), 300);
        assert_eq!(json_members, csv_members);
    }
}
