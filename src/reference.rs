//! Reference data compiled into the binary: departments and their parents, establishments,
//! facilities and professional bodies, copied from the GSE reference set.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// One organisation from `departments.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Department {
    /// Short name used in records, e.g. `Dstl`.
    pub abbr: String,
    /// Full name.
    pub name: String,
    /// Short name of the parent organisation, e.g. `MOD`.
    #[serde(default)]
    pub parent: Option<String>,
}

/// One establishment (site) from `establishments.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct Establishment {
    /// Id, e.g. `dstl-porton`.
    pub id: String,
    /// Full name.
    pub name: String,
    /// Town.
    pub town: String,
    /// County.
    pub county: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// One facility from the reference `facilities.jsonl`.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceFacility {
    /// Id.
    pub id: String,
    /// Establishment id.
    pub est: String,
    /// Name.
    pub name: String,
    /// Capabilities.
    pub caps: Vec<String>,
    /// Free-text detail.
    #[serde(default)]
    pub detail: Option<String>,
    /// Own town where it is not at its establishment.
    #[serde(default)]
    pub town: Option<String>,
    /// Own latitude.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Own longitude.
    #[serde(default)]
    pub lon: Option<f64>,
}

/// All reference data, parsed once.
#[derive(Debug)]
pub struct Reference {
    /// Departments in file order.
    pub departments: Vec<Department>,
    /// Establishments in file order.
    pub establishments: Vec<Establishment>,
    /// Facilities in file order.
    pub facilities: Vec<ReferenceFacility>,
    by_lower: HashMap<String, usize>,
}

fn parse_lines<T: for<'de> Deserialize<'de>>(text: &str) -> Vec<T> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("compiled-in reference data is valid"))
        .collect()
}

impl Reference {
    /// The compiled-in reference data.
    pub fn get() -> &'static Reference {
        static REFERENCE: OnceLock<Reference> = OnceLock::new();
        REFERENCE.get_or_init(|| {
            let departments: Vec<Department> =
                parse_lines(include_str!("reference/departments.jsonl"));
            let by_lower = departments
                .iter()
                .enumerate()
                .map(|(i, d)| (d.abbr.to_lowercase(), i))
                .collect();
            Reference {
                departments,
                establishments: parse_lines(include_str!("reference/establishments.jsonl")),
                facilities: parse_lines(include_str!("reference/facilities.jsonl")),
                by_lower,
            }
        })
    }

    /// The department with this short name, ignoring case.
    pub fn department(&self, abbr: &str) -> Option<&Department> {
        self.by_lower
            .get(&abbr.trim().to_lowercase())
            .map(|&i| &self.departments[i])
    }

    /// Every department's short name, in alphabetical order.
    pub fn department_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.departments.iter().map(|d| d.abbr.as_str()).collect();
        names.sort_by_key(|n| n.to_lowercase());
        names
    }

    /// The path from the top organisation down to `abbr`, e.g. `["MOD", "Dstl"]`.
    pub fn department_path(&self, abbr: &str) -> Vec<String> {
        let mut path = Vec::new();
        let mut current = self.department(abbr);
        while let Some(dept) = current {
            if path.contains(&dept.abbr) {
                break;
            }
            path.push(dept.abbr.clone());
            current = dept.parent.as_deref().and_then(|p| self.department(p));
        }
        path.reverse();
        path
    }

    /// The establishment with this id.
    pub fn establishment(&self, id: &str) -> Option<&Establishment> {
        self.establishments.iter().find(|e| e.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_data_is_complete() {
        let r = Reference::get();
        assert_eq!(r.departments.len(), 54);
        assert_eq!(r.establishments.len(), 26);
        assert_eq!(r.facilities.len(), 89);
        assert!(
            r.facilities
                .iter()
                .all(|f| r.establishment(&f.est).is_some())
        );
    }

    #[test]
    fn department_path_walks_up_to_the_parent() {
        let r = Reference::get();
        assert_eq!(r.department_path("dstl"), vec!["MOD", "Dstl"]);
        assert_eq!(r.department_path("UKSV"), vec!["CO", "UKSV"]);
        assert_eq!(r.department_path("HMT"), vec!["HMT"]);
        assert!(r.department_path("Ministry of Magic").is_empty());
    }
}
