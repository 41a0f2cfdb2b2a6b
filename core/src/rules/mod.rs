//! The rules of an incident, in one place: who may do what ([`permissions`]), how big
//! anything from outside may be ([`limits`]), and which changes may join an incident
//! ([`changes`], checked op by op). The device checks them before it writes and when it
//! merges, the hub for everything it is sent, so both ask the same functions.

pub mod changes;
pub mod limits;
pub mod permissions;
