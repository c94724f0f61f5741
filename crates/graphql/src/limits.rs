//! Bounds on what one GraphQL request may cost, enforced on every path that runs a document (HTTP, the WebSocket
//! transport, shared subscriptions), because every one of them is reachable anonymously.
//!
//! The order matters:
//! 1. **Before the parser** ([`check_source`]): the document's size and how deeply `[`, `{` and `(` nest. The
//!    parser recurses once per nesting level, so a 4 KB document of nested lists overflowed its stack and aborted
//!    the whole process; depth and complexity limits only run after parsing, too late.
//! 2. **After parsing, before validation** ([`check_document`]): how many fields the document selects (fragments
//!    counted once per spread, memoised, so a fragment "bomb" is counted cheaply), how many of them are aliased,
//!    and how many introspection roots it asks for. A thousand aliases of one cheap field passed the complexity
//!    limit while each ran a database scan; six hundred aliased `__schema` answered 5.8 MB.
//! 3. **While executing** ([`RequestLimits`], an async-graphql extension): at most
//!    [`MAX_CONCURRENT_ROOT_FIELDS`] root fields of one request run at once (each holds a pool connection while it
//!    queries), every request shares [`RequestLimits::shared`]'s budget of root fields in flight with all others
//!    (so GraphQL can never take the whole pool from pages, health checks and workers), and a request that runs
//!    longer than [`MAX_EXECUTION_TIME`] is stopped with a `TIMEOUT` error.

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextResolve, ResolveInfo,
};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Pos, Positioned, Response, ServerError, ServerResult, Value, Variables};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Largest document, in bytes (the HTTP body limit is the same; the WebSocket's message limit is larger).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Deepest nesting of `[`, `{` and `(` a document may have: selections (depth 12) and input values need far less.
pub const MAX_NESTING: usize = 48;
/// Most field selections one document may make, fragments counted once per spread.
pub const MAX_FIELDS: usize = 600;
/// Most aliased fields one document may have.
pub const MAX_ALIASES: usize = 60;
/// Most `__schema` selections per document (GraphiQL needs one).
pub const MAX_SCHEMA_INTROSPECTIONS: usize = 1;
/// Most `__type` selections per document.
pub const MAX_TYPE_INTROSPECTIONS: usize = 10;
/// Root fields of one request that may run at once.
pub const MAX_CONCURRENT_ROOT_FIELDS: usize = 2;
/// Longest a query or mutation may run before it is stopped.
pub const MAX_EXECUTION_TIME: Duration = Duration::from_secs(10);

/// The `extensions.code` of errors from these limits.
pub const LIMIT_CODE: &str = "REQUEST_TOO_COMPLEX";
/// The `extensions.code` of a request stopped after [`MAX_EXECUTION_TIME`].
pub const TIMEOUT_CODE: &str = "TIMEOUT";

fn coded_error(code: &str, message: impl Into<String>, pos: Option<Pos>) -> ServerError {
    let mut error = ServerError::new(message, pos);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

fn limit_error(message: impl Into<String>) -> ServerError {
    coded_error(LIMIT_CODE, message, None)
}

/// Checks a document's text before it is parsed: its size and its nesting of brackets, braces and parentheses
/// outside strings and comments.
///
/// The scan follows GraphQL's lexical grammar for the parts that can hide brackets: strings (`"…"` with `\`
/// escapes), block strings (`"""…"""`, where `\"""` does not end them) and comments (`#` to the end of the line).
/// Where it and the parser could disagree (an unterminated string), the parser fails at that token before it can
/// reach any nesting behind it.
pub fn check_source(query: &str) -> Result<(), ServerError> {
    if query.len() > MAX_DOCUMENT_BYTES {
        return Err(limit_error(format!(
            "the document is {} bytes; at most {MAX_DOCUMENT_BYTES} are accepted",
            query.len()
        )));
    }
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' | b'(' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(limit_error(format!(
                        "the document nests brackets, braces or parentheses more than {MAX_NESTING} deep"
                    )));
                }
            }
            b']' | b'}' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Parses a document after [`check_source`]: the only way this code base turns text into a GraphQL document.
pub fn parse_document(query: &str) -> Result<ExecutableDocument, ServerError> {
    check_source(query)?;
    async_graphql::parser::parse_query(query).map_err(ServerError::from)
}

/// What a document selects, fragments expanded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Selections {
    /// Field selections.
    pub fields: usize,
    /// Aliased field selections.
    pub aliases: usize,
    /// `__schema` selections.
    pub schema: usize,
    /// `__type` selections.
    pub types: usize,
}

impl Selections {
    fn add(&mut self, other: Selections) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.schema = self.schema.saturating_add(other.schema);
        self.types = self.types.saturating_add(other.types);
    }

    fn over_limit(&self) -> bool {
        self.fields > MAX_FIELDS
            || self.aliases > MAX_ALIASES
            || self.schema > MAX_SCHEMA_INTROSPECTIONS
            || self.types > MAX_TYPE_INTROSPECTIONS
    }
}

/// Counts what a parsed document selects, every operation and every spread of a fragment included.
pub fn count_selections(document: &ExecutableDocument) -> Selections {
    let mut counter = Counter { document, memo: HashMap::new(), visiting: Vec::new() };
    let mut total = Selections::default();
    for (_, operation) in document.operations.iter() {
        total.add(counter.selection_set(&operation.node.selection_set));
        if total.over_limit() {
            break;
        }
    }
    total
}

struct Counter<'d> {
    document: &'d ExecutableDocument,
    memo: HashMap<&'d str, Selections>,
    visiting: Vec<&'d str>,
}

impl<'d> Counter<'d> {
    fn selection_set(&mut self, set: &'d Positioned<SelectionSet>) -> Selections {
        let mut total = Selections::default();
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    total.add(Selections {
                        fields: 1,
                        aliases: usize::from(field.alias.is_some()),
                        schema: usize::from(field.name.node == "__schema"),
                        types: usize::from(field.name.node == "__type"),
                    });
                    total.add(self.selection_set(&field.selection_set));
                }
                Selection::InlineFragment(fragment) => total.add(self.selection_set(&fragment.node.selection_set)),
                Selection::FragmentSpread(spread) => total.add(self.fragment(spread.node.fragment_name.node.as_str())),
            }
            // Stop early: a document far over the limit is refused anyway, and counting it all would be the work
            // the limit exists to avoid.
            if total.over_limit() {
                break;
            }
        }
        total
    }

    fn fragment(&mut self, name: &'d str) -> Selections {
        if let Some(known) = self.memo.get(name) {
            return *known;
        }
        // A cycle is a validation error reported later; it adds nothing here.
        if self.visiting.contains(&name) {
            return Selections::default();
        }
        let Some(fragment) = self.document.fragments.get(name) else { return Selections::default() };
        self.visiting.push(name);
        let counted = self.selection_set(&fragment.node.selection_set);
        self.visiting.pop();
        self.memo.insert(name, counted);
        counted
    }
}

/// Refuses a parsed document that selects more than the limits allow.
pub fn check_document(document: &ExecutableDocument) -> Result<(), ServerError> {
    let counted = count_selections(document);
    if counted.fields > MAX_FIELDS {
        return Err(limit_error(format!("the document selects more than {MAX_FIELDS} fields")));
    }
    if counted.aliases > MAX_ALIASES {
        return Err(limit_error(format!("the document has more than {MAX_ALIASES} aliased fields")));
    }
    if counted.schema > MAX_SCHEMA_INTROSPECTIONS {
        return Err(limit_error(format!("the document may select __schema at most {MAX_SCHEMA_INTROSPECTIONS} time")));
    }
    if counted.types > MAX_TYPE_INTROSPECTIONS {
        return Err(limit_error(format!("the document may select __type at most {MAX_TYPE_INTROSPECTIONS} times")));
    }
    Ok(())
}

/// The extension that applies these limits inside async-graphql, so no path can run a document without them.
#[derive(Clone)]
pub struct RequestLimits {
    shared: Arc<Semaphore>,
}

impl RequestLimits {
    /// Limits whose root fields in flight, across all requests, are at most `shared_root_fields` (at least 1).
    pub fn new(shared_root_fields: usize) -> Self {
        Self { shared: Arc::new(Semaphore::new(shared_root_fields.max(1))) }
    }
}

impl ExtensionFactory for RequestLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestLimitsExtension {
            own: Semaphore::new(MAX_CONCURRENT_ROOT_FIELDS),
            shared: self.shared.clone(),
        })
    }
}

/// One request's instance: its own budget of root fields, and the shared one.
struct RequestLimitsExtension {
    own: Semaphore,
    shared: Arc<Semaphore>,
}

#[async_trait::async_trait]
impl Extension for RequestLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        check_source(query)?;
        let document = next.run(ctx, query, variables).await?;
        check_document(&document)?;
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        match tokio::time::timeout(MAX_EXECUTION_TIME, next.run(ctx, operation_name)).await {
            Ok(response) => response,
            Err(_) => {
                tracing::warn!(
                    operation = operation_name.unwrap_or(""),
                    "GraphQL request stopped after its time budget"
                );
                let message =
                    format!("the request ran longer than {} seconds and was stopped", MAX_EXECUTION_TIME.as_secs());
                Response::from_errors(vec![coded_error(TIMEOUT_CODE, message, Some(Pos::default()))])
            }
        }
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        // Only root fields queue: a nested field runs inside its root's permits (queueing it too could deadlock).
        if info.path_node.parent.is_some() || info.is_for_introspection {
            return next.run(ctx, info).await;
        }
        let closed = |_| ServerError::new("the server is shutting down", None);
        let _own = self.own.acquire().await.map_err(closed)?;
        let _shared = self.shared.acquire().await.map_err(closed)?;
        next.run(ctx, info).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(open: &str, close: &str, depth: usize) -> String {
        format!(
            "{{ recordings(first: 1, search: {}\"x\"{}) {{ totalCount }} }}",
            open.repeat(depth),
            close.repeat(depth)
        )
    }

    #[test]
    fn nesting_is_refused_before_parsing_at_its_edge() {
        // The selection set and the argument list take two levels.
        assert!(check_source(&nested("[", "]", MAX_NESTING - 2)).is_ok());
        assert!(check_source(&nested("[", "]", MAX_NESTING - 1)).is_err());
        let deep = nested("[", "]", 100_000);
        let err = parse_document(&deep).expect_err("refused");
        assert_eq!(err.extensions.as_ref().and_then(|e| e.get("code")), Some(&Value::from(LIMIT_CODE)));
        assert!(check_source(&nested("{a:", "}", 5_000)).is_err());
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let hidden = "[".repeat(10_000);
        assert!(check_source(&format!("{{ a(s: \"{hidden}\") }}")).is_ok());
        assert!(check_source(&format!("{{ a(s: \"\"\"{hidden} \\\"\"\" {hidden}\"\"\") }}")).is_ok());
        assert!(check_source(&format!("# {hidden}\n{{ a }}")).is_ok());
        assert!(check_source(&format!("{{ a(s: \"\\\"{hidden}\") }}")).is_ok());
        // A string ended by a newline (invalid) does not hide what follows it.
        assert!(check_source(&format!("{{ a(s: \"x\n{hidden}")).is_err());
        assert!(check_source(&"x".repeat(MAX_DOCUMENT_BYTES + 1)).is_err());
    }

    #[test]
    fn aliases_fields_and_introspection_are_counted_with_fragments() {
        let aliases = |n: usize| {
            let body: String = (0..n).map(|i| format!("a{i}: apiVersion ")).collect();
            parse_document(&format!("{{ {body} }}")).expect("parses")
        };
        assert!(check_document(&aliases(MAX_ALIASES)).is_ok());
        assert!(check_document(&aliases(MAX_ALIASES + 1)).is_err());

        // A fragment bomb: each level spreads the one below twice, 2^20 fields in a few hundred bytes.
        let mut doc = String::from("query { ...F0 }\nfragment F20 on Query { apiVersion }\n");
        for i in 0..20 {
            doc.push_str(&format!("fragment F{i} on Query {{ ...F{n} ...F{n} }}\n", n = i + 1));
        }
        let counted = count_selections(&parse_document(&doc).expect("parses"));
        assert!(counted.fields > MAX_FIELDS, "{counted:?}");

        let twice = parse_document("{ a: __schema { queryType { name } } b: __schema { queryType { name } } }");
        assert!(check_document(&twice.expect("parses")).is_err());
        let once = parse_document("{ __schema { queryType { name } } }").expect("parses");
        assert!(check_document(&once).is_ok());
    }

    #[test]
    fn graphiql_introspection_fits() {
        let query = include_str!("../testdata/introspection.graphql");
        let document = parse_document(query).expect("parses");
        assert!(check_document(&document).is_ok(), "{:?}", count_selections(&document));
    }
}
