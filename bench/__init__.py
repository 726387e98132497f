"""`make bench`: throughput, overhead against a bare workflow, approval and API latency, worker
memory and a simulated year of operations — on a fresh local stack, written to results.json and
the README."""
