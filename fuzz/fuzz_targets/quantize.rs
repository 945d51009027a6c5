//! Every quantizer on arbitrary floats, NaN, infinities and subnormals
//! included, then its dequantizer on the result: no panic; finite input of
//! moderate size gives finite output. Also every dequantizer on arbitrary
//! block bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use locallm_quant::GgmlType;
use locallm_quant::blocks::{dequantize, quantize};
use locallm_quant::nf4::quantize_nf4;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let types: Vec<GgmlType> = GgmlType::ALL
        .into_iter()
        .filter(|t| t.is_supported())
        .collect();
    let ty = types[pick as usize % types.len()];
    let floats: Vec<f32> = rest
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // whole blocks only; the quantizers refuse the rest with an error
    let n = floats.len() - floats.len() % ty.block_size();
    if let Ok(bytes) = quantize(ty, &floats[..n]) {
        let back = dequantize(ty, &bytes, n).expect("own output dequantizes");
        assert_eq!(back.len(), n);
        if floats[..n].iter().all(|x| x.is_finite() && x.abs() < 1e4) && ty != GgmlType::F16 {
            assert!(back.iter().all(|x| x.is_finite()), "{ty:?}: {back:?}");
        }
    }
    let _ = quantize(ty, &floats);
    // QLoRA's NF4 (blocks of 64, any length)
    let nf4 = quantize_nf4(&floats);
    assert_eq!(nf4.dequantize().len(), floats.len());
    // the raw bytes as blocks of this type
    if let Ok(size) = ty.n_bytes(ty.block_size()) {
        let blocks = rest.len() / size;
        let _ = dequantize(ty, &rest[..blocks * size], blocks * ty.block_size());
    }
});
