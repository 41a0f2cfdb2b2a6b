//! The phones waiting on this instance, in memory. A waiting phone costs one entry
//! here and the suspended future of its request: no thread, no database connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use testigo_core::ids::DeviceId;
use tokio::sync::oneshot;

/// Why a wait ends before its timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Something is waiting for the device: it should sync.
    Work,
    /// The device was revoked.
    Revoked,
    /// The hub is shutting down.
    Closing,
}

type Slots = HashMap<DeviceId, HashMap<u64, oneshot::Sender<Wake>>>;

#[derive(Default)]
pub struct Waiters {
    next: AtomicU64,
    slots: Arc<Mutex<Slots>>,
    /// Set when the hub shuts down: every wait, even one starting now, ends.
    closed: AtomicBool,
}

impl Waiters {
    /// Starts listening for `device`. The wait is registered before the caller checks
    /// the database for work already there, so nothing committed in between is missed.
    pub fn listen(&self, device: &DeviceId) -> Waiting {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (sender, receiver) = oneshot::channel();
        if self.closed.load(Ordering::SeqCst) {
            // A shutting-down hub must not hold a new wait open until its timeout.
            let _ = sender.send(Wake::Closing);
        } else {
            lock(&self.slots)
                .entry(device.clone())
                .or_default()
                .insert(id, sender);
        }
        Waiting {
            receiver,
            id,
            device: device.clone(),
            slots: Arc::clone(&self.slots),
        }
    }

    /// The devices with a wait open here now.
    pub fn devices(&self) -> Vec<DeviceId> {
        lock(&self.slots).keys().cloned().collect()
    }

    /// Ends every wait of each of `devices` with `why`.
    pub fn wake<'a>(&self, devices: impl IntoIterator<Item = &'a DeviceId>, why: Wake) {
        let mut slots = lock(&self.slots);
        for device in devices {
            if let Some(waits) = slots.remove(device) {
                for (_, sender) in waits {
                    // The request may have gone meanwhile; then nobody needs telling.
                    let _ = sender.send(why);
                }
            }
        }
    }

    /// Ends every wait, and every wait that starts from now on.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake_all(Wake::Closing);
    }

    /// Ends every wait.
    pub fn wake_all(&self, why: Wake) {
        let devices = self.devices();
        self.wake(&devices, why);
    }

    pub fn count(&self) -> usize {
        lock(&self.slots).values().map(HashMap::len).sum()
    }
}

fn lock(slots: &Mutex<Slots>) -> MutexGuard<'_, Slots> {
    // Entries are only inserted and removed; a panic elsewhere cannot leave one half-made.
    slots.lock().unwrap_or_else(|p| p.into_inner())
}

/// One open wait. Dropping it (the phone hung up, the request ended) removes it.
pub struct Waiting {
    receiver: oneshot::Receiver<Wake>,
    id: u64,
    device: DeviceId,
    slots: Arc<Mutex<Slots>>,
}

impl Waiting {
    /// Until something wakes this wait.
    pub async fn woken(&mut self) -> Wake {
        // The sender is only dropped unsent when the whole hub state goes away.
        (&mut self.receiver).await.unwrap_or(Wake::Closing)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let mut slots = lock(&self.slots);
        if let Some(waits) = slots.get_mut(&self.device) {
            waits.remove(&self.id);
            if waits.is_empty() {
                slots.remove(&self.device);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(n: u8) -> DeviceId {
        testigo_core::ids::DeviceId::from_public_key(&[n; 32])
    }

    #[tokio::test]
    async fn a_wake_reaches_only_the_devices_named_and_a_dropped_wait_leaves_nothing() {
        let waiters = Waiters::default();
        let mut ana = waiters.listen(&device(1));
        let bo = waiters.listen(&device(2));
        assert_eq!(waiters.count(), 2);
        waiters.wake(&[device(1)], Wake::Work);
        assert_eq!(ana.woken().await, Wake::Work);
        assert_eq!(waiters.devices(), vec![device(2)]);
        drop(bo);
        drop(ana);
        assert_eq!(waiters.count(), 0);
    }
}
