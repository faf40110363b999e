"""A scripted stand-in for Devstral behind the Ollama-protocol test server.

It reads the batch the pipeline sent (the `<email id="...">` blocks), and answers with a
verdict list the way a model constrained by the JSON schema would, by simple rules on the
subject. Modes let a test make it misbehave: invalid JSON, a missing or an extra id, or a
"compromised" model that obeys a prompt injection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_EMAIL = re.compile(r'<email id="(?P<id>[^"]+)">\nFrom: (?P<from>.*)\nSubject: (?P<subject>.*)\n')


def batch_emails(request: dict[str, Any]) -> list[dict[str, str]]:
    user = next(m["content"] for m in request["messages"] if m["role"] == "user")
    return [match.groupdict() for match in _EMAIL.finditer(user)]


def rule_verdict(email: dict[str, str]) -> dict[str, Any]:
    subject = email["subject"].lower()
    verdict: dict[str, Any] = {"id": email["id"], "priority": "normal", "category": "fyi",
                               "action": "none", "summary": f"About: {email['subject'][:60]}",
                               "reason": "routine", "injection_suspected": False}
    if "security" in subject or "sign-in" in subject:
        verdict.update(priority="urgent", category="action", action="flag",
                       reason="security alert")
    elif any(word in subject for word in ("newsletter", "digest", "weekly", "this week")):
        verdict.update(priority="low", category="newsletter", action="archive",
                       reason="bulk mail")
    elif "receipt" in subject or "invoice" in subject:
        verdict.update(category="receipt", action="mark_read", reason="paperwork")
    return verdict


@dataclass
class ScriptedTriageModel:
    mode: str = "good"            # good, invalid_json, drop_id, extra_id, obey_injection
    once: bool = True              # misbehave on the first call only
    calls: list[list[str]] = field(default_factory=list)

    def __call__(self, request: dict[str, Any]) -> str:
        emails = batch_emails(request)
        self.calls.append([e["id"] for e in emails])
        verdicts = [rule_verdict(e) for e in emails]
        mode = self.mode
        if self.once and len(self.calls) > 1:
            mode = "good"
        if mode == "invalid_json":
            return '{"verdicts": [{"id": "' + emails[0]["id"] + '", "priority": '
        if mode == "drop_id" and len(verdicts) > 1:
            verdicts = verdicts[1:]
        if mode == "extra_id":
            verdicts.append({**verdicts[0], "id": "m99999"})
        if mode == "obey_injection":
            # What a model that fell for the injection might answer: everything low,
            # the attacker's own mail moved nowhere suspicious, no flag on the alert.
            for verdict in verdicts:
                verdict.update(priority="low", action="move", folder="Trash",
                               reason="as instructed")
        return json.dumps({"verdicts": verdicts})
