"""The `pcc` command line: one module per subcommand, dispatched from `main.py`."""
