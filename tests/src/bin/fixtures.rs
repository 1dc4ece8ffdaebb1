//! Builds fixture images and prints where they are. Run through `cargo xtask fixtures` and
//! `cargo xtask bench`.
//!
//! - `fixtures [DIR]`: the synthetic base images (one per Anchore release line, plus a
//!   two-platform index) as OCI layouts in DIR (default `target/fixtures/images`);
//! - `fixtures --realistic`: the realistic runnable Enterprise-shaped image (needs root,
//!   debootstrap and the Python package index; cached);
//! - `fixtures --bench SIZE`: a benchmark image, SIZE one of 256m, 1g, 2g, many (cached);
//! - `fixtures --many-cas N FILE`: N distinct CA certificates in one PEM file (one real CA
//!   with its serial varied: one subject, so every hash and label collides — the worst case
//!   for the numbering of hashed links and keystore aliases);
//! - `fixtures --inflate FILE...`: inflates every gzip file once, on every core, with the
//!   inflater trustbake uses (the benchmark's floor);
//! - `fixtures --count-proxy LISTEN UPSTREAM FILE`: a TCP proxy from 127.0.0.1:LISTEN to
//!   127.0.0.1:UPSTREAM writing `UP DOWN` (bytes each way so far) into FILE, for the benchmark's
//!   registry scenario.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test tool: it fails loudly

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--realistic") => println!("{}", tests::realistic::realistic_enterprise().display()),
        Some("--inflate") => inflate(&args[1..]),
        Some("--many-cas") => many_cas(&args[1..]),
        Some("--count-proxy") => count_proxy(&args[1..]),
        Some("--bench") => println!(
            "{}",
            tests::bench_images::bench_image(args.get(1).map(String::as_str).unwrap_or("256m"))
                .display()
        ),
        dir => {
            let dir = dir
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| tests::root().join("target/fixtures/images"));
            for name in tests::synthetic::write_all(&dir) {
                println!("{}", dir.join(name).display());
            }
        }
    }
}

fn inflate(files: &[String]) {
    use std::io::Read;
    let next = std::sync::atomic::AtomicUsize::new(0);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..cores.min(files.len()) {
            s.spawn(|| {
                let mut buf = vec![0u8; 1 << 20];
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let f = std::fs::File::open(file).unwrap_or_else(|e| panic!("{file}: {e}"));
                    let mut d = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(f));
                    while d.read(&mut buf).unwrap_or_else(|e| panic!("{file}: {e}")) > 0 {}
                }
            });
        }
    });
}

fn count_proxy(args: &[String]) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let [listen, upstream, file] = args else {
        panic!("usage: fixtures --count-proxy LISTEN UPSTREAM FILE");
    };
    let listener = std::net::TcpListener::bind(format!("127.0.0.1:{listen}")).unwrap();
    let upstream = format!("127.0.0.1:{upstream}");
    let up = Arc::new(AtomicU64::new(0));
    let down = Arc::new(AtomicU64::new(0));
    {
        let (up, down, file) = (Arc::clone(&up), Arc::clone(&down), file.clone());
        std::thread::spawn(move || {
            loop {
                let text = format!(
                    "{} {}\n",
                    up.load(Ordering::Relaxed),
                    down.load(Ordering::Relaxed)
                );
                let temp = format!("{file}.tmp");
                if std::fs::write(&temp, text).is_ok() {
                    let _ = std::fs::rename(&temp, &file);
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        });
    }
    for client in listener.incoming().flatten() {
        let Ok(server) = std::net::TcpStream::connect(&upstream) else {
            continue;
        };
        for (mut from, mut to, count) in [
            (
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                Arc::clone(&up),
            ),
            (server, client, Arc::clone(&down)),
        ] {
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            count.fetch_add(n as u64, Ordering::Relaxed);
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = to.shutdown(std::net::Shutdown::Write);
            });
        }
    }
}

fn many_cas(args: &[String]) {
    let [n, file] = args else {
        panic!("usage: fixtures --many-cas N FILE");
    };
    let n: u32 = n.parse().expect("N is a number");
    std::fs::write(file, tests::many_cas_pem(n)).unwrap();
}
