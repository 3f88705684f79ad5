"""Schemathesis hooks for Muster: the bulk endpoint takes JSON Lines (`application/x-ndjson`),
which is text, so it is sent the way text/plain bodies are."""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
