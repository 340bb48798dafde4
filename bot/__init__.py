"""Channels and the inbound pipeline: from a cardholder's message to a reply through the compliance gate."""
