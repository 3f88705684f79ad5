//! Indexing throughput on generated data: records per second for a full atomic build, straight
//! from the files, and through the record store (load into an empty store, then build from
//! it: what `muster index` and a first `muster serve` do).
//!
//! `MUSTER_BENCH_MEMBERS` sets the size (default 100,000 members, plus case studies at 0.075
//! per member and the 89 facilities). Prints records/s for each run, then criterion's summary.

use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use muster::generate::{Spec, generate};
use muster::index::{BuildOptions, build};
use muster::taxonomy::Taxonomy;

fn indexing(c: &mut Criterion) {
    let members: usize = std::env::var("MUSTER_BENCH_MEMBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let taxonomy = Taxonomy::builtin();
    let data = tempfile::tempdir().expect("temp dir");
    let spec = Spec {
        members,
        case_studies_per_member: 0.075,
        seed: 42,
        csv: false,
        skills: muster::generate::SkillSource::Profiles,
    };
    let written = generate(&spec, &taxonomy, data.path()).expect("generate");
    let records = (written.members + written.case_studies + written.facilities) as u64;
    let options = BuildOptions::default();

    let mut group = c.benchmark_group("indexing");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records));
    group.bench_function(format!("build_{members}_members"), |b| {
        b.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                let index_dir = tempfile::tempdir().expect("temp dir");
                let started = Instant::now();
                let outcome = build(data.path(), index_dir.path(), taxonomy.clone(), &options)
                    .expect("build");
                let elapsed = started.elapsed();
                total += elapsed;
                println!(
                    "indexed {} records in {:.2}s: {:.0} records/s",
                    outcome.documents,
                    elapsed.as_secs_f64(),
                    records as f64 / elapsed.as_secs_f64()
                );
            }
            total
        })
    });
    group.bench_function(format!("through_store_{members}_members"), |b| {
        b.iter_custom(|iterations| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iterations {
                let index_dir = tempfile::tempdir().expect("temp dir");
                let started = Instant::now();
                let lock = muster::index::IndexLock::acquire(index_dir.path()).expect("lock");
                let store = muster::store::Store::open_in(index_dir.path()).expect("store");
                let (report, _) = store
                    .load(muster::store::LoadMode::Merge, |sink| {
                        muster::ingest::load_dir(data.path(), sink)
                    })
                    .expect("load");
                let loaded = started.elapsed();
                let outcome = muster::index::build_from_store(
                    &store,
                    &lock,
                    taxonomy.clone(),
                    &options,
                    report,
                )
                .expect("build");
                let elapsed = started.elapsed();
                total += elapsed;
                println!(
                    "through the store: {} records in {:.2}s (load {:.2}s, build {:.2}s): {:.0} records/s",
                    outcome.documents,
                    elapsed.as_secs_f64(),
                    loaded.as_secs_f64(),
                    (elapsed - loaded).as_secs_f64(),
                    records as f64 / elapsed.as_secs_f64()
                );
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, indexing);
criterion_main!(benches);
