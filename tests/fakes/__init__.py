"""Loopback fakes of the providers' HTTP APIs. Real SDK clients talk to them over 127.0.0.1."""
