"""The peer in `npm run bench`: mozilla-ai's any-llm (PyPI `any-llm-sdk`) on the same files and sandbox.

    python bench/peer.py create FILE --api-base URL
    python bench/peer.py results BATCH_ID --api-base URL

Each prints one JSON line: what the call returned, the call's own wall time (`call_seconds`, the import of
any_llm excluded, which favours the peer) and the process's peak RSS (`peak_rss_kb`).
"""

import argparse
import json
import resource
import sys
import time

from any_llm import create_batch, retrieve_batch_results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["create", "results"])
    parser.add_argument("target")
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--api-key", default="bench")
    args = parser.parse_args()

    started = time.perf_counter()
    report: dict[str, object]
    try:
        if args.action == "create":
            batch = create_batch(
                "openai",
                args.target,
                "/v1/chat/completions",
                api_key=args.api_key,
                api_base=args.api_base,
            )
            report = {"batch_id": batch.id, "status": batch.status}
        else:
            result = retrieve_batch_results("openai", args.target, api_key=args.api_key, api_base=args.api_base)
            ok = sum(1 for item in result.results if item.result is not None)
            report = {"results": len(result.results), "succeeded": ok}
    except Exception as err:  # reported, so the bench can show why the peer could not do it
        report = {"error": f"{type(err).__name__}: {err}"}
    report["call_seconds"] = time.perf_counter() - started
    report["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(report))
    return 0 if "error" not in report else 1


if __name__ == "__main__":
    sys.exit(main())
