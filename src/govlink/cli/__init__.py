"""The ``govlink`` command line (typer + rich).

``govlink.cli.app`` builds the top-level app and mounts the platform sub-apps it
finds; ``govlink.cli.common`` holds what every command shares (errors, options,
consoles, progress bars). See the latter's docstring before writing a sub-app.

Internal: the interface of this package is the command line, not its modules.
"""
