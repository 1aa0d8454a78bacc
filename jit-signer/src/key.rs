//! The signing key (a key file, or a key in a PKCS#11 token) and the
//! trusted-keys file.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use jit_core::keys::{Signer, SigningKeyWithKid, TrustedKeys};

use crate::{io_err, key_err, pkcs11, secret_file, usage, Fail};

/// A key in a PKCS#11 token (docs/jit-signer.md, "Keys in an HSM").
#[derive(clap::Args, Debug)]
pub(crate) struct Pkcs11Args {
    /// Use the key in a PKCS#11 token named by this RFC 7512 URI, e.g.
    /// 'pkcs11:token=jit;object=ops-2026a?module-path=/usr/lib/softhsm/libsofthsm2.so'.
    /// The key label (object=) is the kid.
    #[arg(long, value_name = "URI")]
    pub(crate) pkcs11: Option<String>,
    /// File holding the token's user PIN (owned by you, mode 0600). Without
    /// it, the PIN is read from the environment variable JIT_PKCS11_PIN.
    #[arg(long = "pin-file", value_name = "FILE", requires = "pkcs11")]
    pub(crate) pin_file: Option<PathBuf>,
}

impl Pkcs11Args {
    /// The signing key: the PKCS#11 key if --pkcs11 is given, else the key file.
    pub(crate) fn open_signer(&self, key: Option<&Path>) -> Result<Box<dyn Signer>, Fail> {
        self.check()?;
        Ok(match (&self.pkcs11, key) {
            (Some(uri), _) => Box::new(pkcs11::Pkcs11Signer::open(uri, self.pin_file.as_deref())?),
            (None, Some(k)) => Box::new(read_secret_key(k)?),
            (None, None) => return Err(usage(anyhow!("give --key FILE or --pkcs11 URI"))),
        })
    }

    /// [`Self::open_signer`], for a key used from several threads (the service).
    pub(crate) fn open_signer_send(
        &self,
        key: Option<&Path>,
    ) -> Result<Box<dyn Signer + Send>, Fail> {
        self.check()?;
        Ok(match (&self.pkcs11, key) {
            (Some(uri), _) => Box::new(pkcs11::Pkcs11Signer::open(uri, self.pin_file.as_deref())?),
            (None, Some(k)) => Box::new(read_secret_key(k)?),
            (None, None) => return Err(usage(anyhow!("give --key FILE or --pkcs11 URI"))),
        })
    }

    /// clap drops `requires` when a conflicting argument (--key, --out) is
    /// present, so a stray --pin-file is refused here.
    pub(crate) fn check(&self) -> Result<(), Fail> {
        if self.pkcs11.is_none() && self.pin_file.is_some() {
            return Err(usage(anyhow!("--pin-file is only used with --pkcs11")));
        }
        Ok(())
    }
}

/// The SSH CA key of `--ssh-ca FILE` or `--ssh-ca-pkcs11 URI` (with its
/// PIN file), if either is given (`issue`, `serve`).
pub(crate) fn open_ssh_ca(
    file: Option<&Path>,
    pkcs11_uri: Option<&str>,
    pin_file: Option<&Path>,
) -> Result<Option<Box<dyn Signer + Send>>, Fail> {
    Ok(match (file, pkcs11_uri) {
        (Some(p), _) => Some(Box::new(read_secret_key(p)?)),
        (None, Some(uri)) => Some(Box::new(pkcs11::Pkcs11Signer::open(uri, pin_file)?)),
        (None, None) => None,
    })
}

/// The SSH CA must be a key of its own (docs/ssh-cert.md, "The CA key"):
/// refused when it is the token signing key.
pub(crate) fn refuse_ca_as_token_key(ca: &dyn Signer, token_key: &dyn Signer) -> Result<(), Fail> {
    if matches!((ca.public_key(), token_key.public_key()), (Ok(a), Ok(b)) if a == b) {
        return Err(usage(anyhow!(
            "the SSH CA key is the token signing key ({}): the CA must be a key of its own \
             (docs/ssh-cert.md, \"The CA key\")",
            ca.kid()
        )));
    }
    Ok(())
}

pub(crate) fn read_secret_key(path: &Path) -> Result<SigningKeyWithKid, Fail> {
    let mut f = fs::File::open(path)
        .with_context(|| format!("opening key file {}", path.display()))
        .map_err(io_err)?;
    let md = f
        .metadata()
        .with_context(|| format!("reading key file {}", path.display()))
        .map_err(io_err)?;
    secret_file::check_private_file(&md, path, "key file")?;
    let mut s = zeroize::Zeroizing::new(String::new());
    f.read_to_string(&mut s)
        .with_context(|| format!("reading key file {}", path.display()))
        .map_err(io_err)?;
    SigningKeyWithKid::from_secret_file(&s)
        .with_context(|| format!("key file {}", path.display()))
        .map_err(key_err)
}

pub(crate) fn read_trusted_keys(p: &Path) -> Result<TrustedKeys, Fail> {
    let s = fs::read_to_string(p)
        .with_context(|| format!("reading {}", p.display()))
        .map_err(io_err)?;
    TrustedKeys::parse(&s)
        .with_context(|| format!("trusted-keys file {}", p.display()))
        .map_err(key_err)
}
