"""Full-text search over everything stored: transcript segments and mail (more sources, such
as meeting summaries, plug in as one more `IndexSource`).

`query` turns what a user typed into a safe FTS5 expression (pure); `index` keeps one SQLite
FTS5 table beside the stores' own tables, filled by triggers each store installs, so every
write that stores a segment or a mail updates the index in the same transaction; `records`
holds what a search returns.
"""
