//! Which aggregate a record belongs to: its entity and the event-time window holding it.

use crate::extract::Observation;

/// Identifies one (entity, window) aggregate: entity and window start (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WindowKey {
    pub entity: String,
    pub window_start_ms: i64,
}

/// Start of the window holding `t_ms` (floor, also for times before 1970).
pub fn window_start(t_ms: i64, window_secs: u32) -> i64 {
    let w = i64::from(window_secs.max(1)) * 1000;
    t_ms.div_euclid(w) * w
}

/// The window key of an observation.
pub fn key_of(o: &Observation<'_>, window_secs: u32) -> WindowKey {
    WindowKey {
        entity: o.entity.to_string(),
        window_start_ms: window_start(o.event_time_ms, window_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_floor_also_before_1970() {
        assert_eq!(window_start(59_999, 60), 0);
        assert_eq!(window_start(60_000, 60), 60_000);
        assert_eq!(window_start(-1, 60), -60_000);
    }
}
