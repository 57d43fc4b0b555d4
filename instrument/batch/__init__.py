"""Batch scoring: many response files read, checked and scored with every row accounted.

``pipeline`` holds the run (inputs, options, one chunk's check and score, the local engine,
publishing the outputs), ``engines`` the dask engine, ``tally`` the accounting (the problem
log spilled to disk, the per-run tally).
"""
