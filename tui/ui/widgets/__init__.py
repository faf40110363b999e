"""Dashboard widgets, one per module; they render state and never do I/O."""
