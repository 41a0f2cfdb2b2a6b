//! Where things happened: validated location fixes and distances between them.

mod distance;
mod fix;

pub use distance::haversine_m;
pub use fix::{AccuracyLevel, LocationFix, LocationProvider, ACCURACY_WARN_M};
