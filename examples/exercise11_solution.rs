//! Exercise 11 (chapter "Async I/O and protocols"), solution: a length-prefixed decoder that
//! survives partial frames and refuses an oversized one before buffering it.
//!
//! Each frame is a 2-byte big-endian length, then that many bytes of UTF-8. The sender below
//! writes four frames three bytes at a time (as a slow network would deliver them), then the
//! header of a 60,000-byte frame. `cargo run --example exercise11_solution` prints each message
//! and a last line that `tests/exercises_10.rs` checks.

use futures::StreamExt;
use std::io;
use tokio::io::AsyncWriteExt;
use tokio_util::bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, FramedRead};

/// The largest payload the decoder accepts.
const MAX_FRAME: usize = 1024;

struct FrameDecoder;

impl Decoder for FrameDecoder {
    type Item = String;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<String>> {
        // 1. Is the whole header there? Peek at it, do not consume it yet.
        if src.len() < 2 {
            return Ok(None); // FramedRead reads more bytes and calls again
        }
        let len = usize::from(u16::from_be_bytes([src[0], src[1]]));
        // 2. Check the limit before waiting for (and buffering) the payload.
        if len > MAX_FRAME {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame of {len} bytes is over the {MAX_FRAME}-byte limit"),
            ));
        }
        // 3. Is the whole frame there? If not, leave everything in place and ask for more,
        //    reserving room for the rest so the buffer grows once, not once per read.
        if src.len() < 2 + len {
            src.reserve(2 + len - src.len());
            return Ok(None);
        }
        // 4. A complete frame: only now consume the header and the payload.
        src.advance(2);
        let payload = src.split_to(len);
        String::from_utf8(payload.to_vec())
            .map(Some)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame is not UTF-8"))
    }
}

fn frame(message: &str) -> Vec<u8> {
    let mut bytes = u16::try_from(message.len()).unwrap().to_be_bytes().to_vec();
    bytes.extend_from_slice(message.as_bytes());
    bytes
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (mut tx, rx) = tokio::io::duplex(64);
    tokio::spawn(async move {
        let mut wire = Vec::new();
        for message in ["hello", "partial frames", "are normal", "on a real network"] {
            wire.extend(frame(message));
        }
        wire.extend(60_000u16.to_be_bytes()); // a header that promises far too much
        for chunk in wire.chunks(3) {
            tx.write_all(chunk).await.unwrap();
            tokio::task::yield_now().await; // let the reader see each chunk on its own
        }
    }); // dropping `tx` ends the stream

    let mut frames = FramedRead::new(rx, FrameDecoder);
    let mut decoded = 0;
    let end = loop {
        match frames.next().await {
            Some(Ok(message)) => {
                decoded += 1;
                println!("frame {decoded}: {message:?}");
            }
            Some(Err(e)) => break e.to_string(),
            None => break "end of stream".to_string(),
        }
    };
    println!("{decoded} frames decoded, then: {end}");
}
