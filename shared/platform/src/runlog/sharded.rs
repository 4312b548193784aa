//! A durable map from record ids to small values (a learner link, an imported role), kept in the
//! run log's checkpoints — which never expire — and split into shards by the id's first byte, so
//! each stays far below DynamoDB's 400 KB item limit even for tens of thousands of records. Loaded
//! once per invocation; only the shards that changed are written back.

use super::{RunLog, RunLogError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

const SHARDS: usize = 16;

fn shard_of(id: &str) -> usize {
    id.bytes().next().map_or(0, |b| usize::from(b) % SHARDS)
}

/// Record id → value, persisted under `<name>.<shard>` checkpoints.
pub struct ShardedMap<T> {
    name: String,
    shards: Vec<BTreeMap<String, T>>,
    dirty: BTreeSet<usize>,
}

impl<T: Serialize + DeserializeOwned + PartialEq + Clone> ShardedMap<T> {
    fn key(&self, shard: usize) -> String {
        format!("{}.{shard:02}", self.name)
    }

    /// Reads every shard of the map called `name`.
    pub async fn load(runlog: &dyn RunLog, name: &str) -> Result<ShardedMap<T>, RunLogError> {
        let mut map = ShardedMap { name: name.to_string(), shards: Vec::with_capacity(SHARDS), dirty: BTreeSet::new() };
        for shard in 0..SHARDS {
            let key = map.key(shard);
            let entries = match runlog.checkpoint(&key).await? {
                Some(text) if !text.is_empty() => {
                    serde_json::from_str(&text).map_err(|e| RunLogError::Corrupt(format!("{key}: {e}")))?
                }
                _ => BTreeMap::new(),
            };
            map.shards.push(entries);
        }
        Ok(map)
    }

    /// Every entry, by id.
    pub fn all(&self) -> BTreeMap<String, T> {
        self.shards.iter().flat_map(|s| s.iter().map(|(k, v)| (k.clone(), v.clone()))).collect()
    }

    pub fn get(&self, id: &str) -> Option<&T> {
        self.shards.get(shard_of(id))?.get(id)
    }

    /// Sets an entry; a value equal to the stored one changes nothing.
    pub fn set(&mut self, id: &str, value: T) {
        let shard = shard_of(id);
        if let Some(map) = self.shards.get_mut(shard) {
            if map.get(id) != Some(&value) {
                map.insert(id.to_string(), value);
                self.dirty.insert(shard);
            }
        }
    }

    pub fn remove(&mut self, id: &str) {
        let shard = shard_of(id);
        if let Some(map) = self.shards.get_mut(shard) {
            if map.remove(id).is_some() {
                self.dirty.insert(shard);
            }
        }
    }

    /// Writes the shards that changed since the load or the last flush.
    pub async fn flush(&mut self, runlog: &dyn RunLog) -> Result<(), RunLogError> {
        for shard in std::mem::take(&mut self.dirty) {
            let text = serde_json::to_string(&self.shards[shard]).unwrap_or_default();
            runlog.save_checkpoint(&self.key(shard), &text).await?;
        }
        Ok(())
    }
}
