//! How big anything from outside may be. The hub enforces these on every upload and
//! the device on every change it merges, so neither relies on the other's honesty;
//! the device's sync client keeps its own requests inside the per-request limits.
//!
//! Each limit is far above what the app ever writes and far below what would hurt:
//! the largest change Testigo writes is a report edit (two reports and the edit's
//! note, a few tens of KiB at most), the most ops in one change an answer with a
//! hundred choices.

/// Most bytes one change may have, once inflated. Also bounds what one change adds to
/// a response: a change bigger than a device's response budget would wedge it.
pub const MAX_CHANGE_BYTES: usize = 1 << 20;

/// Most operations in one change.
pub const MAX_OPS_PER_CHANGE: usize = 1_000;

/// Longest string value anywhere in a change, in bytes. Typed fields have their own,
/// tighter limit ([`crate::incident::MAX_TEXT_CHARS`]); this one covers the rest (a
/// report edit's note, which carries both versions of the report).
pub const MAX_STRING_BYTES: usize = 256 * 1024;

/// Highest op counter a change may reach. automerge keeps counters in 32 bits and
/// panics when one overflows, so a change ending near `u32::MAX` would make every
/// later change of two or more ops crash every replica. Because a change's first
/// counter is exactly one past its dependencies' last (checked) and a change has at
/// most [`MAX_OPS_PER_CHANGE`] ops, reaching 2^31 takes two million of the largest
/// changes allowed — no incident comes near — while the 2^31 left below `u32::MAX`
/// can never be crossed.
pub const MAX_OP_COUNTER: u64 = 1 << 31;

/// Most changes in one sync request, over all its incidents.
pub const MAX_CHANGES_PER_REQUEST: usize = 5_000;

/// Most bytes all the changes of one sync request may inflate to.
pub const MAX_CHANGE_BYTES_PER_REQUEST: u64 = 32 << 20;
