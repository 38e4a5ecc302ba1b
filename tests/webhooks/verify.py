"""Verifies webhook deliveries with the Standard Webhooks reference package for Python
(`standardwebhooks` on PyPI), as server/tests/webhooks.rs received them.

stdin: a JSON list of {secret, id, timestamp, signature, body}. Prints the number verified;
exits 1 naming the first delivery that does not verify."""
import json
import sys

from standardwebhooks.webhooks import Webhook

deliveries = json.load(sys.stdin)
for d in deliveries:
    headers = {
        "webhook-id": d["id"],
        "webhook-timestamp": d["timestamp"],
        "webhook-signature": d["signature"],
    }
    try:
        Webhook(d["secret"]).verify(d["body"], headers)
    except Exception as e:  # noqa: BLE001 - report any refusal
        print(f"delivery {d['id']} does not verify: {e}", file=sys.stderr)
        sys.exit(1)
print(len(deliveries))
