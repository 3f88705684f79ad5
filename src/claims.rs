//! Which claims of a department's identity provider grant which access to Muster.
//!
//! A deployment lists grants: each names a claim value (a group, an app role) or an email domain
//! and what it gives: a role, a highest marking, permissions such as `vetting`. A signed-in person
//! or API token gets the highest role and marking of the grants it matches and every permission
//! they name. With no grant giving a role there is no access: the safe default, so someone the
//! provider knows but the deployment did not mention cannot read the register.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::access::{Caller, Role, VETTING};
use crate::model::Marking;
use crate::{Error, Result};

/// One grant: a condition on the claims, and what it gives.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// The claim to look at, such as `groups` or `roles` (a string or a list of strings).
    #[serde(default)]
    pub claim: Option<String>,
    /// The value the claim must be or contain, such as a group's name or object id.
    #[serde(default)]
    pub value: Option<String>,
    /// Instead of a claim: the domain of a verified `email`, such as `dstl.gov.uk`.
    #[serde(default)]
    pub email_domain: Option<String>,
    /// The role given.
    #[serde(default)]
    pub role: Option<Role>,
    /// The highest marking given.
    #[serde(default)]
    pub max_marking: Option<Marking>,
    /// Permissions beyond the role (`vetting`).
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// The grants of a deployment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Grants, in any order: what they give adds up.
    pub grants: Vec<Grant>,
}

impl Grants {
    /// Reads and checks a grants file (JSON).
    pub fn read(path: &Path) -> Result<Grants> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::field("oidc-grants", format!("{}: {e}", path.display())))?;
        Grants::parse(&text)
    }

    /// Parses and checks grants: each has one condition and gives something.
    pub fn parse(text: &str) -> Result<Grants> {
        let grants: Grants =
            serde_json::from_str(text).map_err(|e| Error::field("oidc-grants", e.to_string()))?;
        for (i, grant) in grants.grants.iter().enumerate() {
            let bad = |reason: &str| Err(Error::field(format!("grants[{i}]"), reason.to_string()));
            match (&grant.claim, &grant.value, &grant.email_domain) {
                (Some(_), Some(_), None) | (None, None, Some(_)) => {}
                _ => return bad("give either `claim` and `value`, or `email_domain`"),
            }
            if grant.role.is_none() && grant.max_marking.is_none() && grant.permissions.is_empty() {
                return bad("gives nothing: add `role`, `max_marking` or `permissions`");
            }
            if let Some(unknown) = grant.permissions.iter().find(|p| *p != VETTING) {
                return bad(&format!(
                    "`{unknown}` is not a permission (known: {VETTING})"
                ));
            }
        }
        Ok(grants)
    }

    /// The caller these verified claims make, or `None` when no grant gives a role.
    pub fn caller(&self, claims: &Map<String, Value>) -> Option<Caller> {
        let matched: Vec<&Grant> = self.grants.iter().filter(|g| g.matches(claims)).collect();
        let role = matched.iter().filter_map(|g| g.role).max()?;
        let subject = ["email", "preferred_username", "sub"]
            .iter()
            .find_map(|name| claims.get(*name).and_then(Value::as_str))
            .filter(|s| !s.is_empty())?;
        Some(Caller {
            subject: subject.to_string(),
            role,
            max_marking: matched
                .iter()
                .filter_map(|g| g.max_marking)
                .max()
                .unwrap_or(Marking::Official),
            vetting: matched
                .iter()
                .any(|g| g.permissions.iter().any(|p| p == VETTING)),
        })
    }
}

impl Grant {
    fn matches(&self, claims: &Map<String, Value>) -> bool {
        if let (Some(claim), Some(value)) = (&self.claim, &self.value) {
            return match claims.get(claim) {
                Some(Value::String(s)) => s == value,
                Some(Value::Array(items)) => items.iter().any(|v| v.as_str() == Some(value)),
                _ => false,
            };
        }
        let Some(domain) = &self.email_domain else {
            return false;
        };
        // an address the provider has not verified proves nothing about the domain
        if claims.get("email_verified") == Some(&Value::Bool(false)) {
            return false;
        }
        claims
            .get("email")
            .and_then(Value::as_str)
            .and_then(|email| email.rsplit_once('@'))
            .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn grants() -> Grants {
        Grants::parse(
            r#"{"grants": [
                {"claim": "groups", "value": "muster-readers", "role": "reader"},
                {"claim": "groups", "value": "muster-editors", "role": "editor"},
                {"claim": "groups", "value": "muster-sensitive", "max_marking": "OFFICIAL-SENSITIVE"},
                {"claim": "roles", "value": "Muster.TeamBuilder", "permissions": ["vetting"]},
                {"email_domain": "dstl.gov.uk", "role": "reader"}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn no_grant_giving_a_role_means_no_access() {
        let g = grants();
        assert_eq!(g.caller(&claims(json!({"sub": "u1"}))), None);
        // a marking or permission alone lets nobody in
        assert_eq!(
            g.caller(&claims(json!({"sub": "u1", "groups": ["muster-sensitive"],
                "roles": "Muster.TeamBuilder"}))),
            None
        );
        assert_eq!(
            Grants::default().caller(&claims(json!({"sub": "u1"}))),
            None
        );
    }

    #[test]
    fn grants_add_up_to_the_highest_role_and_marking_and_every_permission() {
        let g = grants();
        let reader = g
            .caller(&claims(
                json!({"sub": "u1", "email": "a@x.gov.uk", "groups": ["muster-readers"]}),
            ))
            .unwrap();
        assert_eq!(reader.subject, "a@x.gov.uk");
        assert_eq!(reader.role, Role::Reader);
        assert_eq!(reader.max_marking, Marking::Official);
        assert!(!reader.vetting);
        let all = g
            .caller(&claims(json!({"sub": "u2",
                "groups": ["muster-readers", "muster-editors", "muster-sensitive"],
                "roles": ["Muster.TeamBuilder"]})))
            .unwrap();
        assert_eq!(all.subject, "u2");
        assert_eq!(all.role, Role::Editor);
        assert_eq!(all.max_marking, Marking::OfficialSensitive);
        assert!(all.vetting);
    }

    #[test]
    fn an_email_domain_counts_only_when_the_address_is_not_unverified() {
        let g = grants();
        let ok = claims(json!({"sub": "u", "email": "b@DSTL.gov.uk"}));
        assert_eq!(g.caller(&ok).unwrap().role, Role::Reader);
        let unverified =
            claims(json!({"sub": "u", "email": "b@dstl.gov.uk", "email_verified": false}));
        assert_eq!(g.caller(&unverified), None);
        let lookalike = claims(json!({"sub": "u", "email": "b@evil-dstl.gov.uk"}));
        assert_eq!(g.caller(&lookalike), None);
        let sub = claims(json!({"sub": "u", "email": "b@x.dstl.gov.uk"}));
        assert_eq!(g.caller(&sub), None);
    }

    #[test]
    fn a_bad_grants_file_is_refused_naming_the_grant() {
        for (text, field) in [
            (
                r#"{"grants": [{"claim": "groups", "role": "reader"}]}"#,
                "grants[0]",
            ),
            (
                r#"{"grants": [{"claim": "groups", "value": "g"}]}"#,
                "grants[0]",
            ),
            (
                r#"{"grants": [{"email_domain": "a", "role": "reader", "permissions": ["root"]}]}"#,
                "grants[0]",
            ),
            (
                r#"{"grants": [{"email_domain": "a", "role": "boss"}]}"#,
                "oidc-grants",
            ),
            (r#"{"grant": []}"#, "oidc-grants"),
        ] {
            match Grants::parse(text) {
                Err(Error::InvalidField { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
