use std::collections::HashMap;

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework, EventStore as _};
use domain::EventMetadata;
use postgres_es::PostgresEventRepository;
use sqlx::PgPool;

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
    #[error("event store: {0}")]
    Store(String),
}

/// Runs commands against aggregates stored in Postgres.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
}

type Framework<A> = CqrsFramework<A, PersistedEventStore<PostgresEventRepository, A>>;

impl EventStore {
    pub fn new(pool: PgPool) -> Self {
        EventStore { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    fn framework<A: Aggregate<Services = ()>>(&self) -> Framework<A> {
        postgres_es::postgres_cqrs(self.pool.clone(), vec![], ())
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
                Err(other) => return Err(CommandError::Store(other.to_string())),
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
        let store = PersistedEventStore::<PostgresEventRepository, A>::new_event_store(
            PostgresEventRepository::new(self.pool.clone()),
        );
        let events = store
            .load_events(aggregate_id)
            .await
            .map_err(|e| CommandError::Store(e.to_string()))?;
        let mut aggregate = A::default();
        for envelope in events {
            aggregate.apply(envelope.payload);
        }
        Ok(aggregate)
    }
}
