#!/usr/bin/env python3
"""Write a copy of a GGUF file with every tensor dequantized to F32 (gguf-py).

llama.cpp multiplies F32 weights in F32, without quantizing the activations
to 8 bits as it does for Q4_1/Q8_0 weights. Run on this copy (with an F32 KV
cache) it computes the same function as our plain f32 path, so the two can be
compared tightly. Usage: dequantize_gguf_f32.py IN.gguf OUT.gguf
"""
import sys

import numpy as np
import gguf
from gguf.quants import dequantize


def main(src: str, dst: str) -> None:
    reader = gguf.GGUFReader(src)
    arch = reader.fields["general.architecture"].contents()
    writer = gguf.GGUFWriter(dst, arch)
    for field in reader.fields.values():
        if field.name == "general.architecture" or field.name.startswith("GGUF."):
            continue  # written by GGUFWriter itself
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        if field.name == "general.file_type":
            writer.add_key_value(field.name, int(gguf.LlamaFileType.ALL_F32), vtype)
            continue
        writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    for t in reader.tensors:
        values = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(n) for n in reversed(t.shape)]  # row-major
        writer.add_tensor(t.name, values.reshape(shape), raw_dtype=gguf.GGMLQuantizationType.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
