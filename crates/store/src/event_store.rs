use std::collections::HashMap;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventStore as _};
use domain::EventMetadata;
use sqlx::PgPool;

use crate::repository::{Repository, Unreadable, Unstorable};

/// How many times a command is retried when another writer appended to the same aggregate
/// between our load and our commit.
const CONFLICT_RETRIES: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum CommandError<E: std::error::Error> {
    /// The aggregate refused the command: a business rule, reported to the caller as is.
    #[error(transparent)]
    Rejected(E),
    /// Other writers kept winning the race for this aggregate.
    #[error("aggregate {0} is being changed concurrently; retry")]
    Conflict(String),
    /// The new events would not read back as PostgreSQL returns them (a number beyond f64's
    /// range, `\u0000`, ...): nothing was appended. Caused by the command's input.
    #[error(transparent)]
    Unstorable(Unstorable),
    /// A stored event of this aggregate does not decode, so no command can run on it until an
    /// operator repairs it. Never a panic.
    #[error("{0}")]
    Unreadable(String),
    #[error("event store: {0}")]
    Store(String),
}

/// Runs commands against aggregates stored in Postgres.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
}

type Framework<A> = CqrsFramework<A, PersistedEventStore<Repository, A>>;

impl EventStore {
    pub fn new(pool: PgPool) -> Self {
        EventStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn framework<A: Aggregate<Services = ()>>(&self) -> Framework<A> {
        let store = PersistedEventStore::new_event_store(Repository::new(self.pool.clone()));
        CqrsFramework::new(store, vec![], ())
    }

    /// Loads the aggregate, lets it decide, and appends the resulting events with `metadata`
    /// in one transaction. A lost race is retried from a fresh load.
    pub async fn execute<A>(
        &self,
        aggregate_id: &str,
        command: A::Command,
        metadata: &EventMetadata,
    ) -> Result<(), CommandError<A::Error>>
    where
        A: Aggregate<Services = ()>,
        A::Command: Clone,
    {
        let framework = self.framework::<A>();
        let meta: HashMap<String, String> = metadata.to_map();
        for _ in 0..CONFLICT_RETRIES {
            match framework
                .execute_with_metadata(aggregate_id, command.clone(), meta.clone())
                .await
            {
                Ok(()) => return Ok(()),
                Err(AggregateError::AggregateConflict) => continue,
                Err(AggregateError::UserError(e)) => return Err(CommandError::Rejected(e)),
                Err(other) => return Err(store_error(other)),
            }
        }
        Err(CommandError::Conflict(format!(
            "{}:{aggregate_id}",
            A::TYPE
        )))
    }

    /// The current state of an aggregate (replayed from its events).
    pub async fn load<A: Aggregate<Services = ()>>(
        &self,
        aggregate_id: &str,
    ) -> Result<A, CommandError<A::Error>> {
        let store = PersistedEventStore::<Repository, A>::new_event_store(Repository::new(
            self.pool.clone(),
        ));
        let events = store.load_events(aggregate_id).await.map_err(store_error)?;
        let mut aggregate = A::default();
        for envelope in events {
            aggregate.apply(envelope.payload);
        }
        Ok(aggregate)
    }
}

/// Sorts the store's failures into what the caller caused, what an operator must repair, and
/// what is transient.
fn store_error<E: std::error::Error>(error: AggregateError<E>) -> CommandError<E> {
    match error {
        AggregateError::UserError(e) => CommandError::Rejected(e),
        AggregateError::AggregateConflict => CommandError::Conflict("aggregate".into()),
        AggregateError::UnexpectedError(e) => match e.downcast::<Unstorable>() {
            Ok(unstorable) => CommandError::Unstorable(*unstorable),
            Err(e) => CommandError::Store(e.to_string()),
        },
        // A stored row that does not parse ([`Unreadable`]) or an event that no longer fits
        // its type: either way this aggregate's history cannot be replayed.
        AggregateError::DeserializationError(e) => {
            CommandError::Unreadable(match e.downcast::<Unreadable>() {
                Ok(unreadable) => unreadable.to_string(),
                Err(e) => format!("a stored event cannot be decoded: {e}"),
            })
        }
        other => CommandError::Store(other.to_string()),
    }
}
