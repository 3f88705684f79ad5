//! Reading ahead: records read (and parsed) on a thread of their own while the calling thread
//! takes them, so a load or a build keeps two cores busy where one would do both jobs in turn.

use std::sync::mpsc;

use crate::ingest::Sink;
use crate::model::Record;
use crate::{Error, Result};

/// Records handed over at a time: one channel operation per batch, not per record.
const BATCH: usize = 256;

/// Batches read but not yet taken, at most: reading waits for the taker beyond this, so memory
/// stays bounded whatever the source's size.
const WAITING: usize = 8;

/// Runs `read` on a thread of its own, handing every record it sinks to `take` on this thread,
/// in the order read. Returns what `read` returned. An error from `take` stops the reading (its
/// next record is refused) and is the error returned; an error from `read` is returned once the
/// records read before it have been taken.
pub fn read_ahead<T: Send>(
    read: impl FnOnce(&mut Sink<'_>) -> Result<T> + Send,
    take: &mut Sink<'_>,
) -> Result<T> {
    std::thread::scope(|scope| {
        let (handed, batches) = mpsc::sync_channel::<Vec<Record>>(WAITING);
        let reader = std::thread::Builder::new()
            .name("muster-read".into())
            .spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(BATCH);
                let outcome = read(&mut |record| {
                    batch.push(record);
                    if batch.len() == BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        handed.send(full).map_err(|_| stopped())?;
                    }
                    Ok(())
                });
                if !batch.is_empty() {
                    // the taker has gone only after an error of its own, which is the one returned
                    let _ = handed.send(batch);
                }
                outcome
            })
            .map_err(Error::Io)?;
        let mut taken = Ok(());
        'batches: for batch in batches.iter() {
            for record in batch {
                if let Err(e) = take(record) {
                    taken = Err(e);
                    break 'batches;
                }
            }
        }
        // the reader's next hand-over fails, so it stops
        drop(batches);
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        taken?;
        read
    })
}

fn stopped() -> Error {
    Error::Io(std::io::Error::other(
        "reading stopped: the records read could not be taken",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn member(n: usize) -> Record {
        let line = format!(r#"{{"id":"m-{n}","name":"Member {n}","department":"Dstl"}}"#);
        crate::ingest::parse_json_line(Kind::Member, &line)
            .unwrap()
            .record
    }

    fn ids(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| r.id().to_string()).collect()
    }

    #[test]
    fn every_record_is_taken_once_in_the_order_read_and_the_readers_answer_returned() {
        // more than one batch, and a part batch at the end
        let read: Vec<Record> = (0..BATCH * 3 + 7).map(member).collect();
        let mut taken = Vec::new();
        let answer = read_ahead(
            |sink| {
                for record in read.clone() {
                    sink(record)?;
                }
                Ok("done")
            },
            &mut |record| {
                taken.push(record);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(answer, "done");
        assert_eq!(ids(&taken), ids(&read));
    }

    #[test]
    fn a_takers_error_stops_the_reading_and_a_readers_error_comes_after_what_it_read() {
        let mut read = 0;
        let mut taken = 0;
        let failed = read_ahead(
            |sink| {
                for n in 0..BATCH * (WAITING + 20) {
                    read += 1;
                    sink(member(n))?;
                }
                Ok(())
            },
            &mut |_| {
                taken += 1;
                if taken == 10 {
                    return Err(Error::InvalidRecord("the store is full".into()));
                }
                Ok(())
            },
        );
        assert!(matches!(failed, Err(Error::InvalidRecord(m)) if m == "the store is full"));
        assert_eq!(taken, 10);
        // the reader stopped at the bounded hand-over, not at the end of its source
        assert!(read <= BATCH * (WAITING + 3), "read {read} records");

        let mut taken = 0;
        let failed = read_ahead(
            |sink| {
                for n in 0..BATCH + 3 {
                    sink(member(n))?;
                }
                Err::<(), _>(Error::InvalidRecord("bad file".into()))
            },
            &mut |_| {
                taken += 1;
                Ok(())
            },
        );
        assert!(matches!(failed, Err(Error::InvalidRecord(m)) if m == "bad file"));
        assert_eq!(taken, BATCH + 3);
    }
}
