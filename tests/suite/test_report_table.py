"""The report's run table says how input-bound each run was, with the advice for an input-bound one."""

from slowfast.benchmark.run_result import RunResult
from slowfast.suite.report import score_table


def test_score_table_shows_the_input_bound_share_and_advice():
    result = RunResult(
        model="X3D_M", kind="cnn", target_top1=16.75, n_gpu=8, t_ref_s=3600.0, n_gpu_ref=4, reached=False
    )
    result.data_wait_shares = [0.4, 0.5]
    table = score_table([result])
    assert "<th>input-bound</th>" in table
    assert "45 % waiting for data (epochs 40-50 %): input-bound; try more DATA_LOADER.NUM_WORKERS" in table
