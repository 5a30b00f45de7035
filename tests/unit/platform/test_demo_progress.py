"""The demo's progress when its output is not a terminal."""

import io

from rich.console import Console

from phoihop.demo import LoggedProgress, build_progress


def test_piped_progress_prints_a_line_at_each_tenth_and_at_the_end():
    out = io.StringIO()
    with build_progress(Console(file=out, width=100)) as progress:
        task = progress.add_task("Kênh email", total=40)
        for _ in range(40):
            progress.advance(task)

    lines = [line for line in out.getvalue().splitlines() if line.strip()]

    assert isinstance(progress, LoggedProgress)
    assert len(lines) == 10
    assert lines[0].strip() == "Kênh email: 4/40"
    assert lines[-1].strip() == "Kênh email: 40/40"


def test_a_terminal_gets_the_bars():
    console = Console(file=io.StringIO(), force_terminal=True)

    assert not isinstance(build_progress(console), LoggedProgress)
