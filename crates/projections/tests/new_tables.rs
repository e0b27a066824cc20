//! A projector version that adds tables, deployed while the previous build serves: readers of
//! the new version find every `live.<table>` at once (the new ones filling), none fails.

use domain::AnyEvent;
use projections::runner::{builds, catch_up, start_build, ApplyFuture};
use projections::{Nudges, Projector};
use sqlx::{PgConnection, PgPool};
use store::RecordedEvent;

/// Version 1: one table.
struct V1;
/// Version 2: the same table and a new one.
struct V2;

fn nothing<'a>() -> ApplyFuture<'a> {
    Box::pin(async { Ok(()) })
}

impl Projector for V1 {
    const NAME: &'static str = "probe";
    const VERSION: i32 = 1;
    const SCHEMA_SQL: &'static str = "CREATE TABLE a (x int);";
    const TABLES: &'static [&'static str] = &["a"];
    fn apply<'a>(
        &'a self,
        _: &'a mut PgConnection,
        _: &'a RecordedEvent,
        _: AnyEvent,
        _: &'a mut Nudges,
    ) -> ApplyFuture<'a> {
        nothing()
    }
}

impl Projector for V2 {
    const NAME: &'static str = "probe";
    const VERSION: i32 = 2;
    const SCHEMA_SQL: &'static str = "CREATE TABLE a (x int); CREATE TABLE b (y int);";
    const TABLES: &'static [&'static str] = &["a", "b"];
    fn apply<'a>(
        &'a self,
        _: &'a mut PgConnection,
        _: &'a RecordedEvent,
        _: AnyEvent,
        _: &'a mut Nudges,
    ) -> ApplyFuture<'a> {
        nothing()
    }
}

/// The schema a live view reads from.
async fn view_source(pool: &PgPool, table: &str) -> Option<String> {
    sqlx::query_scalar(
        "SELECT DISTINCT table_schema::text FROM information_schema.view_table_usage
          WHERE view_schema = 'live' AND view_name = $1",
    )
    .bind(table)
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_new_table_is_readable_before_its_build_is_promoted() {
    let pool = store::testing::migrated_pool("new_tables").await;
    // Nothing is exposed before a first build is live.
    let first = start_build::<V1>(&pool).await.unwrap();
    assert_eq!(view_source(&pool, "a").await, None);
    catch_up(&pool, &V1, 100).await.unwrap();
    assert_eq!(
        view_source(&pool, "a").await,
        Some(format!("probe_b{first}"))
    );

    // Version 2 starts building: `b` is served from it at once, `a` still from version 1.
    let second = start_build::<V2>(&pool).await.unwrap();
    assert_eq!(
        view_source(&pool, "a").await,
        Some(format!("probe_b{first}"))
    );
    assert_eq!(
        view_source(&pool, "b").await,
        Some(format!("probe_b{second}"))
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM live.b")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);

    // Promotion points both at version 2 and drops version 1.
    catch_up(&pool, &V2, 100).await.unwrap();
    assert_eq!(
        view_source(&pool, "a").await,
        Some(format!("probe_b{second}"))
    );
    assert_eq!(
        view_source(&pool, "b").await,
        Some(format!("probe_b{second}"))
    );
    let all = builds(&pool).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].build, second);
}
