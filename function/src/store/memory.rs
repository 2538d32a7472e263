//! An in-memory metrics table with DynamoDB's conditional-put semantics and limits
//! (tests, benches, demos): what DynamoDB would refuse, it refuses with the same message.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::codec::Malformed;
use super::item::{self, Item};
use super::page::{Page, attr};
use super::{MetricsStore, Outcome, Write, condition};
use crate::Error;

/// The table: items by (partition key, sort key).
#[derive(Debug, Default)]
pub struct MemoryTable {
    items: Mutex<BTreeMap<(String, String), Item>>,
    /// While true, every request fails as if the service were unavailable.
    pub failing: AtomicBool,
    /// Requests for this entity fail (one hot or broken partition; others succeed).
    pub failing_entity: Mutex<Option<String>>,
    /// Billed write units so far (each put: the larger of the item before and after, per KB).
    pub write_units: AtomicU64,
    /// Puts sent so far (applied or not).
    pub puts: AtomicU64,
}

fn unavailable(what: &str) -> Error {
    Error::Metrics {
        item: what.to_owned(),
        source: "injected failure: service unavailable".into(),
    }
}

impl MemoryTable {
    fn down_for(&self, entity: &str) -> bool {
        self.failing.load(Ordering::SeqCst)
            || self
                .failing_entity
                .lock()
                .map(|e| e.as_deref() == Some(entity))
                .unwrap_or(true)
    }

    /// A copy of every item.
    pub fn snapshot(&self) -> BTreeMap<(String, String), Item> {
        self.items.lock().map(|g| g.clone()).unwrap_or_default()
    }

    /// Puts `item` as it is, unchecked: what another writer, an operator or a bug may have
    /// left in the table, for tests of how the writer treats an item it cannot read.
    pub fn plant(&self, item: Item) {
        let key = |k: &str| {
            item.get(k)
                .and_then(super::item::Av::as_s)
                .unwrap_or_default()
                .to_owned()
        };
        let at = (key(attr::PARTITION_KEY), key(attr::SORT_KEY));
        if let Ok(mut items) = self.items.lock() {
            items.insert(at, item);
        }
    }

    /// Every item read back as a page.
    pub fn pages(&self) -> Result<Vec<Page>, Malformed> {
        self.snapshot().values().map(Page::from_item).collect()
    }

    fn put_now(&self, w: &Write) -> Result<Outcome, Error> {
        let page = &w.page;
        let name = format!("{} {}", page.entity, page.sort_key());
        let new = page.to_item();
        item::check(&new, (attr::PARTITION_KEY, attr::SORT_KEY), condition(w)).map_err(
            |refusal| Error::MetricsRejected {
                item: name.clone(),
                message: refusal.0,
            },
        )?;
        let mut items = self.items.lock().map_err(|_| unavailable(&name))?;
        self.puts.fetch_add(1, Ordering::Relaxed);
        let key = (page.entity.clone(), page.sort_key());
        let old = items.get(&key);
        let old_size = old.map_or(0, item::item_size);
        let units = old_size.max(item::item_size(&new)).div_ceil(1024).max(1);
        self.write_units.fetch_add(units as u64, Ordering::Relaxed);
        let version = old.map(|i| Page::from_item(i).map(|p| p.version));
        let holds = match (w.expected, version) {
            (None, None) => true,
            (Some(v), Some(Ok(current))) => v == current,
            _ => false,
        };
        if !holds {
            let current = old
                .map(Page::from_item)
                .transpose()
                .map(|p| p.map(Box::new))
                .map_err(|e| Error::Metrics {
                    item: name,
                    source: e.into(),
                })?;
            return Ok(Outcome::Conflict(current));
        }
        items.insert(key, new);
        Ok(Outcome::Applied)
    }

    fn load_now(&self, entity: &str, window: &str) -> Result<Vec<Page>, Error> {
        if self.down_for(entity) {
            return Err(unavailable(entity));
        }
        let items = self.items.lock().map_err(|_| unavailable(entity))?;
        let mut pages = items
            .iter()
            .filter(|((e, s), _)| {
                e == entity
                    && (s == window || s.strip_prefix(window).is_some_and(|r| r.starts_with('#')))
            })
            .map(|(_, i)| Page::from_item(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Metrics {
                item: entity.to_owned(),
                source: e.into(),
            })?;
        pages.sort_by_key(|p| p.index);
        Ok(pages)
    }
}

impl MetricsStore for MemoryTable {
    fn put(&self, w: &Write) -> impl Future<Output = Result<Outcome, Error>> + Send {
        let result = if self.down_for(&w.page.entity) {
            Err(unavailable(&w.page.entity))
        } else {
            self.put_now(w)
        };
        std::future::ready(result)
    }

    fn load(
        &self,
        entity: &str,
        window: &str,
    ) -> impl Future<Output = Result<Vec<Page>, Error>> + Send {
        std::future::ready(self.load_now(entity, window))
    }
}
