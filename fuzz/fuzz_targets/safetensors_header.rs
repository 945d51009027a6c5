//! safetensors loading on arbitrary bytes: the header length, the header
//! JSON, dtype/shape/offset lies. These are the calls
//! `locallm_train::checkpoint::read_safetensors` (checkpoints, PEFT
//! adapters) makes; that crate itself pulls burn, which this workspace
//! does not build.
#![no_main]

use libfuzzer_sys::fuzz_target;
use safetensors::SafeTensors;

fuzz_target!(|data: &[u8]| {
    let Ok((_, meta)) = SafeTensors::read_metadata(data) else {
        return;
    };
    let _ = meta.metadata();
    let Ok(st) = SafeTensors::deserialize(data) else {
        return;
    };
    for (_, view) in st.tensors() {
        // a parsed view's data must lie inside the input and match its
        // dtype and shape
        let n: usize = view.shape().iter().product();
        let bits = view.dtype().bitsize();
        assert_eq!(view.data().len() * 8, n * bits, "{:?}", view.shape());
    }
});
