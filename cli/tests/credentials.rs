//! Content credentials as an attorney meets them, through the `testigo` command only:
//! a volunteer attaches a real photo and a real video on scene, a coordinator exports
//! the evidence with its media, the organisation hands out its trust anchor, and
//! `testigo verify` says of each file: trusted with the anchor, valid but not yet
//! checked without it, not the organisation's under an impostor's anchor, and
//! invalid once one byte changed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{json, start_hub, testigo};
use serde_json::Value;
use testigo_tests::media::{jpeg_with_gps, mp4};

/// `testigo verify ARGS`: exit code and what it printed.
fn verify(args: &[&Path], anchor: Option<&Path>) -> (Option<i32>, String) {
    let mut command = testigo();
    command.arg("verify").args(args);
    if let Some(anchor) = anchor {
        command.arg("--anchor").arg(anchor);
    }
    let Output { status, stdout, .. } = command.output().unwrap();
    (status.code(), String::from_utf8_lossy(&stdout).into_owned())
}

/// `testigo hub --db DB trust-anchor`, written to `to`.
fn trust_anchor(db: &Path, to: PathBuf) -> PathBuf {
    let printed = testigo()
        .args(["hub", "--db"])
        .arg(db)
        .arg("trust-anchor")
        .output()
        .unwrap();
    assert!(
        printed.status.success(),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    let pem = String::from_utf8(printed.stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    std::fs::write(&to, pem).unwrap();
    to
}

/// One byte of the picture or film itself changed: inside a JPEG's scan data (which
/// ends just before its last two bytes), or inside an MP4's `mdat` box.
fn one_byte_changed(path: &Path, to: PathBuf) -> PathBuf {
    let mut bytes = std::fs::read(path).unwrap();
    let at = if &bytes[4..8] == b"ftyp" {
        let mut at = 0;
        while &bytes[at + 4..at + 8] != b"mdat" {
            at += u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        }
        at + 1000
    } else {
        bytes.len() - 20
    };
    bytes[at] ^= 0x01;
    std::fs::write(&to, bytes).unwrap();
    to
}

#[test]
fn testigo_verify_tells_trusted_from_untrusted_from_altered() {
    let dir = tempfile::tempdir().unwrap();
    let (_hub, url, bootstrap) = start_hub(dir.path());
    let store = |name: &str| dir.path().join(format!("{name}.db")).display().to_string();
    let (coordinator, volunteer) = (store("coordinator"), store("volunteer"));
    json(&[
        "field",
        "--store",
        &coordinator,
        "enroll",
        "--hub",
        &url,
        "--code",
        &bootstrap,
    ]);
    let code = json(&["enroll", "--store", &coordinator, "--role", "volunteer"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    json(&[
        "field", "--store", &volunteer, "enroll", "--hub", &url, "--code", &code,
    ]);

    // On scene: a photo with the camera's GPS tags and a short video, attached to one
    // observation with a fix.
    let opened = json(&[
        "field",
        "--store",
        &volunteer,
        "open",
        "--place",
        "5th and Main",
    ]);
    let id = opened["incident"].as_str().unwrap().to_owned();
    let photo = dir.path().join("IMG_0001.jpg");
    std::fs::write(&photo, jpeg_with_gps(320, 240)).unwrap();
    let video = dir.path().join("VID_0001.mp4");
    std::fs::write(&video, mp4(200 * 1024)).unwrap();
    let observed = json(&[
        "field",
        "--store",
        &volunteer,
        "observe",
        &id,
        "Agents at the laundromat door",
        "--lat",
        "38.627",
        "--lon",
        "-90.199",
        "--attach",
        photo.to_str().unwrap(),
        "--attach",
        video.to_str().unwrap(),
    ]);
    let photo_hash = observed["attachments"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    json(&["field", "--store", &volunteer, "sync"]);
    json(&["field", "--store", &volunteer, "uploads", "--send"]);

    // The coordinator exports the evidence; the organisation hands out its anchor.
    let bundle = dir.path().join("bundle.json");
    let media = dir.path().join("media");
    let exported = testigo()
        .args(["export", "--store", &coordinator, "-o"])
        .arg(&bundle)
        .args(["bundle", &id, "--with-media"])
        .arg(&media)
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let anchor = trust_anchor(&dir.path().join("hub.sqlite"), dir.path().join("org.pem"));
    let impostor = trust_anchor(
        &dir.path().join("other-hub.sqlite"),
        dir.path().join("impostor.pem"),
    );
    let credentialed: Vec<PathBuf> = {
        let mut files: Vec<PathBuf> = std::fs::read_dir(media.join("credentials"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    };
    let names: Vec<String> = credentialed
        .iter()
        .map(|p| p.extension().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2, "{credentialed:?}");
    assert!(
        names.contains(&"jpg".to_owned()) && names.contains(&"mp4".to_owned()),
        "{names:?}"
    );

    // The bundle, its originals and its credentialed copies, all checked in one go.
    let checked = json(&[
        "verify",
        bundle.to_str().unwrap(),
        "--media",
        media.to_str().unwrap(),
        "--anchor",
        anchor.to_str().unwrap(),
    ]);
    assert_eq!(
        checked["findings"].as_array().unwrap().len(),
        0,
        "{checked}"
    );

    for file in &credentialed {
        let (code, said) = verify(&[file], Some(&anchor));
        assert_eq!(code, Some(0), "{said}");
        assert!(said.contains("TRUSTED"), "{said}");
        assert!(said.contains("evidence copy of incident"), "{said}");
        assert!(
            said.contains("signed the record of this very picture"),
            "{said}"
        );
        assert!(said.contains("state where it was captured"), "{said}");

        let (code, said) = verify(&[file], None);
        assert_eq!(
            code,
            Some(0),
            "unanchored is a warning, not a failure: {said}"
        );
        assert!(
            said.contains("VALID, NOT YET CHECKED AGAINST THE ORGANISATION"),
            "{said}"
        );
        assert!(said.contains("does not mean forged"), "{said}");
        assert!(!said.contains("TRUSTED."), "{said}");

        let (code, said) = verify(&[file], Some(&impostor));
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains("VALID BUT NOT THE ORGANISATION'S"), "{said}");

        let changed = one_byte_changed(
            file,
            dir.path()
                .join("changed")
                .with_extension(file.extension().unwrap()),
        );
        let (code, said) = verify(&[&changed], Some(&anchor));
        assert_eq!(code, Some(1), "{said}");
        assert!(said.contains("INVALID"), "{said}");
        assert!(said.contains("changed after it was signed"), "{said}");

        let printed = testigo()
            .args(["--json", "verify"])
            .arg(file)
            .output()
            .unwrap();
        let results: Value = serde_json::from_slice(&printed.stdout).unwrap();
        assert_eq!(results[0]["verdict"], "valid_untrusted", "{results}");
        assert_eq!(
            results[0]["failures"][0]["code"],
            "signingCredential.untrusted"
        );
    }

    // A credentialed copy altered in the media folder fails the bundle's check too,
    // named by its file.
    let target = &credentialed[0];
    std::fs::copy(
        one_byte_changed(target, dir.path().join("altered.bin")),
        target,
    )
    .unwrap();
    let failed = testigo()
        .args(["--json", "verify"])
        .arg(&bundle)
        .arg("--media")
        .arg(&media)
        .output()
        .unwrap();
    assert_eq!(failed.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&failed.stdout).unwrap();
    let name = target.file_name().unwrap().to_str().unwrap();
    assert_eq!(
        report["findings"][0]["field"],
        format!("credentials/{name}"),
        "{report}"
    );

    // A copy for the press: trusted, no location stated, none in the file.
    let shared = dir.path().join("shared.jpg");
    let exported = testigo()
        .args(["export", "--store", &coordinator, "-o"])
        .arg(&shared)
        .args(["share", &id, &photo_hash])
        .output()
        .unwrap();
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let (code, said) = verify(&[&shared], Some(&anchor));
    assert_eq!(code, Some(0), "{said}");
    assert!(
        said.contains("TRUSTED") && said.contains("sharing copy"),
        "{said}"
    );
    assert!(said.contains("state no location"), "{said}");
    let bytes = std::fs::read(&shared).unwrap();
    assert!(
        !bytes.windows(3).any(|w| w == b"GPS"),
        "GPS in the sharing copy"
    );
}
