"""Schemathesis hooks for Muster.

- The bulk endpoint takes JSON Lines (`application/x-ndjson`), which is text, so it is sent the
  way text/plain bodies are.
- A generated query value of `null` goes on the wire as the text `null` (`?region=null`), which is
  a well-formed region, skill or registration to the server: a free-text filter that matches
  nothing, rightly answered 200. Schemathesis counts it as schema-violating data accepted, so such
  cases are not generated. Every other negative case (an empty `within_km=`, a word for a number,
  an unknown enum value) still must get a 4xx.
"""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")


def _holds_null(value):
    if value is None:
        return True
    if isinstance(value, (list, tuple)):
        return any(_holds_null(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_null(v) for v in value.values())
    return False


@schemathesis.hook
def filter_query(ctx, query):
    return not isinstance(query, dict) or not any(_holds_null(v) for v in query.values())
