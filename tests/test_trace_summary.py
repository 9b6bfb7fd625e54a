"""tests/benchmarks/trace_summary.py: where a profiled step's GPU time goes, from a torch trace."""
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/benchmarks"))
import trace_summary  # noqa: E402


def _trace():
    kernel = lambda name, ts, dur, stream=7: {"ph": "X", "cat": "kernel", "name": name, "ts": ts, "dur": dur, "tid": stream}
    return {"traceEvents": [
        kernel("sm90_xmma_gemm_bf16bf16_bf16f32", 0, 400),
        kernel("nvjet_tst_128x256_64x4_1x2_h_bz_coopA_NNT", 400, 200),
        kernel("kernel_cutlass_FlashAttentionForwardSm90_0", 600, 100),
        kernel("void at::native::vectorized_elementwise_kernel<4, at::native::silu>", 650, 100, stream=9),  # overlaps
        kernel("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<FusedAdam>", 1000, 300),
        {"ph": "X", "cat": "gpu_memcpy", "name": "Memcpy DtoH (Device -> Pinned)", "ts": 1300, "dur": 50},
        {"ph": "X", "cat": "user_annotation", "name": "mini_batch0", "ts": 0, "dur": 900},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaStreamSynchronize", "ts": 1290, "dur": 60},
        {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": 10, "dur": 5},
        {"ph": "i", "cat": "kernel", "name": "instant", "ts": 5},  # not a complete event: ignored
    ]}


def test_busy_time_is_the_union_of_streams_and_idle_gaps_are_found():
    summary = trace_summary.summarise(trace_summary.load_events(_trace()))
    assert summary["window_ms"] == pytest.approx(1.35)  # 0 .. 1350 us
    assert summary["gpu_busy_ms"] == pytest.approx(1.1)  # 0-750 (two streams overlap), 1000-1350
    assert summary["gpu_idle_ms"] == pytest.approx(0.25)
    assert summary["longest_idle_gaps_ms"] == [pytest.approx(0.25)]


def test_kernels_are_grouped_by_what_they_compute():
    summary = trace_summary.summarise(trace_summary.load_events(_trace()))
    by_kind = summary["kernel_ms_by_kind"]
    assert by_kind["matmul"] == pytest.approx(0.6)
    assert by_kind["attention"] == pytest.approx(0.1)
    assert by_kind["optimizer"] == pytest.approx(0.3)
    assert by_kind["elementwise"] == pytest.approx(0.1)
    assert by_kind["copy / cast"] == pytest.approx(0.05)
    assert list(by_kind)[0] == "matmul"  # largest first
    assert summary["top_kernels"][0]["name"].startswith("sm90_xmma_gemm")
    assert summary["annotations_ms"]["mini_batch0"] == {"count": 1, "ms": pytest.approx(0.9)}
    assert summary["host_syncs_ms"] == {"cudaStreamSynchronize": {"count": 1, "ms": pytest.approx(0.06)}}


def test_a_gzipped_trace_is_read_from_the_command_line(tmp_path):
    path = tmp_path / "language_model_rank0_step5.json.gz"
    with gzip.open(path, "wt") as fh:
        json.dump(_trace(), fh)
    run = subprocess.run([sys.executable, str(ROOT / "tests/benchmarks/trace_summary.py"), str(path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["trace"] == str(path) and summary["gpu_events"] == 6


def test_a_trace_without_gpu_activity_says_so():
    cpu_only = {"traceEvents": [{"ph": "X", "cat": "cpu_op", "name": "aten::mm", "ts": 0, "dur": 10}]}
    assert "no GPU activity" in trace_summary.summarise(trace_summary.load_events(cpu_only))["error"]


@pytest.mark.parametrize("name, expected", [
    # strided (non-vectorized) elementwise kernels say "nocast": they are no casts
    ("void at::native::elementwise_kernel<128, 4, at::native::gpu_kernel_impl_nocast<at::native::BinaryFunctor<"
     "c10::BFloat16, c10::BFloat16, c10::BFloat16, at::native::binary_internal::MulFunctor<float> > >", "elementwise"),
    ("void at::native::vectorized_elementwise_kernel<8, at::native::bfloat16_copy_kernel_cuda(at::TensorIteratorBase&)"
     "::{lambda(float)#1}, std::array<char*, 2ul> >", "copy / cast"),
    ("void at::native::unrolled_elementwise_kernel<at::native::direct_copy_kernel_cuda(at::TensorIteratorBase&)", "copy / cast"),
    ("void at::native::detail::chunk_cat_cuda_kernel<float, c10::BFloat16>(c10::BFloat16**, float*)", "copy / cast"),
    ("kernel_cutlass_kernel_flash_attncuteflash_bwd_sm90FlashAttentionBackwardSm90_object_at__tensor", "attention"),
    ("nvjet_sm90_tst_128x256_64x4_2x1_v_bz_coopA_NTN", "matmul"),
    # liger-kernel's Triton kernels
    ("_rms_norm_backward_kernel", "norm"), ("_triton_rope", "elementwise"), ("_swiglu_forward_kernel", "elementwise"),
    ("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<at::native::(anonymous namespace)::"
     "TensorListMetadata<1>, at::native::LpNormFunctor<float>", "optimizer"),
    ("void at::native::reduce_kernel<512, 1, at::native::ReduceOp<float, at::native::MeanOps<float>>>", "reduction"),
])
def test_kernel_names_of_an_h200_trace_get_their_kind(name, expected):
    assert trace_summary.kind({"cat": "kernel", "name": name}) == expected


def test_kernel_time_is_put_on_the_autograd_node_and_aten_op_that_launched_it():
    cpu = lambda name, ts, dur: {"ph": "X", "cat": "cpu_op", "name": name, "ts": ts, "dur": dur, "tid": 1}
    launch = lambda ts, corr: {"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "ts": ts, "dur": 2,
                               "tid": 1, "args": {"correlation": corr}}
    kernel = lambda name, ts, dur, corr: {"ph": "X", "cat": "kernel", "name": name, "ts": ts, "dur": dur,
                                          "args": {"correlation": corr}}
    events = trace_summary.load_events({"traceEvents": [
        cpu("aten::to", 0, 20), cpu("aten::copy_", 0, 20), launch(5, 1),                      # forward cast
        cpu("autograd::engine::evaluate_function: PowBackward0", 30, 40),
        cpu("aten::mul", 32, 10), launch(35, 2), cpu("aten::add_", 50, 10), launch(52, 3),   # its two ops
        cpu("aten::mul", 80, 10), launch(82, 4),                                             # after it: forward
        launch(95, 5),                                                                       # no op around it
        cpu("aten::mm", 96, 3), {"ph": "X", "cat": "cuda_driver", "name": "cuLaunchKernelEx", "ts": 97, "dur": 1,
                                 "tid": 1, "args": {"correlation": 6}},                  # cuBLAS launches by the driver
        kernel("void at::native::bfloat16_copy_kernel_cuda", 100, 7, 1),
        kernel("void at::native::vectorized_elementwise_kernel<4, MulFunctor<float>>", 110, 30, 2),
        kernel("void at::native::vectorized_elementwise_kernel<4, CUDAFunctor_add<float>>", 140, 20, 3),
        kernel("void at::native::vectorized_elementwise_kernel<8, MulFunctor<bf16>>", 160, 10, 4),
        kernel("nvjet_sm90_tst_128x256", 170, 50, 5),
        kernel("nvjet_sm90_tst_128x224", 220, 5, 99),                                        # launch not in the trace
        kernel("nvjet_sm90_tst_128x256", 230, 40, 6),
    ]})
    by_op = trace_summary.summarise(events)["kernel_ms_by_op"]
    assert by_op == {
        "forward | ? (matmul)": {"count": 1, "ms": pytest.approx(0.05)},   # launched outside any op
        "forward | aten::mm (matmul)": {"count": 1, "ms": pytest.approx(0.04)},
        "? | ? (matmul)": {"count": 1, "ms": pytest.approx(0.005)},        # its launch is not in the trace
        "PowBackward0 | aten::mul (elementwise)": {"count": 1, "ms": pytest.approx(0.03)},
        "PowBackward0 | aten::add_ (elementwise)": {"count": 1, "ms": pytest.approx(0.02)},
        "forward | aten::mul (elementwise)": {"count": 1, "ms": pytest.approx(0.01)},
        "forward | aten::to (copy / cast)": {"count": 1, "ms": pytest.approx(0.007)},
    }
