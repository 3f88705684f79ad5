//! Tests of building, opening, locking and writing the index.

use std::time::{Duration, Instant};

use super::spill::CLUSTER_HELD_RECORDS;
use super::*;
use crate::model::Marking;

const MEMBERS: &str = r#"{"id":"m-1","name":"Ada","department":"Dstl"}
{"id":"m-2","name":"Grace","department":"UKHSA"}
"#;

fn options() -> BuildOptions {
    BuildOptions::default()
}

fn data(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("members.jsonl"), text).unwrap();
    dir
}

#[test]
fn a_split_build_keeps_every_record_and_no_files_of_merged_away_segments() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let index_dir = tempfile::tempdir().unwrap();
    let taxonomy = Taxonomy::builtin();
    // 2,239 records, at least 1,000 a segment: at most two (the writer's two threads
    // usually leave two segments to merge from; a single one is not split)
    let split = BuildOptions {
        segments: 4,
        min_segment_records: 1_000,
        ..options()
    };
    let outcome = build(&fixtures, index_dir.path(), taxonomy.clone(), &split).unwrap();
    let index = open(index_dir.path(), taxonomy.clone()).unwrap();
    let searcher = index.reader.searcher();
    let sizes: Vec<u32> = searcher
        .segment_readers()
        .iter()
        .map(|s| s.num_docs())
        .collect();
    assert!((1..=2).contains(&sizes.len()), "{sizes:?}");
    assert_eq!(sizes.iter().map(|n| u64::from(*n)).sum::<u64>(), 2_239);
    assert_eq!(outcome.documents, 2_239);
    // the merged-away segments' files are gone: only the live segments' files remain
    let live: std::collections::HashSet<String> = searcher
        .segment_readers()
        .iter()
        .map(|s| s.segment_id().uuid_string())
        .collect();
    for entry in fs::read_dir(&outcome.generation).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some((stem, _)) = name.split_once('.')
            && stem.len() == 32
        {
            assert!(live.contains(stem), "{name} belongs to no live segment");
        }
    }
    // one core or a small index: one segment
    for one in [
        BuildOptions {
            segments: 1,
            min_segment_records: 1,
            ..options()
        },
        options(),
    ] {
        build(&fixtures, index_dir.path(), taxonomy.clone(), &one).unwrap();
        let index = open(index_dir.path(), taxonomy.clone()).unwrap();
        assert_eq!(index.reader.searcher().segment_readers().len(), 1);
    }
}

#[test]
fn balanced_groups_are_balanced_and_use_every_segment_once() {
    assert_eq!(
        balanced_groups(&[5, 1, 1, 1, 1, 1], 2),
        vec![vec![0], vec![1, 2, 3, 4, 5]]
    );
    assert_eq!(balanced_groups(&[3, 4], 5), vec![vec![1], vec![0]]);
    assert_eq!(balanced_groups(&[], 2), Vec::<Vec<usize>>::new());
    let sizes = [90, 10, 40, 40, 60, 30, 20, 70];
    let groups = balanced_groups(&sizes, 3);
    let mut all: Vec<usize> = groups.iter().flatten().copied().collect();
    all.sort();
    assert_eq!(all, (0..sizes.len()).collect::<Vec<_>>());
    let totals: Vec<u64> = groups
        .iter()
        .map(|g| g.iter().map(|&i| sizes[i]).sum())
        .collect();
    // 360 records in three, largest first into the lightest group: even
    assert_eq!(totals, vec![120, 120, 120]);
}

#[test]
fn build_publishes_a_generation_that_open_reads() {
    let data = data(MEMBERS);
    let index_dir = tempfile::tempdir().unwrap();
    let taxonomy = Taxonomy::builtin();
    let outcome = build(data.path(), index_dir.path(), taxonomy.clone(), &options()).unwrap();
    assert_eq!(outcome.documents, 2);
    let index = open(index_dir.path(), taxonomy).unwrap();
    assert_eq!(index.total_docs(), 2);
}

#[test]
fn a_second_build_replaces_the_first_and_removes_it() {
    let index_dir = tempfile::tempdir().unwrap();
    let taxonomy = Taxonomy::builtin();
    let first = build(
        data(MEMBERS).path(),
        index_dir.path(),
        taxonomy.clone(),
        &options(),
    )
    .unwrap();
    let more =
        format!("{MEMBERS}{{\"id\":\"m-3\",\"name\":\"Rosalind\",\"department\":\"NPL\"}}\n");
    let second = build(
        data(&more).path(),
        index_dir.path(),
        taxonomy.clone(),
        &options(),
    )
    .unwrap();
    assert_ne!(first.generation, second.generation);
    assert!(!first.generation.exists());
    assert_eq!(open(index_dir.path(), taxonomy).unwrap().total_docs(), 3);
}

#[test]
fn strict_build_with_a_rejection_keeps_the_previous_index() {
    let index_dir = tempfile::tempdir().unwrap();
    let taxonomy = Taxonomy::builtin();
    build(
        data(MEMBERS).path(),
        index_dir.path(),
        taxonomy.clone(),
        &options(),
    )
    .unwrap();
    let bad = format!("{MEMBERS}{{\"id\":\"m-3\"}}\n");
    let strict = BuildOptions {
        strict: true,
        ..BuildOptions::default()
    };
    let err = build(
        data(&bad).path(),
        index_dir.path(),
        taxonomy.clone(),
        &strict,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::Strict { rejected: 1, report } if report.contains("rejected members.jsonl:")),
        "{err}"
    );
    assert_eq!(open(index_dir.path(), taxonomy).unwrap().total_docs(), 2);
    let generations = fs::read_dir(index_dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert_eq!(generations, 1);
}

#[test]
fn duplicate_ids_leave_one_document_with_the_last_values() {
    let text =
        format!("{MEMBERS}{{\"id\":\"m-1\",\"name\":\"Ada King\",\"department\":\"Dstl\"}}\n");
    let index_dir = tempfile::tempdir().unwrap();
    let taxonomy = Taxonomy::builtin();
    let outcome = build(data(&text).path(), index_dir.path(), taxonomy, &options()).unwrap();
    assert_eq!(outcome.documents, 2);
    assert_eq!(outcome.report.files[0].replaced, 1);
}

#[test]
fn a_later_line_wins_however_the_build_reorders_records() {
    // two records held at most: clusters go to files as the build goes; the second line of
    // m-1 (another specialism) comes after its first was written to a file, both lines of
    // m-3 are still held together at the end
    let line = |id: &str, name: &str, skill: &str| {
        format!(
            r#"{{"id":"{id}","name":"{name}","department":"Dstl","skills":[{{"name":"{skill}","level":3}}]}}"#
        ) + "\n"
    };
    let text = [
        line("m-1", "Ada First", "Virology"),
        line("m-9", "Bo", "Virology"),
        line("m-1", "Ada Second", "Statistics"),
        line("m-2", "Cy", "Statistics"),
        line("m-3", "Di First", "Flood risk"),
        line("m-3", "Di Second", "Flood risk"),
    ]
    .concat();
    let index_dir = tempfile::tempdir().unwrap();
    let taxonomy = Taxonomy::builtin();
    let held = BuildOptions {
        held_records: 2,
        ..options()
    };
    let outcome = build(
        data(&text).path(),
        index_dir.path(),
        taxonomy.clone(),
        &held,
    )
    .unwrap();
    assert_eq!(outcome.documents, 4);
    let index = open(index_dir.path(), taxonomy).unwrap();
    let name = |id: &str| {
        crate::search::get(
            &index,
            Kind::Member,
            id,
            Marking::OfficialSensitive,
            crate::search::today(),
        )
        .unwrap()
        .to_json()["name"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(name("m-1"), "Ada Second");
    assert_eq!(name("m-3"), "Di Second");
    assert_eq!(name("m-9"), "Bo");
    assert_eq!(count_kind(&index, Kind::Member).unwrap(), 4);
}

#[test]
fn records_set_aside_in_files_come_back_whole() {
    // every record of the fixtures through a file (one held at most) against none
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let taxonomy = Taxonomy::builtin();
    let (records, _) = load_records(&fixtures).unwrap();
    let mut built = Vec::new();
    for held_records in [1, CLUSTER_HELD_RECORDS] {
        let dir = tempfile::tempdir().unwrap();
        let options = BuildOptions {
            held_records,
            ..options()
        };
        let outcome = build(&fixtures, dir.path(), taxonomy.clone(), &options).unwrap();
        assert_eq!(outcome.documents, records.len() as u64);
        // nothing is left beside the index
        assert!(!outcome.generation.join(".clusters").exists());
        built.push((open(dir.path(), taxonomy.clone()).unwrap(), dir));
    }
    for record in &records {
        let [(spilled, _), (held, _)] = &built[..] else {
            unreachable!()
        };
        let get = |index| {
            crate::search::get(
                index,
                record.kind(),
                record.id(),
                Marking::OfficialSensitive,
                crate::search::today(),
            )
            .unwrap()
        };
        assert_eq!(get(spilled), get(held), "{}", record.id());
    }
}

#[test]
fn opening_a_directory_without_an_index_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = open(dir.path(), Taxonomy::builtin()).err().unwrap();
    assert!(err.to_string().contains("no index has been built"), "{err}");
}

#[test]
fn a_leftover_from_a_killed_build_is_ignored_and_cleaned_up() {
    let index_dir = tempfile::tempdir().unwrap();
    let taxonomy = Taxonomy::builtin();
    build(
        data(MEMBERS).path(),
        index_dir.path(),
        taxonomy.clone(),
        &options(),
    )
    .unwrap();
    // what a build killed mid-way leaves: a generation directory CURRENT does not name
    let half = index_dir.path().join("gen-0-0");
    fs::create_dir(&half).unwrap();
    fs::write(half.join("garbage.idx"), b"partial").unwrap();
    assert_eq!(
        open(index_dir.path(), taxonomy.clone())
            .unwrap()
            .total_docs(),
        2
    );
    build(data(MEMBERS).path(), index_dir.path(), taxonomy, &options()).unwrap();
    assert!(!half.exists());
}

/// Runs in a child process (see the test below): builds from `MUSTER_CHILD_DATA`.
#[test]
#[ignore = "run as a child process by a_build_killed_mid_way_leaves_the_previous_index_usable"]
fn child_build() {
    let (Ok(data), Ok(index_dir)) = (
        std::env::var("MUSTER_CHILD_DATA"),
        std::env::var("MUSTER_CHILD_INDEX"),
    ) else {
        return;
    };
    build(
        Path::new(&data),
        Path::new(&index_dir),
        Taxonomy::builtin(),
        &options(),
    )
    .unwrap();
}

#[test]
fn an_index_in_another_format_is_refused_with_the_way_out() {
    let index_dir = tempfile::tempdir().unwrap();
    let outcome = build(
        data(MEMBERS).path(),
        index_dir.path(),
        Taxonomy::builtin(),
        &options(),
    )
    .unwrap();
    assert_eq!(outcome.report.rejected(), 0);
    // a small build is one segment, and records the format it wrote
    let opened = open(index_dir.path(), Taxonomy::builtin()).unwrap();
    assert_eq!(opened.reader.searcher().segment_readers().len(), 1);
    drop(opened);
    for (content, says) in [
        (None, "an older format"),
        (Some("1\n"), "format 1"),
        (Some("garbage"), "an older format"),
    ] {
        let marker = outcome.generation.join(FORMAT_FILE);
        match content {
            Some(text) => fs::write(&marker, text).unwrap(),
            None => {
                let _ = fs::remove_file(&marker);
            }
        }
        let err = open(index_dir.path(), Taxonomy::builtin())
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains(says), "{err}");
        assert!(err.contains("muster rebuild"), "{err}");
    }
}

#[test]
fn a_build_killed_mid_way_leaves_the_previous_index_usable() {
    let taxonomy = Taxonomy::builtin();
    let index_dir = tempfile::tempdir().unwrap();
    build(
        data(MEMBERS).path(),
        index_dir.path(),
        taxonomy.clone(),
        &options(),
    )
    .unwrap();
    let before = current_generation(index_dir.path()).unwrap().unwrap();

    let big = tempfile::tempdir().unwrap();
    let spec = crate::generate::Spec {
        members: 40_000,
        case_studies_per_member: 0.1,
        seed: 1,
        csv: false,
        skills: crate::generate::SkillSource::Profiles,
    };
    crate::generate::generate(&spec, &taxonomy, big.path()).unwrap();

    for delay_ms in [0u64, 150, 400] {
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "index::tests::child_build",
                "--ignored",
                "--nocapture",
            ])
            .env("MUSTER_CHILD_DATA", big.path())
            .env("MUSTER_CHILD_INDEX", index_dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // wait until the child has started writing a new generation, then kill -9
        let deadline = Instant::now() + Duration::from_secs(60);
        while fs::read_dir(index_dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
            .count()
            < 2
        {
            assert!(Instant::now() < deadline, "the child never started a build");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        assert!(
            child.try_wait().unwrap().is_none(),
            "the build finished before it could be killed"
        );
        child.kill().unwrap();
        child.wait().unwrap();

        assert_eq!(
            current_generation(index_dir.path()).unwrap().unwrap(),
            before
        );
        let index = open(index_dir.path(), taxonomy.clone()).unwrap();
        assert_eq!(index.total_docs(), 2, "after a kill at +{delay_ms} ms");
    }
    // the next build cleans up and succeeds
    build(
        data(MEMBERS).path(),
        index_dir.path(),
        taxonomy.clone(),
        &options(),
    )
    .unwrap();
    let generations = fs::read_dir(index_dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("gen-"))
        .count();
    assert_eq!(generations, 1);
}
