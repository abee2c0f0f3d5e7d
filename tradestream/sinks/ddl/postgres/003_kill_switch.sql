-- The account's trading state as the risk agent reported it on account.events (at-least-once):
-- every change, and each kill-switch episode from its trip to its reset. Natural keys only, so
-- a redelivered event writes nothing twice.

-- Every change of trading state (trips, resets, active <-> reducing), with when, why and who.
-- The key is the change itself: one episode cannot make the same move twice in one millisecond.
CREATE TABLE IF NOT EXISTS trading_state_changes (
    episode         integer NOT NULL,
    changed_ms      bigint NOT NULL,
    from_state      text NOT NULL,
    to_state        text NOT NULL,
    kind            text NOT NULL,
    trigger         text,
    reason          text NOT NULL,
    actor           text NOT NULL,
    changed_at      timestamptz NOT NULL,
    baseline_equity numeric,
    PRIMARY KEY (episode, changed_ms, from_state, to_state)
);
CREATE INDEX IF NOT EXISTS trading_state_changes_at ON trading_state_changes (changed_at);

-- One row per halt episode: opened by its trip, closed by the reset that names it. Each event
-- fills only its own columns and keeps what is there, so a trip redelivered after its reset
-- changes nothing. The closes and cancels a trip sends are commands on exec.orders, not part of
-- the event: their orders land in orders (link ids prefixed killswitch-).
CREATE TABLE IF NOT EXISTS kill_switch_episodes (
    episode      integer PRIMARY KEY CHECK (episode >= 1),
    trigger      text,
    reason       text,
    tripped_by   text,
    from_state   text,
    tripped_at   timestamptz,
    tripped_ms   bigint,
    reset_by     text,
    reset_reason text,
    resume_state text,
    reset_equity numeric,
    reset_at     timestamptz,
    reset_ms     bigint
);
