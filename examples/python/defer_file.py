"""defer: clean-up runs when the goroutine ends, last registered first, even on exit()."""
import os
import tempfile

import goro

log = []
path = os.path.join(tempfile.mkdtemp(), "goro-defer.txt")


def writer():
    f = open(path, "w")
    goro.defer(os.rmdir, os.path.dirname(path))
    goro.defer(os.remove, path)
    goro.defer(f.close)
    goro.defer(log.append, "closed")
    f.write("hello\n")
    log.append("written")
    goro.exit()  # ends the goroutine here; the deferred calls still run
    log.append("never")


goro.run(writer)
print("log:", log, "file left behind:", os.path.exists(path))
assert log == ["written", "closed"] and not os.path.exists(path)
