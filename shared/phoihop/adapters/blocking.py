"""Blocking system calls without stalling the other adapters.

The host runs on eventlet: a call that blocks the process (``fsync`` above
all, which waits for the disk) would stop every adapter's green threads
for its duration. Under eventlet such calls go to a real thread of
eventlet's pool; in an agency's own runner (plain threads) they are simply
called.
"""


def run_blocking(function, *args):
    """Call ``function(*args)``, off the event loop when there is one."""
    try:
        from eventlet import patcher, tpool
    except ImportError:
        return function(*args)
    if patcher.is_monkey_patched("thread"):
        return tpool.execute(function, *args)
    return function(*args)
