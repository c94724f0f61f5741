//! Shared subscriptions: subscribers on this node that ask for the same subscription (same document, operation
//! name and variables — and, for the ledger, the same user) share one execution, so an event is resolved and
//! serialised once however many sockets wait for it.
//!
//! A group is one task running the schema's stream; it broadcasts each result, already serialised, to its
//! members. Each member forwards results into its own connection's queue under its own operation id. The group
//! ends when its last member leaves (the map holds it weakly), or when its stream ends or fails to start — it
//! then leaves the map before telling its members, so a later subscriber starts a fresh group.

use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
use futures::StreamExt;
use omnisonic_graphql::{Actor, OmnisonicSchema};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

/// Results a slow member may fall behind by before it starts missing them (at most once, like pub/sub).
const GROUP_BUFFER: usize = 64;

/// Root fields whose results depend on who asks (role-checked): their groups are per user.
const PER_USER_FIELDS: &[&str] = &["ledgerEntryCreated", "cycleCheckpointClosed"];

/// What a group broadcasts.
#[derive(Debug)]
pub enum GroupEvent {
    /// A result: the serialised GraphQL response (`payload` of a `next`).
    Next(String),
    /// The operation could not start: the serialised errors (`payload` of an `error`).
    Failed(String),
    /// The stream ended.
    Complete,
}

/// Which subscribers can share an execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupKey {
    query: String,
    operation_name: Option<String>,
    variables: String,
    /// The user, for per-user subscriptions; `None` when the result is the same for everyone.
    user: Option<uuid::Uuid>,
}

/// A running shared execution.
pub struct Group {
    sender: broadcast::Sender<Arc<GroupEvent>>,
    task: Mutex<Option<AbortHandle>>,
    key: GroupKey,
    registry: Weak<Mutex<HashMap<GroupKey, Weak<Group>>>>,
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            task.abort();
        }
        if let Some(registry) = self.registry.upgrade() {
            let mut map = registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // Only remove our own entry: a fresh group may already have taken the key.
            if map.get(&self.key).is_some_and(|w| w.strong_count() == 0) {
                map.remove(&self.key);
            }
        }
    }
}

/// The node's groups.
#[derive(Default, Clone)]
pub struct SubscriptionGroups {
    groups: Arc<Mutex<HashMap<GroupKey, Weak<Group>>>>,
}

/// A member's hold on a group: keep it as long as the subscription lives.
pub struct Membership {
    /// Keeps the group alive.
    pub group: Arc<Group>,
    /// The group's results.
    pub events: broadcast::Receiver<Arc<GroupEvent>>,
}

impl SubscriptionGroups {
    /// How many groups run now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.lock().values().filter(|g| g.strong_count() > 0).count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupKey, Weak<Group>>> {
        self.groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Joins the group for `request`, starting it when none runs; `None` when the request cannot be shared (not
    /// a subscription, or not a document we can read — it then runs on its own and reports its own errors).
    pub fn join(
        &self,
        schema: &OmnisonicSchema,
        db: &omnisonic_store::DatabaseConnection,
        request: &async_graphql::Request,
        actor: Actor,
    ) -> Option<Membership> {
        let key = key_for(request, actor)?;
        let mut map = self.lock();
        if let Some(group) = map.get(&key).and_then(Weak::upgrade) {
            let events = group.sender.subscribe();
            return Some(Membership { group, events });
        }
        let (sender, events) = broadcast::channel(GROUP_BUFFER);
        let group = Arc::new(Group {
            sender: sender.clone(),
            task: Mutex::new(None),
            key: key.clone(),
            registry: Arc::downgrade(&self.groups),
        });
        // The group runs as the key says: as the user for per-user subscriptions, anonymously otherwise.
        let runs_as = Actor(key.user);
        let mut shared = async_graphql::Request::new(key.query.clone()).variables(request.variables.clone());
        shared.operation_name = key.operation_name.clone();
        let prepared = omnisonic_graphql::prepare_subscription(shared, db, runs_as);
        let task = tokio::spawn(run_group(schema.clone(), prepared, sender, Arc::downgrade(&group), self.clone()));
        *group.task.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task.abort_handle());
        map.insert(key, Arc::downgrade(&group));
        Some(Membership { group, events })
    }

    /// Takes a group out of the map (if it is still the one there) so new subscribers start afresh.
    fn retire(&self, group: &Weak<Group>) {
        let Some(group) = group.upgrade() else { return };
        let mut map = self.lock();
        if map.get(&group.key).is_some_and(|w| w.ptr_eq(&Arc::downgrade(&group))) {
            map.remove(&group.key);
        }
    }
}

/// The key a request groups under, or `None` when it is not a subscription we can share.
fn key_for(request: &async_graphql::Request, actor: Actor) -> Option<GroupKey> {
    let document = omnisonic_graphql::limits::parse_document(&request.query).ok()?;
    let operation = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => &op.node,
        (DocumentOperations::Multiple(ops), Some(name)) => &ops.get(name)?.node,
        (DocumentOperations::Multiple(_), None) => return None,
    };
    if operation.ty != OperationType::Subscription || !document.fragments.is_empty() {
        return None;
    }
    let mut per_user = false;
    for selection in &operation.selection_set.node.items {
        match &selection.node {
            Selection::Field(field) => per_user |= PER_USER_FIELDS.contains(&field.node.name.node.as_str()),
            // Fragments at the root could hide a per-user field; such requests simply run on their own.
            _ => return None,
        }
    }
    Some(GroupKey {
        query: request.query.clone(),
        operation_name: request.operation_name.clone(),
        variables: serde_json::to_string(&request.variables).ok()?,
        user: if per_user { Some(actor.0?) } else { None },
    })
}

/// An operation's results as protocol events, each serialised once: `Next` per result, or `Failed` when the
/// first result has no data (the operation could not start: a bad document, a missing role), then `Complete`
/// when the stream ends normally.
pub fn operation_events(
    schema: &OmnisonicSchema,
    request: async_graphql::Request,
) -> impl futures::Stream<Item = GroupEvent> + Send + 'static + use<> {
    let results = schema.execute_stream(request);
    futures::stream::unfold((results, true, false), |(mut results, first, done)| async move {
        if done {
            return None;
        }
        let Some(response) = results.next().await else { return Some((GroupEvent::Complete, (results, false, true))) };
        if first && !response.errors.is_empty() && response.data == async_graphql::Value::Null {
            let errors = serde_json::to_string(&response.errors).unwrap_or_else(|_| "[]".to_owned());
            return Some((GroupEvent::Failed(errors), (results, false, true)));
        }
        let payload = serde_json::to_string(&response).unwrap_or_else(|err| {
            tracing::error!(error = %err, "could not serialise a subscription result");
            r#"{"errors":[{"message":"internal error"}]}"#.to_owned()
        });
        Some((GroupEvent::Next(payload), (results, false, false)))
    })
}

/// Runs a group's stream, broadcasting each result serialised once; the group leaves the map before its last
/// event, so later subscribers start afresh.
async fn run_group(
    schema: OmnisonicSchema,
    request: async_graphql::Request,
    sender: broadcast::Sender<Arc<GroupEvent>>,
    me: Weak<Group>,
    registry: SubscriptionGroups,
) {
    let events = operation_events(&schema, request);
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        if !matches!(event, GroupEvent::Next(_)) {
            registry.retire(&me);
        }
        let _ = sender.send(Arc::new(event));
    }
}
