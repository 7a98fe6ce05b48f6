"""Overlapping pauses of the cyclic collector: it is off while any runs, and back on after the last."""

import gc

from shangji_kit import gc_pause


def test_the_collector_is_off_while_any_pause_runs_and_back_after_the_last():
    assert gc.isenabled()
    with gc_pause.paused():
        assert not gc.isenabled()
        with gc_pause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_that_raises_still_gives_the_collector_back():
    try:
        with gc_pause.paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_a_collector_switched_off_before_stays_off():
    gc.disable()
    try:
        with gc_pause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
