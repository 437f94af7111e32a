"""Developer tooling, not part of the running services: the local stack (``devtools.stack``: start the
six services, console and workers on free ports for tests, demos and benchmarks) and the scripted demo
story (``devtools.demo``, ``yunkefu demo``). Shipped in the same distribution so ``yunkefu demo`` and the
test suites can use it; nothing under ``shared/`` or ``services/`` imports it at module level."""
