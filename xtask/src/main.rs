//! Project chores as code. `cargo xtask tidy` checks what reviewers would otherwise nag about: crate boundaries
//! (via `cargo tree`), module headers, REST routes without an OpenAPI entry, routes missing from the
//! authorization matrix, and paths named in ARCHITECTURE.md that do not exist. The same checks run as tests
//! under `cargo test`, each beside a test that shows it catching a violation.

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
        forbidden: PURE_LIBRARY_FORBIDDEN,
        why: "the audio engine is a pure library: files in, a file out, no async runtime, network or database",
    },
    Boundary {
        krate: "omnisonic-tagging",
        forbidden: PURE_LIBRARY_FORBIDDEN,
        why: "the tagger is a pure library: a dictionary and texts in, tags out, no async runtime, network or database",
    },
    Boundary {
        krate: "omnisonic-news",
        forbidden: PURE_LIBRARY_FORBIDDEN,
        why: "news documents are parsed by a pure library (fuzzed on its own): bytes in, items out, no I/O",
    },
    Boundary {
        krate: "omnisonic-app",
        forbidden: APP_FORBIDDEN,
        why: "use-cases are called the same way by pages, REST, GraphQL and the CLI: they know no transport",
    },
    Boundary {
        krate: "omnisonic",
        forbidden: &["omnisonic-testkit"],
        why: "the loopback OAuth provider is a test double: only tests may depend on it",
    },
];

/// What the pure libraries (the audio engine, the tagger, news documents) may not depend on: no async runtime,
/// network, database or our services.
const PURE_LIBRARY_FORBIDDEN: &[&str] = &[
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
];

const APP_FORBIDDEN: &[&str] =
    &["axum", "async-graphql", "askama", "tower-sessions", "utoipa", "omnisonic-web", "omnisonic-graphql"];

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
    BOUNDARIES.iter().flat_map(check_boundary).collect()
}

fn check_boundary(rule: &Boundary) -> Vec<String> {
    match dependency_names(rule.krate) {
        Ok(deps) => rule
            .forbidden
            .iter()
            .filter(|bad| deps.iter().any(|d| d == *bad))
            .map(|bad| {
                format!("{} depends on {bad}: {} (see `cargo tree -p {} -i {bad}`)", rule.krate, rule.why, rule.krate)
            })
            .collect(),
        Err(e) => vec![e],
    }
}

/// A REST route registered with a plain `.route(` is served without an OpenAPI entry: only `routes!` (which
/// reads the handler's `#[utoipa::path]`) may add one, unless the line before says `// not in OpenAPI: <why>`.
fn rest_route_problems(file: &str, text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.contains(".route(") && !line.trim_start().starts_with("//"))
        .filter(|(i, _)| !(i.checked_sub(1).is_some_and(|p| lines[p].contains("// not in OpenAPI:"))))
        .map(|(i, _)| {
            format!(
                "{file}:{}: a REST route without an OpenAPI entry: register it with `routes!(handler)`, or say why \
                 on the line before with `// not in OpenAPI: …`",
                i + 1
            )
        })
        .collect()
}

fn check_rest_routes() -> Vec<String> {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates/web/src/routes"), &mut files);
    files
        .iter()
        .flat_map(|f| {
            let name = f.strip_prefix(&root).unwrap_or(f).display().to_string();
            rest_route_problems(&name, &std::fs::read_to_string(f).unwrap_or_default())
        })
        .collect()
}

/// The route templates a source file registers: `.route("…"` literals and `#[utoipa::path(…, path = "…"`.
fn route_templates(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in [".route(\"", "path = \""] {
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            rest = &rest[at + marker.len()..];
            // Templates (askama's `path = "page.html"`) are not routes.
            if let Some(end) = rest.find('"')
                && rest.starts_with('/')
            {
                found.push(rest[..end].to_owned());
            }
        }
    }
    found
}

/// The templates the authorization matrix covers: the `ROUTES` list in `tests/api/authz.rs`.
fn matrix_templates(matrix: &str) -> Vec<String> {
    let Some(start) = matrix.find("const ROUTES") else { return Vec::new() };
    let list = &matrix[start..];
    let list = &list[..list.find("];").unwrap_or(list.len())];
    list.split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Every route in `sources` (file name, text) must be in the matrix. A router nested under a prefix registers
/// the tail only, so a template is covered when a matrix entry ends with it.
fn authz_problems(sources: &[(String, String)], matrix: &str) -> Vec<String> {
    let covered = matrix_templates(matrix);
    let mut problems = Vec::new();
    for (file, text) in sources {
        for template in route_templates(text) {
            if !covered.iter().any(|c| c == &template || c.ends_with(&template)) {
                problems.push(format!(
                    "{file}: route {template} is missing from the authorization matrix (ROUTES in \
                     crates/omnisonic/tests/api/authz.rs, with a row for each role)"
                ));
            }
        }
    }
    problems
}

fn check_authz_matrix() -> Vec<String> {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates/web/src"), &mut files);
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|f| {
            (f.strip_prefix(&root).unwrap_or(f).display().to_string(), std::fs::read_to_string(f).unwrap_or_default())
        })
        .collect();
    let matrix = std::fs::read_to_string(root.join("crates/omnisonic/tests/api/authz.rs")).unwrap_or_default();
    authz_problems(&sources, &matrix)
}

/// Paths ARCHITECTURE.md names in backticks (`crates/…`, `scripts/…`, …) must exist: a map that points nowhere
/// misleads the newcomer it is written for.
fn architecture_problems(doc: &str, exists: impl Fn(&str) -> bool) -> Vec<String> {
    let roots = ["crates/", "scripts/", "xtask/", "e2e/", "fuzz/", "docs/", ".github/", ".ci/"];
    doc.split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| roots.iter().any(|r| span.starts_with(r)) && !span.contains(['*', '<', ' ', '{']))
        .map(|span| span.trim_end_matches(['/', '.', ',', ':']))
        .filter(|path| !exists(path))
        .map(|path| format!("ARCHITECTURE.md names `{path}`, which does not exist"))
        .collect()
}

fn check_architecture() -> Vec<String> {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    architecture_problems(&doc, |path| root.join(path).exists())
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
            let problems: Vec<String> = check_boundaries()
                .into_iter()
                .chain(check_module_headers())
                .chain(check_rest_routes())
                .chain(check_authz_matrix())
                .chain(check_architecture())
                .collect();
            if problems.is_empty() {
                println!(
                    "tidy: crate boundaries, module headers, OpenAPI, authorization matrix and ARCHITECTURE.md are in order"
                );
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
    fn the_application_layer_knows_no_transport_and_the_rule_would_notice() {
        let rule = BOUNDARIES.iter().find(|r| r.krate == "omnisonic-app").expect("a rule for the app crate");
        assert!(check_boundary(rule).is_empty(), "{:?}", check_boundary(rule));
        // The same forbidden list applied to the web crate must fire.
        let web = Boundary { krate: "omnisonic-web", forbidden: APP_FORBIDDEN, why: "test" };
        let problems = check_boundary(&web);
        assert!(problems.iter().any(|p| p.contains("depends on axum")), "{problems:?}");
    }

    #[test]
    fn every_rest_route_has_an_openapi_entry() {
        let problems = check_rest_routes();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_plain_rest_route_is_caught_unless_it_says_why() {
        let bad = "OpenApiRouter::new()\n    .routes(routes!(show))\n    .route(\"/api/secret\", get(secret))\n";
        assert_eq!(rest_route_problems("x.rs", bad).len(), 1);
        let explained = "    // not in OpenAPI: signed URLs\n    .route(\"/api/files/{*key}\", get(download))\n";
        assert!(rest_route_problems("x.rs", explained).is_empty());
    }

    #[test]
    fn every_route_is_in_the_authorization_matrix() {
        let problems = check_authz_matrix();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn a_route_missing_from_the_matrix_is_caught() {
        let matrix = "const ROUTES: &[&str] = &[\"/studio\", \"/auth/signin\"];";
        let source = |text: &str| vec![("a.rs".to_owned(), text.to_owned())];
        // Nested under /auth: the tail is enough.
        assert!(authz_problems(&source(".route(\"/studio\", get(a)).route(\"/signin\", get(b))"), matrix).is_empty());
        let problems = authz_problems(&source("#[utoipa::path(get, path = \"/api/new\")]"), matrix);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("/api/new"));
    }

    #[test]
    fn architecture_names_only_paths_that_exist() {
        let problems = check_architecture();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let made_up = architecture_problems("see `crates/web/src/gone.rs` and `crates/web`", |p| p == "crates/web");
        assert_eq!(made_up, ["ARCHITECTURE.md names `crates/web/src/gone.rs`, which does not exist"]);
    }

    #[test]
    fn every_module_has_a_header() {
        let problems = check_module_headers();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}
