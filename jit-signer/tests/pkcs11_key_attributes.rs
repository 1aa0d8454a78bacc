//! The key `jit-signer keygen --pkcs11` makes cannot leave the token: read
//! with the PKCS#11 API directly (cryptoki), CKA_VALUE is refused as
//! sensitive, the protective attributes cannot be switched off, and the key
//! cannot be wrapped out. One test only in this binary: it sets
//! SOFTHSM2_CONF for its own process.

mod common;

use common::{Hsm, MODULE, PIN};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::types::AuthPin;

#[test]
fn generated_key_is_sensitive_non_extractable_and_local() {
    let h = Hsm::new("jit");
    h.keygen("ops-1");
    // Single test in this process: no other thread reads the environment.
    std::env::set_var("SOFTHSM2_CONF", &h.conf);
    let ctx = Pkcs11::new(MODULE).unwrap();
    ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
        .unwrap();
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == "jit")
        .unwrap();
    let s = ctx.open_rw_session(slot).unwrap();
    s.login(UserType::User, Some(&AuthPin::from(PIN))).unwrap();
    let keys = s
        .find_objects(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::Label(b"ops-1".to_vec()),
        ])
        .unwrap();
    assert_eq!(keys.len(), 1);
    let k = keys[0];

    let attrs = s
        .get_attributes(
            k,
            &[
                AttributeType::Token,
                AttributeType::Sensitive,
                AttributeType::AlwaysSensitive,
                AttributeType::Extractable,
                AttributeType::NeverExtractable,
                AttributeType::Local,
                AttributeType::Private,
                AttributeType::Sign,
                AttributeType::Decrypt,
                AttributeType::Derive,
                AttributeType::Unwrap,
                AttributeType::AllowedMechanisms,
            ],
        )
        .unwrap();
    let want = [
        Attribute::Token(true),
        Attribute::Sensitive(true),
        Attribute::AlwaysSensitive(true),
        Attribute::Extractable(false),
        Attribute::NeverExtractable(true),
        Attribute::Local(true),
        Attribute::Private(true),
        Attribute::Sign(true),
        Attribute::Decrypt(false),
        Attribute::Derive(false),
        Attribute::Unwrap(false),
        Attribute::AllowedMechanisms(vec![MechanismType::EDDSA]),
    ];
    assert_eq!(attrs.len(), want.len(), "{attrs:?}");
    for w in &want {
        assert!(attrs.contains(w), "missing {w:?} in {attrs:?}");
    }

    // CKA_VALUE (the secret scalar) is refused as sensitive.
    let info = s.get_attribute_info(k, &[AttributeType::Value]).unwrap();
    assert!(
        matches!(info.as_slice(), [AttributeInfo::Sensitive]),
        "{info:?}"
    );
    let got = s.get_attributes(k, &[AttributeType::Value]).unwrap();
    assert!(
        !got.iter().any(|a| matches!(a, Attribute::Value(_))),
        "CKA_VALUE was returned: {got:?}"
    );

    // The protection cannot be switched off afterwards.
    assert!(s
        .update_attributes(k, &[Attribute::Sensitive(false)])
        .is_err());
    assert!(s
        .update_attributes(k, &[Attribute::Extractable(true)])
        .is_err());
    // Nor can a copy be made extractable.
    assert!(s
        .copy_object(k, &[Attribute::Extractable(true), Attribute::Token(false)])
        .is_err());

    // Nor can it be wrapped out under a key we know.
    let wrapping = s
        .generate_key(
            &Mechanism::AesKeyGen,
            &[
                Attribute::Token(false),
                Attribute::ValueLen(32.into()),
                Attribute::Wrap(true),
                Attribute::Extractable(true),
            ],
        )
        .unwrap();
    assert!(s.wrap_key(&Mechanism::AesKeyWrapPad, wrapping, k).is_err());
    s.logout().unwrap();
}
