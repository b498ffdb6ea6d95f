//! Exercise 11 (chapter "Async I/O and protocols"), starter: a length-prefixed decoder that
//! works when whole frames arrive at once, and breaks when they arrive in pieces.
//!
//! Each frame is a 2-byte big-endian length, then that many bytes of UTF-8. The sender below
//! writes four frames three bytes at a time (as a slow network would deliver them), then the
//! header of a 60,000-byte frame. `cargo run --example exercise11_starter` prints what it decodes
//! and a last line that `tests/exercises_10.rs` checks. Fix `decode` (and only `decode`) so that
//! all four messages come through intact and the oversized frame is refused at once.

use futures::StreamExt;
use std::io;
use tokio::io::AsyncWriteExt;
use tokio_util::bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, FramedRead};

/// The largest payload the decoder should accept.
#[allow(dead_code)] // the starter never checks it: that is part of the exercise
const MAX_FRAME: usize = 1024;

struct FrameDecoder;

impl Decoder for FrameDecoder {
    type Item = String;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<String>> {
        if src.len() < 2 {
            return Ok(None);
        }
        let len = usize::from(src.get_u16()); // reads the length and consumes it
        if src.len() < len {
            return Ok(None); // wait for the rest of the payload
        }
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
