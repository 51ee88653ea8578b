"""Rate limits (token buckets), concurrent stream caps, and the headers that announce them."""
