"""`mtharness serve`: a local, read-only browser over run folders.

The data layer here has no web imports (the web app imports it, never the reverse):

- ``serve.index.RunIndex``: the SQLite index of every run folder under the results dirs
  (incremental refresh, damaged runs listed with the reader's reason, path-safe ``resolve``);
  ``serve.query.RunQuery`` / ``RunPage``: the runs page's filters, sort, fold and paging;
  ``serve.rows``: the keys of one run's row.
- ``serve.segments.SegmentStore``: one run's segments paged from disk (offsets and segment scores
  indexed in the same SQLite file), text search, score-range and two-run difference filters;
  ``word_diff`` for the diff view.

Layering: serve may import run, compare, reports and scoring; only cli imports serve.
"""
