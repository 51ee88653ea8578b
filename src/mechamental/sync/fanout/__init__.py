"""Fan-out: channels, connections, the per-request stream session and the transport takeover."""
