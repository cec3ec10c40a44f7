//! The decompression floor for `bench/run.sh`: decompress a `.tar.gz` and walk every member with
//! the crates `arcdiag analyze` uses (flate2 with zlib-rs, tar), reading each member's bytes and
//! throwing them away. Nothing `analyze` does can be faster than this on one stream.
//!
//! ```text
//! cargo run --release --example floor -- bundle.tar.gz
//! ```

use std::fs::File;
use std::io::{self, BufReader, Read};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: floor BUNDLE.tar.gz");
        std::process::exit(2)
    };
    match walk(&path) {
        Ok((members, bytes)) => println!("{members} members, {bytes} bytes"),
        Err(e) => {
            eprintln!("floor: {path}: {e}");
            std::process::exit(1)
        }
    }
}

fn walk(path: &str) -> io::Result<(u64, u64)> {
    let f = BufReader::with_capacity(1 << 20, File::open(path)?);
    let gz = flate2::read::MultiGzDecoder::new(f);
    let mut archive = tar::Archive::new(gz);
    let mut buf = vec![0u8; 1 << 20];
    let (mut members, mut bytes) = (0u64, 0u64);
    for entry in archive.entries()? {
        let mut entry = entry?;
        members += 1;
        loop {
            let n = entry.read(&mut buf)?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
        }
    }
    Ok((members, bytes))
}
