"""Batch scoring: many response files read, checked and scored with every row accounted.

``pipeline`` holds the run (options, reading, the engines and the accounting).
"""
