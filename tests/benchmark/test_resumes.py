"""How often a run was interrupted and resumed, and how much work it redid, read from its mllog alone."""

from slowfast.benchmark.mllog import MLLog, read_mllog
from slowfast.benchmark.result import format_result_block
from slowfast.benchmark.run_reader import resumes_in_log
from slowfast.benchmark.run_result import RunResult


def write_interrupted_twice(path):
    """Epochs 1-2 saved, killed 5 s into epoch 3 at 25 s; resumed at epoch 3 from 20 s, stopped by SIGTERM right
    after epoch 3's checkpoint (30 s, nothing started since); resumed at epoch 4 and finished."""
    log = MLLog(str(path))
    log.run_start()
    for epoch, start in ((0, 0.0), (1, 10.0), (2, 20.0)):
        log.epoch_start(epoch, start)
        if epoch < 2:
            log.epoch_stop(epoch, start + 10.0)
    log.eval_accuracy(1, 30.0, 20.0)
    log.run_stop("aborted", 25.0)
    log.run_resume(2, 20.0)
    log.epoch_start(2, 20.0)
    log.epoch_stop(2, 30.0)
    log.run_stop("aborted", 30.0)
    log.run_resume(3, 30.0)
    log.epoch_start(3, 30.0)
    log.run_stop("success", 40.0)
    log.close()


def test_each_resume_counts_the_epochs_and_clock_seconds_it_redid(tmp_path):
    write_interrupted_twice(tmp_path / "mllog.txt")
    lines, errors = read_mllog(str(tmp_path / "mllog.txt"))
    assert not errors
    assert resumes_in_log(lines) == [
        {"epoch": 2, "epochs_redone": 1, "seconds_redone": 5.0},
        {"epoch": 3, "epochs_redone": 0, "seconds_redone": 0.0},
    ]


def test_the_result_block_says_the_run_was_resumed_and_what_it_redid():
    result = RunResult(model="X3D_M", kind="cnn", target_top1=50.0, n_gpu=4, t_ref_s=1.0, n_gpu_ref=4, reached=False)
    assert "resumed" not in format_result_block(result)
    result.resumes = [
        {"epoch": 2, "epochs_redone": 1, "seconds_redone": 5.0},
        {"epoch": 3, "epochs_redone": 0, "seconds_redone": 0.25},
    ]
    block = format_result_block(result)
    assert "resumed            2 time(s) after interruptions; redone: 1 epoch(s), 5.2 s of clock" in block
