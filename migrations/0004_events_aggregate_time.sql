-- One aggregate's events of one type by time: standings as of a past instant find each
-- profile's last observation by then here instead of replaying its whole stream
-- (crates/api/src/as_of.rs).
CREATE INDEX events_aggregate_time ON events (aggregate_type, aggregate_id, event_type, recorded_at);
