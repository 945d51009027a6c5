//! `locallm doctor`: what this machine has, and what it lacks, for running a model.
//!
//! Everything is read at run time, never assumed from the build target: the
//! CPU's vector units (`is_x86_feature_detected!`), cores (the ones this
//! process may use, as `nproc` counts them), memory (`/proc/meminfo`), free
//! disk under the model cache, the default model (re-hashed), the compiled
//! burn backends, and the largest model each quantization leaves room for
//! (the arithmetic of `locallm fits`, in `locallm-sizing`). Each problem
//! found comes with the line that fixes it. Chapter 20 is built on it.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args as ClapArgs;
use locallm_model::Backend;
use locallm_quant::{GgmlType, QuantMix};
use locallm_sizing::{ModelShape, Runtime, Weights, format_bytes, kv_cache_bytes};
use serde::Serialize;

#[derive(ClapArgs)]
pub struct Args {
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The whole report, as `--json` prints it.
#[derive(Serialize)]
pub struct Report {
    pub os: Os,
    pub cpu: Cpu,
    pub memory: Option<Memory>,
    pub disk: Disk,
    pub model: ModelCheck,
    pub backends: Backends,
    /// The largest model of each quantization that fits in the available memory.
    pub largest_model: Option<LargestModels>,
    pub problems: Vec<Problem>,
}

#[derive(Serialize)]
pub struct Os {
    /// `linux`, `macos`, `windows` (Rust's `std::env::consts::OS`).
    pub family: &'static str,
    pub arch: &'static str,
    /// `PRETTY_NAME` of `/etc/os-release`, and the kernel release (Linux only).
    pub name: Option<String>,
    pub kernel: Option<String>,
    /// A debug build decodes many times slower than a release build.
    pub release_build: bool,
}

#[derive(Serialize)]
pub struct Cpu {
    pub model: Option<String>,
    /// Cores this process may run on (`nproc`).
    pub cores: usize,
    /// Vector features, detected at run time: name and present or not.
    pub features: Vec<Feature>,
}

#[derive(Serialize)]
pub struct Feature {
    pub name: &'static str,
    pub present: bool,
    /// Whether our engine (through burn and the compiler) can use it.
    pub used: bool,
}

#[derive(Serialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub available_bytes: u64,
}

#[derive(Serialize)]
pub struct Disk {
    /// Where models are kept (`$LOCALLM_HOME`, default `~/.cache/locallm`).
    pub cache_dir: PathBuf,
    pub free_bytes: Option<u64>,
}

#[derive(Serialize)]
pub struct ModelCheck {
    pub name: &'static str,
    pub path: PathBuf,
    pub present: bool,
    /// `None` when absent; otherwise whether size and SHA-256 match.
    pub verified: Option<bool>,
}

#[derive(Serialize)]
pub struct Backends {
    pub compiled: Vec<&'static str>,
    pub default: Option<String>,
}

#[derive(Serialize)]
pub struct LargestModels {
    /// Held back from the available memory for KV cache and scratch.
    pub reserve_bytes: u64,
    pub by_quant: Vec<Largest>,
}

#[derive(Serialize)]
pub struct Largest {
    pub quant: &'static str,
    pub bits_per_weight: f64,
    pub params: u64,
}

#[derive(Serialize)]
pub struct Problem {
    pub problem: String,
    pub fix: String,
}

pub fn run(args: Args) -> Result<()> {
    let report = diagnose();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// Looks at this machine (reads files, hashes the model; changes nothing).
pub fn diagnose() -> Report {
    let os = os();
    let cpu = cpu();
    let memory = memory();
    let cache_dir = locallm_models::cache_dir();
    let disk = Disk {
        free_bytes: free_disk(&cache_dir),
        cache_dir,
    };
    let model = model_check();
    let compiled: Vec<&str> = Backend::compiled().into_iter().map(Backend::name).collect();
    let backends = Backends {
        // the one LOCALLM_BACKEND names, if it is valid and any is compiled in
        default: (crate::loaded::load_options().ok())
            .filter(|_| !compiled.is_empty())
            .map(|o| o.backend.to_string()),
        compiled,
    };
    let largest_model = memory.as_ref().map(|m| LargestModels {
        reserve_bytes: reserve_for_cache(),
        by_quant: largest_models(m.available_bytes),
    });
    let mut report = Report {
        os,
        cpu,
        memory,
        disk,
        model,
        backends,
        largest_model,
        problems: Vec::new(),
    };
    report.problems = problems(&report);
    report
}

fn os() -> Os {
    let read = |p: &str| std::fs::read_to_string(p).ok();
    let name = read("/etc/os-release").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
    });
    Os {
        family: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        name,
        kernel: read("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()),
        release_build: !cfg!(debug_assertions),
    }
}

// ANCHOR: cpu_features
/// The CPU's vector units, asked of the CPU itself (CPUID on x86): a binary
/// built for plain x86-64 runs everywhere, so what matters is what this CPU
/// has. AMX is read from the kernel's flags: it is reported, but nothing in
/// our engine uses it.
fn cpu_features(flags: &str) -> Vec<Feature> {
    let has_flag = |f: &str| flags.split_whitespace().any(|x| x == f);
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let f = |name, present| Feature {
            name,
            present,
            used: true,
        };
        v.push(f("avx2", std::arch::is_x86_feature_detected!("avx2")));
        v.push(f("fma", std::arch::is_x86_feature_detected!("fma")));
        v.push(f("f16c", std::arch::is_x86_feature_detected!("f16c")));
        v.push(f("avx512f", std::arch::is_x86_feature_detected!("avx512f")));
    }
    #[cfg(target_arch = "aarch64")]
    {
        let neon = std::arch::is_aarch64_feature_detected!("neon");
        v.push(Feature {
            name: "neon",
            present: neon,
            used: true,
        });
        let dotprod = std::arch::is_aarch64_feature_detected!("dotprod");
        v.push(Feature {
            name: "dotprod",
            present: dotprod,
            used: true,
        });
    }
    v.push(Feature {
        name: "amx",
        present: has_flag("amx_tile"),
        used: false,
    });
    v
}
// ANCHOR_END: cpu_features

fn cpu() -> Cpu {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| {
        info.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    };
    Cpu {
        model: field("model name").or_else(|| field("Model")),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        features: cpu_features(&field("flags").unwrap_or_default()),
    }
}

/// `MemTotal` and `MemAvailable` of `/proc/meminfo` (Linux); `None` elsewhere.
fn memory() -> Option<Memory> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// The kernel reports kB meaning KiB.
pub fn parse_meminfo(text: &str) -> Option<Memory> {
    let kib = |key: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        let n = line[key.len()..].trim().trim_end_matches("kB").trim();
        n.parse::<u64>().ok()?.checked_mul(1024)
    };
    Some(Memory {
        total_bytes: kib("MemTotal:")?,
        available_bytes: kib("MemAvailable:")?,
    })
}

/// Free space for an unprivileged user on the file system of `dir`, or of
/// its nearest existing parent (the cache may not exist yet).
fn free_disk(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    statvfs_free(existing)
}

#[cfg(unix)]
fn statvfs_free(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    (st.f_bavail as u64).checked_mul(st.f_frsize as u64)
}

#[cfg(not(unix))]
fn statvfs_free(_path: &Path) -> Option<u64> {
    None
}

fn model_check() -> ModelCheck {
    let spec = locallm_models::DEFAULT_CHAT_MODEL;
    let path = locallm_models::model_path(spec);
    let present = path.is_file();
    let verified = present.then(|| locallm_models::verify(&path, spec).is_ok());
    ModelCheck {
        name: spec.name,
        path,
        present,
        verified,
    }
}

// ANCHOR: largest
/// What a model needs besides its weights, reserved before sizing them: the
/// f16 KV cache, scratch and program of a Llama-3-8B-shaped model (32
/// layers, 8 KV heads of 128) at 4,096 tokens in llama.cpp, the runtime most
/// people run large models with: 512 MiB of cache, 256 MiB of scratch (one
/// layer's attention scores for a 512-token batch) and 32 MiB of program.
pub fn reserve_for_cache() -> u64 {
    let shape = ModelShape {
        n_params: 8_030_261_248,
        n_layers: 32,
        n_heads: 32,
        n_kv_heads: 8,
        head_dim: 128,
        n_vocab: 128_256,
        n_ctx_train: None,
    };
    let ctx = 4096;
    let kv = kv_cache_bytes(&shape, ctx, GgmlType::F16, GgmlType::F16).unwrap_or(0);
    let runtime = Runtime::LlamaCpp;
    kv + runtime.scratch_bytes(&shape, ctx) + runtime.program_bytes()
}

/// For each quantization, the most parameters whose weights fit in
/// `available` bytes next to [`reserve_for_cache`].
pub fn largest_models(available: u64) -> Vec<Largest> {
    use QuantMix::*;
    let budget = available.saturating_sub(reserve_for_cache());
    [F16, Q8_0, Q6_K, Q5_K_M, Q4_K_M, Q4_0, Q3_K_M, Q2_K]
        .into_iter()
        .map(|mix| {
            let bits = Weights::of_mix(1, mix).bits_per_weight;
            Largest {
                quant: mix.name(),
                bits_per_weight: bits,
                params: (budget as f64 * 8.0 / bits) as u64,
            }
        })
        .collect()
}
// ANCHOR_END: largest

fn problems(r: &Report) -> Vec<Problem> {
    let mut p = Vec::new();
    let mut add = |problem: String, fix: &str| {
        p.push(Problem {
            problem,
            fix: fix.to_string(),
        })
    };
    let path = r.model.path.display();
    match r.model.verified {
        None => add(
            format!("the default model is not at {path}"),
            "run `locallm pull` (it fetches and verifies it)",
        ),
        Some(false) => add(
            format!("{path} does not match its SHA-256"),
            &format!("delete {path} and run `locallm pull`"),
        ),
        Some(true) => {}
    }
    if !r.os.release_build {
        add(
            "this is a debug build: decoding is several times slower".into(),
            "build with `cargo build --release -p locallm-cli`",
        );
    }
    let lacks = |name: &str| r.cpu.features.iter().any(|f| f.name == name && !f.present);
    if cfg!(target_arch = "x86_64") && lacks("avx2") {
        add(
            "the CPU has no AVX2: matrix products run 8 floats at a time at best".into(),
            "expect a few times lower tokens/s; prefer the smallest model and a 4-bit quant",
        );
    }
    let spec = locallm_models::DEFAULT_CHAT_MODEL;
    match &r.memory {
        Some(m) if m.available_bytes < 4 * spec.size => add(
            format!(
                "only {} of memory is available",
                format_bytes(m.available_bytes)
            ),
            "close programs, or check a model with `locallm fits --memory SIZE` first",
        ),
        Some(_) => {}
        None => add(
            "cannot read the memory size (no /proc/meminfo)".into(),
            "check it by hand and run `locallm fits --memory SIZE`",
        ),
    }
    match r.disk.free_bytes {
        Some(free) if free < 2 * spec.size => add(
            format!("only {} free under the model cache", format_bytes(free)),
            "free some disk, or point LOCALLM_HOME at a larger disk",
        ),
        _ => {}
    }
    if r.backends.compiled.is_empty() {
        add(
            "no burn backend compiled in".into(),
            "build with `--features flex` (the default)",
        );
    }
    p
}

fn print_report(r: &Report) {
    let os = &r.os;
    let name = os.name.as_deref().unwrap_or(os.family);
    let kernel = os
        .kernel
        .as_deref()
        .map_or(String::new(), |k| format!(", kernel {k}"));
    let build = if os.release_build { "release" } else { "debug" };
    println!(
        "os        {name} ({} {}){kernel}; {build} build",
        os.family, os.arch
    );
    let cpu = &r.cpu;
    println!("cpu       {}", cpu.model.as_deref().unwrap_or("unknown"));
    println!("cores     {}", cpu.cores);
    let features: Vec<String> = cpu
        .features
        .iter()
        .map(|f| {
            let mark = if f.present { "yes" } else { "no" };
            let note = if f.used { "" } else { " (not used)" };
            format!("{} {mark}{note}", f.name)
        })
        .collect();
    println!("features  {}", features.join(", "));
    match &r.memory {
        Some(m) => println!(
            "memory    {} total, {} available",
            format_bytes(m.total_bytes),
            format_bytes(m.available_bytes)
        ),
        None => println!("memory    unknown"),
    }
    let free = r.disk.free_bytes.map_or("unknown".into(), format_bytes);
    println!("disk      {free} free under {}", r.disk.cache_dir.display());
    let state = match r.model.verified {
        None => "missing",
        Some(true) => "present, sha256 verified",
        Some(false) => "present, sha256 MISMATCH",
    };
    println!("model     {} {state}", r.model.path.display());
    let default = r.backends.default.as_deref().unwrap_or("none");
    println!(
        "backends  {} (default {default})",
        r.backends.compiled.join(", ")
    );
    if let Some(largest) = &r.largest_model {
        println!();
        println!(
            "largest model that fits the available memory (weights, plus {} for",
            format_bytes(largest.reserve_bytes)
        );
        println!(
            "an 8B-shaped model's f16 KV cache, scratch and program in llama.cpp at 4,096 tokens):"
        );
        for l in &largest.by_quant {
            println!(
                "  {:<7} {:>5.2} bits/weight  {:>7.1}B parameters",
                l.quant,
                l.bits_per_weight,
                l.params as f64 / 1e9
            );
        }
    }
    println!();
    if r.problems.is_empty() {
        println!("no problems found");
    }
    for p in &r.problems {
        println!("problem: {}", p.problem);
        println!("    fix: {}", p.fix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_parsed_in_kib() {
        let text = "MemTotal:       24576000 kB\nMemFree: 1 kB\nMemAvailable:   1024 kB\n";
        let m = parse_meminfo(text).unwrap();
        assert_eq!(m.total_bytes, 24_576_000 * 1024);
        assert_eq!(m.available_bytes, 1024 * 1024);
        assert!(parse_meminfo("MemTotal: x kB").is_none());
    }

    #[test]
    fn fewer_bits_fit_more_parameters() {
        let rows = largest_models(16 << 30);
        let q8 = rows.iter().find(|r| r.quant == "Q8_0").unwrap();
        // (16 GiB - reserve) × 8 / 8.5 bits
        let expect = ((16u64 << 30) - reserve_for_cache()) as f64 * 8.0 / 8.5;
        assert_eq!(q8.params, expect as u64);
        assert!(rows.windows(2).all(|w| w[0].params <= w[1].params));
        assert!(largest_models(0).iter().all(|r| r.params == 0));
    }
}
