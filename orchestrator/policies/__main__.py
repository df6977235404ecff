"""Print the policy JSON Schema: `python -m orchestrator.policies > policies/schema.json`."""

import json

from orchestrator.policies.schema import policy_json_schema

print(json.dumps(policy_json_schema(), indent=2, ensure_ascii=False))
