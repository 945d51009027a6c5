//! The GGUF reader on arbitrary bytes: header, metadata of every type,
//! tensor infos, data offsets. Bad input must be a `GgufError`, never a
//! panic or an allocation sized by an unchecked header field (run with
//! `-rss_limit_mb`). Whatever parses must also give its tensors' data and
//! dequantize them without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locallm_quant::GgufFile;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = GgufFile::from_bytes(data.to_vec()) else {
        return;
    };
    let _ = file.metadata_in_file_order();
    let _ = (file.n_params(), file.tensor_bytes(), file.bits_per_weight());
    for t in &file.tensors {
        let _ = t.shape_row_major();
        // the data of a parsed file lies inside it, so this is bounded
        // by the input's size
        if file.try_tensor_data(t).is_ok() {
            let _ = file.dequantize(t);
        }
    }
});
