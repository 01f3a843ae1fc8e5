//! Group commit for the diary: entries from concurrent requests go to one writer thread, which
//! stores whatever has queued up meanwhile as one batch (`Store::add_records`: one durable
//! commit shared by the batch, each entry accepted or refused on its own). With
//! `synchronous = FULL`, a busy server then pays one `fsync` per batch instead of one per
//! entry, and no request thread blocks on the database lock. A request is answered only after
//! the commit that holds its entry: a 201 still means "on disk".

use std::sync::{Arc, OnceLock};

use quietlegs_store::{AnyStore, NewRecord, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most entries one commit takes (a bound on the time a batch holds the write lock).
const MAX_BATCH: usize = 256;

/// One request's entries (a form may give several, such as the evening's factors): they go
/// into the same batch, so one commit makes all of them durable or none.
struct QueuedEntry {
    records: Vec<NewRecord>,
    reply: oneshot::Sender<Vec<Result<i64, StoreError>>>,
}

/// The queue to the writer thread, started on first use.
pub(crate) struct DiaryWriter {
    store: Arc<AnyStore>,
    queue: OnceLock<mpsc::UnboundedSender<QueuedEntry>>,
}

impl DiaryWriter {
    pub(crate) fn new(store: Arc<AnyStore>) -> Self {
        Self {
            store,
            queue: OnceLock::new(),
        }
    }

    /// Stores `record` in the next batch; its id once the batch has committed.
    pub(crate) async fn add(&self, record: NewRecord) -> Result<i64, StoreError> {
        self.add_all(vec![record])
            .await?
            .pop()
            .unwrap_or_else(|| Err(stopped()))
    }

    /// Stores `records` together in the next batch (one transaction); each one's outcome, in
    /// order, once the batch has committed.
    pub(crate) async fn add_all(
        &self,
        records: Vec<NewRecord>,
    ) -> Result<Vec<Result<i64, StoreError>>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue()?
            .send(QueuedEntry { records, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())
    }

    fn queue(&self) -> Result<&mpsc::UnboundedSender<QueuedEntry>, StoreError> {
        if let Some(queue) = self.queue.get() {
            return Ok(queue);
        }
        let (send, receive) = mpsc::unbounded_channel();
        let store = Arc::clone(&self.store);
        // Two first requests may race here: the loser's thread ends at once (its sender is
        // dropped unused, so its queue closes).
        std::thread::Builder::new()
            .name("quietlegs-diary-writer".into())
            .spawn(move || write_batches(&store, receive))
            .map_err(|e| StoreError::Backend(format!("cannot start the diary writer: {e}")))?;
        Ok(self.queue.get_or_init(|| send))
    }
}

/// The writer thread: waits for an entry, takes every entry queued behind it (up to
/// `MAX_BATCH`), stores them together and answers each; ends when the server's queue closes.
fn write_batches(store: &AnyStore, mut queue: mpsc::UnboundedReceiver<QueuedEntry>) {
    while let Some(first) = queue.blocking_recv() {
        let mut queued = first.records.len();
        let mut batch = vec![first];
        while queued < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => {
                    queued += next.records.len();
                    batch.push(next);
                }
                Err(_) => break,
            }
        }
        let mut records = Vec::with_capacity(queued);
        let mut replies = Vec::with_capacity(batch.len());
        for q in batch {
            replies.push((q.reply, q.records.len()));
            records.extend(q.records);
        }
        // A panic while storing must not end the thread (every later entry would then be
        // refused until a restart): this batch is answered with an error, and the next one is
        // tried. The store rolls back an unfinished transaction when it unwinds, and a
        // connection left unusable refuses every later use on its own (`StoreError::Poisoned`).
        let outcomes =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.add_records(&records)))
                .unwrap_or_else(|_| records.iter().map(|_| Err(failed())).collect());
        let mut outcomes = outcomes.into_iter();
        for (reply, count) in replies {
            // A request that went away (its client disconnected) still had its entries stored.
            let _ = reply.send(outcomes.by_ref().take(count).collect());
        }
    }
}

fn failed() -> StoreError {
    StoreError::Backend(
        "storing failed unexpectedly; look in the history before entering it again".into(),
    )
}

fn stopped() -> StoreError {
    StoreError::Backend("the diary writer stopped; nothing was written".into())
}
