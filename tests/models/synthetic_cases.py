"""The synthetic models the tests share (written by the ``synthetic`` fixture of conftest.py)."""

# name -> (spec changes, matrix type); head dim 32 (tiny: hidden 128, 4 heads) unless changed
SYNTHETIC = {
    "f32-tied-gqa": ({}, "F32"),
    "f16-untied-mha": ({"tied": False, "num_kv_heads": 4}, "F16"),
    "q8_0-tied": ({}, "Q8_0"),
    "q4_k-untied-gqa": ({"tied": False, "hidden_size": 256, "intermediate_size": 512}, "Q4_K"),
    "q4_1-mqa": ({"num_kv_heads": 1}, "Q4_1"),
    "linear-window": ({"rope_scaling": {"rope_type": "linear", "factor": 2.0}, "sliding_window": 3}, "F32"),
    "llama3": ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 16}}, "F32"),
    "yarn": ({"rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16}}, "Q8_0"),
}  # fmt: skip
