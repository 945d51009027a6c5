//! Models by name: the registry's (fetched into our cache) and GGUF files a
//! user already has from other tools, found read-only where those tools keep
//! them:
//!
//! ```text
//! Hugging Face hub cache   <hub>/models--ORG--REPO/snapshots/REV/FILE.gguf
//!                          named ORG/REPO/FILE.gguf
//! Ollama's store           <models>/manifests/HOST/NAMESPACE/MODEL/TAG  (JSON)
//!                          -> its model layer's digest sha256:HEX
//!                          -> <models>/blobs/sha256-HEX
//!                          named MODEL:TAG (NAMESPACE/MODEL:TAG outside `library`)
//! ```
//!
//! The roots are arguments ([`Stores`]): which directories a person means
//! (`$HF_HOME`, `$OLLAMA_MODELS`, ...) is for the command line to decide. We
//! never write there.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cache::Cache;
use crate::error::FetchError;
use crate::registry::{ModelSpec, REGISTRY};

/// Where other tools keep their models (either may be absent).
#[derive(Debug, Clone, Default)]
pub struct Stores {
    /// The Hugging Face hub cache: the directory holding `models--*`.
    pub hf_hub: Option<PathBuf>,
    /// Ollama's model directory: the one holding `manifests/` and `blobs/`.
    pub ollama: Option<PathBuf>,
}

/// Where a model file we can use by name comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Our cache, fetched from the registry.
    Registry,
    HuggingFace,
    Ollama,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Registry => "locallm",
            Source::HuggingFace => "hf-cache",
            Source::Ollama => "ollama",
        }
    }
}

/// A model file on this machine, and the name that selects it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub source: Source,
}

/// Every model usable by name right now: the registry's files present in
/// `cache`, then the GGUFs found in `stores`, each group sorted by name.
pub fn list(cache: &Cache, stores: &Stores) -> Vec<LocalModel> {
    let mut models: Vec<LocalModel> = REGISTRY
        .iter()
        .filter_map(|spec| {
            let path = cache.path_of(spec);
            let size = fs::metadata(&path).ok()?.len();
            Some(LocalModel {
                name: spec.name.to_string(),
                path,
                size,
                source: Source::Registry,
            })
        })
        .collect();
    let mut found = Vec::new();
    if let Some(hub) = &stores.hf_hub {
        found.extend(hf_hub_ggufs(hub));
    }
    if let Some(root) = &stores.ollama {
        found.extend(ollama_models(root));
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    models.extend(found);
    models
}

/// Why a `--model` argument selects nothing.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(
        "`{arg}` is neither a file nor a model name. Names in the registry (fetched on \
         first use): {registry}. Found on this machine: {local}"
    )]
    Unknown {
        arg: String,
        registry: String,
        local: String,
    },
    /// `arg` reads as a path (a `/` or a `.gguf` ending) and nothing is there.
    #[error("no such file: {path} (and no model found on this machine has that name)")]
    NoSuchFile { path: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
}

// ANCHOR: resolve
/// The file `arg` names: a path that exists, a registry name (fetched into
/// `cache` if missing), or a name [`list`] shows for `stores` (an Ollama name
/// without a tag means `:latest`, as in Ollama).
pub fn resolve(arg: &str, cache: &Cache, stores: &Stores) -> Result<PathBuf, ResolveError> {
    let path = Path::new(arg);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    if let Some(spec) = crate::find(arg) {
        return Ok(cache.ensure(spec)?);
    }
    let found = list(cache, stores);
    let with_tag = format!("{arg}:latest");
    if let Some(m) = found.iter().find(|m| m.name == arg || m.name == with_tag) {
        return Ok(m.path.clone());
    }
    if arg.contains(std::path::MAIN_SEPARATOR) || arg.ends_with(".gguf") {
        return Err(ResolveError::NoSuchFile {
            path: arg.to_string(),
        });
    }
    let names = |models: &mut dyn Iterator<Item = &str>| {
        let names: Vec<&str> = models.collect();
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    Err(ResolveError::Unknown {
        arg: arg.to_string(),
        registry: names(&mut REGISTRY.iter().map(|s: &ModelSpec| s.name)),
        local: names(
            &mut found
                .iter()
                .filter(|m| m.source != Source::Registry)
                .map(|m| m.name.as_str()),
        ),
    })
}
// ANCHOR_END: resolve

/// `<hub>/models--ORG--REPO/snapshots/REV/*.gguf`. A file in several
/// snapshots is listed once, from the most recently modified snapshot.
fn hf_hub_ggufs(hub: &Path) -> Vec<LocalModel> {
    let mut found: Vec<(LocalModel, std::time::SystemTime)> = Vec::new();
    for repo in read_dir(hub) {
        let dir_name = file_name(&repo);
        let Some(repo_id) = dir_name.strip_prefix("models--") else {
            continue;
        };
        // The hub writes `/` in a repository id as `--`.
        let repo_id = repo_id.replace("--", "/");
        for snapshot in read_dir(&repo.join("snapshots")) {
            let modified = fs::metadata(&snapshot).and_then(|m| m.modified());
            for file in read_dir(&snapshot) {
                let name = file_name(&file);
                if !name.ends_with(".gguf") {
                    continue;
                }
                // Files are symlinks into `blobs/`: follow them for the size.
                let Ok(meta) = fs::metadata(&file) else {
                    continue;
                };
                let model = LocalModel {
                    name: format!("{repo_id}/{name}"),
                    path: file,
                    size: meta.len(),
                    source: Source::HuggingFace,
                };
                let modified = modified.as_ref().copied().unwrap_or(std::time::UNIX_EPOCH);
                match found.iter_mut().find(|(m, _)| m.name == model.name) {
                    Some(slot) if slot.1 < modified => *slot = (model, modified),
                    Some(_) => {}
                    None => found.push((model, modified)),
                }
            }
        }
    }
    found.into_iter().map(|(m, _)| m).collect()
}

/// Ollama's manifests, each resolved to its model blob.
fn ollama_models(root: &Path) -> Vec<LocalModel> {
    let mut found = Vec::new();
    for host in read_dir(&root.join("manifests")) {
        for namespace in read_dir(&host) {
            for model in read_dir(&namespace) {
                for tag in read_dir(&model) {
                    let Some(blob) = ollama_blob(root, &tag) else {
                        continue;
                    };
                    let Ok(meta) = fs::metadata(&blob) else {
                        continue;
                    };
                    let ns = file_name(&namespace);
                    let prefix = if ns == "library" {
                        String::new()
                    } else {
                        format!("{ns}/")
                    };
                    found.push(LocalModel {
                        name: format!("{prefix}{}:{}", file_name(&model), file_name(&tag)),
                        path: blob,
                        size: meta.len(),
                        source: Source::Ollama,
                    });
                }
            }
        }
    }
    found
}

/// The blob of the layer with media type `application/vnd.ollama.image.model`
/// in the manifest at `manifest`, if it parses and the blob is there.
fn ollama_blob(root: &Path, manifest: &Path) -> Option<PathBuf> {
    let text = fs::read_to_string(manifest).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let layer = json["layers"]
        .as_array()?
        .iter()
        .find(|l| l["mediaType"] == "application/vnd.ollama.image.model")?;
    let hex = layer["digest"].as_str()?.strip_prefix("sha256:")?;
    // A digest is hex only: nothing in it can climb out of `blobs/`.
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let blob = root.join("blobs").join(format!("sha256-{hex}"));
    blob.is_file().then_some(blob)
}

/// The entries of `dir`, sorted; none if it cannot be read.
fn read_dir(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    paths.sort();
    paths
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake hub cache and Ollama store, as those tools lay them out.
    fn stores(root: &Path) -> Stores {
        let hub = root.join("hf/hub");
        let snap = hub.join("models--someone--tiny-GGUF/snapshots");
        for (rev, bytes) in [("aaa", 10), ("bbb", 20)] {
            fs::create_dir_all(snap.join(rev)).unwrap();
            fs::write(snap.join(rev).join("tiny-Q4_K_M.gguf"), vec![0u8; bytes]).unwrap();
            fs::write(snap.join(rev).join("README.md"), "not a model").unwrap();
            // Make the second snapshot the newer one.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let ollama = root.join("ollama");
        let manifest_dir = ollama.join("manifests/host.example/library/tiny");
        fs::create_dir_all(&manifest_dir).unwrap();
        fs::create_dir_all(ollama.join("blobs")).unwrap();
        fs::write(ollama.join("blobs/sha256-abc123"), vec![1u8; 30]).unwrap();
        let manifest = r#"{"schemaVersion":2,"layers":[
            {"mediaType":"application/vnd.ollama.image.template","digest":"sha256:ffff","size":5},
            {"mediaType":"application/vnd.ollama.image.model","digest":"sha256:abc123","size":30}]}"#;
        fs::write(manifest_dir.join("latest"), manifest).unwrap();
        // A manifest whose blob is missing, and one that escapes: both ignored.
        fs::write(
            manifest_dir.join("gone"),
            manifest.replace("abc123", "def456"),
        )
        .unwrap();
        fs::write(
            manifest_dir.join("evil"),
            manifest.replace("abc123", "/../../x"),
        )
        .unwrap();
        Stores {
            hf_hub: Some(hub),
            ollama: Some(ollama),
        }
    }

    #[test]
    fn finds_hub_and_ollama_models() {
        let dir = tempfile::tempdir().unwrap();
        let stores = stores(dir.path());
        let cache = Cache::new(dir.path().join("cache"));
        let found = list(&cache, &stores);
        let summary: Vec<(&str, u64, Source)> = found
            .iter()
            .map(|m| (m.name.as_str(), m.size, m.source))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "someone/tiny-GGUF/tiny-Q4_K_M.gguf",
                    20,
                    Source::HuggingFace
                ),
                ("tiny:latest", 30, Source::Ollama),
            ]
        );
        assert!(found[1].path.ends_with("blobs/sha256-abc123"));
    }

    #[test]
    fn names_resolve_and_unknown_names_list_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let stores = stores(dir.path());
        let cache = Cache::new(dir.path().join("cache"));
        let blob = dir.path().join("ollama/blobs/sha256-abc123");
        assert_eq!(resolve("tiny", &cache, &stores).unwrap(), blob);
        assert_eq!(resolve("tiny:latest", &cache, &stores).unwrap(), blob);
        let hf = resolve("someone/tiny-GGUF/tiny-Q4_K_M.gguf", &cache, &stores).unwrap();
        assert!(hf.ends_with("snapshots/bbb/tiny-Q4_K_M.gguf"));
        // A path is itself.
        assert_eq!(
            resolve(blob.to_str().unwrap(), &cache, &stores).unwrap(),
            blob
        );

        // a path that is not there is said to be one, once
        let err = resolve("/no/such/model.gguf", &cache, &stores).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no such file: /no/such/model.gguf (and no model found on this machine has that name)"
        );
        let err = resolve("nope", &cache, &stores).unwrap_err().to_string();
        assert!(err.contains("`nope`"), "{err}");
        for name in ["smollm2-135m-instruct-q4_1", "gemma3-270m", "tiny:latest"] {
            assert!(err.contains(name), "{name} missing from: {err}");
        }
    }

    #[test]
    fn missing_stores_are_empty() {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores {
            hf_hub: Some(dir.path().join("no-hub")),
            ollama: None,
        };
        assert!(list(&Cache::new(dir.path()), &stores).is_empty());
    }
}
