//! The rules of a change's header: who made it, how big it is, and where its op
//! counters and sequence number sit relative to what it depends on.

use automerge::{ActorId, Change};

use super::{Refusal, Validator, Writer};
use crate::ids::DeviceId;
use crate::rules::limits::{MAX_CHANGE_BYTES, MAX_OPS_PER_CHANGE, MAX_OP_COUNTER};

/// What the rest of the checks need from the header.
pub(crate) struct Header {
    pub actor: ActorId,
    pub device: DeviceId,
    pub start_op: u64,
    /// The change has no dependencies: it must create the incident.
    pub creating: bool,
}

pub(crate) fn check(
    validator: &mut Validator<'_>,
    change: &Change,
    writer: Writer<'_>,
) -> Result<Header, Refusal> {
    let actor = change.actor_id().clone();
    let device = DeviceId::from_actor(&actor)
        .ok_or_else(|| Refusal::new(format!("made by actor {actor}, which is not a device")))?;
    if let Writer::Enrolled { device: sender, .. } = writer {
        if &device != sender {
            return Err(Refusal::new(format!(
                "made by actor {actor}, which is not the sending device"
            )));
        }
    }
    if !change.extra_bytes().is_empty() {
        return Err(Refusal::new(
            "carries extra header bytes (an author), which incidents do not use",
        ));
    }
    if change.is_empty() {
        return Err(Refusal::new("has no operations"));
    }
    if change.len() > MAX_OPS_PER_CHANGE {
        return Err(Refusal::new(format!(
            "has {} operations; a change may have at most {MAX_OPS_PER_CHANGE}",
            change.len()
        )));
    }
    if change.raw_bytes().len() > MAX_CHANGE_BYTES {
        return Err(Refusal::new(format!(
            "is {} bytes; a change may be at most {MAX_CHANGE_BYTES}",
            change.raw_bytes().len()
        )));
    }

    let mut deps_max_op = 0;
    for dep in change.deps() {
        let max_op = validator.max_op_of(dep).ok_or_else(|| {
            Refusal::new(format!(
                "depends on {dep}, which the receiver does not have"
            ))
        })?;
        deps_max_op = deps_max_op.max(max_op);
    }
    let creating = change.deps().is_empty();
    let start_op = change.start_op().get();
    if start_op != deps_max_op + 1 {
        return Err(Refusal::new(format!(
            "starts at op counter {start_op}, but its dependencies end at {deps_max_op}: \
             a change's first op comes right after them"
        )));
    }
    if change.max_op() > MAX_OP_COUNTER {
        return Err(Refusal::new(format!(
            "ends at op counter {}, past the ceiling of {MAX_OP_COUNTER}",
            change.max_op()
        )));
    }
    let expected_seq = validator.last_seq(&actor) + 1;
    if change.seq() != expected_seq {
        return Err(Refusal::new(format!(
            "has sequence number {}, but the actor's next is {expected_seq}",
            change.seq()
        )));
    }
    Ok(Header {
        actor,
        device,
        start_op,
        creating,
    })
}
