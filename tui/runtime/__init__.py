"""The one runtime: `services.Services` builds, resumes and stops the pipelines for the
dashboard and every headless command; `events` holds what it reports. Import from the
submodules (this package imports nothing, so views can read `events` alone)."""
