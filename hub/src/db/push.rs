//! UnifiedPush endpoints: where the hub sends a device an empty wake. One per device;
//! a new registration replaces the old one, and revoking the device deletes it.

use rusqlite::{params, Connection, OptionalExtension};
use testigo_core::ids::DeviceId;

use crate::error::HubResult;

pub fn register(
    conn: &Connection,
    device: &DeviceId,
    endpoint: &str,
    now_ms: i64,
) -> HubResult<()> {
    conn.execute(
        "INSERT INTO push_endpoints (device_id, endpoint, registered_at, failed_wakes) VALUES (?1, ?2, ?3, 0)
         ON CONFLICT(device_id) DO UPDATE SET endpoint = excluded.endpoint, registered_at = excluded.registered_at, failed_wakes = 0",
        params![device.as_str(), endpoint, now_ms],
    )?;
    Ok(())
}

/// Forgets the device's endpoint. Returns whether it had one.
pub fn forget(conn: &Connection, device: &DeviceId) -> HubResult<bool> {
    Ok(conn.execute(
        "DELETE FROM push_endpoints WHERE device_id = ?1",
        [device.as_str()],
    )? > 0)
}

/// The endpoint of an unrevoked device, if it registered one.
pub fn endpoint(conn: &Connection, device: &DeviceId) -> HubResult<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT p.endpoint FROM push_endpoints p JOIN devices d ON d.device_id = p.device_id
             WHERE p.device_id = ?1 AND d.revoked = 0",
            [device.as_str()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Every unrevoked device with an endpoint.
pub fn registered(conn: &Connection) -> HubResult<Vec<DeviceId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.device_id FROM push_endpoints p JOIN devices d ON d.device_id = p.device_id WHERE d.revoked = 0",
    )?;
    let ids = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ids.iter().filter_map(|s| DeviceId::parse(s).ok()).collect())
}

/// A wake reached the endpoint: its failures are forgiven.
pub fn delivered(conn: &Connection, device: &DeviceId) -> HubResult<()> {
    conn.execute(
        "UPDATE push_endpoints SET failed_wakes = 0 WHERE device_id = ?1",
        [device.as_str()],
    )?;
    Ok(())
}

/// A wake failed after all its retries; the endpoint `endpoint` is dropped once
/// `limit` wakes in a row have failed. Returns whether it was dropped. The endpoint is
/// compared so that a registration replaced meanwhile is not blamed for the old one.
pub fn failed(conn: &Connection, device: &DeviceId, endpoint: &str, limit: u32) -> HubResult<bool> {
    conn.execute(
        "UPDATE push_endpoints SET failed_wakes = failed_wakes + 1 WHERE device_id = ?1 AND endpoint = ?2",
        params![device.as_str(), endpoint],
    )?;
    Ok(conn.execute(
        "DELETE FROM push_endpoints WHERE device_id = ?1 AND endpoint = ?2 AND failed_wakes >= ?3",
        params![device.as_str(), endpoint, limit],
    )? > 0)
}

/// The distributor said the endpoint no longer exists (404, 410).
pub fn gone(conn: &Connection, device: &DeviceId, endpoint: &str) -> HubResult<()> {
    conn.execute(
        "DELETE FROM push_endpoints WHERE device_id = ?1 AND endpoint = ?2",
        params![device.as_str(), endpoint],
    )?;
    Ok(())
}
