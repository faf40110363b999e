"""The headless commands (`transcribe`, `watch`, `triage`): front ends on `tui.runtime`,
like the dashboard (`tui.ui`), printing instead of drawing."""
