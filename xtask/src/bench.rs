//! `cargo xtask bench`: trustbake measured against the physical floor and the tools users would
//! use instead, in one run on this machine, interleaved and repeated.
//!
//! For each benchmark image (the realistic Enterprise-shaped image grown to about 256 MiB, 1 GiB
//! and 2 GiB uncompressed, and a variant with 24 small layers): `trustbake bake` (OCI layout to
//! layout on the same file system and onto another one, with a warm scan cache, to a docker
//! archive, `--dry-run`; cold unless said), and `trustbake plan`; the floor (every layer inflated
//! once by `gzip -dc`, by `pigz -dc`, and by zlib-rs on every core; the base blobs copied by
//! `cp`); `skopeo copy`; umoci unpack, the same files placed, repack; and `buildah build
//! --isolation chroot` with the correct Containerfile (overlay cold and warm, vfs cold). Then bake
//! with 1, 10, 100 and 1000 CAs. Then the registry scenario on two loopback registries behind
//! byte-counting proxies (see `registry_measures`), with bytes down and up per tool. Each whole process is measured with GNU time:
//! wall, CPU (user + system) and peak RSS; the table gives medians with min–max and ratios.
//! Results go to `target/bench/results.json` and `target/bench/performance.svg`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{require_tool, root, run as run_cmd};

const HELP: &str = "cargo xtask bench [--size 256m,1g,2g,many] [--runs N] [--record]

  --size    benchmark images to measure (default: 256m,1g,2g,many)
  --runs    rounds per measurement, interleaved (default: 3)
  --record  also copy the plot to xtask/bench/performance.svg and print the README table";

struct Measure {
    name: String,
    setup: String,
    command: String,
}

/// Per image: its size name, uncompressed bytes, and each measure's samples.
type Results = Vec<(String, u64, Vec<(String, Vec<Sample>)>)>;

#[derive(Clone, Copy, Default)]
struct Sample {
    wall: f64,
    cpu: f64,
    rss_kb: f64,
    /// Bytes sent to the registries (registry measures only).
    up: f64,
    /// Bytes received from the registries (registry measures only).
    down: f64,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut sizes = vec!["256m".to_owned(), "1g".into(), "2g".into(), "many".into()];
    let mut runs = 3usize;
    let mut record = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--size" => {
                sizes = it
                    .next()
                    .context("--size needs a value")?
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            "--runs" => runs = it.next().context("--runs needs a value")?.parse()?,
            "--record" => record = true,
            "-h" | "--help" => {
                println!("{HELP}");
                return Ok(());
            }
            other => bail!("unknown option {other}\n\n{HELP}"),
        }
    }
    for (tool, package) in [
        ("gzip", "gzip"),
        ("skopeo", "skopeo"),
        ("umoci", "umoci"),
        ("buildah", "buildah"),
        ("openssl", "openssl"),
        ("docker-registry", "docker-registry"),
        ("curl", "curl"),
    ] {
        require_tool(tool, package)?;
    }
    if !Path::new("/usr/bin/time").is_file() {
        bail!("/usr/bin/time is missing; install it with: apt-get install -y time");
    }
    let pigz = require_tool("pigz", "pigz").is_ok();
    run_cmd(Command::new(env!("CARGO")).current_dir(root()).args([
        "build",
        "--quiet",
        "--release",
        "--package",
        "trustbake-cli",
        "--package",
        "tests",
        "--bin",
        "trustbake",
        "--bin",
        "fixtures",
    ]))?;
    let bin = root().join("target/release");
    let trustbake = bin.join("trustbake");
    let bench = root().join("target/bench");
    let cas = ca_sets(&bench)?;
    let ca1 = cas[0].1.display().to_string();
    let other_fs = Path::new("/dev/shm")
        .is_dir()
        .then(|| PathBuf::from("/dev/shm/trustbake-bench"));
    let mut results: Results = Vec::new();
    let mut table = String::new();
    for (si, size) in sizes.iter().enumerate() {
        println!("building the {size} benchmark image (cached)...");
        let out = Command::new(bin.join("fixtures"))
            .args(["--bench", size])
            .current_dir(root())
            .output()?;
        if !out.status.success() {
            bail!(
                "building the {size} image failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let layout = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim().to_owned());
        let blobs = layer_blobs(&layout)?;
        let uncompressed = uncompressed_size(&blobs)?;
        let l = layout.display();
        let o = bench.join("out");
        let od = o.display();
        let tb = trustbake.display();
        let blob_list: Vec<String> = blobs.iter().map(|b| b.display().to_string()).collect();
        let blob_list = blob_list.join(" ");
        let mut measures = vec![
            Measure {
                name: "floor: gzip -dc every layer".into(),
                setup: String::new(),
                command: format!("for b in {blob_list}; do gzip -dc $b >/dev/null; done"),
            },
            Measure {
                name: "floor: cp base blobs".into(),
                setup: format!("rm -rf {od}/cp"),
                command: format!("mkdir -p {od}/cp && cp {blob_list} {od}/cp/"),
            },
            Measure {
                name: "trustbake bake oci→oci".into(),
                setup: format!("rm -rf {od}/oci"),
                command: format!(
                    "{tb} bake --no-cache --from oci:{l}:bench --to oci:{od}/oci:corp --ca {ca1} >/dev/null"
                ),
            },
            Measure {
                name: "trustbake bake oci→oci, warm scan cache".into(),
                setup: format!(
                    "rm -rf {od}/warm; [ -d {od}/cache-local ] || {tb} bake --from oci:{l}:bench --to oci:{od}/warm:corp --ca {ca1} --cache-dir {od}/cache-local --dry-run >/dev/null"
                ),
                command: format!(
                    "{tb} bake --from oci:{l}:bench --to oci:{od}/warm:corp --ca {ca1} --cache-dir {od}/cache-local >/dev/null"
                ),
            },
            Measure {
                name: "trustbake bake oci→docker-archive".into(),
                setup: format!("rm -f {od}/corp.tar"),
                command: format!(
                    "{tb} bake --no-cache --from oci:{l}:bench --to docker-archive:{od}/corp.tar:bench/corp:1 --ca {ca1} >/dev/null"
                ),
            },
            Measure {
                name: "trustbake bake --dry-run".into(),
                setup: String::new(),
                command: format!(
                    "{tb} bake --no-cache --from oci:{l}:bench --to oci:{od}/dry:corp --ca {ca1} --dry-run >/dev/null"
                ),
            },
            Measure {
                name: "trustbake plan".into(),
                setup: String::new(),
                command: format!(
                    "{tb} plan --product enterprise --version 5.1 --ca {ca1} >/dev/null"
                ),
            },
            Measure {
                name: "skopeo copy oci→oci".into(),
                setup: format!("rm -rf {od}/skopeo"),
                command: format!("skopeo copy --quiet oci:{l}:bench oci:{od}/skopeo:bench"),
            },
            Measure {
                name: "umoci unpack+place+repack".into(),
                setup: format!("rm -rf {od}/umoci {od}/umoci.bundle && cp -al {l} {od}/umoci"),
                command: format!(
                    "umoci unpack --image {od}/umoci:bench {od}/umoci.bundle >/dev/null && {tb} apply --root {od}/umoci.bundle/rootfs --ca {ca1} >/dev/null && umoci repack --image {od}/umoci:corp {od}/umoci.bundle"
                ),
            },
            buildah(
                "buildah overlay cold",
                "overlay",
                &format!("{od}/buildah-cold"),
                true,
                &l.to_string(),
                &ca1,
                &bench,
            ),
            buildah(
                "buildah overlay warm",
                "overlay",
                &format!("{od}/buildah-warm"),
                false,
                &l.to_string(),
                &ca1,
                &bench,
            ),
            buildah(
                "buildah vfs cold",
                "vfs",
                &format!("{od}/buildah-vfs"),
                true,
                &l.to_string(),
                &ca1,
                &bench,
            ),
        ];
        measures.insert(
            1,
            Measure {
                name: "floor: inflate every layer once, all cores (zlib-rs)".into(),
                setup: String::new(),
                command: format!("{} --inflate {blob_list}", bin.join("fixtures").display()),
            },
        );
        if pigz {
            measures.insert(
                1,
                Measure {
                    name: "floor: pigz -dc every layer".into(),
                    setup: String::new(),
                    command: format!("for b in {blob_list}; do pigz -dc $b >/dev/null; done"),
                },
            );
        }
        if let Some(other) = &other_fs {
            let d = other.display();
            measures.insert(
                4,
                Measure {
                    name: "trustbake bake oci→oci (other fs)".into(),
                    setup: format!("rm -rf {d}/oci; mkdir -p {d}"),
                    command: format!(
                        "{tb} bake --no-cache --from oci:{l}:bench --to oci:{d}/oci:corp --ca {ca1} >/dev/null"
                    ),
                },
            );
        }
        if si == 0 {
            // Many CAs on each OS family: every store's writing must stay n·log n.
            let families = bench.join("families");
            if !families.join("enterprise-5.1/index.json").is_file() {
                run_cmd(Command::new(bin.join("fixtures")).arg(&families))?;
            }
            for n in [10_000, 70_000] {
                let file = bench.join(format!("cas/many-{n}.pem"));
                if !file.is_file() {
                    run_cmd(
                        Command::new(bin.join("fixtures"))
                            .args(["--many-cas", &n.to_string()])
                            .arg(&file),
                    )?;
                }
                for (family, name, tag) in [
                    ("RHEL family", "enterprise-5.1", "5.1.0"),
                    ("Debian family", "engine-0.3", "0.3.0"),
                ] {
                    measures.push(Measure {
                        name: format!("trustbake bake --dry-run, {n} CAs, {family}"),
                        setup: String::new(),
                        command: format!(
                            "{tb} bake --no-cache --from oci:{}/{name}:{tag} --to oci:{od}/family:corp --ca {} --dry-run >/dev/null",
                            families.display(),
                            file.display()
                        ),
                    });
                }
            }
            for (n, file) in &cas {
                measures.push(Measure {
                    name: format!("trustbake bake, {n} CAs"),
                    setup: format!("rm -rf {od}/cas"),
                    command: format!(
                        "{tb} bake --no-cache --from oci:{l}:bench --to oci:{od}/cas:corp --ca {} >/dev/null",
                        file.display()
                    ),
                });
            }
        }
        let registries = Registries::start(&bench, &bin.join("fixtures"), &layout)?;
        let digests: Vec<String> = blobs
            .iter()
            .filter_map(|b| {
                b.file_name()
                    .map(|n| format!("sha256:{}", n.to_string_lossy()))
            })
            .collect();
        measures.extend(registry_measures(
            &registries,
            &tb.to_string(),
            &ca1,
            &od.to_string(),
            &digests,
            &bench,
        ));
        // Warm buildah: the base is in the storage before the timed builds.
        shell(&format!(
            "rm -rf {od}/buildah-warm && buildah --root {od}/buildah-warm/root --runroot {od}/buildah-warm/run --storage-driver overlay pull --quiet oci:{l}:bench >/dev/null"
        ))?;
        let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); measures.len()];
        for round in 0..runs {
            for k in 0..measures.len() {
                // Interleaved: each round starts at a different measure.
                let i = (k + round) % measures.len();
                let m = &measures[i];
                if !m.setup.is_empty() {
                    shell(&m.setup)?;
                }
                let counted = m.name.starts_with("registry");
                let before = if counted {
                    registries.bytes()
                } else {
                    (0.0, 0.0)
                };
                let mut sample = timed(&m.command, &bench)
                    .with_context(|| format!("{}: {}", m.name, m.command))?;
                if counted {
                    let after = registries.bytes();
                    sample.up = after.0 - before.0;
                    sample.down = after.1 - before.1;
                }
                println!(
                    "  {size} round {} {:<38} {:>7.2} s wall {:>7.2} s cpu {:>7.1} MB",
                    round + 1,
                    m.name,
                    sample.wall,
                    sample.cpu,
                    sample.rss_kb / 1024.0
                );
                samples[i].push(sample);
            }
        }
        drop(registries);
        let _ = shell(&format!("rm -rf {od}"));
        let _ = writeln!(
            table,
            "\n{size}: {} layers, {:.0} MiB compressed, {:.0} MiB uncompressed",
            blobs.len(),
            total_size(&blobs) as f64 / 1048576.0,
            uncompressed as f64 / 1048576.0
        );
        let floor = median(&samples[0], |s| s.wall);
        let bake = median(
            &samples[measures
                .iter()
                .position(|m| m.name == "trustbake bake oci→oci")
                .unwrap_or(0)],
            |s| s.wall,
        );
        let _ = writeln!(
            table,
            "| measure | wall s (median, min–max) | CPU s | peak RSS MB | MB down / up | × floor | trustbake bake ×faster |"
        );
        let _ = writeln!(table, "|---|---|---|---|---|---|---|");
        let registry_floor = measures
            .iter()
            .position(|m| m.name.starts_with("registry floor"))
            .map_or(floor, |i| median(&samples[i], |s| s.wall));
        let registry_bake = measures
            .iter()
            .position(|m| m.name == "registry: trustbake, one registry, cold")
            .map_or(bake, |i| median(&samples[i], |s| s.wall));
        for (m, s) in measures.iter().zip(&samples) {
            let wall = median(s, |x| x.wall);
            let registry = m.name.starts_with("registry");
            let (their_floor, their_bake) = if registry {
                (registry_floor, registry_bake)
            } else {
                (floor, bake)
            };
            let ours = m.name.starts_with("trustbake")
                || m.name.contains("floor")
                || m.name.starts_with("registry: trustbake");
            let _ = writeln!(
                table,
                "| {} | {:.2} ({:.2}–{:.2}) | {:.2} | {:.1} | {} | {:.2} | {} |",
                m.name,
                wall,
                min(s, |x| x.wall),
                max(s, |x| x.wall),
                median(s, |x| x.cpu),
                median(s, |x| x.rss_kb) / 1024.0,
                if registry {
                    format!(
                        "{:.1} / {:.1}",
                        median(s, |x| x.down) / 1e6,
                        median(s, |x| x.up) / 1e6
                    )
                } else {
                    String::new()
                },
                wall / their_floor,
                if ours {
                    "".to_owned()
                } else {
                    format!("{:.1}×", wall / their_bake)
                }
            );
        }
        results.push((
            size.clone(),
            uncompressed,
            measures
                .iter()
                .map(|m| m.name.clone())
                .zip(samples)
                .collect(),
        ));
    }
    let machine = machine();
    println!(
        "\nMachine: {machine}\nCommand: cargo xtask bench --runs {runs} --size {}\n{table}",
        sizes.join(",")
    );
    fs::create_dir_all(&bench)?;
    fs::write(bench.join("results.json"), json(&results, &machine, runs))?;
    let svg = plot(&results);
    fs::write(bench.join("performance.svg"), &svg)?;
    fs::write(bench.join("table.md"), &table)?;
    println!(
        "results: {}, plot: {}",
        bench.join("results.json").display(),
        bench.join("performance.svg").display()
    );
    if record {
        let dir = root().join("xtask/bench");
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("performance.svg"), &svg)?;
        fs::write(
            dir.join("results.md"),
            format!(
                "Machine: {machine}\n\nCommand: `cargo xtask bench --runs {runs} --size {}`\n{table}",
                sizes.join(",")
            ),
        )?;
        println!("recorded in {}", dir.display());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn buildah(
    name: &str,
    driver: &str,
    root_dir: &str,
    cold: bool,
    layout: &str,
    ca: &str,
    bench: &Path,
) -> Measure {
    let ctx = bench.join("buildah-context");
    let _ = fs::create_dir_all(&ctx);
    let _ = fs::copy(ca, ctx.join("corp.pem"));
    let _ = fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM oci:{layout}:bench\nUSER 0\nCOPY corp.pem /etc/pki/ca-trust/source/anchors/corp.pem\nRUN update-ca-trust\nRUN cat /etc/pki/ca-trust/source/anchors/corp.pem >> /home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem\nUSER 1000\n"
        ),
    );
    let c = ctx.display();
    let b = format!(
        "buildah --root {root_dir}/root --runroot {root_dir}/run --storage-driver {driver}"
    );
    Measure {
        name: name.to_owned(),
        setup: if cold {
            format!("rm -rf {root_dir}")
        } else {
            format!(
                "{b} rmi --all --force >/dev/null 2>&1; {b} pull --quiet oci:{layout}:bench >/dev/null; rm -rf {root_dir}-out"
            )
        },
        command: format!(
            "{b} build --quiet --isolation chroot -f {c}/Containerfile -t localhost/bench:corp {c} >/dev/null && {b} push --quiet localhost/bench:corp oci:{root_dir}-out:corp"
        ),
    }
}

/// CA bundles of 1, 10, 100 and 1000 distinct self-signed EC CAs (made once with openssl).
fn ca_sets(bench: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let dir = bench.join("cas");
    fs::create_dir_all(&dir)?;
    let all = dir.join("1000.pem");
    if !all.is_file() {
        println!("making 1000 CA certificates with openssl (once)...");
        let key = dir.join("key.pem");
        run_cmd(
            Command::new("openssl")
                .args([
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                ])
                .arg(&key),
        )?;
        let mut bundle = String::new();
        for i in 0..1000 {
            let out = Command::new("openssl")
                .args(["req", "-x509", "-new", "-key"])
                .arg(&key)
                .args([
                    "-subj",
                    &format!("/O=Bench Corp/CN=Bench CA {i:04}"),
                    "-days",
                    "36500",
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                ])
                .output()?;
            if !out.status.success() {
                bail!(
                    "openssl req failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            bundle.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        fs::write(&all, &bundle)?;
    }
    let text = fs::read_to_string(&all)?;
    let blocks: Vec<&str> = text
        .split_inclusive("-----END CERTIFICATE-----\n")
        .collect();
    let mut sets = Vec::new();
    for n in [1usize, 10, 100, 1000] {
        let file = dir.join(format!("{n}.pem"));
        fs::write(&file, blocks[..n.min(blocks.len())].concat())?;
        sets.push((n, file));
    }
    Ok(sets)
}

fn shell(script: &str) -> Result<()> {
    run_cmd(Command::new("sh").arg("-c").arg(script))
}

fn timed(command: &str, bench: &Path) -> Result<Sample> {
    let file = bench.join("time.out");
    let status = Command::new("/usr/bin/time")
        .args(["-f", "%e %U %S %M", "-o"])
        .arg(&file)
        .args(["sh", "-c", command])
        .status()?;
    if !status.success() {
        bail!("failed with {status}");
    }
    let text = fs::read_to_string(&file)?;
    let v: Vec<f64> = text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() != 4 {
        bail!("cannot read /usr/bin/time output: {text}");
    }
    Ok(Sample {
        wall: v[0],
        cpu: v[1] + v[2],
        rss_kb: v[3],
        ..Sample::default()
    })
}

/// Two loopback registries (CNCF `docker-registry`, plain HTTP), each behind a byte-counting
/// proxy (`fixtures --count-proxy`), the benchmark image pushed to the first as
/// `bench/base:bench`. Stopped when dropped.
struct Registries {
    children: Vec<std::process::Child>,
    /// `127.0.0.1:PORT` of each proxy.
    hosts: [String; 2],
    /// Each registry's storage.
    data: [PathBuf; 2],
    /// Each proxy's counter file (`UP DOWN`).
    counters: [PathBuf; 2],
}

impl Registries {
    fn start(bench: &Path, fixtures: &Path, layout: &Path) -> Result<Registries> {
        let free = || -> Result<u16> {
            Ok(std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port())
        };
        let mut children = Vec::new();
        let mut hosts = Vec::new();
        let mut data = Vec::new();
        let mut counters = Vec::new();
        for i in 0..2 {
            let dir = bench.join(format!("registry-{i}"));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir)?;
            let (port, proxy) = (free()?, free()?);
            fs::write(
                dir.join("config.yml"),
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
                    dir.join("data").display()
                ),
            )?;
            children.push(
                Command::new("docker-registry")
                    .arg("serve")
                    .arg(dir.join("config.yml"))
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()?,
            );
            let counter = dir.join("bytes");
            children.push(
                Command::new(fixtures)
                    .arg("--count-proxy")
                    .arg(proxy.to_string())
                    .arg(port.to_string())
                    .arg(&counter)
                    .spawn()?,
            );
            for p in [port, proxy] {
                let mut up = false;
                for _ in 0..200 {
                    if std::net::TcpStream::connect(("127.0.0.1", p)).is_ok() {
                        up = true;
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                if !up {
                    bail!("the benchmark registry did not start on port {p}");
                }
            }
            hosts.push(format!("127.0.0.1:{proxy}"));
            data.push(dir.join("data"));
            counters.push(counter);
        }
        let registries = Registries {
            children,
            hosts: [hosts[0].clone(), hosts[1].clone()],
            data: [data[0].clone(), data[1].clone()],
            counters: [counters[0].clone(), counters[1].clone()],
        };
        shell(&format!(
            "skopeo copy --quiet --dest-tls-verify=false oci:{}:bench docker://{}/bench/base:bench",
            layout.display(),
            registries.hosts[0]
        ))?;
        Ok(registries)
    }

    /// Bytes sent and received through both proxies so far.
    fn bytes(&self) -> (f64, f64) {
        // The proxies write their counts every 50 ms.
        std::thread::sleep(std::time::Duration::from_millis(150));
        let mut total = (0.0, 0.0);
        for file in &self.counters {
            let text = fs::read_to_string(file).unwrap_or_default();
            let v: Vec<f64> = text
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if v.len() == 2 {
                total.0 += v[0];
                total.1 += v[1];
            }
        }
        total
    }

    /// A shell command removing repository `repo` from registry `i` (its blobs stay in the
    /// registry's store, but no longer belong to that repository).
    fn forget(&self, i: usize, repo: &str) -> String {
        format!(
            "rm -rf {}/docker/registry/v2/repositories/{repo}",
            self.data[i].display()
        )
    }

    /// A shell command removing every repository of registry `i` but `keep`: no tool can then
    /// mount a base blob there from an earlier round's repository (a cold push uploads).
    fn forget_all(&self, i: usize, keep: &str) -> String {
        let repos = self.data[i].join("docker/registry/v2/repositories");
        format!(
            "for r in {r}/bench/*; do [ \"$r\" = {r}/{keep} ] || rm -rf \"$r\"; done",
            r = repos.display()
        )
    }
}

impl Drop for Registries {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The registry scenario: trustbake registry → registry (one registry and two, cold and warm)
/// against skopeo copy + bake + skopeo copy and buildah pull + build + push, with the floor of
/// downloading every base layer once.
fn registry_measures(
    r: &Registries,
    tb: &str,
    ca: &str,
    od: &str,
    digests: &[String],
    bench: &Path,
) -> Vec<Measure> {
    let (p1, p2) = (&r.hosts[0], &r.hosts[1]);
    let from = format!("docker://{p1}/bench/base:bench");
    let tls = "--src-tls-verify=false --dest-tls-verify=false";
    let bake = |to: &str, cache: &str| {
        format!(
            "{tb} bake --from {from} --to {to} --ca {ca} {tls} --cache-dir {od}/cache-{cache} >/dev/null"
        )
    };
    let fill_warm = format!(
        "[ -d {od}/cache-warm ] || {tb} bake --from {from} --to docker://{p2}/bench/unused:x --ca {ca} {tls} --cache-dir {od}/cache-warm --dry-run >/dev/null"
    );
    // sync over the base repository's one tag: after its first run, up to date.
    let sync = format!(
        "{tb} sync --from docker://{p1}/bench/base --tags '^bench$' --to 'docker://{p1}/bench/synced:{{tag}}' --ca {ca} {tls} --cache-dir {od}/cache-warm >/dev/null"
    );
    let urls: Vec<String> = digests
        .iter()
        .map(|d| format!("-o /dev/null http://{p1}/v2/bench/base/blobs/{d}"))
        .collect();
    let ctx = bench.join("buildah-registry-context");
    let _ = fs::create_dir_all(&ctx);
    let _ = fs::copy(ca, ctx.join("corp.pem"));
    let _ = fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM {p1}/bench/base:bench\nUSER 0\nCOPY corp.pem /etc/pki/ca-trust/source/anchors/corp.pem\nRUN update-ca-trust\nRUN cat /etc/pki/ca-trust/source/anchors/corp.pem >> /home/anchore/venv/lib/python3.11/site-packages/certifi/cacert.pem\nUSER 1000\n"
        ),
    );
    let b =
        format!("buildah --root {od}/breg/root --runroot {od}/breg/run --storage-driver overlay");
    vec![
        Measure {
            name: "registry floor: curl every base layer once".into(),
            setup: String::new(),
            command: format!("curl -sfZ --parallel-max 4 {}", urls.join(" ")),
        },
        Measure {
            name: "registry: trustbake, one registry, cold".into(),
            setup: format!("rm -rf {od}/cache-cold; {}", r.forget(0, "bench/corp")),
            command: bake(&format!("docker://{p1}/bench/corp:x"), "cold"),
        },
        Measure {
            name: "registry: trustbake, one registry, warm".into(),
            setup: format!("{fill_warm}; {}", r.forget(0, "bench/corp")),
            command: bake(&format!("docker://{p1}/bench/corp:x"), "warm"),
        },
        Measure {
            name: "registry: trustbake, two registries, cold".into(),
            setup: format!("rm -rf {od}/cache-cold; {}", r.forget_all(1, "bench/again")),
            command: bake(&format!("docker://{p2}/bench/corp:x"), "cold"),
        },
        Measure {
            name: "registry: trustbake, two registries, warm re-bake".into(),
            setup: format!(
                "{fill_warm}; [ -d {}/docker/registry/v2/repositories/bench/again ] || {}",
                r.data[1].display(),
                bake(&format!("docker://{p2}/bench/again:x"), "warm")
            ),
            command: bake(&format!("docker://{p2}/bench/again:x"), "warm"),
        },
        Measure {
            name: "registry floor: skopeo inspect of a tag (one manifest)".into(),
            setup: String::new(),
            command: format!(
                "skopeo inspect --raw --tls-verify=false docker://{p1}/bench/base:bench >/dev/null"
            ),
        },
        Measure {
            name: "registry: sync, a tag with nothing new (manifests only)".into(),
            setup: format!("{sync} || true"),
            command: sync.clone(),
        },
        Measure {
            name: "registry: skopeo copy + bake + skopeo copy".into(),
            setup: format!("rm -rf {od}/sk; {}", r.forget_all(1, "bench/again")),
            command: format!(
                "skopeo copy --quiet --src-tls-verify=false {from} oci:{od}/sk:bench && {tb} bake --from oci:{od}/sk:bench --to oci:{od}/sk:corp --ca {ca} --no-cache >/dev/null && skopeo copy --quiet --dest-tls-verify=false oci:{od}/sk:corp docker://{p2}/bench/skopeo:x"
            ),
        },
        Measure {
            name: "registry: buildah pull + build + push".into(),
            setup: format!("rm -rf {od}/breg; {}", r.forget_all(1, "bench/again")),
            command: format!(
                "{b} build --quiet --tls-verify=false --isolation chroot -f {c}/Containerfile -t localhost/bench:corp {c} >/dev/null && {b} push --quiet --tls-verify=false localhost/bench:corp docker://{p2}/bench/buildah:x",
                c = ctx.display()
            ),
        },
    ]
}

fn layer_blobs(layout: &Path) -> Result<Vec<PathBuf>> {
    let index = fs::read_to_string(layout.join("index.json"))?;
    let manifest_digest =
        field_after(&index, "\"digest\":\"sha256:").context("no manifest in index.json")?;
    let manifest = fs::read_to_string(layout.join("blobs/sha256").join(&manifest_digest))?;
    let layers = manifest.split("\"layers\"").nth(1).context("no layers")?;
    let mut out = Vec::new();
    for part in layers.split("\"digest\":\"sha256:").skip(1) {
        out.push(layout.join("blobs/sha256").join(&part[..64]));
    }
    Ok(out)
}

fn field_after(text: &str, marker: &str) -> Option<String> {
    text.split(marker).nth(1).map(|r| r[..64].to_owned())
}

fn total_size(blobs: &[PathBuf]) -> u64 {
    blobs
        .iter()
        .filter_map(|b| fs::metadata(b).ok())
        .map(|m| m.len())
        .sum()
}

fn uncompressed_size(blobs: &[PathBuf]) -> Result<u64> {
    let mut total = 0;
    for b in blobs {
        let out = Command::new("sh")
            .arg("-c")
            .arg("gzip -dc \"$1\" | wc -c")
            .arg("sh")
            .arg(b)
            .output()?;
        total += String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u64>()
            .unwrap_or(0);
    }
    Ok(total)
}

fn sorted(s: &[Sample], f: impl Fn(&Sample) -> f64) -> Vec<f64> {
    let mut v: Vec<f64> = s.iter().map(f).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

fn median(s: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    let v = sorted(s, f);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn min(s: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    sorted(s, f).first().copied().unwrap_or(0.0)
}

fn max(s: &[Sample], f: impl Fn(&Sample) -> f64) -> f64 {
    sorted(s, f).last().copied().unwrap_or(0.0)
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or_default().trim().to_owned())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().next().map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<u64>()
                    .unwrap_or(0)
                    / 1048576
            })
        })
        .unwrap_or(0);
    format!(
        "{cores} cores ({cpu}), {mem} GiB RAM, {}",
        fs::read_to_string("/etc/debian_version")
            .map(|v| format!("Debian {}", v.trim()))
            .unwrap_or_default()
    )
}

fn json(results: &Results, machine: &str, runs: usize) -> String {
    let mut out = format!("{{\"machine\":{machine:?},\"runs\":{runs},\"images\":[");
    for (i, (size, bytes, measures)) in results.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"size\":{size:?},\"uncompressed_bytes\":{bytes},\"measures\":["
        );
        for (j, (name, s)) in measures.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            let _ = write!(
                out,
                "{{\"name\":{name:?},\"wall_s\":{{\"median\":{:.3},\"min\":{:.3},\"max\":{:.3}}},\"cpu_s\":{{\"median\":{:.3}}},\"peak_rss_mb\":{{\"median\":{:.1},\"max\":{:.1}}},\"bytes_down\":{{\"median\":{:.0}}},\"bytes_up\":{{\"median\":{:.0}}}}}",
                median(s, |x| x.wall),
                min(s, |x| x.wall),
                max(s, |x| x.wall),
                median(s, |x| x.cpu),
                median(s, |x| x.rss_kb) / 1024.0,
                max(s, |x| x.rss_kb) / 1024.0,
                median(s, |x| x.down),
                median(s, |x| x.up)
            );
        }
        out.push_str("]}");
    }
    out.push_str("]}\n");
    out
}

/// Median wall time against uncompressed image size, one line per tool (the sized images only).
fn plot(results: &Results) -> String {
    let series = [
        "trustbake bake oci→oci",
        "floor: gzip -dc every layer",
        "skopeo copy oci→oci",
        "umoci unpack+place+repack",
        "buildah overlay warm",
        "buildah overlay cold",
    ];
    let colors = [
        "#d62728", "#7f7f7f", "#2ca02c", "#9467bd", "#1f77b4", "#17becf",
    ];
    let points: Vec<(f64, Vec<(String, f64)>)> = results
        .iter()
        .filter(|r| r.0 != "many")
        .map(|(_, bytes, m)| {
            (
                *bytes as f64 / 1073741824.0,
                m.iter()
                    .map(|(n, s)| (n.clone(), median(s, |x| x.wall)))
                    .collect(),
            )
        })
        .collect();
    let xmax = points.iter().map(|p| p.0).fold(0.1, f64::max) * 1.1;
    let ymax = points
        .iter()
        .flat_map(|p| {
            p.1.iter()
                .filter(|(n, _)| series.contains(&n.as_str()))
                .map(|x| x.1)
        })
        .fold(1.0, f64::max)
        * 1.1;
    let (w, h, left, bottom) = (720.0, 420.0, 60.0, 50.0);
    let x = |v: f64| left + v / xmax * (w - left - 200.0);
    let y = |v: f64| h - bottom - v / ymax * (h - bottom - 20.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ = writeln!(
        svg,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/><line x1=\"{left}\" y1=\"20\" x2=\"{left}\" y2=\"{}\" stroke=\"black\"/>",
        h - bottom,
        w - 200.0,
        h - bottom,
        h - bottom
    );
    for i in 0..=4 {
        let v = ymax * f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.0} s</text>",
            left - 6.0,
            y(v) + 4.0
        );
        let gv = xmax * f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{gv:.1}</text>",
            x(gv),
            h - bottom + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">image size, GiB uncompressed</text>",
        (left + w - 200.0) / 2.0,
        h - 8.0
    );
    for (k, (name, color)) in series.iter().zip(colors).enumerate() {
        let pts: Vec<String> = points
            .iter()
            .filter_map(|(gib, m)| {
                m.iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, t)| format!("{:.1},{:.1}", x(*gib), y(*t)))
            })
            .collect();
        if pts.is_empty() {
            continue;
        }
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        );
        let ly = 30.0 + 18.0 * k as f64;
        let _ = writeln!(
            svg,
            "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{color}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{name}</text>",
            w - 190.0,
            w - 170.0,
            w - 165.0,
            ly + 4.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}
