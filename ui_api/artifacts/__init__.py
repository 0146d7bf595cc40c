"""Run artifacts: the ``artifact`` table, their listing with a run, downloads and retention."""
