from tui.cli import main

# Guarded: the WhisperX worker is started with multiprocessing's spawn method, which
# re-imports the parent's main module in the child.
if __name__ == "__main__":
    raise SystemExit(main())
