"""Meeting summaries: the triage LLM reads finished transcripts too, inside the same context
cap and the same single slot (schema, planner, prompt and rendering are pure; store, runner
and queue do the I/O)."""
