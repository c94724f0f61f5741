//! Project chores as code. `cargo xtask tidy` checks what reviewers would otherwise nag about:
//! crate boundaries (via `cargo tree`) and module headers. The same checks run as tests under `cargo test`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// A dependency rule: `krate` must not depend, directly or transitively, on any of `forbidden`.
struct Boundary {
    krate: &'static str,
    forbidden: &'static [&'static str],
    why: &'static str,
}

const BOUNDARIES: &[Boundary] = &[
    Boundary {
        krate: "omnisonic-domain",
        forbidden: &[
            "tokio",
            "async-std",
            "futures",
            "axum",
            "hyper",
            "http",
            "reqwest",
            "sea-orm",
            "sqlx",
            "async-graphql",
            "redis",
        ],
        why: "the domain is pure: types and rules, no I/O, no async runtime, no HTTP, no database",
    },
    Boundary {
        krate: "omnisonic-store",
        forbidden: &["axum", "hyper", "async-graphql", "askama", "reqwest"],
        why: "storage knows nothing of transports",
    },
    Boundary {
        krate: "omnisonic-graphql",
        forbidden: &["axum", "hyper", "askama", "tower-http"],
        why: "the GraphQL schema is transport-agnostic; HTTP is the web crate's job",
    },
    Boundary {
        krate: "omnisonic-platform",
        forbidden: &["axum", "async-graphql", "askama", "sea-orm", "sqlx", "omnisonic-store", "omnisonic-web"],
        why: "platform services (mail, storage, queues) know nothing of pages, GraphQL or our tables",
    },
    Boundary {
        krate: "omnisonic-mixdown",
        forbidden: &[
            "tokio",
            "futures",
            "axum",
            "hyper",
            "reqwest",
            "sea-orm",
            "sqlx",
            "redis",
            "async-graphql",
            "omnisonic-store",
            "omnisonic-platform",
        ],
        why: "the audio engine is a pure library: files in, a file out, no async runtime, network or database",
    },
    Boundary {
        krate: "omnisonic",
        forbidden: &["omnisonic-testkit"],
        why: "the loopback OAuth provider is a test double: only tests may depend on it",
    },
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Names of every crate `krate` depends on through normal (non-dev, non-build) edges.
fn dependency_names(krate: &str) -> Result<Vec<String>, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["tree", "--offline", "--locked", "-p", krate, "-e", "normal", "--prefix", "none", "--format", "{p}"])
        .output()
        .map_err(|e| format!("run cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo tree -p {krate} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}

/// Every violated boundary, as messages.
fn check_boundaries() -> Vec<String> {
    let mut problems = Vec::new();
    for rule in BOUNDARIES {
        match dependency_names(rule.krate) {
            Ok(deps) => {
                for bad in rule.forbidden {
                    if deps.iter().any(|d| d == bad) {
                        problems.push(format!(
                            "{} depends on {bad}: {} (see `cargo tree -p {} -i {bad}`)",
                            rule.krate, rule.why, rule.krate
                        ));
                    }
                }
            }
            Err(e) => problems.push(e),
        }
    }
    problems
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every source file starts with a `//!` header saying what the module is for.
fn check_module_headers() -> Vec<String> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["crates", "xtask/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    files
        .into_iter()
        .filter(|f| !f.components().any(|c| c.as_os_str() == "target"))
        .filter(|f| std::fs::read_to_string(f).map(|s| !s.trim_start().starts_with("//!")).unwrap_or(true))
        .map(|f| format!("{} has no `//!` module header", f.strip_prefix(&root).unwrap_or(&f).display()))
        .collect()
}

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "tidy" => {
            let problems: Vec<String> = check_boundaries().into_iter().chain(check_module_headers()).collect();
            if problems.is_empty() {
                println!("tidy: crate boundaries and module headers are in order");
                ExitCode::SUCCESS
            } else {
                for p in &problems {
                    eprintln!("tidy: {p}");
                }
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("usage: cargo xtask tidy\n\n  tidy   check crate boundaries (cargo tree) and module headers");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_boundaries_hold() {
        let problems = check_boundaries();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn the_boundary_check_can_fail() {
        // The web crate legitimately uses axum: the same check must notice it, or it checks nothing.
        let deps = dependency_names("omnisonic-web").expect("cargo tree");
        assert!(deps.iter().any(|d| d == "axum"));
    }

    #[test]
    fn every_module_has_a_header() {
        let problems = check_module_headers();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
