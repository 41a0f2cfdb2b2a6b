//! Seeded randomness for tests that pick random faults and moments, so a failing run
//! can be replayed with the seed it printed.

pub use rand::rngs::SmallRng;
pub use rand::{RngExt, SeedableRng};

use rand::seq::IndexedRandom;

/// One of `items`; a test picking from an empty list is a bug in the test.
pub fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("picked from an empty list")
}

/// The seed in `env_var` if set (to replay a failure), else one from the clock; printed
/// either way.
pub fn seed(env_var: &str) -> u64 {
    let seed = std::env::var(env_var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
    eprintln!("{env_var}={seed}");
    seed
}
