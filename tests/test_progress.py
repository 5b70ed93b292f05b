from classmill.progress import PhaseProgress


def test_first_event_at_once_then_throttled_and_last_always_sent():
    events = []
    p = PhaseProgress("check", 1000, events.append, min_interval_s=3600)
    assert events[0]["done"] == 0 and events[0]["total"] == 1000 and events[0]["phase"] == "check"
    for _ in range(999):
        p.advance()
    assert len(events) == 1  # throttled
    p.advance()
    assert len(events) == 2 and events[-1]["done"] == 1000 and events[-1]["eta_s"] == 0


def test_finish_completes_a_phase_and_silent_without_callback():
    events = []
    p = PhaseProgress("cache", 10, events.append, min_interval_s=0)
    p.advance(3)
    p.finish()
    assert [e["done"] for e in events] == [0, 3, 10]
    PhaseProgress("cache", 10, None).advance(5)  # no callback: nothing to call, no error
