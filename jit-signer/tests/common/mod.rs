//! A throwaway SoftHSM2 token for the PKCS#11 tests. SOFTHSM2_CONF points
//! into a temporary directory, so /etc/softhsm and /var/lib/softhsm are never
//! touched. A missing softhsm2-util / pkcs11-tool is a test failure (CI
//! installs softhsm2 and opensc from .ci/apt-packages.txt).
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub const PIN: &str = "5678-user";
pub const SO_PIN: &str = "1234-so";

pub struct Hsm {
    pub dir: tempfile::TempDir,
    pub conf: PathBuf,
    pub pin_file: PathBuf,
    pub label: String,
}

/// jit-signer with an issuance ledger that cannot exist (under /dev/null):
/// a call that would record something fails loudly instead of writing the
/// default /var/lib/jit-signer/ledger.log. [`Hsm::signer`] gives a real one.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jit-signer"));
    c.env("JIT_LEDGER", "/dev/null/no-ledger-here/ledger.log");
    c
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Hsm {
    /// A fresh SoftHSM2 token labelled `label` with user PIN [`PIN`].
    pub fn new(label: &str) -> Hsm {
        assert!(
            Path::new(MODULE).exists(),
            "{MODULE} is missing: install the Debian package softhsm2"
        );
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
                tokens.display()
            ),
        )
        .unwrap();
        let pin_file = dir.path().join("pin");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let hsm = Hsm {
            dir,
            conf,
            pin_file,
            label: label.to_string(),
        };
        let o = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &hsm.conf)
            .args([
                "--init-token",
                "--free",
                "--label",
                label,
                "--so-pin",
                SO_PIN,
                "--pin",
                PIN,
            ])
            .output()
            .expect("softhsm2-util (Debian package softhsm2) must be installed");
        assert!(o.status.success(), "softhsm2-util: {}", stderr(&o));
        hsm
    }

    /// The URI of key `object` on this token.
    pub fn uri(&self, object: &str) -> String {
        format!(
            "pkcs11:token={};object={object}?module-path={MODULE}",
            self.label
        )
    }

    /// The URI of this token without a key.
    pub fn token_uri(&self) -> String {
        format!("pkcs11:token={}?module-path={MODULE}", self.label)
    }

    /// jit-signer with SOFTHSM2_CONF set and JIT_PKCS11_PIN unset.
    pub fn signer(&self, args: &[&str]) -> Output {
        bin()
            .env("SOFTHSM2_CONF", &self.conf)
            .env("JIT_LEDGER", self.dir.path().join("ledger/ledger.log"))
            .env_remove("JIT_PKCS11_PIN")
            .args(args)
            .output()
            .unwrap()
    }

    /// pkcs11-tool logged in to this token.
    pub fn tool(&self, args: &[&str]) -> Output {
        Command::new("pkcs11-tool")
            .env("SOFTHSM2_CONF", &self.conf)
            .args([
                "--module",
                MODULE,
                "--token-label",
                &self.label,
                "--login",
                "--pin",
                PIN,
            ])
            .args(args)
            .output()
            .expect("pkcs11-tool (Debian package opensc) must be installed")
    }

    pub fn tool_ok(&self, args: &[&str]) -> String {
        let o = self.tool(args);
        assert!(o.status.success(), "pkcs11-tool {args:?}: {}", stderr(&o));
        stdout(&o)
    }

    /// `jit-signer keygen --pkcs11` in this token; returns the trusted-keys line.
    pub fn keygen(&self, kid: &str) -> String {
        let pin = self.pin_file.to_str().unwrap().to_string();
        let o = self.signer(&[
            "keygen",
            "--kid",
            kid,
            "--pkcs11",
            &self.token_uri(),
            "--pin-file",
            &pin,
        ]);
        assert_eq!(code(&o), 0, "keygen: {}", stderr(&o));
        stdout(&o)
    }

    /// `jit-signer issue --pkcs11 URI --pin-file ...` for alice on web.
    pub fn issue(&self, uri: &str, extra: &[&str]) -> Output {
        let pin = self.pin_file.to_str().unwrap().to_string();
        let mut args = vec![
            "issue",
            "--pkcs11",
            uri,
            "--pin-file",
            &pin,
            "--user",
            "alice",
            "--host-group",
            "web",
            "--command",
            "/usr/bin/systemctl restart nginx",
            "--reason",
            "INC-7 hsm",
            "--now",
            "@1800000000",
        ];
        args.extend_from_slice(extra);
        self.signer(&args)
    }
}
