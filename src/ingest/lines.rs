//! Input lines with a length cap, numbered from 1: one bad line costs at most the cap.

use std::io::{BufRead, BufReader, Read};

/// The longest line accepted, in bytes; longer lines are rejected without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// One line from a [`LineReader`].
#[derive(Debug, PartialEq)]
pub enum Line {
    /// A line of valid UTF-8, without its line ending.
    Text(String),
    /// A line longer than the limit; its length in bytes.
    TooLong(usize),
    /// A line that is not valid UTF-8; the byte offset of the first bad byte.
    NotUtf8(usize),
}

/// Reads lines with a length cap, numbering them from 1. Never holds more than the cap.
pub struct LineReader<R> {
    reader: BufReader<R>,
    number: u64,
    max: usize,
    buf: Vec<u8>,
}

impl<R: Read> LineReader<R> {
    /// Wraps `reader`, capping lines at `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        LineReader {
            reader: BufReader::with_capacity(64 * 1024, reader),
            number: 0,
            max,
            buf: Vec::new(),
        }
    }

    /// The next line and its number, or `None` at the end of the input.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, Line)>> {
        self.buf.clear();
        let mut length = 0usize;
        let mut saw_any = false;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (part, done) = match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => (&chunk[..end], Some(end + 1)),
                None => (chunk, None),
            };
            length += part.len();
            if length <= self.max {
                self.buf.extend_from_slice(part);
            }
            let consumed = done.unwrap_or(part.len());
            self.reader.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        if length > self.max {
            return Ok(Some((self.number, Line::TooLong(length))));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let bytes = std::mem::take(&mut self.buf);
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Some((self.number, Line::Text(text)))),
            Err(e) => Ok(Some((
                self.number,
                Line::NotUtf8(e.utf8_error().valid_up_to()),
            ))),
        }
    }
}
