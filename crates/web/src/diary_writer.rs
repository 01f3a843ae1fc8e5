//! Group commit for the diary: entries from concurrent requests go to one writer thread, which
//! stores whatever has queued up meanwhile as one batch (`Store::add_records`: one durable
//! commit shared by the batch, each entry accepted or refused on its own). With
//! `synchronous = FULL`, a busy server then pays one `fsync` per batch instead of one per
//! entry, and no request thread blocks on the database lock. A request is answered only after
//! the commit that holds its entry: a 201 still means "on disk".

use std::sync::{Arc, OnceLock};

use quietlegs_store::{NewRecord, SqliteStore, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most entries one commit takes (a bound on the time a batch holds the write lock).
const MAX_BATCH: usize = 256;

struct QueuedEntry {
    record: NewRecord,
    reply: oneshot::Sender<Result<i64, StoreError>>,
}

/// The queue to the writer thread, started on first use.
pub(crate) struct DiaryWriter {
    store: Arc<SqliteStore>,
    queue: OnceLock<mpsc::UnboundedSender<QueuedEntry>>,
}

impl DiaryWriter {
    pub(crate) fn new(store: Arc<SqliteStore>) -> Self {
        Self {
            store,
            queue: OnceLock::new(),
        }
    }

    /// Stores `record` in the next batch; its id once the batch has committed.
    pub(crate) async fn add(&self, record: NewRecord) -> Result<i64, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue()?
            .send(QueuedEntry { record, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
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
fn write_batches(store: &SqliteStore, mut queue: mpsc::UnboundedReceiver<QueuedEntry>) {
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let (records, replies): (Vec<NewRecord>, Vec<_>) =
            batch.into_iter().map(|q| (q.record, q.reply)).unzip();
        let outcomes = store.add_records(&records);
        for (reply, outcome) in replies.into_iter().zip(outcomes) {
            // A request that went away (its client disconnected) still had its entry stored.
            let _ = reply.send(outcome);
        }
    }
}

fn stopped() -> StoreError {
    StoreError::Backend("the diary writer stopped; nothing was written".into())
}
