"""One module per subcommand: ``add_parsers(subparsers, add_common)`` and a handler ``(CliContext) -> exit code``."""
