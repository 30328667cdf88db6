"""The foundation every part stands on: settings, the spec, redaction, ports, pacing; it imports no other part."""
