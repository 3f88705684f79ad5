//! Answers as a person at a terminal reads them: result tables, musters, evaluation reports.

pub(crate) fn print_table(response: &muster::search::SearchResponse) {
    println!("{} results ({:.1} ms)", response.total, response.took_ms);
    if let Some(better) = &response.did_you_mean {
        println!("did you mean: {better}");
    }
    println!(
        "{:<4} {:<18} {:<28} {:<12} {:>7}  matched skills / evidence",
        "#", "id", "name", "department", "score"
    );
    for (i, hit) in response.hits.iter().enumerate() {
        let skills: Vec<String> = hit
            .matched_skills
            .iter()
            .map(|s| format!("{} ({})", s.name, s.level))
            .collect();
        let mut why = skills.join(", ");
        if !hit.evidence.is_empty() {
            if !why.is_empty() {
                why.push_str("; ");
            }
            let n = hit.evidence.len();
            why.push_str(&format!(
                "{n} case stud{}",
                if n == 1 { "y" } else { "ies" }
            ));
        }
        let name: String = hit.name.chars().take(28).collect();
        println!(
            "{:<4} {:<18} {:<28} {:<12} {:>7.2}  {}",
            i + 1,
            hit.id,
            name,
            hit.department.as_deref().unwrap_or("-"),
            hit.score,
            why
        );
    }
}

/// A muster, readable in a terminal.
pub(crate) fn print_muster(answer: &muster::muster::MusterAnswer) {
    if !answer.inferred_skills.is_empty() {
        println!(
            "Skills inferred from the need: {}",
            answer.inferred_skills.join(", ")
        );
    }
    println!("Team ({}):", answer.team.len());
    for m in &answer.team {
        let email = m.contact.email.as_deref().unwrap_or("");
        println!(
            "  {:<10} {:<28} {:<12} {email}",
            m.id,
            m.name,
            m.department.as_deref().unwrap_or("")
        );
        println!("             {}", m.why);
    }
    for u in &answer.uncovered {
        println!(
            "Uncovered: {} (level {}+): {}",
            u.skill, u.min_level, u.reason
        );
        for a in &u.alternatives {
            println!(
                "  if you relax {}: {} ({}), {}",
                a.relax, a.member.name, a.member.id, a.detail
            );
        }
    }
    for a in answer.alternates.iter().filter(|a| !a.members.is_empty()) {
        let names: Vec<String> = a
            .members
            .iter()
            .map(|c| format!("{} ({})", c.name, c.id))
            .collect();
        println!("Alternates for {}: {}", a.skill, names.join(", "));
    }
    for f in &answer.facilities {
        let distance = f
            .distance_km
            .map(|d| format!("{d:.0} km"))
            .unwrap_or_default();
        println!("Facility: {} ({}) {distance}", f.name, f.id);
    }
    for f in &answer.facility_alternatives {
        println!(
            "Facility if you relax {}: {} ({})",
            f.relax, f.facility.name, f.facility.id
        );
    }
    println!("({} ms)", answer.took_ms);
}

/// One line on pasting paragraphs as queries.
pub(crate) fn print_paragraphs(what: &str, r: &muster::eval::paragraphs::Report) {
    println!(
        "{} {what} as queries: {:.1} people each on average, {} with nobody; an author in the \
         first 10 for {:.0}% (MRR {:.3}); of the first 10, {:.0}% hold a skill the case study names",
        r.queries,
        r.mean_total,
        r.empty,
        100.0 * r.author_in_top10,
        r.author_mrr,
        100.0 * r.skilled_in_top10
    );
}
