//! Enrolled devices and one-time enrolment codes. Credentials and codes are kept
//! only as SHA-256 hashes: a copy of this database lets nobody sync as anyone.

use rusqlite::{params, Connection, OptionalExtension};
use testigo_core::ids::DeviceId;
use testigo_core::incident::Role;

use crate::error::HubResult;

/// An enrolled device as every authenticated request sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub device_id: DeviceId,
    pub public_key: [u8; 32],
    pub role: Role,
    pub team: Option<String>,
}

pub fn by_credential(conn: &Connection, credential_hash: &[u8; 32]) -> HubResult<Option<Device>> {
    let row = conn
        .query_row(
            "SELECT device_id, public_key, role, team FROM devices WHERE credential_hash = ?1 AND revoked = 0",
            [&credential_hash[..]],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?)),
        )
        .optional()?;
    Ok(row.and_then(|(id, key, role, team)| {
        Some(Device {
            device_id: DeviceId::parse(&id).ok()?,
            public_key: key.try_into().ok()?,
            role: Role::parse(&role)?,
            team,
        })
    }))
}

/// Enrols a device the hub has never seen. `false`, and nothing written, when a
/// device with that id is already enrolled or was revoked: an enrolment never
/// replaces a device (its role, team or credential); only a coordinator's
/// re-enrolment code does ([`re_enrol`]).
pub fn enrol_new(
    conn: &Connection,
    device: &Device,
    credential_hash: &[u8; 32],
    at_ms: i64,
) -> HubResult<bool> {
    Ok(conn.execute(
        "INSERT INTO devices (device_id, public_key, role, team, credential_hash, enrolled_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
         ON CONFLICT(device_id) DO NOTHING",
        params![device.device_id.as_str(), &device.public_key[..], device.role.as_str(), device.team, &credential_hash[..], at_ms],
    )? == 1)
}

/// Enrols `device` again with a code a coordinator made for it: a new credential,
/// the code's role and team, and a revoked device restored. The old credential stops
/// working.
pub fn re_enrol(
    conn: &Connection,
    device: &Device,
    credential_hash: &[u8; 32],
    at_ms: i64,
) -> HubResult<()> {
    conn.execute(
        "INSERT INTO devices (device_id, public_key, role, team, credential_hash, enrolled_at, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
         ON CONFLICT(device_id) DO UPDATE SET role = excluded.role, team = excluded.team, credential_hash = excluded.credential_hash,
             enrolled_at = excluded.enrolled_at, revoked = 0",
        params![device.device_id.as_str(), &device.public_key[..], device.role.as_str(), device.team, &credential_hash[..], at_ms],
    )?;
    Ok(())
}

pub fn count(conn: &Connection) -> HubResult<u64> {
    Ok(conn.query_row("SELECT count(*) FROM devices", [], |r| r.get::<_, i64>(0))? as u64)
}

pub fn create_code(
    conn: &Connection,
    code_hash: &[u8; 32],
    role: Role,
    team: Option<&str>,
    expires_at_ms: i64,
    created_by: Option<&DeviceId>,
    for_device: Option<&DeviceId>,
) -> HubResult<()> {
    conn.execute(
        "INSERT INTO enrol_codes (code_hash, role, team, expires_at, used_at, created_by, device_id) VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6)",
        params![&code_hash[..], role.as_str(), team, expires_at_ms, created_by.map(DeviceId::as_str), for_device.map(DeviceId::as_str)],
    )?;
    Ok(())
}

pub fn code_count(conn: &Connection) -> HubResult<u64> {
    Ok(conn.query_row("SELECT count(*) FROM enrol_codes", [], |r| {
        r.get::<_, i64>(0)
    })? as u64)
}

#[derive(Clone, Debug, PartialEq)]
pub enum CodeUse {
    /// The code was valid and is now spent.
    Taken {
        role: Role,
        team: Option<String>,
        /// Set for a re-enrolment code: the one device it may enrol.
        device: Option<DeviceId>,
    },
    Unknown,
    Expired,
    AlreadyUsed,
}

/// Spends a code if it is valid at `now_ms`. The check and the spending are one
/// statement, so one code can never enrol two devices.
pub fn take_code(conn: &Connection, code_hash: &[u8; 32], now_ms: i64) -> HubResult<CodeUse> {
    let row = conn
        .query_row(
            "SELECT role, team, expires_at, used_at, device_id FROM enrol_codes WHERE code_hash = ?1",
            [&code_hash[..]],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()?;
    let Some((role, team, expires_at, used_at, device)) = row else {
        return Ok(CodeUse::Unknown);
    };
    if used_at.is_some() {
        return Ok(CodeUse::AlreadyUsed);
    }
    if expires_at <= now_ms {
        return Ok(CodeUse::Expired);
    }
    let Some(role) = Role::parse(&role) else {
        return Ok(CodeUse::Unknown);
    };
    let device = match device.map(|d| DeviceId::parse(&d)).transpose() {
        Ok(device) => device,
        Err(_) => return Ok(CodeUse::Unknown),
    };
    let spent = conn.execute(
        "UPDATE enrol_codes SET used_at = ?2 WHERE code_hash = ?1 AND used_at IS NULL",
        params![&code_hash[..], now_ms],
    )?;
    Ok(if spent == 1 {
        CodeUse::Taken { role, team, device }
    } else {
        CodeUse::AlreadyUsed
    })
}

pub fn is_enrolled(conn: &Connection, device: &DeviceId) -> HubResult<bool> {
    Ok(conn.query_row(
        "SELECT count(*) FROM devices WHERE device_id = ?1 AND revoked = 0",
        [device.as_str()],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

/// An enrolled, unrevoked device by id: a console session re-reads its device on
/// every request, so revoking a device ends its sessions at once.
pub fn by_id(conn: &Connection, device: &DeviceId) -> HubResult<Option<Device>> {
    let row = conn
        .query_row(
            "SELECT public_key, role, team FROM devices WHERE device_id = ?1 AND revoked = 0",
            [device.as_str()],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    Ok(row.and_then(|(key, role, team)| {
        Some(Device {
            device_id: device.clone(),
            public_key: key.try_into().ok()?,
            role: Role::parse(&role)?,
            team,
        })
    }))
}

/// Revokes an enrolled device: its credential stops working at once, its console
/// sessions end on their next request (see [`by_id`]) and it is no longer offered for
/// assignment. Enrolling it again takes a re-enrolment code a coordinator makes for
/// it ([`re_enrol`]). `false` when no
/// unrevoked device has that id.
pub fn revoke(conn: &Connection, device: &DeviceId) -> HubResult<bool> {
    Ok(conn.execute(
        "UPDATE devices SET revoked = 1 WHERE device_id = ?1 AND revoked = 0",
        [device.as_str()],
    )? == 1)
}

/// One enrolled device as a dispatcher's assignment list shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceRow {
    pub device_id: DeviceId,
    pub role: Role,
    pub team: Option<String>,
    pub enrolled_at_ms: i64,
}

/// Every unrevoked device, by role, team and enrolment time.
pub fn list(conn: &Connection) -> HubResult<Vec<DeviceRow>> {
    let mut stmt = conn.prepare_cached("SELECT device_id, role, team, enrolled_at FROM devices WHERE revoked = 0 ORDER BY role, team, enrolled_at, device_id")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, i64>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, role, team, enrolled_at_ms) = row?;
        if let (Ok(device_id), Some(role)) = (DeviceId::parse(&id), Role::parse(&role)) {
            out.push(DeviceRow {
                device_id,
                role,
                team,
                enrolled_at_ms,
            });
        }
    }
    Ok(out)
}
