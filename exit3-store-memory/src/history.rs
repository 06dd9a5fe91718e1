//! The change history: each entry written under the data lock by the write it records,
//! so that a change and its entry are seen together or not at all.

use async_trait::async_trait;
use exit3_core::{
    Page, PageRequest,
    domain::{HistoryEntry, HistoryFilter, HistoryId, NewHistoryEntry},
    store::{HistoryStore, StoreError, StoreResult},
};

use crate::{Data, MemoryStore, page_of, read};

impl Data {
    /// Keeps `entry` (none: the write changed nothing worth one) with the next id.
    pub(crate) fn record(&mut self, entry: Option<NewHistoryEntry>) -> StoreResult<()> {
        let Some(entry) = entry else {
            return Ok(());
        };
        let id = HistoryId::new(self.last_history_id + 1)
            .ok_or_else(|| StoreError::other("history id overflow"))?;
        self.last_history_id = id.get();
        self.history.push(entry.into_entry(id));
        Ok(())
    }
}

#[async_trait]
impl HistoryStore for MemoryStore {
    async fn list_history(
        &self,
        filter: &HistoryFilter,
        page: PageRequest,
    ) -> StoreResult<Page<HistoryEntry>> {
        let data = read(&self.data);
        let page = page_of(
            data.history.iter().rev(),
            |e| filter.matches(e),
            |a, b| b.id.cmp(&a.id),
            page,
        );
        Ok(page.map(HistoryEntry::clone))
    }
}
