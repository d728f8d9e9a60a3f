-- Statistics the planner needs for the dashboards, in either layout.
-- Safe to apply more than once.

-- Days and ISO weeks (UTC) of event_time, as 50_dashboards.sql groups
-- them. Without statistics on these expressions the planner takes every
-- row for its own day, and sorts a month of rows instead of hashing a few
-- hundred groups. Statistics of a partitioned table are gathered only by
-- ANALYZE of the parent, which koreshield_maintenance() runs; a flat
-- table gets them from autovacuum.
CREATE STATISTICS IF NOT EXISTS koreshield_events_day
    ON (date_bin('1 day', event_time, timestamptz '2000-01-03 00:00+00'))
    FROM koreshield_events;
CREATE STATISTICS IF NOT EXISTS koreshield_events_week
    ON (date_bin('7 days', event_time, timestamptz '2000-01-03 00:00+00'))
    FROM koreshield_events;
