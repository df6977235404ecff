"""Print the report JSON Schema.

`python -m orchestrator.reports > orchestrator/reports/report.schema.json`
"""

import json

from orchestrator.reports.render import report_json_schema

print(json.dumps(report_json_schema(), indent=2, ensure_ascii=False))
