"""Events: the events table, recording (outbox), reading the log, publishing and the bus."""
