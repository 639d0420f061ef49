"""``python -m mock_servers`` (see :mod:`mock_servers.cli`)."""

from mock_servers.cli import main

raise SystemExit(main())
