"""Compliance: the one gate every outbound message passes, the jurisdiction policy packs, the wording catalog and
lint, and the hash-chained audit log."""
