"""Channel adapters behind core.ports.ChannelAdapter. Only the compliance gate calls their `send`."""
