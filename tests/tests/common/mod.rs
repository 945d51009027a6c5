//! Helpers shared by the tests of the book and the README.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file of the repository, by its path from the root.
pub fn read(rel: &str) -> String {
    fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (file name, text) of every chapter of book/src (every `.md` but SUMMARY.md).
pub fn chapters() -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = fs::read_dir(repo_root().join("book/src"))
        .expect("book/src")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter(|p| !p.ends_with("SUMMARY.md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).expect("a chapter"))
        })
        .collect();
    found.sort();
    found
}

/// The package names of the workspace's members, sorted.
pub fn workspace_packages() -> Vec<String> {
    let root: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let members = root["workspace"]["members"].as_array().expect("members");
    let mut names: Vec<String> = members
        .iter()
        .map(|m| {
            let manifest: toml::Table = read(&format!("{}/Cargo.toml", m.as_str().unwrap()))
                .parse()
                .expect("a member's Cargo.toml");
            manifest["package"]["name"].as_str().unwrap().to_string()
        })
        .collect();
    names.sort();
    names
}
