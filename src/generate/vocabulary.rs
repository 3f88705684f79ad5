//! What generated people are made of: towns, department profiles (skills, sites, defence work),
//! cross-cutting and free-text skills, and names.

/// A town where people work: name, ITL1 region, latitude, longitude.
pub(super) type Town = (&'static str, &'static str, f64, f64);

pub(super) const TOWNS: &[Town] = &[
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

pub(super) fn town(name: &str) -> Town {
    *TOWNS.iter().find(|t| t.0 == name).unwrap_or(&TOWNS[0])
}

/// Where a department's people work, how many there are, and what they know.
pub(super) struct Profile {
    pub(super) dept: &'static str,
    pub(super) weight: u32,
    pub(super) towns: &'static [(&'static str, u32)],
    pub(super) areas: &'static [(&'static str, u32)],
    pub(super) defence: bool,
}

macro_rules! profiles {
    ($( $dept:literal $weight:literal $defence:literal [$($town:literal $tw:literal),+] {$($area:literal $aw:literal),+} )+) => {
        &[$(Profile { dept: $dept, weight: $weight, defence: $defence,
            towns: &[$(($town, $tw)),+], areas: &[$(($area, $aw)),+] }),+]
    };
}

pub(super) const PROFILES: &[Profile] = profiles! {
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
pub(super) const CROSS_CUTTING: &[(&str, u32)] = &[
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
pub(super) const FREE_TEXT_SKILLS: &[&str] = &[
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

pub(super) const FIRST_NAMES: &[&str] = &[
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

pub(super) const SURNAMES: &[&str] = &[
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
