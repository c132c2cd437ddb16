"""Document the credential cool-down on every operation that takes an API key."""

import copy

COOLDOWN_DESCRIPTION = (
    "Too many requests, or too many failed credential checks from this address: "
    "see the Retry-After header."
)

# The body api_exception_handler answers a Throttled with.
COOLDOWN_EXAMPLE = {
    "error": {"code": "throttled", "message": "Too many requests. Try again in 840 seconds."}
}


def add_credential_cooldown(result, generator, request, public):
    """drf-spectacular hook: give each operation that answers 401 a 429 of the same shape."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if not responses or "401" not in responses or "429" in responses:
                continue
            refused = copy.deepcopy(responses["401"])
            refused["description"] = COOLDOWN_DESCRIPTION
            for media in refused.get("content", {}).values():
                media["examples"] = {"Error429": {"value": COOLDOWN_EXAMPLE}}
            responses["429"] = refused
    return result
