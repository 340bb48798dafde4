"""The application shell: settings, bootstrap, logging, the `accord` CLI and portfolio services."""
