"""Runs one batch through the anybatch gateway with the official `openai` Python SDK, unchanged.

    python3 examples/gateway.py requests.jsonl [base URL, default http://127.0.0.1:8090/v1]

The API key is your provider key (OPENAI_API_KEY; any value on the sandbox), or a key the gateway issued (--keys).
"""
import json
import os
import sys
import time

from openai import OpenAI

path = sys.argv[1]
base_url = sys.argv[2] if len(sys.argv) > 2 else "http://127.0.0.1:8090/v1"
client = OpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "sandbox"))

uploaded = client.files.create(file=open(path, "rb"), purpose="batch")
batch = client.batches.create(input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
print(f"{batch.id}: {batch.status}")
while batch.status not in ("completed", "failed", "expired", "cancelled"):
    time.sleep(2)
    batch = client.batches.retrieve(batch.id)
    print(f"{batch.id}: {batch.status} {batch.request_counts.completed}/{batch.request_counts.total}")
if batch.output_file_id:
    for line in client.files.content(batch.output_file_id).text.splitlines():
        result = json.loads(line)
        print(result["custom_id"], result["response"]["body"]["choices"][0]["message"]["content"][:80])
if batch.error_file_id:
    print(client.files.content(batch.error_file_id).text)
