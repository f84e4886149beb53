//! The one place that reads the wall clock; everything else gets time passed in
//! (`clippy.toml` bans the clock functions elsewhere).

/// Seconds since the Unix epoch, for lease timestamps and uptime.
#[allow(clippy::disallowed_methods)]
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Microseconds since the Unix epoch, for statistic samples (Kea ARM 8.9 timestamps).
#[allow(clippy::disallowed_methods)]
pub fn unix_now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A monotonic instant, for timers.
#[allow(clippy::disallowed_methods)]
pub fn monotonic_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// Local time as Kea prints it in logs: `2026-11-26 04:29:16.073`.
#[allow(clippy::disallowed_methods)]
pub fn local_timestamp() -> String {
    chrono::Local::now().format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

/// The wall-clock time source the server's packet path and timers read, passed in so tests
/// can run them on virtual time (design.md "engine": time is an argument).
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn unix_now(&self) -> u64;
    /// Microseconds since the Unix epoch (statistic samples); whole seconds unless the clock
    /// knows better.
    fn unix_now_us(&self) -> u64 {
        self.unix_now().saturating_mul(1_000_000)
    }
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> u64 {
        unix_now()
    }

    fn unix_now_us(&self) -> u64 {
        unix_now_us()
    }
}
