"""The reminder engine: daily staging, the reminder sweep, follow-ups, the outbox dispatcher and the jobs that
run them. Jobs stay thin: they find what is due and hand each item to a service in its own transaction."""
