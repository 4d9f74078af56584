"""Use cases: what the CLI and the API call. They hold no rules of their own."""
