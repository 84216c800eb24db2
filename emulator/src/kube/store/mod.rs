//! The object store: every object as JSON keyed by group, resource, namespace and name, one global
//! resourceVersion counter, a bounded history of changes for watches from a resourceVersion, and
//! optional persistence to a directory. All changes go through [`Store::transact`], which holds the
//! lock for the whole read-modify-write, so handlers and controllers never race each other.

mod persist;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast;

use crate::kube::error::KubeError;
use crate::kube::meta;

/// How many past changes a watch can start from.
const HISTORY: usize = 4096;

/// Where an object lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    /// API group (`""` for core).
    pub group: String,
    /// Plural resource (`deployments`).
    pub resource: String,
    /// Namespace (`""` for cluster-scoped objects).
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl ObjectKey {
    /// Builds a key.
    pub fn new(group: &str, resource: &str, namespace: &str, name: &str) -> Self {
        Self {
            group: group.to_owned(),
            resource: resource.to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed.
    Modified,
    /// Removed.
    Deleted,
}

impl EventType {
    /// The watch event `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// Remembered changes after a resourceVersion, then the live stream.
pub type Subscription = (Vec<Arc<WatchEvent>>, broadcast::Receiver<Arc<WatchEvent>>);

/// One change, as watches deliver it.
#[derive(Debug, Clone)]
pub struct WatchEvent {
    /// What happened.
    pub kind: EventType,
    /// Which object.
    pub key: ObjectKey,
    /// The object after the change (before it, for deletions, with the deletion's resourceVersion).
    pub object: Value,
    /// resourceVersion of the change.
    pub rv: u64,
    /// The object before a modification (lets watches with selectors see objects leave them).
    pub previous: Option<Value>,
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<ObjectKey, Value>,
    rv: u64,
    history: VecDeque<Arc<WatchEvent>>,
    /// Last resourceVersion at which each (group, resource) changed: caches key on it.
    epochs: BTreeMap<(String, String), u64>,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    events: broadcast::Sender<Arc<WatchEvent>>,
    dir: Option<PathBuf>,
}

/// The objects of one cluster. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// A read-modify-write session over the store, holding its lock.
#[derive(Debug)]
pub struct Txn<'a> {
    state: MutexGuard<'a, State>,
    inner: &'a Inner,
}

impl Store {
    /// A store that lives only in memory.
    pub fn in_memory() -> Self {
        Self::with(State::default(), None)
    }

    /// Opens (or creates) a store persisted in `dir`, loading every object found there.
    ///
    /// # Errors
    /// [`KubeError::State`] when the directory cannot be read or created,
    /// [`KubeError::CorruptState`] when a file does not hold an object.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, KubeError> {
        let dir = dir.into();
        let (objects, rv) = persist::load(&dir)?;
        let state = State { objects: objects.into_iter().collect(), rv, ..State::default() };
        Ok(Self::with(state, Some(dir)))
    }

    fn with(state: State, dir: Option<PathBuf>) -> Self {
        let (events, _) = broadcast::channel(HISTORY);
        Self { inner: Arc::new(Inner { state: Mutex::new(state), events, dir }) }
    }

    /// Runs `f` with exclusive access to the store.
    pub fn transact<R>(&self, f: impl FnOnce(&mut Txn<'_>) -> R) -> R {
        let state = self.inner.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut txn = Txn { state, inner: &self.inner };
        f(&mut txn)
    }

    /// A copy of one object.
    pub fn get(&self, key: &ObjectKey) -> Option<Value> {
        self.transact(|t| t.get(key).cloned())
    }

    /// Copies of every object of a resource (in a namespace, or all with `None`).
    pub fn list(&self, group: &str, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        self.transact(|t| t.list(group, resource, namespace).into_iter().map(|(_, v)| v.clone()).collect())
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.transact(|t| t.state.rv)
    }

    /// The resourceVersion at which anything of this resource last changed.
    pub fn epoch(&self, group: &str, resource: &str) -> u64 {
        self.transact(|t| t.state.epochs.get(&(group.to_owned(), resource.to_owned())).copied().unwrap_or(0))
    }

    /// Subscribes to changes after `since`: the remembered changes newer than it, then the live
    /// stream. `Err(oldest)` when `since` is older than the history kept.
    pub fn watch_since(&self, since: u64) -> Result<Subscription, u64> {
        self.transact(|t| {
            let oldest = t.state.history.front().map_or(t.state.rv, |e| e.rv.saturating_sub(1));
            if since < oldest && since != 0 {
                return Err(oldest);
            }
            let backlog = t.state.history.iter().filter(|e| e.rv > since).cloned().collect();
            Ok((backlog, t.inner.events.subscribe()))
        })
    }
}

impl Txn<'_> {
    /// One object.
    pub fn get(&self, key: &ObjectKey) -> Option<&Value> {
        self.state.objects.get(key)
    }

    /// Every object of a resource, in key order (namespace, then name).
    pub fn list(&self, group: &str, resource: &str, namespace: Option<&str>) -> Vec<(&ObjectKey, &Value)> {
        let lo = ObjectKey::new(group, resource, namespace.unwrap_or(""), "");
        self.state
            .objects
            .range(lo..)
            .take_while(|(k, _)| {
                k.group == group && k.resource == resource && namespace.is_none_or(|ns| k.namespace == ns)
            })
            .collect()
    }

    /// Keys of every object in a namespace, any resource.
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<ObjectKey> {
        self.state.objects.keys().filter(|k| k.namespace == namespace).cloned().collect()
    }

    /// Keys of every object.
    pub fn keys(&self) -> Vec<ObjectKey> {
        self.state.objects.keys().cloned().collect()
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.rv
    }

    /// Subscribes to every change after this point (atomic with reads made in the same
    /// transaction, so a list plus this subscription misses nothing).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.inner.events.subscribe()
    }

    /// Stores an object, assigning it the next resourceVersion; returns it as stored.
    ///
    /// # Errors
    /// [`KubeError::State`] when persisting fails (the change is kept in memory).
    pub fn put(&mut self, key: &ObjectKey, mut object: Value) -> Result<Value, KubeError> {
        self.state.rv += 1;
        let rv = self.state.rv;
        meta::meta_mut(&mut object).insert("resourceVersion".into(), Value::String(rv.to_string()));
        let previous = self.state.objects.insert(key.clone(), object.clone());
        let kind = if previous.is_some() { EventType::Modified } else { EventType::Added };
        self.record(kind, key, &object, rv, previous);
        match &self.inner.dir {
            Some(dir) => persist::save(dir, key, &object, rv).map(|()| object),
            None => Ok(object),
        }
    }

    /// Removes an object; returns it (with the deletion's resourceVersion) if it existed.
    ///
    /// # Errors
    /// [`KubeError::State`] when removing its file fails.
    pub fn delete(&mut self, key: &ObjectKey) -> Result<Option<Value>, KubeError> {
        let Some(mut object) = self.state.objects.remove(key) else { return Ok(None) };
        self.state.rv += 1;
        let rv = self.state.rv;
        meta::meta_mut(&mut object).insert("resourceVersion".into(), Value::String(rv.to_string()));
        self.record(EventType::Deleted, key, &object, rv, None);
        if let Some(dir) = &self.inner.dir {
            persist::remove(dir, key, rv)?;
        }
        Ok(Some(object))
    }

    fn record(&mut self, kind: EventType, key: &ObjectKey, object: &Value, rv: u64, previous: Option<Value>) {
        self.state.epochs.insert((key.group.clone(), key.resource.clone()), rv);
        let event = Arc::new(WatchEvent { kind, key: key.clone(), object: object.clone(), rv, previous });
        if self.state.history.len() == HISTORY {
            self.state.history.pop_front();
        }
        self.state.history.push_back(event.clone());
        // Nobody watching is fine.
        let _ = self.inner.events.send(event);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn persisted_objects_survive_a_reopen() {
        let dir = std::env::temp_dir().join(format!("kube-store-{}", meta::new_uid()));
        let key = ObjectKey::new("", "configmaps", "default", "a");
        {
            let store = Store::open(&dir).expect("opens");
            store.transact(|t| t.put(&key, json!({"metadata": {"name": "a"}}))).expect("put");
            let gone = ObjectKey::new("", "configmaps", "default", "b");
            store.transact(|t| t.put(&gone, json!({"metadata": {"name": "b"}}))).expect("put");
            store.transact(|t| t.delete(&gone)).expect("delete");
        }
        let store = Store::open(&dir).expect("reopens");
        assert_eq!(
            store.get(&key).and_then(|o| o["metadata"]["resourceVersion"].as_str().map(str::to_owned)),
            Some("1".into())
        );
        assert_eq!(store.list("", "configmaps", None).len(), 1);
        assert_eq!(store.resource_version(), 3, "the counter never goes back");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn watches_replay_history_after_a_version() {
        let store = Store::in_memory();
        let key = ObjectKey::new("apps", "deployments", "default", "web");
        store.transact(|t| t.put(&key, json!({}))).expect("put");
        store.transact(|t| t.put(&key, json!({}))).expect("put");
        let (backlog, _rx) = store.watch_since(1).expect("in history");
        assert_eq!(backlog.len(), 1);
        assert_eq!(backlog[0].kind, EventType::Modified);
        assert!(store.epoch("apps", "deployments") == 2);
    }
}
