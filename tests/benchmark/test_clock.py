"""BenchmarkClock with a fake time source: start/stop rules, evaluation counted, resume, agreement."""

import pytest

from slowfast.benchmark.clock import BenchmarkClock


class FakeTime:
    """A time source that only moves when the test advances it."""

    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def test_nothing_counts_before_start():
    fake = FakeTime()
    clock = BenchmarkClock(time_fn=fake)
    fake.advance(50.0)  # initialisation: model build, CSV parsing
    assert clock.elapsed() == 0.0
    clock.start()
    fake.advance(7.5)
    assert clock.elapsed() == pytest.approx(7.5)


def test_start_twice_is_an_error():
    clock = BenchmarkClock(time_fn=FakeTime())
    clock.start()
    with pytest.raises(RuntimeError, match="twice"):
        clock.start()


def test_record_eval_before_start_is_an_error():
    with pytest.raises(RuntimeError, match="before start"):
        BenchmarkClock(time_fn=FakeTime()).record_eval(0, 50.0, 10.0)


def test_stops_at_end_of_first_eval_reaching_target_and_counts_eval_time():
    fake = FakeTime()
    clock = BenchmarkClock(time_fn=fake)
    clock.start()
    for epoch, top1 in enumerate([5.0, 16.74, 16.75, 30.0]):
        fake.advance(100.0)  # training
        fake.advance(20.0)  # evaluation is never paused
        reached = clock.record_eval(epoch, top1, target=16.75)
        assert reached == (epoch >= 2)
    assert clock.t_bench == pytest.approx(360.0)
    assert clock.epochs_to_target == 3
    # The clock keeps running after the target; t_bench stays at the first reaching evaluation.
    assert clock.elapsed() == pytest.approx(480.0)
    assert [e["top1"] for e in clock.evals] == [5.0, 16.74, 16.75, 30.0]
    assert [e["time_s"] for e in clock.evals] == pytest.approx([120.0, 240.0, 360.0, 480.0])


def test_not_reached_leaves_t_bench_empty():
    fake = FakeTime()
    clock = BenchmarkClock(time_fn=fake)
    clock.start()
    fake.advance(10.0)
    assert clock.record_eval(0, 1.0, target=16.75) is False
    assert clock.t_bench is None and clock.epochs_to_target is None and not clock.reached


def test_resume_continues_from_saved_elapsed_time():
    fake = FakeTime()
    clock = BenchmarkClock(time_fn=fake)
    clock.start()
    fake.advance(300.0)
    clock.record_eval(0, 4.0, target=16.75)
    state = clock.state_dict()
    fake.advance(1000.0)  # crash, restart, initialisation: not counted

    resumed = BenchmarkClock(time_fn=fake)
    resumed.load_state_dict(state)
    assert resumed.elapsed() == pytest.approx(300.0)
    resumed.start()
    fake.advance(200.0)
    assert resumed.record_eval(1, 17.0, target=16.75)
    assert resumed.t_bench == pytest.approx(500.0)
    assert resumed.epochs_to_target == 2
    assert [e["epoch"] for e in resumed.evals] == [0, 1]


def test_load_after_start_rebases_on_the_saved_time():
    fake = FakeTime()
    clock = BenchmarkClock(time_fn=fake)
    clock.start()
    fake.advance(40.0)
    clock.load_state_dict({"elapsed_s": 250.0})
    fake.advance(5.0)
    assert clock.elapsed() == pytest.approx(255.0)


def test_sync_before_reading_and_agreement_across_ranks():
    fake = FakeTime()
    calls = []
    clock = BenchmarkClock(
        time_fn=fake, sync_fn=lambda: calls.append("sync"), agree_fn=lambda seconds: max(seconds, 90.0)
    )  # another rank is slower
    clock.start()
    fake.advance(60.0)
    assert clock.elapsed() == pytest.approx(60.0)
    assert clock.elapsed(agree=True) == pytest.approx(90.0)
    assert clock.record_eval(0, 20.0, target=16.75)
    assert clock.t_bench == pytest.approx(90.0)
    assert calls == ["sync"] * 3


def test_a_reading_without_sync_does_not_wait_for_the_device():
    fake = FakeTime()
    calls = []
    clock = BenchmarkClock(time_fn=fake, sync_fn=lambda: calls.append("sync"))
    clock.start()
    fake.advance(7.0)
    assert clock.elapsed(sync=False) == pytest.approx(7.0)
    assert calls == []
